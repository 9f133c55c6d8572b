package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The binding's two syscall paths: the five-argument fast path ({@link NativeAccess#syscall5}) and the
 * six-argument one, with the kernel's result or {@code -errno} from each, on whichever native access this JVM
 * uses ({@code jnr} on JDK 17 to 21, {@code ffm} on 22 and later; CI runs both JDKs).
 */
class SyscallPathsTest {

    private static final NativeAccess ACCESS = NativeAccess.current();
    private static final LinuxSyscalls SYSCALLS = LinuxSyscalls.current();

    /** Both paths return a result and the errno of a failure as {@code -errno}. */
    @Test
    void bothPathsReturnResultsAndErrnos() throws Exception {
        long gettid = SYSCALLS.numbers().gettid();
        long tid = ACCESS.syscall5(gettid, 0, 0, 0, 0, 0);
        assertEquals(ACCESS.syscall(gettid, 0, 0, 0, 0, 0, 0), tid);
        assertEquals(Long.parseLong(Path.of("/proc/thread-self").toRealPath().getFileName().toString()), tid);
        long close = SYSCALLS.files().close();
        assertEquals(-Errno.EBADF, ACCESS.syscall5(close, -1, 0, 0, 0, 0));
        assertEquals(-Errno.EBADF, ACCESS.syscall(close, -1, 0, 0, 0, 0, 0));
        // No syscall has number -1: the C library answers ENOSYS without entering the kernel's table.
        assertEquals(-Errno.ENOSYS, ACCESS.syscall5(-1, 0, 0, 0, 0, 0));
        assertEquals(-Errno.ENOSYS, ACCESS.syscall(-1, 0, 0, 0, 0, 0, 0));
    }

    /**
     * {@code val3} reaches the kernel: {@code FUTEX_WAKE_BITSET} reads it, so it must not take the
     * five-argument path, which leaves the sixth register holding whatever was there. A zero bitset is
     * {@code EINVAL}; any other wakes nobody here and returns 0.
     */
    @Test
    void futexOperationsThatReadVal3GetIt() {
        ByteBuffer word = NativeMemory.allocateAligned(4, 4);
        long address = NativeMemory.address(word);
        for (int i = 0; i < 1000; i++) {
            assertEquals(-Errno.EINVAL, SYSCALLS.futex(address, FutexOp.FUTEX_WAKE_BITSET, 1, 0, 0, 0));
            assertEquals(0, SYSCALLS.futex(address, FutexOp.FUTEX_WAKE_BITSET, 1, 0, 0,
                    FutexOp.FUTEX_BITSET_MATCH_ANY));
            assertEquals(0, SYSCALLS.futex(address, FutexOp.FUTEX_WAKE, 1, 0, 0, 0));
        }
        java.lang.ref.Reference.reachabilityFence(word);
    }

    /**
     * The errnos the lock protocol acts on come back through the fast path: {@code EAGAIN} from a
     * {@code FUTEX_WAIT} whose expected value is stale, {@code ETIMEDOUT} from one that times out,
     * {@code EPERM} from a {@code FUTEX_UNLOCK_PI} by a thread that does not own the word.
     */
    @Test
    void futexErrnosComeBack() {
        ByteBuffer word = NativeMemory.allocateAligned(4, 4);
        long address = NativeMemory.address(word);
        word.putInt(0, 5);
        assertEquals(-Errno.EAGAIN, SYSCALLS.futex(address, FutexOp.FUTEX_WAIT, 6, 0, 0, 0));
        assertEquals(-Errno.ETIMEDOUT, SYSCALLS.futexTimed(address, FutexOp.FUTEX_WAIT, 5, 0, 1_000_000, 0, 0));
        assertEquals(-Errno.EPERM, SYSCALLS.futex(address, FutexOp.FUTEX_UNLOCK_PI, 0, 0, 0, 0));
        assertEquals(5, word.getInt(0));
        java.lang.ref.Reference.reachabilityFence(word);
    }

    /** errno is per thread: threads failing with different errnos at once each get their own. */
    @Test
    void errnoIsPerThread() throws Exception {
        long close = SYSCALLS.files().close();
        Path missing = Files.createTempDirectory("robust-mutex-syscalls").resolve("missing");
        int threads = 4;
        CountDownLatch start = new CountDownLatch(1);
        AtomicReference<String> wrong = new AtomicReference<>();
        List<Thread> started = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            boolean badDescriptor = t % 2 == 0;
            Thread thread = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < 20_000 && wrong.get() == null; i++) {
                    long result = badDescriptor ? ACCESS.syscall5(close, -1, 0, 0, 0, 0)
                            : SYSCALLS.openat(missing, 0, 0);
                    long expected = badDescriptor ? -Errno.EBADF : -Errno.ENOENT;
                    if (result != expected) {
                        wrong.compareAndSet(null, "got " + result + ", expected " + expected);
                    }
                }
            });
            thread.start();
            started.add(thread);
        }
        start.countDown();
        for (Thread thread : started) {
            thread.join(60_000);
            assertTrue(!thread.isAlive(), "a thread did not finish");
        }
        assertEquals(null, wrong.get());
        Files.delete(missing.getParent());
    }
}
