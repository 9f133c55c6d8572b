package io.robustmutex.examples;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexFile;
import io.robustmutex.RobustMutex;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * {@code example-file-lock}: replacing {@link FileChannel#lock()} on a coordination file with a robust mutex.
 *
 * <p>Before: processes take turns on {@code jobs.lock} with {@code FileChannel.lock()}. It is one lock per
 * JVM (a second thread of the same JVM gets {@link OverlappingFileLockException} instead of waiting), it is
 * released silently when any channel on the file is closed, it costs over a microsecond, and a holder that
 * dies leaves no sign of it. After: a {@link MutexFile} beside it. Same exclusion between processes, and
 * between threads of one JVM too; waiting happens in the kernel; the next holder learns of a dead owner.
 */
final class FileLockExample implements RobustMutexTool.Command {

    private long counter;

    @Override
    public String summary() {
        return "example: FileChannel.lock on a coordination file, before and after";
    }

    @Override
    public String help() {
        return """
                Before: two threads of one JVM try FileChannel.lock() on one file; the second cannot wait for it and
                gets OverlappingFileLockException. After: four threads take turns on a robust mutex beside the file.

                Takes no arguments. Exit status: 0.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments.parse(args).noPositional();
        Path dir = Files.createTempDirectory("robust-mutex-file-lock");
        try {
            before(dir.resolve("jobs.lock"), out);
            after(dir.resolve("jobs.lock.mutex"), out);
            return 0;
        } finally {
            try (var files = Files.list(dir)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** Before: a second thread of the same JVM cannot wait for the file lock; it gets an exception. */
    private static void before(Path coordination, PrintStream out) throws Exception {
        out.println("before: FileChannel.lock() on " + coordination.getFileName());
        try (FileChannel first = FileChannel.open(coordination, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileChannel second = FileChannel.open(coordination, StandardOpenOption.WRITE)) {
            FileLock held = first.lock();
            CountDownLatch done = new CountDownLatch(1);
            Thread other = new Thread(() -> {
                try {
                    second.lock().release();
                    out.println("  second thread: got the lock");
                } catch (OverlappingFileLockException e) {
                    out.println("  second thread: OverlappingFileLockException, it cannot wait for a lock its own"
                            + " JVM holds");
                } catch (IOException e) {
                    out.println("  second thread: " + e);
                } finally {
                    done.countDown();
                }
            });
            other.start();
            done.await();
            held.release();
        }
    }

    /** After: four threads (or processes) take turns on a robust mutex beside the file. */
    private void after(Path mutexFile, PrintStream out) throws Exception {
        out.println("after: RobustMutex in " + mutexFile.getFileName());
        try (MutexFile file = MutexFile.open(mutexFile, 1)) {
            RobustMutex jobs = file.mutex(0);
            int threads = 4;
            int rounds = 50_000;
            List<Thread> workers = new ArrayList<>();
            long start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                Thread worker = new Thread(() -> {
                    for (int i = 0; i < rounds; i++) {
                        try (Acquisition held = jobs.acquire()) {
                            if (held.ownerDied()) {
                                // A process died holding the coordination lock: check the jobs it was running.
                                held.markConsistent();
                            }
                            counter++;
                        }
                    }
                });
                workers.add(worker);
                worker.start();
            }
            for (Thread worker : workers) {
                worker.join();
            }
            long nanos = System.nanoTime() - start;
            out.printf("  %d threads of one JVM took turns %d times: counter=%d (no lost update), %.0f ns per turn%n",
                    threads, threads * rounds, counter, (double) nanos / (threads * rounds));
        }
    }
}
