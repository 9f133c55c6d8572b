package io.robustmutex.internal;

/**
 * The layout of {@code struct robust_list_head} on a 64-bit architecture (kernel-abi.md section 2):
 *
 * <pre>
 *   0                   8                   16                  24
 *  +-------------------+-------------------+-------------------+
 *  |    list.next      |   futex_offset    |  list_op_pending  |
 *  +-------------------+-------------------+-------------------+
 * </pre>
 *
 * <p>{@code list.next} points at the {@code next} field of the first entry, or at the head itself when the
 * list is empty. An entry's lock word is at {@code entry + futex_offset}; this library uses -32, glibc's own
 * value, because a mutex record keeps its {@code next} field 32 bytes after its word
 * ({@link MutexRecordDescriptor}). Bit 0 of an entry pointer (in {@code next} fields and in
 * {@code list_op_pending}) marks a PI futex.
 */
public final class RobustListHeadDescriptor {

    /** Offset of {@code list.next}. */
    public static final int LIST_NEXT_OFFSET = 0;
    /** Offset of {@code futex_offset}. */
    public static final int FUTEX_OFFSET_OFFSET = LIST_NEXT_OFFSET + 8;
    /** Offset of {@code list_op_pending}. */
    public static final int LIST_OP_PENDING_OFFSET = FUTEX_OFFSET_OFFSET + 8;
    /** The size {@code set_robust_list} accepts; any other length is {@code EINVAL}. */
    public static final int SIZE = LIST_OP_PENDING_OFFSET + 8;

    /** The {@code futex_offset} of every head this library registers (the word is 32 bytes before next). */
    public static final long FUTEX_OFFSET = MutexRecordDescriptor.FUTEX_WORD_OFFSET
            - MutexRecordDescriptor.LIST_NEXT_OFFSET;

    /**
     * The size of an entry's {@code prev} field, the 8 bytes before its {@code next}. glibc keeps such a field,
     * {@code robust_prev}, before the head in its thread descriptor, which it writes and never reads; this
     * library never writes it, and its own heads leave the same 8 bytes unused.
     */
    public static final int PREV_SLOT_SIZE = 8;

    /** Bit 0 of an entry pointer: the entry is a PI futex. */
    public static final long PI_BIT = 1;

    /** The kernel's exit walk stops after this many entries ({@code ROBUST_LIST_LIMIT}). */
    public static final int ROBUST_LIST_LIMIT = 2048;

    private RobustListHeadDescriptor() {
    }
}
