package io.robustmutex.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * One thread's robust-list state, for one kernel: its TID, its registered robust list head, and the
 * mutexes it holds, in acquisition order.
 *
 * <p>The held list follows the kernel-visible list: the kernel list runs from the head through the most
 * recently acquired record to the oldest and back to the head, so held entry {@code i} comes after (further from
 * the head than) entry {@code i + 1} and before entry {@code i - 1}; on an own head they are neighbours, on a
 * joined one native code's entries may lie between them. Only the owning thread changes this
 * object. Other threads read it for diagnostics ({@link #heldCount()}, racily) and, when they close a mapping,
 * to learn whether this thread holds a record in it ({@link #holdsIn}): that answer must be exact, so changes
 * to the held list are bracketed by a version number, odd while a change is under way, and the reader keeps
 * an answer only if the version was even and unchanged around its reading (a sequence lock). The owner pays
 * two plain stores per change, ordered by a store-store fence and a release store, which cost no instruction
 * on x86.
 */
public final class RobustThread {

    private static final VarHandle VERSION;

    static {
        try {
            VERSION = MethodHandles.lookup().findVarHandle(RobustThread.class, "version", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** How often {@link #holdsIn} tries for a stable reading before answering "holds" to be safe. */
    private static final int STABLE_READ_ATTEMPTS = 10_000;

    /** The Java thread this state belongs to (the carrier of a simulated thread in the model). */
    final Thread owner;
    final int tid;
    final AtomicMemory head;
    final int headOffset;
    final long headAddress;
    final long pendingAddress;
    /** The offset of list_op_pending in {@link #head}. */
    final int pendingOffset;
    /** The offset of list.next in {@link #head}. */
    final int listNextOffset;
    /**
     * Whether the head is one this library found registered (glibc's) and links its records into, sharing the
     * list with native code of the same thread; false for a head the library registered itself.
     */
    final boolean joined;
    /**
     * Held entry 0, and the last record the thread acquired while holding nothing, which it keeps after its
     * release. Keeping it costs one mapping kept reachable per thread at most, until the thread next takes a
     * different record first or ends; in exchange the common lock (a thread that holds nothing takes the
     * record it took last time) stores no reference, whose garbage-collector write barriers cost as much
     * here as the rest of the bookkeeping. Reachable from here, the record's mapping stays mapped while it is
     * held (design.md section 5).
     */
    private MutexRecord first;
    /** Held entries 1 and up (slot 0 is unused: see {@link #first}). */
    private MutexRecord[] records = new MutexRecord[4];
    /** The identities and re-entrant hold counts of the held entries, in acquisition order. */
    private long[] identities = new long[4];
    private int[] holds = new int[4];
    /**
     * The number of held records. Written only by the owning thread; other threads read it (racily) for
     * diagnostics only, so it is a plain field: a volatile write here would put a full fence on every lock.
     */
    private int heldCount;
    /** Odd while the owner changes the held list; see the class comment. */
    private int version;
    /**
     * On a joined list, the memory of native code's first entry, made ready by the protocol before it takes a
     * word so that linking allocates nothing; null when the first entry is the head or one of the thread's.
     */
    AtomicMemory nativeFirst;
    /** The address {@link #nativeFirst} was made for. */
    long nativeFirstAddress;
    /**
     * The TID of a gone owner whose word the thread's acquisition in progress took over, 0 for none: the take-over
     * is logged once the acquisition is complete, not while the word is taken but not yet on the list.
     */
    int takenOverFrom;
    /** Whether {@link #takenOverFrom} held the word since an earlier boot (else its TID named no thread). */
    boolean takenOverSinceEarlierBoot;
    /**
     * The identities of held mutexes whose last release is to leave them INCONSISTENT instead of making them not
     * recoverable ({@link RobustMutexProtocol#keepInconsistentAtRelease}); rarely more than none.
     */
    private long[] unrepaired = new long[0];

    /** Marks a held mutex to be released INCONSISTENT. */
    void markUnrepaired(long identity) {
        if (!isUnrepaired(identity)) {
            long[] grown = java.util.Arrays.copyOf(unrepaired, unrepaired.length + 1);
            grown[unrepaired.length] = identity;
            unrepaired = grown;
        }
    }

    private boolean isUnrepaired(long identity) {
        for (long marked : unrepaired) {
            if (marked == identity) {
                return true;
            }
        }
        return false;
    }

    /**
     * Removes a mutex's mark.
     *
     * @return whether it was marked
     */
    boolean clearUnrepaired(long identity) {
        if (unrepaired.length == 0 || !isUnrepaired(identity)) {
            return false;
        }
        long[] kept = new long[unrepaired.length - 1];
        int n = 0;
        for (long marked : unrepaired) {
            if (marked != identity) {
                kept[n++] = marked;
            }
        }
        unrepaired = kept;
        return true;
    }

    /**
     * Creates the state of a thread whose head is registered.
     *
     * @param tid the thread's TID
     * @param head memory holding the head
     * @param headOffset the head's offset in that memory
     * @param joined whether the head was registered by someone else (glibc) and is shared with them
     */
    public RobustThread(int tid, AtomicMemory head, int headOffset, boolean joined) {
        this.owner = Thread.currentThread();
        this.tid = tid;
        this.head = head;
        this.headOffset = headOffset;
        this.headAddress = head.address() + headOffset;
        this.pendingAddress = headAddress + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET;
        this.pendingOffset = headOffset + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET;
        this.listNextOffset = headOffset + RobustListHeadDescriptor.LIST_NEXT_OFFSET;
        this.joined = joined;
    }

    /**
     * Whether the thread's records are linked into a head registered by the C library, shared with native
     * code of the thread, rather than into a head of this library's own.
     *
     * @return true when joined
     */
    public boolean joined() {
        return joined;
    }

    /**
     * The thread's TID.
     *
     * @return the TID
     */
    public int tid() {
        return tid;
    }

    /**
     * The head's address.
     *
     * @return the address registered with {@code set_robust_list}
     */
    public long headAddress() {
        return headAddress;
    }

    /**
     * The address of the head's {@code list_op_pending} slot.
     *
     * @return the slot's address
     */
    public long pendingAddress() {
        return pendingAddress;
    }

    /**
     * The memory holding the head.
     *
     * @return the memory
     */
    public AtomicMemory headMemory() {
        return head;
    }

    /**
     * The head's offset in {@link #headMemory()}.
     *
     * @return the offset
     */
    public int headOffset() {
        return headOffset;
    }

    /**
     * How many distinct mutexes the thread holds.
     *
     * @return the count
     */
    public int heldCount() {
        return heldCount;
    }

    /**
     * Whether the thread holds a record of the given memory. Exact whatever the owner is doing: a thread that
     * holds a record of it is never reported as not holding one. When the owner changes its list so often that
     * no stable reading can be had, the answer is "holds", which only delays the unmapping it guards.
     *
     * @param memory a memory region
     * @return true when one of the held records lies in it (or no stable reading could be had)
     */
    public boolean holdsIn(AtomicMemory memory) {
        for (int attempt = 0; attempt < STABLE_READ_ATTEMPTS; attempt++) {
            int before = (int) VERSION.getAcquire(this);
            if ((before & 1) == 0) {
                boolean holds = scan(memory);
                // The reads of the list before the second read of the version (StampedLock.validate does the same).
                VarHandle.acquireFence();
                if ((int) VERSION.getOpaque(this) == before) {
                    return holds;
                }
            }
            Thread.onSpinWait();
        }
        return true;
    }

    private boolean scan(AtomicMemory memory) {
        MutexRecord[] snapshot = records;
        int count = Math.min(heldCount, snapshot.length);
        for (int i = 0; i < count; i++) {
            MutexRecord record = i == 0 ? first : snapshot[i];
            if (record != null && record.memory == memory) {
                return true;
            }
        }
        return false;
    }

    /** Starts a change of the held list: the version becomes odd before any of the change can be seen. */
    private int beginChange() {
        int v = version;
        version = v + 1;
        VarHandle.storeStoreFence();
        return v;
    }

    /** Ends a change: the version becomes even again once all of the change can be seen. */
    private void endChange(int v) {
        VERSION.setRelease(this, v + 2);
    }

    /**
     * Index of the held record with this identity, searching from the most recent; -1 if not held. The
     * identity names the mutex whatever mapping reaches it, so a record held through one mapping of a file is
     * held through every mapping of it.
     */
    int indexOf(long identity) {
        long[] held = identities;
        for (int i = heldCount - 1; i >= 0; i--) {
            if (held[i] == identity) {
                return i;
            }
        }
        return -1;
    }

    int count() {
        return heldCount;
    }

    /**
     * Whether the robust list is just the head: the thread holds no record, and native code sharing the list
     * holds no robust mutex either.
     */
    boolean listIsEmpty() {
        return heldCount == 0 && head.getLongPlain(listNextOffset) == headAddress;
    }

    /**
     * Links a record into the list when {@link #listIsEmpty()}: the steps of {@code RobustMutexProtocol.link}
     * with the head as the old first entry, kept in their own method so that the protocol's fast path stays
     * small enough for the JIT to inline.
     */
    void linkIntoEmptyList(MutexRecord record) {
        AtomicMemory memory = record.memory;
        memory.putLongPlain(record.nextOffset, headAddress);
        memory.putLongPlain(record.prevOffset, headAddress);
        head.putLongRelease(listNextOffset, record.entryPointer);
    }

    /**
     * The held record whose list entry ({@code next} field) is at this address, or null: how the list
     * discipline tells its own entries from the head and from native code's.
     */
    MutexRecord heldAt(long entryAddress) {
        int n = heldCount;
        for (int i = n - 1; i >= 0; i--) {
            MutexRecord record = record(i);
            if (record.entryAddress == entryAddress) {
                return record;
            }
        }
        return null;
    }

    /** Whether the first held record has this identity and is held once (call only when one is held). */
    boolean isOnlyHold(long identity) {
        return identities[0] == identity && holds[0] == 1;
    }

    MutexRecord record(int index) {
        return index == 0 ? first : records[index];
    }

    int holds(int index) {
        return holds[index];
    }

    void setHolds(int index, int count) {
        holds[index] = count;
    }

    /** Makes room for one more held record, so that {@link #push} cannot fail. */
    void ensureCapacity() {
        int n = heldCount;
        if (n == identities.length) {
            records = Arrays.copyOf(records, n * 2);
            identities = Arrays.copyOf(identities, n * 2);
            holds = Arrays.copyOf(holds, n * 2);
        }
    }

    /** Appends a newly acquired record (the new first entry of the kernel list); capacity was ensured. */
    void push(MutexRecord record) {
        int v = beginChange();
        int n = heldCount;
        if (n != 0) {
            records[n] = record;
        } else if (first != record) {
            first = record;
        }
        identities[n] = record.identity;
        holds[n] = 1;
        heldCount = n + 1;
        endChange(v);
    }

    /** Removes entry {@code index}, keeping the order of the rest. */
    void remove(int index) {
        int v = beginChange();
        int n = heldCount;
        if (index != n - 1) {
            if (index == 0) {
                first = records[1];
                System.arraycopy(records, 2, records, 1, n - 2);
            } else {
                System.arraycopy(records, index + 1, records, index, n - 1 - index);
            }
            System.arraycopy(identities, index + 1, identities, index, n - 1 - index);
            System.arraycopy(holds, index + 1, holds, index, n - 1 - index);
        }
        if (n > 1) {
            records[n - 1] = null;
        }
        heldCount = n - 1;
        endChange(v);
    }
}
