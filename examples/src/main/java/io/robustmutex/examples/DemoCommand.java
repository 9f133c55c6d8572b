package io.robustmutex.examples;

import io.robustmutex.KernelCapabilities;
import io.robustmutex.KernelSupport;
import io.robustmutex.MutexKind;
import io.robustmutex.MutexSnapshot;
import io.robustmutex.SharedMemory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@code demo}: two child JVMs share a robust mutex in a mapped file. The first takes it and is killed with
 * SIGKILL in the middle of an update; the second, asleep in the kernel, gets the mutex with the news that
 * the owner died, repairs the data and marks the mutex consistent.
 */
final class DemoCommand implements RobustMutexTool.Command {

    @Override
    public String summary() {
        return "kill -9 a JVM holding a shared mutex and watch the next one recover (a few seconds)";
    }

    @Override
    public String help() {
        return """
                Starts two JVMs that share a ledger (two accounts whose sum must stay 100) next to a robust mutex in
                a mapped file under /dev/shm. The first takes the mutex and stops in the middle of a transfer; the
                second waits for it in the kernel; the parent kills the first with SIGKILL. The second is told that
                the owner died, repairs the ledger from its journal and marks the mutex consistent.

                Takes no arguments. Exit status: 0 when the survivor recovered, 1 otherwise.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments.parse(args).noPositional();
        KernelSupport.ensureAvailability();
        KernelCapabilities caps = KernelSupport.capabilities();
        out.println("robust-mutex demo on Linux " + caps.kernelRelease() + " (" + caps.architecture()
                + "): unlock path " + caps.unlockPath().id() + (caps.vdsoTryUnlock() ? " (vDSO try-unlock)" : ""));
        Path dir = Files.createTempDirectory(Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm")
                : Path.of(System.getProperty("java.io.tmpdir")), "robust-mutex-demo");
        Path regionFile = dir.resolve("ledger");
        List<Child> children = new ArrayList<>();
        try (SharedMemory region = SharedMemory.map(regionFile, DemoWorker.SIZE)) {
            region.buffer().putLong(DemoWorker.A, 40).putLong(DemoWorker.B, 60);
            out.println("parent: ledger in " + regionFile + ": A=40 B=60 (the sum must stay 100)");

            Child writer = Child.start("writer", regionFile, out);
            children.add(writer);
            writer.await("writer (pid");
            Child successor = Child.start("successor", regionFile, out);
            children.add(successor);
            successor.await("successor (pid");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!region.mutex(0, MutexKind.PI).snapshot().waiters()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the successor did not start waiting");
                }
                Thread.onSpinWait();
            }
            out.println("parent: the successor is asleep in the kernel; kill -9 the writer (pid " + writer.pid()
                    + ")");
            writer.process.destroyForcibly();
            writer.process.waitFor(30, TimeUnit.SECONDS);
            if (successor.process.waitFor(60, TimeUnit.SECONDS) && successor.process.exitValue() == 0) {
                successor.drain();
                MutexSnapshot after = region.mutex(0, MutexKind.PI).snapshot();
                out.println("parent: mutex state " + after.state() + ", owner deaths detected "
                        + after.ownerDiedCount() + ", fencing token " + after.fencingToken() + "; ledger A="
                        + region.buffer().getLong(DemoWorker.A) + " B=" + region.buffer().getLong(DemoWorker.B));
                return 0;
            }
            err.println("demo: the successor did not finish");
            return 1;
        } finally {
            for (Child child : children) {
                child.process.destroyForcibly();
            }
            try (var files = Files.list(dir)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** A child JVM running {@link DemoWorker}, its output relayed line by line. */
    private static final class Child {
        final Process process;
        final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        final PrintStream out;

        private Child(Process process, PrintStream out) {
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
            });
            reader.setDaemon(true);
            reader.start();
        }

        static Child start(String role, Path region, PrintStream out) throws IOException {
            List<String> command = new ArrayList<>(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m"));
            if (Runtime.version().feature() >= 22) {
                command.add("--enable-native-access=ALL-UNNAMED");
            }
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), DemoWorker.class.getName(), role,
                    region.toString()));
            return new Child(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start(), out);
        }

        long pid() {
            return process.pid();
        }

        /** Relays lines until one starts with {@code prefix}. */
        void await(String prefix) throws InterruptedException {
            while (true) {
                String line = lines.poll(60, TimeUnit.SECONDS);
                if (line == null) {
                    throw new IllegalStateException("no '" + prefix + "' from the child within 60 s");
                }
                out.println("  " + line);
                if (line.startsWith(prefix)) {
                    return;
                }
            }
        }

        void drain() throws InterruptedException {
            for (String line = lines.poll(1, TimeUnit.SECONDS); line != null; line = lines.poll(100,
                    TimeUnit.MILLISECONDS)) {
                out.println("  " + line);
            }
        }
    }
}
