package io.robustmutex.internal;

import java.util.Arrays;

/**
 * One thread's robust-list state, for one kernel: its TID, its registered robust list head, and the
 * mutexes it holds, in acquisition order.
 *
 * <p>The held list mirrors the kernel-visible list: the kernel list runs from the head through the most
 * recently acquired record to the oldest and back to the head, so entry {@code i} of {@link #held} is
 * preceded (towards the head) by entry {@code i + 1} and followed by entry {@code i - 1}. Only the owning
 * thread touches this object, except for diagnostic reads of {@link #heldCount()}.
 */
public final class RobustThread {

    /** A held mutex and its re-entrant hold count; slots are reused. */
    static final class Held {
        MutexRecord record;
        int holds;
    }

    final int tid;
    final AtomicMemory head;
    final int headOffset;
    final long headAddress;
    final long pendingAddress;
    /** The offset of list_op_pending in {@link #head}. */
    final int pendingOffset;
    /** The offset of list.next in {@link #head}. */
    final int listNextOffset;
    private Held[] held = new Held[4];
    /**
     * The number of held records. Written only by the owning thread; other threads read it (racily) for
     * diagnostics only, so it is a plain field: a volatile write here would put a full fence on every lock.
     */
    private int heldCount;

    /**
     * Creates the state of a thread whose head is registered.
     *
     * @param tid the thread's TID
     * @param head memory holding the head
     * @param headOffset the head's offset in that memory
     */
    public RobustThread(int tid, AtomicMemory head, int headOffset) {
        this.tid = tid;
        this.head = head;
        this.headOffset = headOffset;
        this.headAddress = head.address() + headOffset;
        this.pendingAddress = headAddress + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET;
        this.pendingOffset = headOffset + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET;
        this.listNextOffset = headOffset + RobustListHeadDescriptor.LIST_NEXT_OFFSET;
        for (int i = 0; i < held.length; i++) {
            held[i] = new Held();
        }
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
     * Whether the thread holds a record of the given memory.
     *
     * @param memory a memory region
     * @return true when one of the held records lies in it
     */
    public boolean holdsIn(AtomicMemory memory) {
        Held[] snapshot = held;
        int count = Math.min(heldCount, snapshot.length);
        for (int i = 0; i < count; i++) {
            MutexRecord record = snapshot[i].record;
            if (record != null && record.memory == memory) {
                return true;
            }
        }
        return false;
    }

    /** Index of the held record with this word address, searching from the most recent; -1 if not held. */
    int indexOf(long wordAddress) {
        Held[] slots = held;
        for (int i = heldCount - 1; i >= 0; i--) {
            if (slots[i].record.wordAddress == wordAddress) {
                return i;
            }
        }
        return -1;
    }

    Held held(int index) {
        return held[index];
    }

    int count() {
        return heldCount;
    }

    /** Makes room for one more held record, so that {@link #push} cannot fail. */
    void ensureCapacity() {
        int n = heldCount;
        if (n == held.length) {
            held = Arrays.copyOf(held, n * 2);
            for (int i = n; i < held.length; i++) {
                held[i] = new Held();
            }
        }
    }

    /** Appends a newly acquired record (the new first entry of the kernel list); capacity was ensured. */
    void push(MutexRecord record) {
        int n = heldCount;
        Held slot = held[n];
        slot.record = record;
        slot.holds = 1;
        heldCount = n + 1;
    }

    /** Removes entry {@code index}, keeping the order of the rest. */
    void remove(int index) {
        int n = heldCount;
        Held removed = held[index];
        if (index != n - 1) {
            System.arraycopy(held, index + 1, held, index, n - 1 - index);
            held[n - 1] = removed;
        }
        removed.record = null;
        heldCount = n - 1;
    }
}
