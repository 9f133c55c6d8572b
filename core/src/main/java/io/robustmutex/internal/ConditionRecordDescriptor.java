package io.robustmutex.internal;

/**
 * The layout of a condition record (design.md section 3): 64 bytes, 64-byte aligned, one cache line, in a mutex
 * file of format version 2 (after the mutex records) or at a chosen offset of a shared-memory region. All
 * integers little-endian.
 *
 * <pre>
 *   0         4         8                                      40        44                        64
 *  +---------+---------+--------------------------------------+---------+-------------------------+
 *  | sequence| waiters | zero                                 | kind &amp; | zero                    |
 *  | (futex) | (hint)  |                                      | flags   |                         |
 *  +---------+---------+--------------------------------------+---------+-------------------------+
 * </pre>
 *
 * <p>The sequence is the futex word waiters sleep on: every signal adds one. The waiters count is a hint that
 * lets a signal skip the wake-up call when nobody waits: a waiter adds one before it reads the sequence and
 * takes one away when it stops waiting, so a waiter killed in between leaves it too high (a signal then makes a
 * wake-up call that finds nobody), never too low. The kind word sits where a mutex record has its own, with a
 * kind no mutex has, so that neither kind of record is ever taken for the other.
 */
public final class ConditionRecordDescriptor {

    /** Offset of the sequence, the futex word waiters sleep on. */
    public static final int SEQUENCE_OFFSET = 0;
    /** Offset of the count of threads that may be waiting (over-estimated after a waiter's death). */
    public static final int WAITERS_OFFSET = 4;
    /** Offset of the kind and flags word: where a mutex record has its kind word. */
    public static final int KIND_OFFSET = MutexRecordDescriptor.KIND_OFFSET;
    /** The record size. */
    public static final int SIZE = 64;
    /** The required alignment of a record. */
    public static final int ALIGNMENT = 64;
    /** Kind bits (low byte of the kind word): a condition. No mutex record has them. */
    public static final int KIND_CONDITION = 0x10;
    /** The kind word of an initialized condition record. */
    public static final int KIND_WORD = MutexRecordDescriptor.FLAG_INITIALIZED | KIND_CONDITION;

    private ConditionRecordDescriptor() {
    }

    /**
     * Checks that a record offset is 64-byte aligned and that a whole record fits in a region.
     *
     * @param offset the record's offset in the region
     * @param regionSize the region's size in bytes
     * @throws IllegalArgumentException naming the offset when it is misaligned or out of bounds
     */
    public static void checkOffset(long offset, long regionSize) {
        if (offset < 0 || offset % ALIGNMENT != 0) {
            throw new IllegalArgumentException("offset=" + offset + " (a condition record must start at a multiple"
                    + " of " + ALIGNMENT + ")");
        }
        if (offset > regionSize - SIZE) {
            throw new IllegalArgumentException("offset=" + offset + " (a " + SIZE + "-byte record does not fit in "
                    + regionSize + " bytes)");
        }
    }

    /**
     * Writes a fresh condition record: sequence 0, no waiters, the kind word written last.
     *
     * @param memory the memory
     * @param offset the record's offset, 64-aligned
     */
    public static void initialize(AtomicMemory memory, int offset) {
        checkOffset(offset, memory.size());
        for (int field = 0; field < SIZE; field += 8) {
            if (field != KIND_OFFSET) {
                memory.putLongPlain(offset + field, 0);
            }
        }
        memory.putIntPlain(offset + KIND_OFFSET + 4, 0);
        memory.putIntRelease(offset + KIND_OFFSET, KIND_WORD);
    }
}
