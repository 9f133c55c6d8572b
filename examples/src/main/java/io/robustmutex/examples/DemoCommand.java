package io.robustmutex.examples;

import io.robustmutex.KernelCapabilities;
import io.robustmutex.KernelSupport;
import io.robustmutex.MutexKind;
import io.robustmutex.MutexSnapshot;
import io.robustmutex.SharedMemory;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        List<ChildJvm> children = new ArrayList<>();
        try (SharedMemory region = SharedMemory.map(regionFile, DemoWorker.SIZE)) {
            region.buffer().putLong(DemoWorker.A, 40).putLong(DemoWorker.B, 60);
            out.println("parent: ledger in " + regionFile + ": A=40 B=60 (the sum must stay 100)");

            ChildJvm writer = ChildJvm.start(DemoWorker.class, out, "writer", regionFile.toString());
            children.add(writer);
            writer.await("writer (pid");
            ChildJvm successor = ChildJvm.start(DemoWorker.class, out, "successor", regionFile.toString());
            children.add(successor);
            successor.await("successor (pid");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ChildJvm.WAIT_SECONDS);
            while (!region.mutex(0, MutexKind.PI).snapshot().waiters()) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the successor did not start waiting");
                }
                Thread.onSpinWait();
            }
            out.println("parent: the successor is asleep in the kernel; kill -9 the writer (pid " + writer.pid()
                    + ")");
            writer.kill();
            int status = successor.finish();
            if (status == 0) {
                MutexSnapshot after = region.mutex(0, MutexKind.PI).snapshot();
                out.println("parent: mutex state " + after.state() + ", owner deaths detected "
                        + after.ownerDiedCount() + ", fencing token " + after.fencingToken() + "; ledger A="
                        + region.buffer().getLong(DemoWorker.A) + " B=" + region.buffer().getLong(DemoWorker.B));
                return 0;
            }
            err.println("demo: the successor (pid " + successor.pid() + ") exited with status " + status);
            return 1;
        } finally {
            for (ChildJvm child : children) {
                child.destroy();
            }
            try (var files = Files.list(dir)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(dir);
        }
    }
}
