package io.robustmutex.spi;

/**
 * The width of the {@code list_op_pending} slot that the robust unlock clears: 8 bytes for a native 64-bit
 * robust list, 4 bytes for a compat (32-bit) list ({@code FUTEX_ROBUST_LIST32}, kernel-abi.md section 4.1).
 */
public enum PendingSlotWidth {
    /** An 8-byte slot. */
    BITS_64(8),
    /** A 4-byte slot; only its low half is cleared. */
    BITS_32(4);

    private final int bytes;

    PendingSlotWidth(int bytes) {
        this.bytes = bytes;
    }

    /**
     * The slot width in bytes.
     *
     * @return 8 or 4
     */
    public int bytes() {
        return bytes;
    }
}
