package io.robustmutex.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A worker JVM of a kill storm ({@code torture}, {@code queue}) and what it printed: small, quick to start, on
 * this JVM's class path with the library's properties; ready once it prints {@code READY}.
 */
final class WorkerProcess {

    final Process process;
    final ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
    private volatile boolean ready;

    WorkerProcess(Class<?> main, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx32m", "-Xss512k", "-XX:-UsePerfData"));
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(LibraryProperties.jvmOptions());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        this.process = new ProcessBuilder(command).start();
        Thread reader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.equals("READY")) {
                        ready = true;
                    }
                }
            } catch (IOException e) {
                // The process died; its output ends here.
            }
        }, "worker-out-" + process.pid());
        reader.setDaemon(true);
        reader.start();
        Thread errorReader = new Thread(() -> {
            try (BufferedReader lines = new BufferedReader(new InputStreamReader(process.getErrorStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = lines.readLine()) != null) {
                    if (errors.size() < 20) {
                        errors.add(line);
                    }
                }
            } catch (IOException e) {
                // The process died; its output ends here.
            }
        }, "worker-err-" + process.pid());
        errorReader.setDaemon(true);
        errorReader.start();
    }

    boolean ready() {
        return ready && process.isAlive();
    }
}
