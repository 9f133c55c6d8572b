package io.robustmutex.internal;

import io.robustmutex.UnlockPath;

/**
 * {@link Kernel} over the real Linux syscalls and vDSO.
 *
 * <p>Each thread gets its robust list head on its first lock ({@link RobustListHeads}); the head is
 * registered with {@code set_robust_list}, which replaces the one glibc registered for the thread. The
 * thread's state is cached in a thread-local, so the TID is read once per thread.
 */
public final class LinuxKernel implements Kernel {

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final LinuxSyscalls syscalls;
    private final NativeFunction vdsoTryUnlock;
    private final UnlockPath unlockPath;
    private final int lockPiOp;
    private final int pid;
    private final ThreadLocal<RobustThread> threads = new ThreadLocal<>();

    /**
     * Binds to the platform, with its detected unlock path.
     *
     * @param platform the detected platform
     */
    public LinuxKernel(LinuxPlatform platform) {
        this(platform, platform.capabilities().unlockPath());
    }

    /**
     * Binds to the platform with a given unlock path, which must not be stronger than the kernel offers.
     *
     * @param platform the detected platform
     * @param unlockPath the path to use
     */
    public LinuxKernel(LinuxPlatform platform, UnlockPath unlockPath) {
        if (unlockPath.compareTo(platform.capabilities().bestUnlockPath()) > 0) {
            throw new IllegalArgumentException("unlock path " + unlockPath.id() + " is not offered by this kernel"
                    + " (best: " + platform.capabilities().bestUnlockPath().id() + ")");
        }
        this.syscalls = platform.syscalls();
        this.vdsoTryUnlock = platform.vdsoTryUnlock().orElse(null);
        this.unlockPath = unlockPath;
        this.lockPiOp = platform.capabilities().futexLockPi2() ? FutexOp.FUTEX_LOCK_PI2 : FutexOp.FUTEX_LOCK_PI;
        this.pid = (int) ProcessHandle.current().pid();
    }

    @Override
    public RobustThread currentThread() {
        RobustThread thread = threads.get();
        return thread != null ? thread : register();
    }

    @Override
    public RobustThread currentThreadIfRegistered() {
        return threads.get();
    }

    @Override
    public boolean couldHold(int tid) {
        long[] head = new long[2];
        long result = syscalls.getRobustList(tid, head);
        return result != -Errno.ESRCH && (result != 0 || head[0] != 0);
    }

    private RobustThread register() {
        VirtualThreads.refuseCurrent();
        int tid = syscalls.gettid();
        RobustListHeads.Slot slot = RobustListHeads.allocate(tid, syscalls);
        RobustThread thread = new RobustThread(tid, MappedMemory.of(slot.head()), 0);
        slot.retain(thread);
        Errno.check("set_robust_list", syscalls.setRobustList(slot.address(), RobustListHeadDescriptor.SIZE));
        threads.set(thread);
        return thread;
    }

    @Override
    public int futexWait(long uaddr, int expected, long timeoutNanos, boolean periodic) {
        long result = timeoutNanos < 0
                ? syscalls.futex(uaddr, FutexOp.FUTEX_WAIT, expected, 0, 0, 0)
                : syscalls.futexTimed(uaddr, FutexOp.FUTEX_WAIT, expected, timeoutNanos / NANOS_PER_SECOND,
                        timeoutNanos % NANOS_PER_SECOND, 0, 0);
        return (int) result;
    }

    @Override
    public int futexWake(long uaddr, int count) {
        return (int) syscalls.futex(uaddr, FutexOp.FUTEX_WAKE, count, 0, 0, 0);
    }

    @Override
    public int futexLockPi(long uaddr, long deadlineNanos) {
        if (deadlineNanos == Long.MAX_VALUE) {
            return (int) syscalls.futex(uaddr, lockPiOp, 0, 0, 0, 0);
        }
        long absolute = deadlineNanos;
        if (lockPiOp == FutexOp.FUTEX_LOCK_PI) {
            // FUTEX_LOCK_PI takes an absolute CLOCK_REALTIME time; System.nanoTime() is CLOCK_MONOTONIC.
            absolute = System.currentTimeMillis() * 1_000_000L + (deadlineNanos - System.nanoTime());
        }
        absolute = Math.max(absolute, 0);
        return (int) syscalls.futexTimed(uaddr, lockPiOp, 0, absolute / NANOS_PER_SECOND,
                absolute % NANOS_PER_SECOND, 0, 0);
    }

    @Override
    public int futexTrylockPi(long uaddr) {
        return (int) syscalls.futex(uaddr, FutexOp.FUTEX_TRYLOCK_PI, 0, 0, 0, 0);
    }

    @Override
    public int futexUnlockPi(long uaddr) {
        return (int) syscalls.futex(uaddr, FutexOp.FUTEX_UNLOCK_PI, 0, 0, 0, 0);
    }

    @Override
    public int futexRobustUnlock(long uaddr, boolean pi, long pendingSlot) {
        int op = (pi ? FutexOp.FUTEX_UNLOCK_PI : FutexOp.FUTEX_WAKE) | FutexOp.FUTEX_ROBUST_UNLOCK;
        return (int) syscalls.futex(uaddr, op, pi ? 0 : 1, 0, pendingSlot, 0);
    }

    @Override
    public int vdsoTryUnlock(long uaddr, int tid, long pendingSlot) {
        if (vdsoTryUnlock == null) {
            throw new UnsupportedOperationException("this kernel's vDSO has no robust try-unlock");
        }
        return (int) vdsoTryUnlock.invoke(uaddr, tid, pendingSlot);
    }

    @Override
    public UnlockPath unlockPath() {
        return unlockPath;
    }

    @Override
    public int processId() {
        return pid;
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }
}
