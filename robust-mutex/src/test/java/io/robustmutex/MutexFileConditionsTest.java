package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.ConditionRecordDescriptor;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.MutexFileHeaderDescriptor;
import io.robustmutex.internal.MutexRecordDescriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Mutex files with conditions (format version 2): created, reopened, inspected and used; a file without
 * conditions is still version 1; damaged or hostile version 2 headers and condition records are refused and left
 * untouched.
 */
class MutexFileConditionsTest {

    @TempDir
    Path dir;

    private Path validFile(String name, int mutexes, int conditions) throws IOException {
        Path path = dir.resolve(name);
        MutexFile.open(path, mutexes, conditions, MutexKind.PI).close();
        return path;
    }

    private static void patch(Path path, long position, ByteBuffer bytes) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(bytes, position);
        }
    }

    private static ByteBuffer intBytes(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value);
    }

    private static ByteBuffer longBytes(long value) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
    }

    private static ByteBuffer header(Path path) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Opening the file (each way given) must fail with a message containing {@code expected} and the path, and
     * leave every byte alone.
     */
    private static void assertRefusedUntouched(Path path, Class<? extends Throwable> type, String expected,
            Executable... opens) throws IOException {
        for (Executable open : opens) {
            byte[] before = Files.readAllBytes(path);
            Throwable e = assertThrows(type, open);
            assertTrue(e.getMessage().contains(expected), e.getMessage());
            assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(path), "the refused file was modified");
        }
    }

    /** Every way of reading a file: open with its counts, openExisting, and inspect. */
    private static Executable[] everyOpen(Path path, int mutexes, int conditions) {
        return new Executable[] {() -> MutexFile.open(path, mutexes, conditions, MutexKind.PI).close(),
                () -> MutexFile.openExisting(path).close(), () -> MutexFile.inspect(path)};
    }

    /**
     * A file created with conditions is format version 2: the condition count in the header's word at offset 28,
     * the size for both kinds of records, every condition record initialized after the mutex records.
     */
    @Test
    void aFileWithConditionsIsVersion2() throws IOException {
        Path path = dir.resolve("v2.mutex");
        try (MutexFile file = MutexFile.open(path, 3, 2, MutexKind.NORMAL)) {
            assertEquals(3, file.mutexCount());
            assertEquals(2, file.conditionCount());
            assertEquals(MutexKind.NORMAL, file.kind());
            assertTrue(file.toString().contains("2 conditions"), file.toString());
            String name = file.condition(1, file.mutex(0)).toString();
            assertTrue(name.contains(path + "#condition1"), name);
        }
        assertEquals(MutexFileHeaderDescriptor.fileSize(3, 2), Files.size(path));
        assertEquals(4096 + 5 * 64, Files.size(path));
        ByteBuffer bytes = header(path);
        assertEquals(2, bytes.getInt(MutexFileHeaderDescriptor.VERSION_OFFSET));
        assertEquals(3, bytes.getInt(MutexFileHeaderDescriptor.RECORD_COUNT_OFFSET));
        assertEquals(2, bytes.getInt(MutexFileHeaderDescriptor.CONDITION_COUNT_OFFSET));
        assertEquals(28, MutexFileHeaderDescriptor.CONDITION_COUNT_OFFSET);
        for (int i = 0; i < 2; i++) {
            int offset = MutexFileHeaderDescriptor.conditionOffset(3, i);
            assertEquals(4096 + (3 + i) * 64, offset);
            assertEquals(ConditionRecordDescriptor.KIND_WORD,
                    bytes.getInt(offset + ConditionRecordDescriptor.KIND_OFFSET));
            for (int at = 0; at < ConditionRecordDescriptor.SIZE; at += 4) {
                if (at != ConditionRecordDescriptor.KIND_OFFSET) {
                    assertEquals(0, bytes.getInt(offset + at), "condition " + i + " byte " + at);
                }
            }
        }
        try (MutexFile again = MutexFile.openExisting(path)) {
            assertEquals(3, again.mutexCount());
            assertEquals(2, again.conditionCount());
        }
        try (MutexFile again = MutexFile.open(path, 3, 2, MutexKind.PI)) {
            assertEquals(MutexKind.NORMAL, again.kind(), "an existing file keeps its kind");
        }
        MutexFileReport report = MutexFile.inspect(path);
        assertEquals(3, report.mutexes().size());
        assertEquals(List.of(new MutexFileReport.ConditionSnapshot(0, 0), new MutexFileReport.ConditionSnapshot(0, 0)),
                report.conditions());
    }

    /**
     * A file created without conditions is still written as version 1, its word at offset 28 zero, so that
     * libraries that read only version 1 keep opening it; it has no condition to give.
     */
    @Test
    void aFileWithoutConditionsIsVersion1() throws IOException {
        Path path = dir.resolve("v1.mutex");
        try (MutexFile file = MutexFile.open(path, 2, 0, MutexKind.PI)) {
            assertEquals(0, file.conditionCount());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> file.condition(0, file.mutex(0)));
            assertTrue(e.getMessage().contains("index=0") && e.getMessage().contains("has 0 conditions"),
                    e.getMessage());
        }
        ByteBuffer bytes = header(path);
        assertEquals(1, bytes.getInt(MutexFileHeaderDescriptor.VERSION_OFFSET));
        assertEquals(0, bytes.getInt(MutexFileHeaderDescriptor.RESERVED_OFFSET));
        assertEquals(MutexFileHeaderDescriptor.fileSize(2), Files.size(path));
        try (MutexFile same = MutexFile.open(path, 2)) {
            assertEquals(0, same.conditionCount());
        }
        try (MutexFile existing = MutexFile.openExisting(path)) {
            assertEquals(0, existing.conditionCount());
        }
        assertEquals(List.of(), MutexFile.inspect(path).conditions());
        MutexFile.open(dir.resolve("plain.mutex"), 1).close();
        assertEquals(1, header(dir.resolve("plain.mutex")).getInt(MutexFileHeaderDescriptor.VERSION_OFFSET));
    }

    /**
     * An existing file must have the mutex and condition counts asked for (openExisting takes whatever it has);
     * counts out of range are refused before anything is created.
     */
    @Test
    void countMismatchIsRefused() throws IOException {
        Path path = validFile("counts.mutex", 4, 2);
        assertRefusedUntouched(path, IllegalArgumentException.class,
                "has 4 mutexes and 2 conditions; asked for 4 mutexes and 0 conditions", () -> MutexFile.open(path, 4));
        assertRefusedUntouched(path, IllegalArgumentException.class,
                "has 4 mutexes and 2 conditions; asked for 4 mutexes and 3 conditions",
                () -> MutexFile.open(path, 4, 3, MutexKind.PI));
        assertRefusedUntouched(path, IllegalArgumentException.class,
                "has 4 mutexes and 2 conditions; asked for 5 mutexes and 2 conditions",
                () -> MutexFile.open(path, 5, 2, MutexKind.PI, FileAccess.OWNER));
        Path plain = validFile("plain.mutex", 4, 0);
        assertRefusedUntouched(plain, IllegalArgumentException.class,
                "has 4 mutexes and 0 conditions; asked for 4 mutexes and 1 conditions",
                () -> MutexFile.open(plain, 4, 1, MutexKind.PI));
        try (MutexFile file = MutexFile.openExisting(path)) {
            assertEquals(2, file.conditionCount());
        }
        Path absent = dir.resolve("absent.mutex");
        for (Executable bad : new Executable[] {() -> MutexFile.open(absent, 1, -1, MutexKind.PI),
                () -> MutexFile.open(absent, 1, MutexFileHeaderDescriptor.MAX_RECORDS, MutexKind.PI),
                () -> MutexFile.open(absent, 2, Integer.MAX_VALUE, MutexKind.PI),
                () -> MutexFile.open(absent, 0, 1, MutexKind.PI)}) {
            assertThrows(IllegalArgumentException.class, bad);
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> MutexFile.open(absent, 1, -1, MutexKind.PI))
                .getMessage().contains("conditionCount=-1"));
        assertFalse(Files.exists(absent));
    }

    /** Condition indexes outside the file are refused with the index; a closed handle gives none. */
    @Test
    void outOfRangeConditionIndexIsRefused() throws IOException {
        MutexFile file = MutexFile.open(dir.resolve("index.mutex"), 1, 2, MutexKind.PI);
        RobustMutex mutex = file.mutex(0);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> file.condition(2, mutex)).getMessage()
                .contains("index=2"));
        assertThrows(IllegalArgumentException.class, () -> file.condition(-1, mutex));
        assertThrows(NullPointerException.class, () -> file.condition(0, null));
        assertEquals(mutex, file.condition(1, mutex).mutex());
        file.close();
        assertTrue(assertThrows(IllegalStateException.class, () -> file.condition(0, mutex)).getMessage()
                .contains("closed"));
    }

    /**
     * A waiter on a condition of the file, through one handle, is counted in the file's record and is woken by a
     * signal through another handle: the signal moves the record's sequence, which inspect shows.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aConditionFromTheFileWorksBetweenTwoThreads(MutexKind kind) throws Exception {
        Path path = dir.resolve("signal-" + kind + ".mutex");
        try (MutexFile waiting = MutexFile.open(path, 2, 2, kind);
                MutexFile signalling = MutexFile.openExisting(path)) {
            AtomicBoolean ready = new AtomicBoolean();
            RobustMutex waiterMutex = waiting.mutex(1);
            RobustCondition waiterCondition = waiting.condition(1, waiterMutex);
            CompletableFuture<Integer> waiter = Threads.start("waiter", () -> {
                waiterMutex.lock();
                try {
                    while (!ready.get()) {
                        waiterCondition.await();
                    }
                    assertTrue(waiterMutex.isHeldByCurrentThread());
                    return waiterMutex.getHoldCount();
                } finally {
                    waiterMutex.unlock();
                }
            });
            Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> MutexFile.inspect(path).conditions().get(1).waiters() == 1);
            assertEquals(new MutexFileReport.ConditionSnapshot(0, 0), MutexFile.inspect(path).conditions().get(0));
            RobustMutex mutex = signalling.mutex(1);
            RobustCondition condition = signalling.condition(1, mutex);
            mutex.lock();
            try {
                ready.set(true);
                condition.signal();
            } finally {
                mutex.unlock();
            }
            assertEquals(1, Threads.get(waiter));
            MutexFileReport.ConditionSnapshot after = MutexFile.inspect(path).conditions().get(1);
            assertEquals(1, after.sequence(), "one signal");
            assertEquals(0, after.waiters(), "the waiter stopped waiting");
        }
    }

    /**
     * A file last initialized in an earlier boot resets its mutexes' held words, never its conditions: they hold
     * no TID. The conditions work afterwards.
     */
    @Test
    void conditionsAreNotResetAfterAReboot() throws Exception {
        Path path = validFile("reboot.mutex", 2, 1);
        int condition = MutexFileHeaderDescriptor.conditionOffset(2, 0);
        patch(path, MutexFileHeaderDescriptor.recordOffset(1), intBytes(123_456 | FutexWord.WAITERS));
        patch(path, condition + ConditionRecordDescriptor.SEQUENCE_OFFSET, intBytes(77));
        patch(path, MutexFileHeaderDescriptor.BOOT_ID_OFFSET, longBytes(42));
        try (MutexFile file = MutexFile.open(path, 2, 1, MutexKind.PI)) {
            assertEquals(1, file.wordsResetAfterReboot());
            assertEquals(77, MutexFile.inspect(path).conditions().get(0).sequence());
            RobustMutex mutex = file.mutex(0);
            RobustCondition timed = file.condition(0, mutex);
            mutex.lock();
            try {
                timed.await(1, TimeUnit.MILLISECONDS);
                assertTrue(mutex.isHeldByCurrentThread());
                timed.signalAll();
            } finally {
                mutex.unlock();
            }
        }
        assertEquals(2, header(path).getInt(MutexFileHeaderDescriptor.VERSION_OFFSET));
    }

    /**
     * A version 2 header with a condition count that cannot be (zero, negative, huge, past the 2 GiB limit with
     * the file's mutexes) is refused by open, openExisting and inspect, naming the count, the file unchanged.
     */
    @Test
    void impossibleConditionCountsAreRefused() throws IOException {
        int[] counts = {0, -1, Integer.MIN_VALUE, Integer.MAX_VALUE, MutexFileHeaderDescriptor.MAX_RECORDS - 2};
        for (int count : counts) {
            Path path = validFile("count" + count + ".mutex", 3, 2);
            patch(path, MutexFileHeaderDescriptor.CONDITION_COUNT_OFFSET, intBytes(count));
            assertRefusedUntouched(path, MutexFileFormatException.class, "condition count=" + count,
                    everyOpen(path, 3, 2));
        }
        // A version 1 file whose version field says 2 has no conditions, and a version 2 file has at least one.
        Path relabelled = validFile("relabelled.mutex", 2, 0);
        patch(relabelled, MutexFileHeaderDescriptor.VERSION_OFFSET, intBytes(2));
        assertRefusedUntouched(relabelled, MutexFileFormatException.class, "condition count=0",
                everyOpen(relabelled, 2, 0));
    }

    /**
     * A version 2 file whose size does not match its mutex and condition counts is refused: a condition count
     * larger or smaller than the records present, a truncated or extended file.
     */
    @Test
    void sizeMismatchIsRefused() throws IOException {
        Path more = validFile("more.mutex", 3, 2);
        patch(more, MutexFileHeaderDescriptor.CONDITION_COUNT_OFFSET, intBytes(3));
        assertRefusedUntouched(more, MutexFileFormatException.class, "3 records and 3 condition records need "
                + MutexFileHeaderDescriptor.fileSize(3, 3) + " bytes (truncated)", everyOpen(more, 3, 3));
        Path fewer = validFile("fewer.mutex", 3, 2);
        patch(fewer, MutexFileHeaderDescriptor.CONDITION_COUNT_OFFSET, intBytes(1));
        assertRefusedUntouched(fewer, MutexFileFormatException.class, "trailing bytes", everyOpen(fewer, 3, 1));
        Path cut = validFile("cut.mutex", 3, 2);
        try (FileChannel channel = FileChannel.open(cut, StandardOpenOption.WRITE)) {
            channel.truncate(Files.size(cut) - 1);
        }
        assertRefusedUntouched(cut, MutexFileFormatException.class, "truncated", everyOpen(cut, 3, 2));
        Path extended = validFile("extended.mutex", 3, 2);
        patch(extended, Files.size(extended), ByteBuffer.wrap(new byte[64]));
        assertRefusedUntouched(extended, MutexFileFormatException.class, "trailing bytes", everyOpen(extended, 3, 2));
        // More mutexes than the file has room for once its conditions are counted.
        Path mutexes = validFile("mutexes.mutex", 3, 2);
        patch(mutexes, MutexFileHeaderDescriptor.RECORD_COUNT_OFFSET, intBytes(4));
        assertRefusedUntouched(mutexes, MutexFileFormatException.class, "truncated", everyOpen(mutexes, 4, 2));
    }

    /**
     * A condition record whose kind word is not a condition's (zero, as left half-initialized; a mutex's; noise)
     * is refused by open, openExisting and inspect, naming the condition and its offset, the file unchanged.
     */
    @Test
    void aDamagedConditionKindWordIsRefused() throws IOException {
        int[] words = {0, MutexRecordDescriptor.FLAG_INITIALIZED | 1, 0x0707_0707,
                ConditionRecordDescriptor.KIND_CONDITION, ConditionRecordDescriptor.KIND_WORD | 0x1000};
        for (int word : words) {
            Path path = validFile(String.format("kind-%x.mutex", word), 2, 3);
            int offset = MutexFileHeaderDescriptor.conditionOffset(2, 1);
            patch(path, offset + ConditionRecordDescriptor.KIND_OFFSET, intBytes(word));
            assertRefusedUntouched(path, MutexFileFormatException.class,
                    String.format("condition 1 (offset %d): kind word=0x%08x", offset, word), everyOpen(path, 2, 3));
        }
        Path mutexThere = dir.resolve(String.format("kind-%x.mutex", MutexRecordDescriptor.FLAG_INITIALIZED | 1));
        assertTrue(assertThrows(MutexFileFormatException.class, () -> MutexFile.openExisting(mutexThere))
                .getMessage().contains("a mutex record is there"));
    }

    /**
     * The last mutex record of a version 2 file is still checked as a mutex record, and the first condition as a
     * condition: a condition's kind word in the last mutex record is refused.
     */
    @Test
    void recordsAreCheckedAsWhatTheyAre() throws IOException {
        Path path = validFile("swapped.mutex", 2, 1);
        patch(path, MutexFileHeaderDescriptor.recordOffset(1) + MutexRecordDescriptor.KIND_OFFSET,
                intBytes(ConditionRecordDescriptor.KIND_WORD));
        assertRefusedUntouched(path, MutexFileFormatException.class, "record 1", everyOpen(path, 2, 1));
    }

    /**
     * A version 1 file's word at offset 28 is reserved: non-zero, it is refused as before, even when the file has
     * room for that many conditions (a version 1 file is not read as version 2), and so is a version 2 file
     * relabelled version 1.
     */
    @Test
    void aVersion1ReservedWordIsStillRefused() throws IOException {
        Path v1 = validFile("reserved.mutex", 2, 0);
        patch(v1, MutexFileHeaderDescriptor.RESERVED_OFFSET, intBytes(1));
        patch(v1, Files.size(v1), ByteBuffer.wrap(new byte[64]));
        assertRefusedUntouched(v1, MutexFileFormatException.class, "trailing bytes", everyOpen(v1, 2, 0));
        Path sized = validFile("reserved-sized.mutex", 2, 0);
        patch(sized, MutexFileHeaderDescriptor.RESERVED_OFFSET, intBytes(1));
        assertRefusedUntouched(sized, MutexFileFormatException.class, "reserved word at offset 28=0x00000001",
                everyOpen(sized, 2, 0));
        Path relabelled = validFile("v2-as-v1.mutex", 2, 1);
        patch(relabelled, MutexFileHeaderDescriptor.VERSION_OFFSET, intBytes(1));
        assertRefusedUntouched(relabelled, MutexFileFormatException.class, "trailing bytes",
                everyOpen(relabelled, 2, 1));
    }
}
