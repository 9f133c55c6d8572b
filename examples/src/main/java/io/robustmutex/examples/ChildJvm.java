package io.robustmutex.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A child JVM started by a command, running a main class of this jar, its standard output relayed line by
 * line; its standard error goes to this process's. Every wait is bounded.
 */
final class ChildJvm {

    /** The longest a command waits for a child to say something or to finish. */
    static final long WAIT_SECONDS = 60;

    private final Process process;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private final PrintStream out;

    private ChildJvm(Process process, PrintStream out) {
        this.process = process;
        this.out = out;
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // The child was killed.
            }
        }, "child-" + process.pid());
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * The command line that runs {@code main} in a new JVM: this JVM's java and class path, small and quick
     * to start, with this JVM's {@code io.robustmutex.*} properties.
     *
     * @param main the class whose {@code main} runs
     * @param args its arguments
     * @return the command line
     */
    static List<String> javaCommand(Class<?> main, String... args) {
        return javaCommand(List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m"), main, args);
    }

    /**
     * The command line that runs {@code main} in a new JVM with the given options: this JVM's java and class
     * path, with this JVM's {@code io.robustmutex.*} properties but those the options set themselves.
     *
     * @param jvmOptions the JVM's options
     * @param main the class whose {@code main} runs
     * @param args its arguments
     * @return the command line
     */
    static List<String> javaCommand(List<String> jvmOptions, Class<?> main, String... args) {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(jvmOptions);
        if (Runtime.version().feature() >= 22) {
            // The library calls restricted methods of the foreign function API (JDK 22 and later), which warn
            // unless native access is enabled.
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        for (String property : LibraryProperties.jvmOptions()) {
            String name = property.substring(0, property.indexOf('=') + 1);
            if (jvmOptions.stream().noneMatch(option -> option.startsWith(name))) {
                command.add(property);
            }
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        return command;
    }

    /**
     * Starts {@code main} in a new JVM.
     *
     * @param main the class whose {@code main} runs
     * @param out where {@link #await} and {@link #drain} relay the child's lines, indented
     * @param args its arguments
     * @return the running child
     * @throws IOException when the JVM cannot be started
     */
    static ChildJvm start(Class<?> main, PrintStream out, String... args) throws IOException {
        return new ChildJvm(new ProcessBuilder(javaCommand(main, args)).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start(), out);
    }

    /**
     * The child's process id.
     *
     * @return the pid
     */
    long pid() {
        return process.pid();
    }

    /**
     * Relays the child's lines until one starts with {@code prefix}.
     *
     * @param prefix the start of the line to wait for
     * @return that line
     * @throws IllegalStateException when no such line comes within {@link #WAIT_SECONDS}
     * @throws InterruptedException when interrupted
     */
    String await(String prefix) throws InterruptedException {
        while (true) {
            String line = lines.poll(WAIT_SECONDS, TimeUnit.SECONDS);
            if (line == null) {
                throw new IllegalStateException("no line starting with '" + prefix + "' from the child JVM (pid "
                        + pid() + ") within " + WAIT_SECONDS + " s" + (process.isAlive() ? ""
                        : "; it exited with status " + process.exitValue()));
            }
            out.println("  " + line);
            if (line.startsWith(prefix)) {
                return line;
            }
        }
    }

    /**
     * Waits for the child to exit, then relays what it printed last.
     *
     * @return its exit status
     * @throws IllegalStateException when it does not exit within {@link #WAIT_SECONDS}
     * @throws InterruptedException when interrupted
     */
    int finish() throws InterruptedException {
        if (!process.waitFor(WAIT_SECONDS, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the child JVM (pid " + pid() + ") did not finish within " + WAIT_SECONDS
                    + " s");
        }
        drain();
        return process.exitValue();
    }

    /**
     * Relays the lines printed so far, waiting a moment for the last ones.
     *
     * @throws InterruptedException when interrupted
     */
    void drain() throws InterruptedException {
        for (String line = lines.poll(1, TimeUnit.SECONDS); line != null; line = lines.poll(100,
                TimeUnit.MILLISECONDS)) {
            out.println("  " + line);
        }
    }

    /**
     * Kills the child with SIGKILL and waits for it to be gone.
     *
     * @throws InterruptedException when interrupted
     */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** Kills the child if it still runs, without waiting; for clean-up. */
    void destroy() {
        process.destroyForcibly();
    }
}
