package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.KernelSupport;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.internal.libc.LibC;
import io.robustmutex.testing.ChildProcess;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import jnr.ffi.LibraryLoader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The binding's two syscall paths: the five-argument fast path ({@link NativeAccess#syscall5}: the stub on
 * x86-64 with JNR-FFI, else the C library) and the six-argument one, with the kernel's result or
 * {@code -errno} from each, on whichever native access this JVM uses ({@code jnr} on JDK 17 to 21,
 * {@code ffm} on 22 and later; CI runs both JDKs); and the fall-back to the C library where a policy forbids
 * making memory executable.
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
        // No syscall has number -1: the kernel answers ENOSYS.
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
     * An errno the PI unlock acts on comes back through the fast path ({@link LinuxSyscallsTest} has
     * {@code EAGAIN} and {@code ETIMEDOUT}): {@code EPERM} from a {@code FUTEX_UNLOCK_PI} by a thread that does
     * not own the word, which is left as it was.
     */
    @Test
    void aPiUnlockByAThreadThatDoesNotOwnTheWordIsEperm() {
        ByteBuffer word = NativeMemory.allocateAligned(4, 4);
        word.putInt(0, 5);
        assertEquals(-Errno.EPERM, SYSCALLS.futex(NativeMemory.address(word), FutexOp.FUTEX_UNLOCK_PI, 0, 0, 0, 0));
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

    private static boolean x86() {
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        return arch.equals("amd64") || arch.equals("x86_64");
    }

    /** JNR-FFI on x86-64 makes its syscalls through the stub; everything else through the C library. */
    @Test
    void theStubWhereItApplies() {
        String path = KernelSupport.syscallPath();
        if (x86() && NativeAccess.chosen().equals("jnr")) {
            assertEquals("stub", path);
        } else {
            assertTrue(path.startsWith("libc"), path);
        }
    }

    /**
     * Under {@code prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN)} (Linux 6.3+), which refuses to make memory
     * executable, a JVM using JNR-FFI says why it has no stub and makes its syscalls through the C library:
     * results and errnos come back and a contended lock works.
     */
    @Test
    void withoutExecutableMemoryTheCLibraryIsUsed() throws Exception {
        Assumptions.assumeTrue(x86(), "the stub exists on x86-64 only");
        Path dir = Files.createTempDirectory("robust-mutex-mdwe");
        // The interpreter only, with the whole code cache committed at start: the JVM's own later commits of
        // executable memory would be refused too.
        try (ChildProcess child = ChildProcess.start(NoExecutableMemory.class, List.of("-D" + NativeAccess.PROPERTY
                + "=jnr", "-Xint", "-XX:ReservedCodeCacheSize=32m", "-XX:InitialCodeCacheSize=32m"),
                dir.toString())) {
            int exit = child.waitFor(ChildProcess.scaled(Duration.ofSeconds(300)));
            List<String> lines = child.lines();
            Assumptions.assumeFalse(lines.contains("NO_MDWE"), "needs prctl(PR_SET_MDWE), Linux 6.3 or later");
            assertEquals(0, exit, () -> "child exited with " + exit + "; stdout=" + lines + ", stderr="
                    + child.errorLines());
            assertEquals(List.of("path=libc (the stub's page could not be made executable: mprotect returned"
                    + " EACCES)", "close=-" + Errno.EBADF, "wait=-" + Errno.EAGAIN, "contended=ok"), lines);
        } finally {
            Files.deleteIfExists(dir.resolve("mdwe.mutex"));
            Files.delete(dir);
        }
    }

    /**
     * The child of {@link #withoutExecutableMemoryTheCLibraryIsUsed}: forbids executable memory before the
     * library makes its first syscall, then uses it.
     */
    public static final class NoExecutableMemory {
        private NoExecutableMemory() {
        }

        /**
         * Entry point.
         *
         * @param args the directory for a mutex file
         * @throws Exception on failure
         */
        public static void main(String[] args) throws Exception {
            // Through JNR-FFI's own binding: the library's, whose creation makes the stub, comes after.
            LibC libc = LibraryLoader.create(LibC.class).load("c");
            long prctl = 157; // x86-64: arch/x86/entry/syscalls/syscall_64.tbl; PR_SET_MDWE in uapi/linux/prctl.h
            if (libc.syscall(prctl, 65 /* PR_SET_MDWE */, 1 /* PR_MDWE_REFUSE_EXEC_GAIN */, 0, 0, 0, 0) != 0) {
                System.out.println("NO_MDWE");
                return;
            }
            System.out.println("path=" + KernelSupport.syscallPath());
            NativeAccess access = NativeAccess.current();
            LinuxSyscalls syscalls = LinuxSyscalls.current();
            System.out.println("close=" + access.syscall5(syscalls.files().close(), -1, 0, 0, 0, 0));
            ByteBuffer word = NativeMemory.allocateAligned(4, 4);
            System.out.println("wait=" + syscalls.futex(NativeMemory.address(word), FutexOp.FUTEX_WAIT, 1, 0, 0, 0));
            try (MutexFile file = MutexFile.open(Path.of(args[0]).resolve("mdwe.mutex"), 1, MutexKind.NORMAL)) {
                RobustMutex mutex = file.mutex(0);
                mutex.lock();
                CountDownLatch started = new CountDownLatch(1);
                Thread waiter = new Thread(() -> {
                    started.countDown();
                    mutex.lock();
                    mutex.unlock();
                });
                waiter.start();
                started.await();
                // The waiter sleeps in FUTEX_WAIT once it has set the waiters bit; the unlock then wakes it, so
                // both calls go through the C library. Bounds long enough for an interpreted JVM in a guest.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
                while (!mutex.snapshot().waiters() && System.nanoTime() < deadline) {
                    Thread.onSpinWait();
                }
                boolean sawWaiters = mutex.snapshot().waiters();
                mutex.unlock();
                waiter.join(TimeUnit.SECONDS.toMillis(120));
                System.out.println(sawWaiters && !waiter.isAlive() ? "contended=ok"
                        : "contended=waiters " + sawWaiters + ", waiter alive " + waiter.isAlive());
            }
            java.lang.ref.Reference.reachabilityFence(word);
        }
    }
}
