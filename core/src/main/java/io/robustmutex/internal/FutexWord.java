package io.robustmutex.internal;

/**
 * The bit layout of a robust futex word (kernel-abi.md section 1):
 *
 * <pre>
 *   31        30           29                                   0
 *  +---------+------------+--------------------------------------+
 *  | WAITERS | OWNER_DIED |  owner TID (in the owner's PID ns)   |
 *  +---------+------------+--------------------------------------+
 * </pre>
 *
 * <p>0 is free. A word with a zero TID and {@code OWNER_DIED} set is free and carries the news of a dead
 * owner to the next acquirer.
 */
public final class FutexWord {

    /** Bit 31: there may be waiters in the kernel; the unlocker must wake (or hand off). */
    public static final int WAITERS = 0x80000000;
    /** Bit 30: the kernel released this word for an owner that died holding it. */
    public static final int OWNER_DIED = 0x40000000;
    /** Bits 0..29: the owner's TID. */
    public static final int TID_MASK = 0x3fffffff;
    /** The free word. */
    public static final int FREE = 0;

    private FutexWord() {
    }

    /**
     * The owner TID of a word.
     *
     * @param word a futex word
     * @return its TID bits, 0 when free
     */
    public static int owner(int word) {
        return word & TID_MASK;
    }

    /**
     * Whether the waiters bit is set.
     *
     * @param word a futex word
     * @return true when bit 31 is set
     */
    public static boolean hasWaiters(int word) {
        return (word & WAITERS) != 0;
    }

    /**
     * Whether the owner-died bit is set.
     *
     * @param word a futex word
     * @return true when bit 30 is set
     */
    public static boolean ownerDied(int word) {
        return (word & OWNER_DIED) != 0;
    }

    /**
     * A word for messages: {@code 0x80001234 (tid=4660, WAITERS)}.
     *
     * @param word a futex word
     * @return the description
     */
    public static String describe(int word) {
        StringBuilder text = new StringBuilder(String.format("0x%08x (tid=%d", word, owner(word)));
        if (hasWaiters(word)) {
            text.append(", WAITERS");
        }
        if (ownerDied(word)) {
            text.append(", OWNER_DIED");
        }
        return text.append(')').toString();
    }
}
