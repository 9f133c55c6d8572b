package io.robustmutex.internal;

import io.robustmutex.UnlockPath;

/**
 * {@link Kernel} over the real Linux syscalls and vDSO.
 *
 * <p>On its first lock a thread joins the robust list head the C library registered for it (glibc registers
 * one for every thread it starts, with the layout of this library's records) and links its records into that
 * list, shared with the native code of the thread, so that glibc's robust mutexes held by the same thread are
 * still released when it dies. Where no such head is registered (a C library that registers lazily or not at
 * all, a head with another {@code futex_offset}), or when {@value #ROBUST_LIST_PROPERTY}{@code =own} asks for
 * it, the thread gets a head of the library's own ({@link RobustListHeads}), registered with
 * {@code set_robust_list}. The thread's state is cached in a thread-local, so this is decided once per thread.
 */
public final class LinuxKernel implements Kernel {

    /** The system property that forces a head of the library's own: {@code own}; the default is {@code join}. */
    public static final String ROBUST_LIST_PROPERTY = "io.robustmutex.robustList";

    /** Whether threads may join a registered head: false when the property says {@code own}. */
    private static final boolean JOIN = parseRobustList(System.getProperty(ROBUST_LIST_PROPERTY));

    private static final long NANOS_PER_SECOND = 1_000_000_000L;

    private final LinuxSyscalls syscalls;
    private final NativeFunction vdsoTryUnlock;
    private final UnlockPath unlockPath;
    private final int lockPiOp;
    private final int pid;
    private final ThreadLocal<RobustThread> threads = new ThreadLocal<>();
    /** The choice each registered thread made, for reports. */
    private final ThreadLocal<HeadChoice> choices = new ThreadLocal<>();

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
        HeadChoice choice = chooseHead(syscalls, JOIN);
        choices.set(choice);
        RobustListHeads.Slot slot = choice.joined()
                ? RobustListHeads.join(tid, choice.address(), syscalls)
                : RobustListHeads.allocate(tid, syscalls);
        RobustThread thread = new RobustThread(tid, MappedMemory.of(slot.memory()),
                RobustListHeadDescriptor.PREV_SLOT_SIZE, slot.joined());
        slot.retain(thread);
        if (!slot.joined()) {
            Errno.check("set_robust_list", syscalls.setRobustList(slot.address(), RobustListHeadDescriptor.SIZE));
        }
        threads.set(thread);
        return thread;
    }

    /**
     * Which head a thread uses: the registered one it joins, or one of the library's own, and why.
     *
     * @param joined whether the thread joins the registered head
     * @param address the registered head's address when joined, else 0
     * @param reason why not joined ({@code ""} when joined)
     */
    public record HeadChoice(boolean joined, long address, String reason) {

        /**
         * The report form: {@code joined glibc} or {@code own (why)}.
         *
         * @return the description
         */
        public String describe() {
            return joined ? "joined glibc" : "own (" + reason + ")";
        }
    }

    /**
     * Decides, for the calling thread, whether it can join the robust list head registered for it: one of
     * {@link RobustListHeadDescriptor#SIZE} bytes whose {@code futex_offset} is this library's (glibc's).
     * Registers nothing.
     *
     * @param syscalls the binding
     * @param join false when the property asks for the library's own head
     * @return the choice
     */
    public static HeadChoice chooseHead(LinuxSyscalls syscalls, boolean join) {
        if (!join) {
            return new HeadChoice(false, 0, "-D" + ROBUST_LIST_PROPERTY + "=own");
        }
        long[] out = new long[2];
        long result = syscalls.getRobustList(0, out);
        if (result != 0) {
            return new HeadChoice(false, 0, "get_robust_list failed: " + Errno.name((int) -result));
        }
        long address = out[0];
        if (address == 0) {
            return new HeadChoice(false, 0, "the C library registered no robust list head for the thread");
        }
        if (RobustListHeads.isOwn(address)) {
            return new HeadChoice(false, 0, "the thread already uses a head of this library's own");
        }
        if (out[1] != RobustListHeadDescriptor.SIZE) {
            return new HeadChoice(false, 0, "the registered head's length is " + out[1] + ", not "
                    + RobustListHeadDescriptor.SIZE);
        }
        long futexOffset = NativeMemory.view(address, RobustListHeadDescriptor.SIZE)
                .getLong(RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET);
        if (futexOffset != RobustListHeadDescriptor.FUTEX_OFFSET) {
            return new HeadChoice(false, 0, "the registered head's futex_offset is " + futexOffset + ", not "
                    + RobustListHeadDescriptor.FUTEX_OFFSET);
        }
        return new HeadChoice(true, address, "");
    }

    /**
     * The choice the calling thread makes, or made, for its robust list.
     *
     * @param syscalls the binding
     * @return the choice: the one made if the thread has taken a robust mutex, else the one it would make
     */
    public HeadChoice headChoice(LinuxSyscalls syscalls) {
        HeadChoice made = choices.get();
        return made != null ? made : chooseHead(syscalls, JOIN);
    }

    /**
     * Reads the property: {@code join} or {@code own}, any case; anything else is reported and ignored.
     *
     * @param value the property's value, or null
     * @return whether threads may join a registered head
     */
    static boolean parseRobustList(String value) {
        if (value == null) {
            return true;
        }
        String v = value.trim().toLowerCase(java.util.Locale.ROOT);
        if (v.equals("own")) {
            return false;
        }
        if (!v.equals("join")) {
            System.getLogger(LinuxKernel.class.getName()).log(System.Logger.Level.WARNING,
                    "{0}={1} is not join or own; using join", ROBUST_LIST_PROPERTY, value);
        }
        return true;
    }

    @Override
    public AtomicMemory nativeListEntry(long entryAddress) {
        return MappedMemory.of(NativeMemory.view(entryAddress - RobustListHeadDescriptor.PREV_SLOT_SIZE,
                2 * Long.BYTES));
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
