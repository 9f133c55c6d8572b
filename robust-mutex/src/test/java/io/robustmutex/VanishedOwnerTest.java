package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.MutexFileHeaderDescriptor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A word naming a TID that no thread has: an owner that is gone without the kernel releasing the word (its
 * list was damaged, it held more than the exit walk's 2048 entries, or the word was copied). PI contenders
 * learn it from the kernel (ESRCH), NORMAL waiters by asking for the TID; both take the mutex over and report
 * the owner's death, in mutex files and in shared-memory regions, where every user is known to share our PID
 * namespace.
 */
class VanishedOwnerTest {

    /** A TID no thread has: above the default pid_max, within the 30 TID bits. */
    private static final int NO_SUCH_TID = 0x3ffffff0;
    /** Long enough for several re-checks; on failure the acquisition returns empty instead of hanging. */
    private static final Duration BOUND = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** In a mutex file, the word is taken with the owner's death reported. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void mutexFileTakesOverWithOwnerDied(MutexKind kind) throws Exception {
        Path path = dir.resolve("vanished-" + kind + ".mutex");
        MutexFile.open(path, 1, kind).close();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, NO_SUCH_TID),
                    MutexFileHeaderDescriptor.recordOffset(0));
        }
        try (MutexFile file = MutexFile.open(path, 1, kind)) {
            Optional<Acquisition> held = file.mutex(0).tryAcquire(BOUND);
            assertTrue(held.isPresent(), "the vanished owner's mutex was not taken over");
            assertTrue(held.get().ownerDied());
            held.get().markConsistent();
            held.get().close();
        }
    }

    /** In a shared-memory region, whose records carry their users' PID namespace, the same. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void sharedMemoryTakesOverWithOwnerDied(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("vanished-" + kind + ".region"), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            region.buffer().putInt(0, NO_SUCH_TID);
            Optional<Acquisition> held = mutex.tryAcquire(BOUND);
            assertTrue(held.isPresent(), "the vanished owner's mutex was not taken over");
            assertTrue(held.get().ownerDied());
            held.get().markConsistent();
            held.get().close();
        }
    }
}
