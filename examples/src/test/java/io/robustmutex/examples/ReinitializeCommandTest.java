package io.robustmutex.examples;

import static io.robustmutex.examples.Tool.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.MutexNotRecoverableException;
import io.robustmutex.MutexState;
import io.robustmutex.SharedMemory;
import io.robustmutex.examples.Tool.Run;
import io.robustmutex.testing.ChildProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code reinitialize FILE INDEX}: repairs what the API repairs, refuses what it refuses. */
class ReinitializeCommandTest {

    @TempDir
    Path dir;

    /**
     * reinitialize makes a NOT_RECOVERABLE mutex usable again and shows the states; it is refused while a live
     * process holds the mutex; a bad index is a usage error.
     */
    @Test
    void reinitializeRepairsANotRecoverableMutexAndRefusesAHeldOne() throws Exception {
        Path path = dir.resolve("reinit.mutex");
        MutexFile.open(path, 2).close();
        try (ChildProcess holder = ChildProcess.start(ExamplesTest.HoldMutex.class, path.toString(), "0")) {
            holder.awaitLine("HELD", Duration.ofSeconds(60));
            holder.kill();
        }
        try (MutexFile file = MutexFile.openExisting(path)) {
            try (Acquisition held = file.mutex(0).acquire()) {
                assertTrue(held.ownerDied());
                // Released without markConsistent(): NOT_RECOVERABLE.
            }
            assertEquals(MutexState.NOT_RECOVERABLE, file.mutex(0).snapshot().state());

            Run repaired = run("reinitialize", path.toString(), "0");
            assertEquals(0, repaired.exit(), repaired.err());
            assertTrue(repaired.out().contains("before: NOT_RECOVERABLE, free"), repaired.out());
            assertTrue(repaired.out().contains("after:  CONSISTENT, free"), repaired.out());
            assertEquals(MutexState.CONSISTENT, file.mutex(0).snapshot().state());
            try (Acquisition again = file.mutex(0).acquire()) {
                assertFalse(again.ownerDied());
            }
        }
        try (ChildProcess live = ChildProcess.start(ExamplesTest.HoldMutex.class, path.toString(), "1")) {
            live.awaitLine("HELD", Duration.ofSeconds(60));
            Run refused = run("reinitialize", path.toString(), "1");
            assertEquals(1, refused.exit(), refused.out());
            assertTrue(refused.err().contains(path.toString()) && refused.err().contains("held"), refused.err());
            assertTrue(refused.out().contains("before: CONSISTENT, held by TID"), refused.out());
            try (MutexFile file = MutexFile.openExisting(path)) {
                assertTrue(file.mutex(1).snapshot().locked(), "still held by the child");
                assertEquals(live.pid(), file.mutex(1).snapshot().ownerPid());
            }
        }
        Run outOfRange = run("reinitialize", path.toString(), "2");
        assertEquals(2, outOfRange.exit());
        assertTrue(outOfRange.err().contains("INDEX 2") && outOfRange.err().contains(path.toString()),
                outOfRange.err());
        Run notANumber = run("reinitialize", path.toString(), "first");
        assertEquals(2, notANumber.exit());
        assertTrue(notANumber.err().contains("INDEX first"), notANumber.err());
    }

    /** A NOT_RECOVERABLE mutex refuses acquisition until reinitialize, which the tool does from a shell. */
    @Test
    void notRecoverableUntilReinitialized() throws Exception {
        Path path = dir.resolve("refuses.mutex");
        try (MutexFile file = MutexFile.open(path, 1)) {
            try (ChildProcess holder = ChildProcess.start(ExamplesTest.HoldMutex.class, path.toString(), "0")) {
                holder.awaitLine("HELD", Duration.ofSeconds(60));
                holder.kill();
            }
            file.mutex(0).acquire().close();
            boolean refused;
            try {
                file.mutex(0).acquire().close();
                refused = false;
            } catch (MutexNotRecoverableException e) {
                refused = true;
            }
            assertTrue(refused, "NOT_RECOVERABLE refuses acquisition");
            assertEquals(0, run("reinitialize", path.toString(), "0").exit());
            file.mutex(0).acquire().close();
        }
    }

    /** reinitialize refuses a SharedMemory region without calling it broken, and changes nothing. */
    @Test
    void reinitializeRefusesARegionWithoutCallingItBroken() throws Exception {
        Path path = dir.resolve("prices");
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            region.mutex(0, MutexKind.PI).acquire().close();
            region.buffer().putLong(64, 12345);
        }
        byte[] before = Files.readAllBytes(path);
        Run reinitialize = run("reinitialize", path.toString(), "0");
        assertEquals(1, reinitialize.exit());
        assertTrue(reinitialize.err().contains(path + " is not a mutex file"), reinitialize.err());
        assertTrue(reinitialize.err().contains("may hold user data"), reinitialize.err());
        assertFalse(reinitialize.err().contains("delete it to"), reinitialize.err());
        assertArrayEquals(before, Files.readAllBytes(path), "reinitialize did not change the file");
    }
}
