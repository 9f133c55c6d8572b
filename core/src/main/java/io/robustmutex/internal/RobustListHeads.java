package io.robustmutex.internal;

import java.io.IOException;
import java.io.RandomAccessFile;
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
 * The robust list heads of the threads that took a robust mutex (design.md section 4): glibc's head, which
 * the thread joins, or one this library registers for it where it cannot.
 *
 * <h2>Overview</h2>
 *
 * <p>The kernel reads a thread's head, and follows its list, when the thread exits: after every line of Java
 * code of that thread has run (kernel-abi.md section 2). Until the OS thread is gone, its slot here keeps the
 * thread's state reachable, and with it every mapping that thread held a lock in or had {@code list_op_pending}
 * pointing into, so no mapping can be unmapped under the kernel's exit walk (design.md section 5). A slot is
 * dropped only after {@code get_robust_list(tid)} no longer returns its head (the thread is gone: {@code ESRCH},
 * or its TID now belongs to another thread).
 *
 * <p>A joined head is glibc's, inside the thread's descriptor, which glibc may unmap once the thread has
 * exited: it is read only through {@code /proc/self/mem}, which fails instead of faulting. A head this library
 * registers lives in a direct-buffer chunk that is never freed, 8 bytes into a 32-byte slot (the 8 bytes before
 * it are unused, where glibc's descriptor has {@code robust_prev}); such a slot is reused once its thread is gone.
 */
public final class RobustListHeads {

    /** Slot stride: 8 unused bytes and the 24-byte head. */
    private static final int SLOT_SIZE = RobustListHeadDescriptor.PREV_SLOT_SIZE + RobustListHeadDescriptor.SIZE;
    private static final int SLOTS_PER_CHUNK = 128;
    private static final int CHUNK_SIZE = SLOT_SIZE * SLOTS_PER_CHUNK;
    /** The head's offset in its slot. */
    private static final int HEAD_OFFSET = RobustListHeadDescriptor.PREV_SLOT_SIZE;
    /** How many joined slots may gather before registering another looks for gone threads. */
    private static final int JOINED_RECLAIM_START = 64;

    private static final Object LOCK = new Object();
    /** Atomic access to a head's slots, which are 8-aligned in direct buffers. */
    private static final VarHandle PENDING = MethodHandles.byteBufferViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);
    /** Every chunk ever allocated; never freed. */
    private static final List<ByteBuffer> CHUNKS = new ArrayList<>();
    private static volatile long[] chunkAddresses = new long[0];
    private static final ArrayDeque<Slot> FREE = new ArrayDeque<>();
    private static final List<Slot> IN_USE = new ArrayList<>();
    private static int joinedReclaimAt = JOINED_RECLAIM_START;
    /** {@code /proc/self/mem}, opened on first need; null until then or when it cannot be opened. */
    private static RandomAccessFile selfMemory;
    private static boolean selfMemoryFailed;

    private RobustListHeads() {
    }

    /** A head bound to one OS thread: one of this library's slots, or glibc's head that the thread joined. */
    public static final class Slot {
        private final ByteBuffer memory;
        private final long address;
        private final boolean joined;
        private Thread thread;
        private int tid;
        private Object retained;

        private Slot(ByteBuffer memory, long address, boolean joined) {
            this.memory = memory;
            this.address = address;
            this.joined = joined;
        }

        /**
         * The memory of the head and of the 8 bytes before it: the head is at offset
         * {@link RobustListHeadDescriptor#PREV_SLOT_SIZE}, laid out as {@link RobustListHeadDescriptor} says.
         *
         * @return a little-endian buffer
         */
        public ByteBuffer memory() {
            return memory;
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
         * The head's address, as registered with {@code set_robust_list}.
         *
         * @return the address
         */
        public long address() {
            return address;
        }

        /**
         * Whether the head is glibc's, joined, rather than this library's.
         *
         * @return true when joined
         */
        public boolean joined() {
            return joined;
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
            slot.memory.putLong(0, slot.address);
            slot.memory.putLong(HEAD_OFFSET + RobustListHeadDescriptor.LIST_NEXT_OFFSET, slot.address);
            slot.memory.putLong(HEAD_OFFSET + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET,
                    RobustListHeadDescriptor.FUTEX_OFFSET);
            slot.memory.putLong(HEAD_OFFSET + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 0);
            IN_USE.add(slot);
            return slot;
        }
    }

    /**
     * Records that the calling thread joins the head registered for it (glibc's), so that the mappings it
     * names stay mapped until it is gone.
     *
     * @param tid the calling thread's TID
     * @param address the registered head's address
     * @param syscalls the binding, used to find slots whose threads are gone
     * @return the slot, whose memory views the head and the 8 bytes before it
     */
    public static Slot join(int tid, long address, LinuxSyscalls syscalls) {
        Slot slot = new Slot(NativeMemory.view(address - HEAD_OFFSET, SLOT_SIZE).order(ByteOrder.LITTLE_ENDIAN),
                address, true);
        slot.thread = Thread.currentThread();
        slot.tid = tid;
        synchronized (LOCK) {
            if (IN_USE.size() >= joinedReclaimAt) {
                reclaimLocked(syscalls);
                joinedReclaimAt = Math.max(JOINED_RECLAIM_START, 2 * IN_USE.size());
            }
            IN_USE.add(slot);
        }
        return slot;
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
                if (!slot.joined) {
                    FREE.push(slot);
                }
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
                long pending;
                if (slot.joined) {
                    if (!slot.thread.isAlive() && !stillRegistered(slot)) {
                        // The thread is gone and the kernel has walked its list: nothing it named matters now.
                        continue;
                    }
                    pending = readSelfMemory(slot.address + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET);
                    VarHandle.acquireFence();
                    if (pending == UNKNOWN) {
                        return true;
                    }
                } else {
                    pending = (long) PENDING.getAcquire(slot.memory,
                            HEAD_OFFSET + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET);
                }
                pending &= ~RobustListHeadDescriptor.PI_BIT;
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

    /** {@link #readSelfMemory}: the memory could not be read (a kernel address: no pending slot holds it). */
    private static final long UNKNOWN = -1;

    /** Whether the kernel still has this slot's head registered for its TID: the thread has not finished exiting. */
    private static boolean stillRegistered(Slot slot) {
        long[] out = new long[2];
        return LinuxPlatform.get().syscalls().getRobustList(slot.tid, out) == 0 && out[0] == slot.address;
    }

    /**
     * Reads 8 bytes of this process's memory through {@code /proc/self/mem}, which fails instead of faulting: a
     * joined head is glibc's, in a thread descriptor that glibc may unmap once its thread has exited. A
     * {@link RandomAccessFile}, not a {@code FileChannel}, so that an interrupted caller cannot close it. Called
     * with {@link #LOCK} held.
     *
     * @return the value, or {@link #UNKNOWN} when it could not be read, which the caller must treat as "may name
     *     the memory"
     */
    private static long readSelfMemory(long address) {
        if (selfMemory == null) {
            if (selfMemoryFailed) {
                return UNKNOWN;
            }
            try {
                selfMemory = new RandomAccessFile("/proc/self/mem", "r");
            } catch (IOException | RuntimeException e) {
                selfMemoryFailed = true;
                System.getLogger(RobustListHeads.class.getName()).log(System.Logger.Level.WARNING,
                        "cannot open /proc/self/mem ({0}): a closed MutexFile or SharedMemory that a thread of"
                                + " this JVM has used stays mapped until that thread has exited", e.toString());
                return UNKNOWN;
            }
        }
        byte[] value = new byte[Long.BYTES];
        try {
            selfMemory.seek(address);
            selfMemory.readFully(value);
        } catch (IOException e) {
            return UNKNOWN;
        }
        return ByteBuffer.wrap(value).order(ByteOrder.nativeOrder()).getLong();
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
            if (address >= chunk && address < chunk + CHUNK_SIZE && (address - chunk) % SLOT_SIZE == HEAD_OFFSET) {
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
            ByteBuffer memory = chunk.slice(i * SLOT_SIZE, SLOT_SIZE).order(ByteOrder.LITTLE_ENDIAN);
            FREE.push(new Slot(memory, base + (long) i * SLOT_SIZE + HEAD_OFFSET, false));
        }
    }
}
