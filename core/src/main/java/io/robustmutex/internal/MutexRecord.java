package io.robustmutex.internal;

import io.robustmutex.MutexKind;

/**
 * One mutex record (a {@link MutexRecordDescriptor} layout) at an offset of some memory, with the
 * addresses and offsets the protocol needs precomputed.
 */
public final class MutexRecord {

    /** How the record is named in every message: its file and index, or its region and offset. */
    final String name;
    /**
     * What names this mutex in the JVM, whatever mapping reaches it: its file's number and its offset
     * ({@link MappedRegion#identity}). A thread's held list is keyed by it.
     */
    final long identity;
    /** The closing flag of the record's mapping (offset 0 non-zero: closing), or null where none is needed. */
    final AtomicMemory control;
    /** The mapping, told when a record of a closing mapping is released; null where none is needed. */
    final MappedRegion region;
    /**
     * This boot's stamp, which the record carries once a thread of this boot has used it, so that a word held
     * since an earlier boot is told by its stale stamp; 0 for records whose file header records the boot.
     */
    final int bootStamp;
    final int stampOffset;
    /** The kind field's address: a PI contender that must pause sleeps on it (it never changes). */
    final long kindAddress;
    /** The stamp's address: threads waiting for another's take-over of an earlier boot's word sleep on it. */
    final long stampAddress;
    final AtomicMemory memory;
    final int offset;
    final int wordOffset;
    final int stateOffset;
    final int tokenOffset;
    final int prevOffset;
    final int nextOffset;
    final int pidOffset;
    final int diedCountOffset;
    final int kindOffset;
    /** The futex word's address, passed to the kernel. */
    final long wordAddress;
    /** The address of the record's {@code next} field: what robust lists point to. */
    final long entryAddress;
    /** {@link #entryAddress} with bit 0 set for a PI mutex: the value put in lists and in list_op_pending. */
    final long entryPointer;
    final boolean pi;
    final MutexKind kind;
    /**
     * The robust-list state of the thread that used this record last: a cache that spares the thread-local
     * lookup when one thread takes the same mutex again. Racy by design; a reader uses it only when its
     * {@link RobustThread#owner} is the current thread, and its final fields make it safely published.
     */
    RobustThread lastThread;

    /**
     * Binds to an initialized record whose users were checked to share this process's PID namespace (a mutex
     * file's header, or the record's own field: {@link #bindPidNamespace}), so that a TID the kernel cannot
     * find names an owner that is gone, not one of another namespace.
     *
     * @param memory the memory holding the record
     * @param offset the record's offset, 64-aligned
     * @param kind the kind stored in the record
     */
    public MutexRecord(AtomicMemory memory, int offset, MutexKind kind) {
        this(memory, offset, kind, null, null, 0, offset);
    }

    /**
     * Binds to an initialized record of a mapped file.
     *
     * @param memory the memory holding the record
     * @param offset the record's offset, 64-aligned
     * @param kind the kind stored in the record
     * @param name how messages name it (file and index, or region and offset); null for its address
     * @param region its mapping, whose control word every lock reads, or null
     * @param bootStamp this boot's stamp for a record whose boot is kept in the record, else 0
     * @param identity what names the mutex in the JVM whatever mapping reaches it
     */
    public MutexRecord(AtomicMemory memory, int offset, MutexKind kind, String name, MappedRegion region,
            int bootStamp, long identity) {
        MutexRecordDescriptor.checkOffset(offset, memory.size());
        this.name = name;
        this.region = region;
        this.control = region == null ? null : region.control();
        this.bootStamp = bootStamp;
        this.identity = identity;
        this.stampOffset = offset + MutexRecordDescriptor.BOOT_STAMP_OFFSET;
        this.memory = memory;
        this.offset = offset;
        this.kind = kind;
        this.pi = kind == MutexKind.PI;
        this.wordOffset = offset + MutexRecordDescriptor.FUTEX_WORD_OFFSET;
        this.stateOffset = offset + MutexRecordDescriptor.STATE_OFFSET;
        this.tokenOffset = offset + MutexRecordDescriptor.FENCING_TOKEN_OFFSET;
        this.prevOffset = offset + MutexRecordDescriptor.LIST_PREV_OFFSET;
        this.nextOffset = offset + MutexRecordDescriptor.LIST_NEXT_OFFSET;
        this.pidOffset = offset + MutexRecordDescriptor.OWNER_PID_OFFSET;
        this.diedCountOffset = offset + MutexRecordDescriptor.OWNER_DIED_COUNT_OFFSET;
        this.kindOffset = offset + MutexRecordDescriptor.KIND_OFFSET;
        this.wordAddress = memory.address() + wordOffset;
        this.stampAddress = memory.address() + stampOffset;
        this.kindAddress = memory.address() + kindOffset;
        this.entryAddress = memory.address() + nextOffset;
        this.entryPointer = pi ? entryAddress | RobustListHeadDescriptor.PI_BIT : entryAddress;
    }

