package io.robustmutex.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

/**
 * The robust list heads this library registers with the real kernel, one per thread that ever took a robust
 * mutex (design.md section 4).
 *
 * <h2>Overview</h2>
 *
 * <p>The kernel reads a thread's head, and follows its list, when the thread exits: after every line of Java
 * code of that thread has run (kernel-abi.md section 2). So a head may not be freed or reused when its Java
 * thread ends, only when the OS thread is gone. Heads live in direct-buffer chunks that are never freed; a
 * slot is reused only after {@code get_robust_list(tid)} no longer returns it (the thread is gone:
 * {@code ESRCH}, or its TID now belongs to another thread). Until then the slot also keeps its thread's
 * state reachable, and with it every mapping that thread held a lock in or had {@code list_op_pending}
 * pointing into, so no mapping can be unmapped under the kernel's exit walk (design.md section 5).
 */
public final class RobustListHeads {

    /** Slot stride: a 24-byte head rounded up to a power of two. */
    private static final int SLOT_SIZE = 32;
    private static final int SLOTS_PER_CHUNK = 128;
    private static final int CHUNK_SIZE = SLOT_SIZE * SLOTS_PER_CHUNK;

    private static final Object LOCK = new Object();
    /** Atomic access to a head's slots, which are 8-aligned in direct buffers. */
    private static final VarHandle PENDING = MethodHandles.byteBufferViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);
    /** Every chunk ever allocated; never freed. */
    private static final List<ByteBuffer> CHUNKS = new ArrayList<>();
    private static volatile long[] chunkAddresses = new long[0];
    private static final ArrayDeque<Slot> FREE = new ArrayDeque<>();
    private static final List<Slot> IN_USE = new ArrayList<>();

    private RobustListHeads() {
    }

    /** A head slot bound to one OS thread. */
    public static final class Slot {
        private final ByteBuffer head;
        private final long address;
        private Thread thread;
        private int tid;
        private Object retained;

        private Slot(ByteBuffer head, long address) {
            this.head = head;
            this.address = address;
        }

        /**
         * The head's memory: 24 bytes laid out as {@link RobustListHeadDescriptor} says.
         *
         * @return a little-endian buffer over the head
         */
        public ByteBuffer head() {
            return head;
        }

        /**
         * Keeps an object reachable until the OS thread is gone: the thread's lock state, which references
         * every mapping the thread holds a lock in.
         *
         * @param object the object to keep
         */
        public void retain(Object object) {
            synchronized (LOCK) {
                this.retained = object;
            }
        }

        /**
         * The head's address, as passed to {@code set_robust_list}.
         *
         * @return the address
         */
        public long address() {
            return address;
        }
    }

    /**
     * Takes a head for the calling thread, initialized empty (next pointing at itself, futex_offset -32, no
     * pending entry). The caller registers it with {@code set_robust_list}.
     *
     * @param tid the calling thread's TID
     * @param syscalls the binding, used to find slots whose threads are gone
     * @return the slot
     */
    public static Slot allocate(int tid, LinuxSyscalls syscalls) {
        synchronized (LOCK) {
            if (FREE.isEmpty()) {
                reclaimLocked(syscalls);
            }
            if (FREE.isEmpty()) {
                addChunk();
            }
            Slot slot = FREE.pop();
            slot.thread = Thread.currentThread();
            slot.tid = tid;
            slot.head.putLong(RobustListHeadDescriptor.LIST_NEXT_OFFSET, slot.address);
            slot.head.putLong(RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET, RobustListHeadDescriptor.FUTEX_OFFSET);
            slot.head.putLong(RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 0);
            IN_USE.add(slot);
            return slot;
        }
    }

    /**
     * Frees the slots of threads that are gone: the Java thread has ended and the kernel no longer has the
     * slot registered for its TID.
     *
     * @param syscalls the binding
     * @return the number of slots freed
     */
    public static int reclaim(LinuxSyscalls syscalls) {
        int freed = reclaimLocked(syscalls);
        if (freed > 0) {
            // Regions a gone thread may have named can go now.
            MappedRegion.retryClosing();
        }
        return freed;
    }

    private static int reclaimLocked(LinuxSyscalls syscalls) {
        synchronized (LOCK) {
            int freed = 0;
            long[] out = new long[2];
            for (Iterator<Slot> it = IN_USE.iterator(); it.hasNext(); ) {
                Slot slot = it.next();
                if (slot.thread.isAlive()) {
                    continue;
                }
                long result = syscalls.getRobustList(slot.tid, out);
                // Still registered: the OS thread has not finished exiting, so the kernel may yet walk it.
                if (result == 0 && out[0] == slot.address) {
                    continue;
                }
                it.remove();
                slot.thread = null;
                slot.retained = null;
                FREE.push(slot);
                freed++;
            }
            return freed;
        }
    }

    /**
     * Whether any thread whose head the kernel may still walk (alive, or gone and not yet reclaimed) holds a
     * record in the given memory or has its pending slot pointing into it: then the memory must stay mapped
     * (design.md section 5). Called after the memory's control word says it is closing and after a process-
     * wide barrier, so a pending slot stored before a locker saw the control word is seen here.
     *
     * @param memory a mapped region
     * @return true when some thread may still name the memory to the kernel
     */
    public static boolean anyThreadReferences(AtomicMemory memory) {
        long start = memory.address();
        long end = start + memory.size();
        synchronized (LOCK) {
            for (Slot slot : IN_USE) {
                // Pending first, with acquire: a lock stores its held entry before it clears pending (with
                // release), so a cleared slot read here means the held list below shows the record. Read the
                // other way round, a lock finishing in between would be missed by both reads.
                long pending = (long) PENDING.getAcquire(slot.head, RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET)
                        & ~RobustListHeadDescriptor.PI_BIT;
                if (pending >= start && pending < end) {
                    return true;
                }
                if (slot.retained instanceof RobustThread thread && thread.holdsIn(memory)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Whether a live thread of this JVM holds a mutex in the given memory.
     *
     * @param memory a mapped region
     * @return true when some thread that is still alive holds a record in it
     */
    public static boolean anyLiveThreadHolds(AtomicMemory memory) {
        synchronized (LOCK) {
            for (Slot slot : IN_USE) {
                if (slot.thread.isAlive() && slot.retained instanceof RobustThread thread && thread.holdsIn(memory)) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Whether an address is one of this library's heads.
     *
     * @param address an address
     * @return true when it is the start of a head slot
     */
    public static boolean isOwn(long address) {
        for (long chunk : chunkAddresses) {
            if (address >= chunk && address < chunk + CHUNK_SIZE && (address - chunk) % SLOT_SIZE == 0) {
                return true;
            }
        }
        return false;
    }

    /**
     * The number of slots bound to threads (alive, or gone and not yet reclaimed).
     *
     * @return the count
     */
    public static int inUse() {
        synchronized (LOCK) {
            return IN_USE.size();
        }
    }

    /**
     * The number of chunks of head slots allocated so far (never freed).
     *
     * @return the count
     */
    public static int chunkCount() {
        synchronized (LOCK) {
            return CHUNKS.size();
        }
    }

    private static void addChunk() {
        ByteBuffer chunk = NativeMemory.allocateAligned(CHUNK_SIZE, 64);
        long base = NativeMemory.address(chunk);
        CHUNKS.add(chunk);
        long[] addresses = Arrays.copyOf(chunkAddresses, chunkAddresses.length + 1);
        addresses[addresses.length - 1] = base;
        chunkAddresses = addresses;
        for (int i = SLOTS_PER_CHUNK - 1; i >= 0; i--) {
            ByteBuffer head = chunk.slice(i * SLOT_SIZE, RobustListHeadDescriptor.SIZE)
                    .order(java.nio.ByteOrder.LITTLE_ENDIAN);
            FREE.push(new Slot(head, base + (long) i * SLOT_SIZE));
        }
    }
}
