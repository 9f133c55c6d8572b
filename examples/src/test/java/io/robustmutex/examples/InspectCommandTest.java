package io.robustmutex.examples;

import static io.robustmutex.examples.Tool.row;
import static io.robustmutex.examples.Tool.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustCondition;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import io.robustmutex.examples.Tool.Run;
import io.robustmutex.testing.ChildProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code inspect} on what is not a mutex file, and {@code inspect --region} on the records of a SharedMemory
 * region (the mutex-file cases are in {@link ExamplesTest}).
 */
class InspectCommandTest {

    @TempDir
    Path dir;

    /**
     * inspect FILE on a SharedMemory region says it is not a mutex file and may hold user data, never that it
     * should be deleted; the file is not changed.
     */
    @Test
    void inspectDoesNotCallARegionBroken() throws Exception {
        Path path = dir.resolve("prices");
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            region.mutex(0, MutexKind.PI).acquire().close();
            region.buffer().putLong(64, 12345);
        }
        byte[] before = Files.readAllBytes(path);
        Run inspect = run("inspect", path.toString());
        assertEquals(1, inspect.exit());
        assertTrue(inspect.err().contains(path + " is not a mutex file"), inspect.err());
        assertTrue(inspect.err().contains("may hold user data"), inspect.err());
        assertTrue(inspect.err().contains("inspect --region " + path + " --offsets"), inspect.err());
        assertFalse(inspect.err().contains("delete it to"), inspect.err());
        assertArrayEquals(before, Files.readAllBytes(path), "inspect did not change the file");
    }

    /**
     * inspect --region reads the records at the given offsets: a live holder alive, a killed holder's death
     * visible, the namespace and boot this one's; without changing a byte.
     */
    @Test
    void inspectShowsRegionRecords() throws Exception {
        Path path = dir.resolve("region");
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            region.mutex(0, MutexKind.PI);
            region.mutex(128, MutexKind.NORMAL);
            region.buffer().putLong(64, 42);
        }
        long killedPid;
        try (ChildProcess holder = ChildProcess.start(HoldRegionMutex.class, path.toString(), "128", "NORMAL")) {
            holder.awaitLine(l -> l.startsWith("HELD"), Duration.ofSeconds(60));
            killedPid = holder.pid();
            holder.kill();
        }
        try (ChildProcess live = ChildProcess.start(HoldRegionMutex.class, path.toString(), "0", "PI")) {
            live.awaitLine(l -> l.startsWith("HELD"), Duration.ofSeconds(60));
            byte[] before = Files.readAllBytes(path);
            Run inspect = run("inspect", "--region", path.toString(), "--offsets", "0,128");
            assertEquals(0, inspect.exit(), inspect.err());
            assertArrayEquals(before, Files.readAllBytes(path), "inspect does not modify the region");
            assertTrue(inspect.out().contains("region: " + path + " (4096 bytes"), inspect.out());
            String[] held = row(inspect.out(), "0");
            assertEquals(List.of("0", "PI", "CONSISTENT"), List.of(held).subList(0, 3));
            assertTrue(!held[3].equals("0"), "owner TID");
            assertEquals(Long.toString(live.pid()), held[4]);
            assertEquals(List.of("yes", "no", "no"), List.of(held).subList(5, 8), "alive, no waiters, no death");
            assertEquals(List.of("this", "this"), List.of(held).subList(10, 12), "namespace and boot");
            assertEquals(List.of("128", "NORMAL", "CONSISTENT", "0", Long.toString(killedPid), "no", "no", "yes", "1",
                    "0", "this", "this"), List.of(row(inspect.out(), "128")));
        }
    }

    /**
     * inspect of a file with conditions adds a row per condition, with its sequence and waiters hint; a file
     * without conditions shows none. Nothing is changed.
     */
    @Test
    void inspectShowsConditions() throws Exception {
        Path path = dir.resolve("conditions.mutex");
        try (MutexFile file = MutexFile.open(path, 1, 2, MutexKind.PI)) {
            RobustMutex mutex = file.mutex(0);
            RobustCondition second = file.condition(1, mutex);
            mutex.lock();
            try {
                second.signal();
            } finally {
                mutex.unlock();
            }
        }
        byte[] before = Files.readAllBytes(path);
        Run inspect = run("inspect", path.toString());
        assertEquals(0, inspect.exit(), inspect.err());
        assertArrayEquals(before, Files.readAllBytes(path), "inspect does not modify the file");
        assertTrue(inspect.out().contains("conditions: 2 (format version 2)"), inspect.out());
        assertEquals(List.of("0", "PI", "CONSISTENT"), List.of(row(inspect.out(), "0")).subList(0, 3));
        assertEquals(List.of("c0", "0", "0"), List.of(row(inspect.out(), "c0")));
        assertEquals(List.of("c1", "1", "0"), List.of(row(inspect.out(), "c1")), "one signal");

        Path plain = dir.resolve("plain.mutex");
        MutexFile.open(plain, 1).close();
        Run withoutConditions = run("inspect", plain.toString());
        assertEquals(0, withoutConditions.exit(), withoutConditions.err());
        assertFalse(withoutConditions.out().contains("condition"), withoutConditions.out());
    }

    /** inspect --region refuses offsets that hold no record, are misaligned or out of bounds, naming each. */
    @Test
    void inspectRefusesOffsetsWithoutARecord() throws Exception {
        Path path = dir.resolve("region");
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            region.mutex(0, MutexKind.PI);
            region.buffer().putLong(64, 42);
        }
        Run data = run("inspect", "--region", path.toString(), "--offsets", "0,64,192");
        assertEquals(1, data.exit());
        assertEquals("", data.out(), "nothing is shown when an offset is refused");
        assertTrue(data.err().contains(path + ": offset 64 holds no initialized mutex record"), data.err());
        assertTrue(data.err().contains(path + ": offset 192 holds no initialized mutex record"), data.err());
        assertFalse(data.err().contains("offset 0 "), data.err());
        for (String[] bad : List.of(new String[] {"100", "--offsets 100"}, new String[] {"4096", "--offsets 4096"},
                new String[] {"0,x", "--offsets x"}, new String[] {"-64", "--offsets -64"})) {
            Run refused = run("inspect", "--region", path.toString(), "--offsets", bad[0]);
            assertEquals(2, refused.exit(), bad[0] + ": " + refused.err());
            assertTrue(refused.err().contains(bad[1]), refused.err());
        }
        assertEquals(2, run("inspect", "--region", path.toString()).exit(), "--region needs --offsets");
        assertEquals(2, run("inspect", path.toString(), "--offsets", "0").exit(), "--offsets needs --region");
    }

    /** Takes the mutex at an offset of a region and waits to be killed (a child JVM). */
    public static final class HoldRegionMutex {
        private HoldRegionMutex() {
        }

        /**
         * Entry point.
         *
         * @param args the region file, the offset and the kind
         * @throws Exception on failure
         */
        public static void main(String[] args) throws Exception {
            SharedMemory region = SharedMemory.map(Path.of(args[0]), 4096);
            Acquisition held = region.mutex(Long.parseLong(args[1]), MutexKind.valueOf(args[2])).acquire();
            System.out.println("HELD " + held.fencingToken());
            new CountDownLatch(1).await();
        }
    }
}
