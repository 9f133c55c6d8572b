package io.robustmutex.internal;

/**
 * The layout of a mutex record, format version 1 (design.md section 3): 64 bytes, 64-byte aligned, one cache
 * line. All integers little-endian.
 *
 * <pre>
 *   0         4         8                  16                 24                 32
 *  +---------+---------+------------------+------------------+------------------+
 *  | futex   | state   | fencing token    | reserved (0)     | robust list prev |
 *  | word    |         |                  |                  |                  |
 *  +---------+---------+------------------+------------------+------------------+
 *  32                 40        44        48                 56        60        64
 *  +------------------+---------+---------+------------------+---------+---------+
 *  | robust list next | kind &amp; | owner   | owner-died count | PID     | boot    |
 *  |                  | flags   | pid     |                  | ns      | stamp   |
 *  +------------------+---------+---------+------------------+---------+---------+
 * </pre>
 *
 * <p>The futex word is described by {@link FutexWord}. {@code prev} and {@code next} are process-local
 * pointers written only by the holder; the kernel follows {@code next} (futex_offset -32, glibc's value).
 * The owner pid is for diagnostics only and never decides ownership. The PID namespace field identifies the
 * namespace of the record's users (the inode number of {@code /proc/self/ns/pid}, which fits 32 bits) for a
 * record in a shared-memory region; it is 0 in a mutex file, whose header records the namespace for all its
 * records, and in a region record written before the field existed, which its first user then claims. The boot
 * stamp, in a region record, is 32 bits of the boot id of the boot in which the record was last acquired from a
 * free word: written before the acquiring compare-and-swap, so a held word whose stamp is not this boot's was
 * taken in an earlier boot and its TID means nothing now; it is 0 in a mutex file, whose header records the
 * boot.
 */
public final class MutexRecordDescriptor {

    /** Offset of the futex word. */
    public static final int FUTEX_WORD_OFFSET = 0;
    /** Offset of the state: {@link #STATE_CONSISTENT}, {@link #STATE_INCONSISTENT}, {@link #STATE_NOT_RECOVERABLE}. */
    public static final int STATE_OFFSET = FUTEX_WORD_OFFSET + 4;
    /** Offset of the fencing token, incremented by every acquisition. */
    public static final int FENCING_TOKEN_OFFSET = STATE_OFFSET + 4;
    /** Offset of the reserved linkage field of other layouts (zero). */
    public static final int RESERVED_LINK_OFFSET = FENCING_TOKEN_OFFSET + 8;
    /** Offset of the robust list {@code prev} pointer. */
    public static final int LIST_PREV_OFFSET = RESERVED_LINK_OFFSET + 8;
    /** Offset of the robust list {@code next} pointer: the address put on robust lists. */
    public static final int LIST_NEXT_OFFSET = LIST_PREV_OFFSET + 8;
    /** Offset of the kind and flags word. */
    public static final int KIND_OFFSET = LIST_NEXT_OFFSET + 8;
    /** Offset of the owner's process id (diagnostics). */
    public static final int OWNER_PID_OFFSET = KIND_OFFSET + 4;
    /** Offset of the count of dead owners detected. */
    public static final int OWNER_DIED_COUNT_OFFSET = OWNER_PID_OFFSET + 4;
    /** Offset of the PID namespace of the record's users (unsigned 32 bits; 0 when not recorded here). */
    public static final int PID_NAMESPACE_OFFSET = OWNER_DIED_COUNT_OFFSET + 8;
    /** Offset of the boot stamp of a region record (0 in a mutex file). */
    public static final int BOOT_STAMP_OFFSET = PID_NAMESPACE_OFFSET + 4;
    /** The record size. */
    public static final int SIZE = BOOT_STAMP_OFFSET + 4;
    /** The required alignment of a record. */
    public static final int ALIGNMENT = 64;

    /** State: consistent. */
    public static final int STATE_CONSISTENT = 0;
    /** State: an owner died and the data has not been marked consistent yet. */
    public static final int STATE_INCONSISTENT = 1;
    /** State: the holder after an owner death released without marking it consistent. */
    public static final int STATE_NOT_RECOVERABLE = 2;

    /** Kind bits (low byte of the kind word): a PI mutex. */
    public static final int KIND_PI = 1;
    /** Kind bits: a NORMAL (non-PI) mutex. */
    public static final int KIND_NORMAL = 2;
    /** The mask of the kind bits. */
    public static final int KIND_MASK = 0xff;
    /** Flag: the record was initialized (set last, after every other field). */
    public static final int FLAG_INITIALIZED = 0x100;

    private MutexRecordDescriptor() {
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
            throw new IllegalArgumentException("offset=" + offset + " (a mutex record must start at a multiple of "
                    + ALIGNMENT + ")");
        }
        if (offset > regionSize - SIZE) {
            throw new IllegalArgumentException("offset=" + offset + " (a " + SIZE + "-byte record does not fit in "
                    + regionSize + " bytes)");
        }
    }
}
