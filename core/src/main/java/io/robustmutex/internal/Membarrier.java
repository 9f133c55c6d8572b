package io.robustmutex.internal;

/**
 * A memory barrier on every thread of this process at once ({@code membarrier(2)}), for the rare side of an
 * asymmetric handshake: the side that runs often (a lock: store the pending slot, then load the region's
 * closing flag) needs only program order, and the side that runs rarely (unmapping: store the flag, then load
 * every thread's pending slot) pays for both by making all running threads pass a full barrier between its
 * store and its loads. Then at least one side sees the other's store, as with a fence on both sides.
 *
 * <p>{@code MEMBARRIER_CMD_PRIVATE_EXPEDITED} (Linux 4.14; registered once per process) interrupts only the
 * CPUs running threads of this process; {@code MEMBARRIER_CMD_GLOBAL} (Linux 4.3) waits for every CPU to
 * schedule and is slower. When neither is available (an older kernel, a seccomp filter), {@link #available()}
 * is false and mappings are never released explicitly.
 */
public final class Membarrier {

    private static final int CMD_QUERY = 0;
    private static final int CMD_GLOBAL = 1;
    private static final int CMD_PRIVATE_EXPEDITED = 8;
    private static final int CMD_REGISTER_PRIVATE_EXPEDITED = 16;

    private final LinuxSyscalls sys;
    private final int command;
    /** What {@link #all()} runs instead of the system call; null for the system call. */
    private final Runnable substitute;

    private Membarrier(LinuxSyscalls sys, int command) {
        this.sys = sys;
        this.command = command;
        this.substitute = null;
    }

    /**
     * A barrier that runs {@code all} instead of the system call, for tests that must stop a thread inside
     * the barrier or make it fail.
     *
     * @param all what {@link #all()} runs
     */
    Membarrier(Runnable all) {
        this.sys = null;
        this.command = CMD_PRIVATE_EXPEDITED;
        this.substitute = all;
    }

    /**
     * Finds the best command this kernel offers and registers for it.
     *
     * @param sys the binding
     * @return the barrier; {@link #available()} tells whether it works
     */
    public static Membarrier detect(LinuxSyscalls sys) {
        long supported = sys.membarrier(CMD_QUERY, 0);
        if (supported > 0 && (supported & CMD_PRIVATE_EXPEDITED) != 0
                && (supported & CMD_REGISTER_PRIVATE_EXPEDITED) != 0
                && sys.membarrier(CMD_REGISTER_PRIVATE_EXPEDITED, 0) == 0) {
            return new Membarrier(sys, CMD_PRIVATE_EXPEDITED);
        }
        if (supported > 0 && (supported & CMD_GLOBAL) != 0) {
            return new Membarrier(sys, CMD_GLOBAL);
        }
        return new Membarrier(sys, -1);
    }

    /**
     * Whether the kernel offers a process-wide barrier.
     *
     * @return true when {@link #all()} works
     */
    public boolean available() {
        return command >= 0;
    }

    /**
     * Which command is used.
     *
     * @return {@code "private-expedited"}, {@code "global"} or {@code "none"}
     */
    public String describe() {
        return switch (command) {
            case CMD_PRIVATE_EXPEDITED -> "private-expedited";
            case CMD_GLOBAL -> "global";
            default -> "none";
        };
    }

    /**
     * Makes every thread of the process pass a full memory barrier before this returns.
     *
     * @throws IllegalStateException when the kernel refuses (it never should once detected)
     */
    public void all() {
        if (command < 0) {
            throw new IllegalStateException("this kernel offers no membarrier");
        }
        if (substitute != null) {
            substitute.run();
            return;
        }
        Errno.check("membarrier", sys.membarrier(command, 0));
    }
}
