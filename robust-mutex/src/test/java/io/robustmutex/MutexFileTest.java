package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.HostIdentity;
import io.robustmutex.internal.MutexFileHeaderDescriptor;
import io.robustmutex.internal.MutexRecordDescriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Creating, validating, resetting and closing mutex files; bad files are refused and left untouched. */
class MutexFileTest {

    @TempDir
    Path dir;

    private Path validFile(String name, int count, MutexKind kind) throws IOException {
        Path path = dir.resolve(name);
        MutexFile.open(path, count, kind).close();
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

    /** Opening the file must fail with a message containing {@code expected}, and leave every byte alone. */
    private static void assertRefusedUntouched(Path path, Class<? extends Throwable> type, String expected,
            Executable open) throws IOException {
        byte[] before = Files.readAllBytes(path);
        Throwable e = assertThrows(type, open);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().contains(path.toString()) || type == IllegalArgumentException.class,
                e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(path), "the refused file was modified");
    }

    /** A new file has the documented layout and permissions, and every mutex is free and consistent. */
    @Test
    void createsAValidFile() throws IOException {
        Path path = dir.resolve("new.mutex");
        try (MutexFile file = MutexFile.open(path, 3)) {
            assertEquals(3, file.mutexCount());
            assertEquals(MutexKind.PI, file.kind());
            assertEquals(0, file.wordsResetAfterReboot());
            MutexSnapshot snapshot = file.mutex(2).snapshot();
            assertEquals(new MutexSnapshot(MutexKind.PI, MutexState.CONSISTENT, 0, 0, 0, false, false, 0, 0),
                    snapshot);
        }
        assertEquals(MutexFileHeaderDescriptor.fileSize(3), Files.size(path));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(path)));
        ByteBuffer header = ByteBuffer.wrap(Files.readAllBytes(path)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, header.getInt(MutexFileHeaderDescriptor.VERSION_OFFSET));
        assertEquals(3, header.getInt(MutexFileHeaderDescriptor.RECORD_COUNT_OFFSET));
        assertEquals(HostIdentity.bootId(), new UUID(header.getLong(MutexFileHeaderDescriptor.BOOT_ID_OFFSET),
                header.getLong(MutexFileHeaderDescriptor.BOOT_ID_OFFSET + 8)));
        assertEquals(HostIdentity.pidNamespace(), header.getLong(MutexFileHeaderDescriptor.PID_NAMESPACE_OFFSET));

        Path shared = dir.resolve("group.mutex");
        MutexFile.open(shared, 1, MutexKind.NORMAL, FileAccess.GROUP).close();
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(shared)));
    }

    /** Reopening validates and shares the mapping: both handles see one record. */
    @Test
    void reopenSharesTheRecord() throws Exception {
        Path path = validFile("reopen.mutex", 2, MutexKind.NORMAL);
        try (MutexFile first = MutexFile.open(path, 2); MutexFile second = MutexFile.openExisting(path)) {
            assertEquals(MutexKind.NORMAL, second.kind());
            try (Acquisition held = first.mutex(1).acquire()) {
                assertFalse(held.ownerDied());
                assertTrue(second.mutex(1).isHeldByCurrentThread());
                assertEquals(2, Threads.<Integer>runToEnd("other", () -> second.mutex(1).tryLock() ? 1 : 2));
            }
        }
    }

    /** Asking for another count than the file has is refused, as is an out-of-range count. */
    @Test
    void countMismatchIsRefused() throws IOException {
        Path path = validFile("count.mutex", 4, MutexKind.PI);
        assertRefusedUntouched(path, IllegalArgumentException.class, "has 4 mutexes; asked for 5",
                () -> MutexFile.open(path, 5));
        assertThrows(IllegalArgumentException.class, () -> MutexFile.open(dir.resolve("zero.mutex"), 0));
        assertFalse(Files.exists(dir.resolve("zero.mutex")));
    }

    /** A file that is not a mutex file is refused, naming what was found. */
    @Test
    void notAMutexFileIsRefused() throws IOException {
        Path path = dir.resolve("random.bin");
        byte[] noise = new byte[8192];
        new Random(7).nextBytes(noise);
        noise[0] = 'J';
        Files.write(path, noise);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
        assertRefusedUntouched(path, MutexFileFormatException.class, "magic=\"J", () -> MutexFile.open(path, 4));
        assertRefusedUntouched(path, MutexFileFormatException.class, "not a robust-mutex file",
                () -> MutexFile.openExisting(path));
    }

    /** A format version other than 1 and 2 is refused. */
    @Test
    void wrongVersionIsRefused() throws IOException {
        Path path = validFile("v3.mutex", 2, MutexKind.PI);
        patch(path, MutexFileHeaderDescriptor.VERSION_OFFSET, intBytes(3));
        assertRefusedUntouched(path, MutexFileFormatException.class, "format version=3",
                () -> MutexFile.open(path, 2));
        patch(path, MutexFileHeaderDescriptor.VERSION_OFFSET, intBytes(0));
        assertRefusedUntouched(path, MutexFileFormatException.class, "format version=0 (this library reads"
                + " versions 1 and 2)", () -> MutexFile.openExisting(path));
    }

    /** Truncated files are refused, whether the cut is in the records or in the header. */
    @Test
    void truncatedFilesAreRefused() throws IOException {
        Path path = validFile("cut.mutex", 4, MutexKind.PI);
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.truncate(Files.size(path) - MutexRecordDescriptor.SIZE);
        }
        assertRefusedUntouched(path, MutexFileFormatException.class, "truncated", () -> MutexFile.open(path, 4));
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.truncate(100);
        }
        assertRefusedUntouched(path, MutexFileFormatException.class, "smaller than the 4096-byte",
                () -> MutexFile.openExisting(path));
        Path extended = validFile("long.mutex", 1, MutexKind.PI);
        patch(extended, Files.size(extended), ByteBuffer.wrap(new byte[7]));
        assertRefusedUntouched(extended, MutexFileFormatException.class, "trailing bytes",
                () -> MutexFile.openExisting(extended));
    }

    /** A file whose magic was never written, or with an uninitialized record, is never trusted. */
    @Test
    void halfInitializedFilesAreRefused() throws IOException {
        Path noMagic = validFile("no-magic.mutex", 2, MutexKind.PI);
        patch(noMagic, 0, ByteBuffer.allocate(8));
        assertRefusedUntouched(noMagic, MutexFileFormatException.class, "magic is missing",
                () -> MutexFile.open(noMagic, 2));
        Path badRecord = validFile("bad-record.mutex", 4, MutexKind.NORMAL);
        patch(badRecord, MutexFileHeaderDescriptor.recordOffset(3) + MutexRecordDescriptor.KIND_OFFSET,
                intBytes(0));
        assertRefusedUntouched(badRecord, MutexFileFormatException.class, "record 3",
                () -> MutexFile.openExisting(badRecord));
        Path zeroCount = validFile("zero-count.mutex", 1, MutexKind.NORMAL);
        patch(zeroCount, MutexFileHeaderDescriptor.RECORD_COUNT_OFFSET, intBytes(0));
        assertRefusedUntouched(zeroCount, MutexFileFormatException.class, "record count=0",
                () -> MutexFile.openExisting(zeroCount));
    }

    /**
     * An empty file at the path is not a mutex file: refused by open and openExisting alike, untouched (a file
     * appears under its name only complete, so an empty one is somebody else's); a missing one is
     * NoSuchFileException for openExisting and is created by open.
     */
    @Test
    void emptyAndMissingFiles() throws IOException {
        Path empty = Files.createFile(dir.resolve("empty.mutex"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        assertRefusedUntouched(empty, MutexFileFormatException.class, "size=0", () -> MutexFile.openExisting(empty));
        assertRefusedUntouched(empty, MutexFileFormatException.class, "size=0", () -> MutexFile.open(empty, 2));
        assertThrows(NoSuchFileException.class, () -> MutexFile.openExisting(dir.resolve("absent.mutex")));
        assertFalse(Files.exists(dir.resolve("absent.mutex")));
        try (MutexFile file = MutexFile.open(dir.resolve("absent.mutex"), 2)) {
            assertEquals(2, file.mutexCount());
        }
    }

    /** Indexes outside the file are refused with the index. */
    @Test
    void outOfRangeIndexIsRefused() throws IOException {
        try (MutexFile file = MutexFile.open(dir.resolve("index.mutex"), 2)) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> file.mutex(2)).getMessage()
                    .contains("index=2"));
            assertThrows(IllegalArgumentException.class, () -> file.mutex(-1));
            assertTrue(file.mutex(1) == file.mutex(1));
        }
    }

    /**
     * Words written during an earlier boot are reset on open: a held word becomes OWNER_DIED and
     * INCONSISTENT, and its next acquirer is told the owner died.
     */
    @Test
    void staleWordsFromAnEarlierBootAreReset() throws Exception {
        Path path = validFile("reboot.mutex", 3, MutexKind.PI);
        int staleTid = 123_456;
        patch(path, MutexFileHeaderDescriptor.recordOffset(1), intBytes(staleTid | FutexWord.WAITERS));
        patch(path, MutexFileHeaderDescriptor.recordOffset(2), intBytes(FutexWord.WAITERS));
        patch(path, MutexFileHeaderDescriptor.BOOT_ID_OFFSET, longBytes(42));
        try (MutexFile file = MutexFile.open(path, 3)) {
            assertEquals(2, file.wordsResetAfterReboot());
            MutexSnapshot reset = file.mutex(1).snapshot();
            assertEquals(FutexWord.OWNER_DIED, reset.word());
            assertEquals(MutexState.INCONSISTENT, reset.state());
            assertEquals(0, file.mutex(2).snapshot().word());
            assertEquals(MutexState.CONSISTENT, file.mutex(2).snapshot().state());
            try (Acquisition held = file.mutex(1).acquire()) {
                assertTrue(held.ownerDied());
                held.markConsistent();
            }
        }
        try (MutexFile again = MutexFile.open(path, 3)) {
            assertEquals(0, again.wordsResetAfterReboot(), "the boot id was brought up to date");
        }
    }

    /**
     * A file recorded as created in another PID namespace is refused for both kinds, at open, naming the file
     * and the namespaces, and left untouched (kernel-abi.md section 5; {@link PidNamespaceTest} does it for
     * real).
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void filesFromAnotherPidNamespaceAreRefused(MutexKind kind) throws Exception {
        long foreign = HostIdentity.pidNamespace() + 1;
        Path path = validFile("ns-" + kind + ".mutex", 1, kind);
        patch(path, MutexFileHeaderDescriptor.PID_NAMESPACE_OFFSET, longBytes(foreign));
        for (Executable open : new Executable[] {() -> MutexFile.open(path, 1, kind),
                () -> MutexFile.openExisting(path)}) {
            byte[] before = Files.readAllBytes(path);
            IllegalStateException e = assertThrows(IllegalStateException.class, open);
            assertTrue(e.getMessage().contains("PID namespace") && e.getMessage().contains(path.toString())
                    && e.getMessage().contains(String.valueOf(foreign)), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(path));
        }
    }

    /** Closing is refused while held; afterwards every use throws IllegalStateException. */
    @Test
    void useAfterCloseIsRefused() throws Exception {
        MutexFile file = MutexFile.open(dir.resolve("closed.mutex"), 1);
        RobustMutex mutex = file.mutex(0);
        Acquisition held = mutex.acquire();
        assertTrue(assertThrows(IllegalStateException.class, file::close).getMessage().contains("holds"));
        held.close();
        file.close();
        file.close();
        for (Executable use : new Executable[] {() -> file.mutex(0), mutex::acquire, mutex::lock, mutex::tryLock,
                mutex::snapshot, mutex::reinitialize, () -> mutex.tryAcquire(java.time.Duration.ZERO)}) {
            assertTrue(assertThrows(IllegalStateException.class, use).getMessage().contains("closed"));
        }
    }

    /**
     * A whole-file {@code FileChannel.lock()} on the mutex file itself reaches the byte a handle marks its use
     * with: the open still succeeds and the mutexes work, and a second open counts the file as in use (a
     * rewritten boot id resets nothing while that lock is held).
     */
    @Test
    void aWholeFileChannelLockOnTheMutexFileDoesNotStopIt() throws IOException {
        Path path = validFile("channel-locked.mutex", 2, MutexKind.NORMAL);
        patch(path, MutexFileHeaderDescriptor.recordOffset(1), intBytes(123_456));
        patch(path, MutexFileHeaderDescriptor.BOOT_ID_OFFSET, longBytes(42));
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE);
                java.nio.channels.FileLock lock = channel.lock()) {
            assertTrue(lock.isValid());
            try (MutexFile file = MutexFile.open(path, 2)) {
                assertEquals(0, file.wordsResetAfterReboot(), "reset while another program has the file locked");
                assertEquals(123_456, file.mutex(1).snapshot().word());
                file.mutex(0).lock();
                file.mutex(0).unlock();
            }
        }
    }

    /** A record kind word the library never writes: inspect names the file and the record, and changes nothing. */
    @Test
    void inspectOfADamagedKindWordNamesTheFileAndRecord() throws IOException {
        Path path = validFile("damaged-kind.mutex", 2, MutexKind.NORMAL);
        patch(path, MutexFileHeaderDescriptor.recordOffset(1) + MutexRecordDescriptor.KIND_OFFSET,
                intBytes(0x0707_0707));
        byte[] before = Files.readAllBytes(path);
        MutexFileFormatException refused = assertThrows(MutexFileFormatException.class,
                () -> MutexFile.inspect(path));
        assertTrue(refused.getMessage().startsWith(path + ": record 1: kind word=0x07070707"), refused.getMessage());
        assertArrayEquals(before, Files.readAllBytes(path));
    }
}
