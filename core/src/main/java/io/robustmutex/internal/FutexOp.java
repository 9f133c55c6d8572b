package io.robustmutex.internal;

/**
 * The {@code futex(2)} operation codes and flags the library uses (kernel-abi.md section 1;
 * include/uapi/linux/futex.h). These are the same on every architecture.
 */
public final class FutexOp {

    /** Wait while the word equals a value; relative timeout. */
    public static final int FUTEX_WAIT = 0;
    /** Wake waiters. */
    public static final int FUTEX_WAKE = 1;
    /** Take a PI futex in the kernel; absolute timeout on CLOCK_REALTIME. */
    public static final int FUTEX_LOCK_PI = 6;
    /** Release a PI futex, handing it to the top waiter. */
    public static final int FUTEX_UNLOCK_PI = 7;
    /** Try to take a PI futex in the kernel without blocking. */
    public static final int FUTEX_TRYLOCK_PI = 8;
    /** Wait with a bitset; absolute timeout. */
    public static final int FUTEX_WAIT_BITSET = 9;
    /** Wake with a bitset. */
    public static final int FUTEX_WAKE_BITSET = 10;
    /** Like {@link #FUTEX_LOCK_PI} with an absolute timeout on CLOCK_MONOTONIC (Linux 5.14+). */
    public static final int FUTEX_LOCK_PI2 = 13;
    /** Process-private futex key; never used on robust words, whose exit-time wake is shared. */
    public static final int FUTEX_PRIVATE_FLAG = 128;
    /** Interpret the timeout on CLOCK_REALTIME. */
    public static final int FUTEX_CLOCK_REALTIME = 256;
    /** Linux 7.2: release the word and clear the pending slot at {@code uaddr2} in one syscall. */
    public static final int FUTEX_ROBUST_UNLOCK = 512;
    /** Linux 7.2: the pending slot at {@code uaddr2} is 32 bits wide. */
    public static final int FUTEX_ROBUST_LIST32 = 1024;
    /** The bitset matching every waiter. */
    public static final int FUTEX_BITSET_MATCH_ANY = 0xffffffff;

    /** The mask selecting the command from an operation. */
    public static final int FUTEX_CMD_MASK = ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME | FUTEX_ROBUST_UNLOCK
            | FUTEX_ROBUST_LIST32);

    private FutexOp() {
    }

    /**
     * A readable name of an operation with its flags, for messages.
     *
     * @param op the operation word
     * @return e.g. {@code "FUTEX_UNLOCK_PI|FUTEX_ROBUST_UNLOCK"}
     */
    public static String name(int op) {
        int cmd = op & FUTEX_CMD_MASK;
        StringBuilder name = new StringBuilder(switch (cmd) {
            case FUTEX_WAIT -> "FUTEX_WAIT";
            case FUTEX_WAKE -> "FUTEX_WAKE";
            case FUTEX_LOCK_PI -> "FUTEX_LOCK_PI";
            case FUTEX_UNLOCK_PI -> "FUTEX_UNLOCK_PI";
            case FUTEX_TRYLOCK_PI -> "FUTEX_TRYLOCK_PI";
            case FUTEX_WAIT_BITSET -> "FUTEX_WAIT_BITSET";
            case FUTEX_WAKE_BITSET -> "FUTEX_WAKE_BITSET";
            case FUTEX_LOCK_PI2 -> "FUTEX_LOCK_PI2";
            default -> "futex op " + cmd;
        });
        if ((op & FUTEX_PRIVATE_FLAG) != 0) {
            name.append("|FUTEX_PRIVATE_FLAG");
        }
        if ((op & FUTEX_CLOCK_REALTIME) != 0) {
            name.append("|FUTEX_CLOCK_REALTIME");
        }
        if ((op & FUTEX_ROBUST_UNLOCK) != 0) {
            name.append("|FUTEX_ROBUST_UNLOCK");
        }
        if ((op & FUTEX_ROBUST_LIST32) != 0) {
            name.append("|FUTEX_ROBUST_LIST32");
        }
        return name.toString();
    }
}
