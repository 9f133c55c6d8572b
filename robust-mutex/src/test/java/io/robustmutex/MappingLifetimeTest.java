package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.MappedRegion;
import io.robustmutex.testing.ChildProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A closed file's mapping is released as soon as no thread of the JVM holds one of its mutexes or names one in
 * its pending slot, not when the garbage collector gets to it; and a lock racing a close never touches an
 * unmapped file.
 */
class MappingLifetimeTest {

    @TempDir
    Path dir;

    /** The number of this process's mappings of files under a directory, from /proc/self/maps. */
    private static long mappingsUnder(Path directory) throws IOException {
        String prefix = directory.toRealPath().toString();
        return Files.readAllLines(Path.of("/proc/self/maps")).stream().filter(l -> l.contains(prefix)).count();
    }

    /** 100,000 distinct files opened, used and closed keep the mappings bounded by the files open at once. */
    @Test
    void aHundredThousandFilesKeepTheMappingsBounded() throws Exception {
        Path where = Files.isWritable(Path.of("/dev/shm")) ? Files.createTempDirectory(Path.of("/dev/shm"), "lifetime")
                : dir;
        long peakMaps = 0;
        long leftAfter;
        int peakRegions = 0;
        try {
            for (int i = 0; i < 100_000; i++) {
                Path path = where.resolve("f" + i + ".mutex");
                try (MutexFile file = MutexFile.open(path, 1, i % 2 == 0 ? MutexKind.PI : MutexKind.NORMAL)) {
                    file.mutex(0).lock();
                    file.mutex(0).unlock();
                    peakRegions = Math.max(peakRegions, MappedRegion.mapped());
                    if (i % 5000 == 0) {
                        peakMaps = Math.max(peakMaps, mappingsUnder(where));
                    }
                }
                Files.delete(path);
            }
            leftAfter = mappingsUnder(where);
        } finally {
            if (!where.equals(dir)) {
                Files.deleteIfExists(where);
            }
        }
        System.out.println("100000 open/close cycles: peak mapped regions " + peakRegions + ", peak /proc/self/maps"
                + " lines of the files " + peakMaps);
        assertTrue(peakRegions <= 2, "peak regions " + peakRegions);
        assertTrue(peakMaps >= 1 && peakMaps <= 2, "peak mappings " + peakMaps);
        assertEquals(0, leftAfter, "closed files are still mapped");
    }

    /**
     * A file closed while a thread of this JVM waits for one of its mutexes (another process holds it) stays
     * mapped while the waiter's pending slot names it, and is unmapped when the waiter leaves.
     */
    @Test
    void aClosedFileStaysMappedWhileAWaiterNamesIt() throws Exception {
        Path path = dir.resolve("waited.mutex");
        MutexFile file = MutexFile.open(path, 1, MutexKind.NORMAL);
        try (ChildProcess holder = ChildProcess.start(MutexWorker.class, "hold", path.toString(), "0")) {
            holder.awaitLine(l -> l.startsWith("HELD"), Duration.ofSeconds(60));
            RobustMutex mutex = file.mutex(0);
            CompletableFuture<Optional<Acquisition>> waiter = Threads.start("waiter",
                    () -> mutex.tryAcquire(Duration.ofSeconds(3)));
            Awaitility.await().atMost(ChildProcess.scaled(Duration.ofSeconds(60)))
                    .until(() -> mutex.snapshot().waiters());
            file.close();
            assertEquals(1, mappingsUnder(dir), "unmapped under a waiter");
            assertTrue(Threads.get(waiter).isEmpty(), "the holder never released it");
            Awaitility.await().atMost(ChildProcess.scaled(Duration.ofSeconds(60))).until(() -> mappingsUnder(dir) == 0);
            IllegalStateException e = assertThrows(IllegalStateException.class, mutex::lock);
            assertTrue(e.getMessage().contains("closed"), e.getMessage());
        }
    }

    /** Threads locking while another closes the file either finish or are refused; none touches it unmapped. */
    @Test
    void locksRacingACloseAreRefusedCleanly() throws Exception {
        for (int round = 0; round < 300; round++) {
            Path path = dir.resolve("race-" + round + ".mutex");
            MutexFile file = MutexFile.open(path, 1, round % 2 == 0 ? MutexKind.PI : MutexKind.NORMAL);
            RobustMutex mutex = file.mutex(0);
            AtomicBoolean refused = new AtomicBoolean();
            Runnable hammer = () -> {
                while (true) {
                    try {
                        mutex.lock();
                    } catch (IllegalStateException e) {
                        refused.set(true);
                        return;
                    }
                    mutex.unlock();
                }
            };
            Thread a = new Thread(hammer, "hammer-a");
            Thread b = new Thread(hammer, "hammer-b");
            a.start();
            b.start();
            Thread.sleep(ThreadLocalRandom.current().nextInt(3));
            while (true) {
                try {
                    file.close();
                    break;
                } catch (IllegalStateException held) {
                    Thread.onSpinWait();
                }
            }
            long joinMillis = ChildProcess.scaled(Duration.ofSeconds(60)).toMillis();
            a.join(joinMillis);
            b.join(joinMillis);
            assertFalse(a.isAlive() || b.isAlive(), "a locker never noticed the close");
            assertTrue(refused.get());
            Files.delete(path);
        }
        Awaitility.await().atMost(ChildProcess.scaled(Duration.ofSeconds(60))).until(() -> mappingsUnder(dir) == 0);
    }
}
