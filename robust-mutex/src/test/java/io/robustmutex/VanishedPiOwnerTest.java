package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.MutexFileHeaderDescriptor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A PI word naming a TID the kernel cannot find (FUTEX_LOCK_PI answers ESRCH): taken over as an owner death
 * where the file proves every user shares our PID namespace, refused where nothing says so.
 */
class VanishedPiOwnerTest {

    /** A TID no thread has: above the default pid_max, within the 30 TID bits. */
    private static final int NO_SUCH_TID = 0x3ffffff0;

    @TempDir
    Path dir;

    /** In a mutex file (creator's namespace recorded and checked), the word is taken with owner died. */
    @Test
    void mutexFileTakesOverWithOwnerDied() throws Exception {
        Path path = dir.resolve("vanished.mutex");
        MutexFile.open(path, 1, MutexKind.PI).close();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, NO_SUCH_TID),
                    MutexFileHeaderDescriptor.recordOffset(0));
        }
        try (MutexFile file = MutexFile.open(path, 1); Acquisition held = file.mutex(0).acquire()) {
            assertTrue(held.ownerDied());
            held.markConsistent();
        }
    }

    /** In a caller's region (no namespace recorded), the same word is refused with an explanation. */
    @Test
    void sharedMemoryRefuses() throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("vanished.region"), 4096)) {
            RobustMutex mutex = region.mutex(0, MutexKind.PI);
            region.buffer().putInt(0, NO_SUCH_TID);
            IllegalStateException e = assertThrows(IllegalStateException.class, mutex::acquire);
            assertTrue(e.getMessage().contains("PID namespace"), e.getMessage());
            assertTrue(!mutex.isHeldByCurrentThread());
            region.buffer().putInt(0, 0);
        }
    }
}
