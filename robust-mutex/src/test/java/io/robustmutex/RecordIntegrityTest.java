package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.MutexFileHeaderDescriptor;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.testing.ChildProcess;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every field of a mutex file is checked on open; values the library never writes in a record are damage that
 * an acquisition reports and reinitialize() repairs; the boot-id reset spares live owners; a deleted file is
 * seen as deleted.
 */
class RecordIntegrityTest {

    @TempDir
    Path dir;

    private Path file(String name, int count, MutexKind kind) throws IOException {
        Path path = dir.resolve(name);
        MutexFile.open(path, count, kind).close();
        return path;
    }

    private static void patch(Path path, long position, ByteBuffer bytes) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(bytes, position);
        }
    }

    private static ByteBuffer ints(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, value);
    }

    private static ByteBuffer longs(long value) {
        return ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
    }

    private void assertRefused(String name, long position, ByteBuffer bytes, String field) throws IOException {
        Path path = file(name, 3, MutexKind.PI);
        patch(path, position, bytes);
        byte[] before = Files.readAllBytes(path);
        MutexFileFormatException e = assertThrows(MutexFileFormatException.class, () -> MutexFile.open(path, 3));
        assertTrue(e.getMessage().contains(field) && e.getMessage().contains(path.toString()), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(path), "a refused file was modified");
    }

    /** Every header field and the reserved bytes of every record are validated, naming the field. */
    @Test
    void everyFieldIsValidated() throws IOException {
        assertRefused("reserved.mutex", MutexFileHeaderDescriptor.RESERVED_OFFSET, ints(1), "reserved word");
        assertRefused("ns.mutex", MutexFileHeaderDescriptor.PID_NAMESPACE_OFFSET, longs(0), "PID namespace=0");
        assertRefused("ns-big.mutex", MutexFileHeaderDescriptor.PID_NAMESPACE_OFFSET, longs(1L << 40),
                "PID namespace=");
        assertRefused("id.mutex", MutexFileHeaderDescriptor.FILE_ID_OFFSET, longs(0), "file id=0");
        assertRefused("created.mutex", MutexFileHeaderDescriptor.CREATED_OFFSET, longs(-5), "creation time=-5");
        assertRefused("tail.mutex", 2000, ByteBuffer.wrap(new byte[] {1}), "tail must be zero");
        assertRefused("kinds.mutex", MutexFileHeaderDescriptor.recordOffset(2) + MutexRecordDescriptor.KIND_OFFSET,
                ints(0x100 | 2), "kind=NORMAL, but the header says");
        assertRefused("link.mutex", MutexFileHeaderDescriptor.recordOffset(1)
                + MutexRecordDescriptor.RESERVED_LINK_OFFSET, longs(7), "reserved bytes 16..23");
        assertRefused("record-tail.mutex", MutexFileHeaderDescriptor.recordOffset(0)
                + MutexRecordDescriptor.BOOT_STAMP_OFFSET, ints(9), "56..63");
    }

    /**
     * A state the library never writes is damage: the file opens, the snapshot says DAMAGED, an acquisition
     * throws MutexDamagedException holding nothing, and reinitialize() repairs it.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aDamagedStateIsReportedAndRepaired(MutexKind kind) throws Exception {
        Path path = file("state-" + kind + ".mutex", 1, kind);
        patch(path, MutexFileHeaderDescriptor.recordOffset(0) + MutexRecordDescriptor.STATE_OFFSET, ints(7));
        try (MutexFile file = MutexFile.open(path, 1, kind)) {
            RobustMutex mutex = file.mutex(0);
            assertEquals(MutexState.DAMAGED, mutex.snapshot().state());
            MutexDamagedException e = assertThrows(MutexDamagedException.class, mutex::acquire);
            assertTrue(e.getMessage().contains("7") && e.getMessage().contains(path + "[0]"), e.getMessage());
            assertFalse(mutex.isHeldByCurrentThread());
            assertFalse(mutex.snapshot().locked());
            assertThrows(MutexDamagedException.class, mutex::lock);
            mutex.reinitialize();
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());
            try (Acquisition held = mutex.acquire()) {
                assertFalse(held.ownerDied());
            }
        }
    }

    /** The fencing token refuses to wrap: at Long.MAX_VALUE (or negative) it is damage; reinitialize restarts it. */
    @Test
    void theFencingTokenRefusesToWrap() throws Exception {
        Path path = file("token.mutex", 2, MutexKind.PI);
        patch(path, MutexFileHeaderDescriptor.recordOffset(0) + MutexRecordDescriptor.FENCING_TOKEN_OFFSET,
                longs(Long.MAX_VALUE));
        patch(path, MutexFileHeaderDescriptor.recordOffset(1) + MutexRecordDescriptor.FENCING_TOKEN_OFFSET,
                longs(-3));
        try (MutexFile file = MutexFile.open(path, 2)) {
            for (int i = 0; i < 2; i++) {
                RobustMutex mutex = file.mutex(i);
                long token = mutex.snapshot().fencingToken();
                MutexDamagedException e = assertThrows(MutexDamagedException.class, mutex::acquire);
                assertTrue(e.getMessage().contains("fencing token"), e.getMessage());
                assertEquals(token, mutex.snapshot().fencingToken(), "the token moved");
                mutex.reinitialize();
                try (Acquisition held = mutex.acquire()) {
                    assertEquals(2, held.fencingToken(), "restarted at 1 by reinitialize, 2 now");
                }
            }
        }
    }

    /**
     * Rewriting the boot id while a process of this boot has the file open resets nothing: its in-use mark
     * shows the words are this boot's. The live holder keeps its mutex; a word naming a TID that no thread has
     * is taken over by its next contender, as any vanished owner's, with the death reported.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aBootIdRewriteWhileInUseResetsNothing(MutexKind kind) throws Exception {
        Path path = file("boot-" + kind + ".mutex", 2, kind);
        try (ChildProcess holder = ChildProcess.start(MutexWorker.class, "hold", path.toString(), "0")) {
            holder.awaitLine(l -> l.startsWith("HELD"), Duration.ofSeconds(60));
            int holderWord;
            try (MutexFile peek = MutexFile.open(path, 2, kind)) {
                holderWord = peek.mutex(0).snapshot().word();
            }
            patch(path, MutexFileHeaderDescriptor.recordOffset(1), ints(0x3ffffff0));
            patch(path, MutexFileHeaderDescriptor.BOOT_ID_OFFSET, otherBootId());
            try (MutexFile file = MutexFile.open(path, 2, kind)) {
                assertEquals(0, file.wordsResetAfterReboot(), "words of a file in use were reset");
                assertEquals(holderWord, file.mutex(0).snapshot().word(), "the live owner's word was reset");
                Optional<Acquisition> stolen = Threads.runToEnd("thief", () -> file.mutex(0)
                        .tryAcquire(Duration.ofMillis(300)));
                assertTrue(stolen.isEmpty(), "a second process acquired while the first held");
                assertEquals(0x3ffffff0, file.mutex(1).snapshot().word());
                assertEquals(Boolean.TRUE, Threads.runToEnd("contender", () -> {
                    try (Acquisition held = file.mutex(1).tryAcquire(Duration.ofSeconds(10)).orElseThrow()) {
                        held.markConsistent();
                        return held.ownerDied();
                    }
                }), "the vanished owner's death was not reported");
            }
        }
    }

    /**
     * After a reboot, a held word's TID may name a live thread of this boot that has nothing to do with the
     * file (boots often hand out the same numbers): with no handle of this boot open, every held word is an
     * earlier boot's and is reset, whatever its TID names now. The reset writes only the word: the record's
     * other fields are left for the next acquirer, which is told of the death.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void afterARebootAWordNamingALiveThreadIsReset(MutexKind kind) throws Exception {
        Path path = file("reboot-" + kind + ".mutex", 1, kind);
        long record = MutexFileHeaderDescriptor.recordOffset(0);
        // A live thread of this JVM, with a robust list registered, whose TID the earlier boot's holder had.
        java.util.concurrent.CountDownLatch done = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CompletableFuture<Integer> bystanderTid = new java.util.concurrent.CompletableFuture<>();
        Path own = file("bystander-" + kind + ".mutex", 1, kind);
        Thread bystander = new Thread(() -> {
            try (MutexFile mine = MutexFile.open(own, 1, kind)) {
                mine.mutex(0).lock();
                bystanderTid.complete(mine.mutex(0).snapshot().word() & FutexWord.TID_MASK);
                mine.mutex(0).unlock();
                done.await();
            } catch (Exception e) {
                bystanderTid.completeExceptionally(e);
            }
        }, "bystander");
        bystander.start();
        try {
            int tid = bystanderTid.get(60, java.util.concurrent.TimeUnit.SECONDS);
            patch(path, record + MutexRecordDescriptor.FUTEX_WORD_OFFSET, ints(tid | FutexWord.WAITERS));
            patch(path, record + MutexRecordDescriptor.FENCING_TOKEN_OFFSET, longs(41));
            patch(path, record + MutexRecordDescriptor.OWNER_PID_OFFSET, ints(12345));
            patch(path, record + MutexRecordDescriptor.LIST_NEXT_OFFSET, longs(0x7f00_0000_1000L));
            patch(path, MutexFileHeaderDescriptor.BOOT_ID_OFFSET, otherBootId());
            byte[] before = Files.readAllBytes(path);
            try (MutexFile file = MutexFile.open(path, 1, kind)) {
                assertEquals(1, file.wordsResetAfterReboot());
                byte[] after = Files.readAllBytes(path);
                // The word, the state, the list pointers, the owner pid and the boot id change; nothing else.
                for (int i = 0; i < before.length; i++) {
                    long at = i - record;
                    boolean resetField = at >= MutexRecordDescriptor.FUTEX_WORD_OFFSET
                            && at < MutexRecordDescriptor.STATE_OFFSET + 4
                            || at >= MutexRecordDescriptor.LIST_PREV_OFFSET
                            && at < MutexRecordDescriptor.LIST_NEXT_OFFSET + 8
                            || at >= MutexRecordDescriptor.OWNER_PID_OFFSET
                            && at < MutexRecordDescriptor.OWNER_PID_OFFSET + 4;
                    boolean bootId = i >= MutexFileHeaderDescriptor.BOOT_ID_OFFSET
                            && i < MutexFileHeaderDescriptor.BOOT_ID_OFFSET + 16;
                    if (!resetField && !bootId) {
                        assertEquals(before[i], after[i], "byte " + i + " changed by the reset");
                    }
                }
                assertEquals(MutexState.INCONSISTENT, file.mutex(0).snapshot().state());
                assertEquals(0, file.mutex(0).snapshot().ownerPid());
                assertEquals(FutexWord.OWNER_DIED, file.mutex(0).snapshot().word());
                try (Acquisition held = file.mutex(0).tryAcquire(Duration.ofSeconds(10)).orElseThrow()) {
                    assertTrue(held.ownerDied());
                    assertEquals(42, held.fencingToken());
                    held.markConsistent();
                }
            }
        } finally {
            done.countDown();
            bystander.join();
        }
    }

    /**
     * Two threads of one JVM opening a rebooted file at once: exactly one resets its words. A handle still
     * opening holds nothing, so it must not count as the file being in use (it did: about 2% of such races
     * reset nothing, and the earlier boot's word stayed held for ever).
     */
    @Test
    void twoThreadsOpeningARebootedFileTogetherResetIt() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 300; round++) {
                Path path = file("together-" + round + ".mutex", 1, MutexKind.NORMAL);
                long record = MutexFileHeaderDescriptor.recordOffset(0);
                patch(path, record + MutexRecordDescriptor.FUTEX_WORD_OFFSET, ints(0x3fff_fff0));
                patch(path, MutexFileHeaderDescriptor.BOOT_ID_OFFSET, otherBootId());
                java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
                java.util.concurrent.CountDownLatch opened = new java.util.concurrent.CountDownLatch(2);
                java.util.concurrent.Callable<Integer> opener = () -> {
                    start.await();
                    try (MutexFile file = MutexFile.open(path, 1, MutexKind.NORMAL)) {
                        opened.countDown();
                        opened.await();
                        return file.wordsResetAfterReboot();
                    }
                };
                var first = pool.submit(opener);
                var second = pool.submit(opener);
                int resets = first.get(60, java.util.concurrent.TimeUnit.SECONDS)
                        + second.get(60, java.util.concurrent.TimeUnit.SECONDS);
                assertEquals(1, resets, "round " + round + ": words reset by the two openers");
                try (MutexFile file = MutexFile.open(path, 1, MutexKind.NORMAL)) {
                    assertEquals(FutexWord.OWNER_DIED, file.mutex(0).snapshot().word(), "round " + round);
                }
                Files.delete(path);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static ByteBuffer otherBootId() {
        ByteBuffer id = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        UUID other = UUID.randomUUID();
        id.putLong(0, other.getMostSignificantBits()).putLong(8, other.getLeastSignificantBits());
        return id;
    }

    /** A mutex file deleted while open is reported as deleted through its handle. */
    @Test
    void aDeletedFileIsReported() throws Exception {
        Path path = dir.resolve("deleted.mutex");
        try (MutexFile file = MutexFile.open(path, 1)) {
            assertFalse(file.isUnlinked());
            Files.delete(path);
            assertTrue(file.isUnlinked());
            try (MutexFile fresh = MutexFile.open(path, 1)) {
                assertFalse(fresh.isUnlinked(), "a new file has the name now");
            }
        }
    }
}
