package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.SyscallException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The syscall binding against the real kernel. */
class LinuxSyscallsTest {

    private final LinuxSyscalls syscalls = LinuxPlatform.get().syscalls();

    private static int tidFromProc() throws IOException {
        // /proc/thread-self -> <pid>/task/<tid>
        return Integer.parseInt(Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString());
    }

    /** gettid is the TID the kernel shows in /proc/thread-self, and differs between threads. */
    @Test
    void gettidMatchesProc() throws Exception {
        int main = syscalls.gettid();
        assertEquals(tidFromProc(), main);
        int other = CompletableFuture.supplyAsync(() -> {
            try {
                assertEquals(tidFromProc(), syscalls.gettid());
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            return syscalls.gettid();
        }, r -> new Thread(r).start()).get(30, TimeUnit.SECONDS);
        assertNotEquals(main, other);
    }

    /** get_robust_list names another thread's head by TID, and ESRCH once that thread is gone. */
    @Test
    void getRobustListOfAnotherThread() throws Exception {
        CountDownLatch ready = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        long[] itsHead = new long[2];
        int[] itsTid = new int[1];
        Thread other = new Thread(() -> {
            itsTid[0] = syscalls.gettid();
            syscalls.getRobustList(0, itsHead);
            ready.countDown();
            try {
                finish.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        other.start();
        assertTrue(ready.await(30, TimeUnit.SECONDS));
        long[] seen = new long[2];
        assertEquals(0, syscalls.getRobustList(itsTid[0], seen));
        assertEquals(itsHead[0], seen[0]);
        long[] mine = new long[2];
        syscalls.getRobustList(0, mine);
        assertNotEquals(mine[0], seen[0]);
        finish.countDown();
        other.join(30_000);
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> syscalls.getRobustList(itsTid[0], seen) == -Errno.ESRCH || seen[0] != itsHead[0]);
    }

    /** FUTEX_WAIT returns EAGAIN when the word differs and ETIMEDOUT after its relative timeout. */
    @Test
    void futexWaitOutcomes() {
        ByteBuffer word = NativeMemory.allocateAligned(4, 4);
        long address = NativeMemory.address(word);
        word.putInt(0, 5);
        assertEquals(-Errno.EAGAIN, syscalls.futex(address, FutexOp.FUTEX_WAIT, 6, 0, 0, 0));
        long start = System.nanoTime();
        assertEquals(-Errno.ETIMEDOUT, syscalls.futexTimed(address, FutexOp.FUTEX_WAIT, 5, 0, 20_000_000, 0, 0));
        assertTrue(System.nanoTime() - start >= 20_000_000L);
        assertEquals(0, syscalls.futex(address, FutexOp.FUTEX_WAKE, 1, 0, 0, 0));
    }

    /** FUTEX_LOCK_PI2 takes a free word for the caller and FUTEX_UNLOCK_PI frees it. */
    @Test
    void piLockRoundTrip() {
        ByteBuffer word = NativeMemory.allocateAligned(4, 4);
        long address = NativeMemory.address(word);
        int tid = syscalls.gettid();
        // FUTEX_LOCK_PI2 exists from Linux 5.14; before, the library locks with FUTEX_LOCK_PI (kernel-abi.md 1).
        int lock = KernelProbe.futexLockPi2(syscalls).supported() ? FutexOp.FUTEX_LOCK_PI2 : FutexOp.FUTEX_LOCK_PI;
        assertEquals(0, syscalls.futex(address, lock, 0, 0, 0, 0));
        assertEquals(tid, word.getInt(0));
        assertEquals(-Errno.EDEADLK, syscalls.futex(address, FutexOp.FUTEX_TRYLOCK_PI, 0, 0, 0, 0));
        assertEquals(0, syscalls.futex(address, FutexOp.FUTEX_UNLOCK_PI, 0, 0, 0, 0));
        assertEquals(0, word.getInt(0));
        assertEquals(-Errno.EPERM, syscalls.futex(address, FutexOp.FUTEX_UNLOCK_PI, 0, 0, 0, 0));
    }

    /** An unexpected errno becomes an exception naming the call and the errno. */
    @Test
    void unexpectedErrnoBecomesAnException() {
        SyscallException e = assertThrows(SyscallException.class,
                () -> Errno.check("set_robust_list", syscalls.setRobustList(0, 7)));
        assertEquals("EINVAL", e.errnoName());
        assertEquals("set_robust_list failed: EINVAL (22)", e.getMessage());
    }

    private static void runOnFreshThread(Runnable body) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                body.run();
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            }
        });
        thread.start();
        done.get(30, TimeUnit.SECONDS);
    }
}
