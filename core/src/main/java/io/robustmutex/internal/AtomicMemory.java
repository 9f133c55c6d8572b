package io.robustmutex.internal;

/**
 * Shared memory as the lock protocol accesses it: little-endian integers at byte offsets, each access named
 * by its memory-ordering mode (as Agrona's {@code AtomicBuffer}).
 *
 * <p>Two implementations: {@link MappedMemory} over a mapped or direct buffer (real memory, with a real
 * address the kernel can use), and the reference model's simulated memory, which resolves every access
 * through the model's address space so that unmapping and remapping are visible. Offsets must be naturally
 * aligned for their width; an access outside the region throws {@link IndexOutOfBoundsException}.
 *
 * <p>Ordering modes: <em>plain</em> accesses have no ordering; <em>release</em> stores are not reordered
 * with any earlier load or store of the same thread; <em>volatile</em> accesses and the atomic operations
 * are sequentially consistent.
 */
public interface AtomicMemory {

    /**
     * The address of byte 0 of this region, as the kernel (or the model's kernel) knows it.
     *
     * @return the base address
     */
    long address();

    /**
     * The size of this region in bytes.
     *
     * @return the size
     */
    int size();

    /**
     * A volatile read of an int.
     *
     * @param offset a 4-aligned offset
     * @return the value
     */
    int getIntVolatile(int offset);

    /**
     * A plain read of an int.
     *
     * @param offset a 4-aligned offset
     * @return the value
     */
    int getIntPlain(int offset);

    /**
     * A plain store of an int.
     *
     * @param offset a 4-aligned offset
     * @param value the value
     */
    void putIntPlain(int offset, int value);

    /**
     * A release store of an int.
     *
     * @param offset a 4-aligned offset
     * @param value the value
     */
    void putIntRelease(int offset, int value);

    /**
     * A volatile store of an int.
     *
     * @param offset a 4-aligned offset
     * @param value the value
     */
    void putIntVolatile(int offset, int value);

    /**
     * Atomically sets an int to {@code update} if it equals {@code expected}.
     *
     * @param offset a 4-aligned offset
     * @param expected the expected value
     * @param update the new value
     * @return true when the value was replaced
     */
    boolean compareAndSetInt(int offset, int expected, int update);

    /**
     * Atomically sets an int to {@code update} if it equals {@code expected}, returning the value seen.
     *
     * @param offset a 4-aligned offset
     * @param expected the expected value
     * @param update the new value
     * @return the value before the operation ({@code expected} when it succeeded)
     */
    int compareAndExchangeInt(int offset, int expected, int update);

    /**
     * Atomically replaces an int.
     *
     * @param offset a 4-aligned offset
     * @param value the new value
     * @return the previous value
     */
    int getAndSetInt(int offset, int value);

    /**
     * A plain read of a long.
     *
     * @param offset an 8-aligned offset
     * @return the value
     */
    long getLongPlain(int offset);

    /**
     * A volatile read of a long.
     *
     * @param offset an 8-aligned offset
     * @return the value
     */
    long getLongVolatile(int offset);

    /**
     * A plain store of a long.
     *
     * @param offset an 8-aligned offset
     * @param value the value
     */
    void putLongPlain(int offset, long value);

    /**
     * A release store of a long.
     *
     * @param offset an 8-aligned offset
     * @param value the value
     */
    void putLongRelease(int offset, long value);
}