    /**
     * Writes a fresh record: free word, consistent, token 0, no links, the PID namespace of its users, and the
     * kind with the initialized flag written last.
     *
     * @param memory the memory
     * @param offset the record's offset, 64-aligned
     * @param kind the kind
     * @param pidNamespace the PID namespace of the record's users, or 0 where a file header records it
     * @param bootStamp this boot's stamp, or 0 where a file header records the boot
     */
    public static void initialize(AtomicMemory memory, int offset, MutexKind kind, long pidNamespace,
            int bootStamp) {
        MutexRecordDescriptor.checkOffset(offset, memory.size());
        for (int field = 0; field < MutexRecordDescriptor.SIZE; field += 8) {
            if (field != MutexRecordDescriptor.KIND_OFFSET) {
                memory.putLongPlain(offset + field, 0);
            }
        }
        memory.putIntPlain(offset + MutexRecordDescriptor.OWNER_PID_OFFSET, 0);
        memory.putIntPlain(offset + MutexRecordDescriptor.PID_NAMESPACE_OFFSET, namespaceField(pidNamespace));
        memory.putIntPlain(offset + MutexRecordDescriptor.BOOT_STAMP_OFFSET, bootStamp);
        memory.putIntRelease(offset + MutexRecordDescriptor.KIND_OFFSET, kindWord(kind));
    }

    /**
     * Checks that a record in a shared-memory region is used only from one PID namespace, this one: a record
     * whose field is 0 (written before the field existed) is claimed for this namespace; a record of another
     * namespace is refused, with nothing written.
     *
     * @param memory the region
     * @param offset the record's offset
     * @param pidNamespace this process's PID namespace
     * @param name the record's name for the message (file and offset)
     * @throws IllegalStateException when the record is used from another PID namespace
     */
    public static void bindPidNamespace(AtomicMemory memory, int offset, long pidNamespace, String name) {
        int ours = namespaceField(pidNamespace);
        int at = offset + MutexRecordDescriptor.PID_NAMESPACE_OFFSET;
        int recorded = memory.getIntVolatile(at);
        if (recorded == 0 && memory.compareAndSetInt(at, 0, ours)) {
            return;
        }
        recorded = memory.getIntVolatile(at);
        if (recorded != ours) {
            throw new IllegalStateException(HostIdentity.foreignPidNamespace(name, Integer.toUnsignedLong(recorded),
                    pidNamespace));
        }
    }

    private static int namespaceField(long pidNamespace) {
        if (pidNamespace < 0 || pidNamespace > 0xffff_ffffL) {
            throw new IllegalArgumentException("pidNamespace=" + pidNamespace + " (a PID namespace's inode number"
                    + " fits 32 bits)");
        }
        return (int) pidNamespace;
    }

    /**
     * The kind word of an initialized record of this kind.
     *
     * @param kind the kind
     * @return the word
     */
    public static int kindWord(MutexKind kind) {
        return MutexRecordDescriptor.FLAG_INITIALIZED
                | (kind == MutexKind.PI ? MutexRecordDescriptor.KIND_PI : MutexRecordDescriptor.KIND_NORMAL);
    }

    /**
     * Decodes a kind word.
     *
     * @param kindWord the record's kind word
     * @return the kind, or null when the word is not that of an initialized record
     */
    public static MutexKind decodeKind(int kindWord) {
        if ((kindWord & ~(MutexRecordDescriptor.FLAG_INITIALIZED | MutexRecordDescriptor.KIND_MASK)) != 0
                || (kindWord & MutexRecordDescriptor.FLAG_INITIALIZED) == 0) {
            return null;
        }
        return switch (kindWord & MutexRecordDescriptor.KIND_MASK) {
            case MutexRecordDescriptor.KIND_PI -> MutexKind.PI;
            case MutexRecordDescriptor.KIND_NORMAL -> MutexKind.NORMAL;
            default -> null;
        };
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

    /**
     * The record's kind.
     *
     * @return the kind
     */
    public MutexKind kind() {
        return kind;
    }

    /**
     * The futex word's address.
     *
     * @return the address
     */
    public long wordAddress() {
        return wordAddress;
    }

    /**
     * The address robust lists use for this record (its {@code next} field), without the PI bit.
     *
     * @return the entry address
     */
    public long entryAddress() {
        return entryAddress;
    }

    /**
     * The current futex word (volatile read).
     *
     * @return the word
     */
    public int word() {
        return memory.getIntVolatile(wordOffset);
    }

    /**
     * How messages name the record.
     *
     * @return the name
     */
    public String name() {
        return toString();
    }

    @Override
    public String toString() {
        return name != null ? name : String.format("%s mutex at 0x%x", kind, wordAddress);
    }
}
