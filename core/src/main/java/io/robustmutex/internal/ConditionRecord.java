package io.robustmutex.internal;

/**
 * One condition record (a {@link ConditionRecordDescriptor} layout) at an offset of some memory, with the
 * offsets and the address the protocol needs precomputed.
 */
public final class ConditionRecord {

    final AtomicMemory memory;
    final int offset;
    final int sequenceOffset;
    final int waitersOffset;
    /** The sequence's address, passed to the kernel. */
    final long sequenceAddress;
    /** The mapping that holds the record, kept mapped while a thread waits or signals; null where none is. */
    final MappedRegion region;
    /** The closing flag of the record's mapping (offset 0 non-zero: closing), or null where none is needed. */
    final AtomicMemory control;
    private final String name;

    /**
     * Binds to an initialized condition record.
     *
     * @param memory the memory holding it
     * @param offset its offset, 64-aligned
     * @param name how messages name it, or null for its address
     * @param region its mapping, or null for memory that is never unmapped while referenced
     */
    public ConditionRecord(AtomicMemory memory, int offset, String name, MappedRegion region) {
        ConditionRecordDescriptor.checkOffset(offset, memory.size());
        this.memory = memory;
        this.offset = offset;
        this.sequenceOffset = offset + ConditionRecordDescriptor.SEQUENCE_OFFSET;
        this.waitersOffset = offset + ConditionRecordDescriptor.WAITERS_OFFSET;
        this.sequenceAddress = memory.address() + sequenceOffset;
        this.region = region;
        this.control = region == null ? null : region.control();
        this.name = name;
    }

    /**
     * The sequence now (a volatile read): how many signals the record has seen, modulo 2<sup>32</sup>.
     *
     * @return the sequence
     */
    public int sequence() {
        return memory.getIntVolatile(sequenceOffset);
    }

    /**
     * The waiters hint now: the threads that may be waiting, too high by one for each waiter that died waiting.
     *
     * @return the hint
     */
    public int waiters() {
        return memory.getIntVolatile(waitersOffset);
    }

    /**
     * The memory holding the record.
     *
     * @return the memory
     */
    public AtomicMemory memory() {
        return memory;
    }

    /**
     * The record's offset in its memory.
     *
     * @return the offset
     */
    public int offset() {
        return offset;
    }

    @Override
    public String toString() {
        return name != null ? name : String.format("condition at 0x%x", sequenceAddress);
    }
}
