package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.testing.ChildProcess;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Mutex records embedded in a caller's mapped region, next to its data. */
class SharedMemoryTest {

    @TempDir
    Path dir;

    /** Locking touches only the record's 64 bytes; the caller's data around it is untouched. */
    @Test
    void recordLivesNextToCallerData() throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("region"), 256)) {
            ByteBuffer data = region.buffer();
            for (int i = 0; i < 64; i++) {
                data.put(i, (byte) 0x5a);
                data.put(128 + i, (byte) 0xa5);
            }
            RobustMutex mutex = region.mutex(64, MutexKind.NORMAL);
            for (int i = 0; i < 3; i++) {
                try (Acquisition held = mutex.acquire()) {
                    data.putLong(128, held.fencingToken());
                }
            }
            for (int i = 0; i < 64; i++) {
                assertEquals((byte) 0x5a, data.get(i), "byte " + i);
            }
            assertEquals(3, data.getLong(128));
            for (int i = 8; i < 64; i++) {
                assertEquals((byte) 0xa5, data.get(128 + i), "byte " + (128 + i));
            }
            assertSame(mutex, region.mutex(64, MutexKind.NORMAL));
        }
        assertEquals(256, Files.size(dir.resolve("region")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("region"))));
    }

    /** Offsets that are not 64-aligned or leave no room for a record are refused with the offset. */
    @Test
    void badOffsetsAreRefused() throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("offsets"), 256)) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> region.mutex(32)).getMessage()
                    .contains("offset=32"));
            assertTrue(assertThrows(IllegalArgumentException.class, () -> region.mutex(256)).getMessage()
                    .contains("offset=256"));
            assertThrows(IllegalArgumentException.class, () -> region.mutex(-64));
            assertThrows(IllegalArgumentException.class, () -> SharedMemory.map(dir.resolve("tiny"), 63));
        }
    }

    /** The caller's data where a record was asked for is refused, and left as it was. */
    @Test
    void callerDataIsNotMistakenForARecord() throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("data"), 256)) {
            ByteBuffer data = region.buffer();
            data.putLong(128, 0x1234_5678_9abc_def0L);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> region.mutex(128));
            assertTrue(e.getMessage().contains("offset=128"), e.getMessage());
            assertEquals(0x1234_5678_9abc_def0L, data.getLong(128));
            assertEquals(0, data.getLong(128 + 40));
            region.mutex(64, MutexKind.PI);
            assertThrows(IllegalArgumentException.class, () -> region.mutex(64, MutexKind.NORMAL));
        }
    }

    /** Two handles on one file share the mapping, so they agree on who holds a record. */
    @Test
    void handlesShareTheMapping() throws Exception {
        Path path = dir.resolve("shared");
        SharedMemory a = SharedMemory.map(path, 4096);
        SharedMemory b = SharedMemory.map(path, 4096);
        try (Acquisition held = a.mutex(0).acquire()) {
            assertFalse(held.ownerDied());
            assertTrue(b.mutex(0).isHeldByCurrentThread());
            a.buffer().putInt(100, 7);
            assertEquals(7, b.buffer().getInt(100));
            assertTrue(assertThrows(IllegalStateException.class, b::close).getMessage().contains("holds"));
        }
        b.close();
        a.close();
        assertThrows(IllegalStateException.class, a::buffer);
    }

    /**
     * A word held since an earlier boot (its record's stamp is another boot's: the file survived a reboot) is
     * taken over by the next acquirer, which is told the owner died, even when its TID now names a live thread;
     * reinitialize() takes it over the same way.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aWordHeldSinceAnEarlierBootIsTakenOver(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("reboot-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            int liveTid = (int) ProcessHandle.current().pid();
            ByteBuffer data = region.buffer();
            int stamp = data.getInt(MutexRecordDescriptor.BOOT_STAMP_OFFSET);
            assertTrue(stamp != 0, "a new record carries this boot's stamp");
            data.putInt(MutexRecordDescriptor.BOOT_STAMP_OFFSET, stamp ^ 0x5a5a5a5a);
            data.putInt(0, liveTid);
            Optional<Acquisition> taken = Threads.runToEnd("after-reboot", () -> mutex.tryAcquire(Duration.ofSeconds(5))
                    .map(held -> {
                        held.markConsistent();
                        held.close();
                        return held;
                    }));
            assertTrue(taken.isPresent(), "the stale holder was waited for");
            assertTrue(taken.get().ownerDied());
            assertEquals(stamp, data.getInt(MutexRecordDescriptor.BOOT_STAMP_OFFSET), "stamped again");
            data.putInt(MutexRecordDescriptor.BOOT_STAMP_OFFSET, stamp ^ 1);
            data.putInt(0, liveTid);
            mutex.reinitialize();
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());
            assertFalse(mutex.snapshot().locked());
        }
    }

    /**
     * Two mappings of one file (mapped with two sizes) name one mutex: a thread holding it through one holds it
     * through the other, re-entrantly, and another thread is excluded through both.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void twoMappingsOfOneFileNameOneMutex(MutexKind kind) throws Exception {
        Path path = dir.resolve("twice-" + kind);
        try (SharedMemory small = SharedMemory.map(path, 4096); SharedMemory large = SharedMemory.map(path, 8192)) {
            RobustMutex viaSmall = small.mutex(0, kind);
            RobustMutex viaLarge = large.mutex(0, kind);
            Threads.runToEnd("holder", () -> {
                viaSmall.lock();
                assertTrue(viaLarge.isHeldByCurrentThread());
                assertTrue(viaLarge.tryLock(), "the holder is excluded by its own mutex through another mapping");
                assertEquals(2, viaLarge.getHoldCount());
                assertEquals(Boolean.FALSE, Threads.runToEnd("other", () -> viaLarge.tryLock()));
                viaLarge.unlock();
                assertEquals(1, viaSmall.getHoldCount());
                viaSmall.unlock();
                return null;
            });
            assertEquals(Boolean.TRUE, Threads.runToEnd("after", () -> {
                try (Acquisition held = viaLarge.acquire()) {
                    return !held.ownerDied();
                }
            }));
        }
    }

    /**
     * A mutex held through one mapping and used through a second mapping of the same file after the second was
     * closed: the second mapping's memory is gone, so the hold's own record (in the first mapping) is the one
     * to use. Each operation runs in a child JVM, because touching the unmapped memory crashes the JVM.
     */
    @ParameterizedTest
    @ValueSource(strings = {"unlock", "fencingToken", "markConsistent", "isConsistent", "getHoldCount", "tryLock"})
    void aHoldIsUsableThroughAClosedSecondMapping(String operation) throws Exception {
        for (MutexKind kind : MutexKind.values()) {
            Path path = dir.resolve("cross-" + operation + "-" + kind);
            try (ChildProcess child = ChildProcess.start(MutexWorker.class, "cross-mapping", path.toString(),
                    kind.name(), operation)) {
                assertEquals(0, child.waitFor(Duration.ofSeconds(60)), () -> kind + " " + operation + ": the child"
                        + " did not exit normally; stdout=" + child.lines() + ", stderr=" + child.errorLines());
                String expected = switch (operation) {
                    case "unlock" -> "RESULT unlocked";
                    case "fencingToken" -> "RESULT token same";
                    case "markConsistent" -> "RESULT marked";
                    case "isConsistent" -> "RESULT consistent=true";
                    case "getHoldCount" -> "RESULT holds=1";
                    default -> "RESULT threw IllegalStateException: " + path + " is closed";
                };
                assertEquals(List.of(expected, "HELD=" + !"unlock".equals(operation)), child.lines(),
                        kind + " " + operation);
            }
        }
    }

    /** Deleting the file while it is mapped is visible through the handle. */
    @Test
    void aDeletedRegionFileIsReported() throws Exception {
        Path path = dir.resolve("deleted-region");
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            assertFalse(region.isUnlinked());
            Files.delete(path);
            assertTrue(region.isUnlinked());
        }
    }
}
