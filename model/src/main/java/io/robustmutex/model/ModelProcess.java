package io.robustmutex.model;

import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.internal.RobustListHeadDescriptor;
import io.robustmutex.internal.RobustMutexProtocol;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A simulated process: an address space of mapped {@link SharedObject}s, threads, and the library's lock
 * protocol bound to the model's kernel.
 */
public final class ModelProcess {

    private static final long MAP_BASE = 0x7f00_0000_0000L;
    private static final long HEAP_BASE = 0x5500_0000_0000L;
    private static final int HEAP_SIZE = 64 * 1024;
    private static final int HEAD_SLOT = 32;

    private final KernelModel model;
    private final int pid;
    private final ModelPidNamespace pidNamespace;
    private final TreeMap<Long, ModelRegion> mappings = new TreeMap<>();
    private final List<ModelThread> threads = new ArrayList<>();
    private final Map<Long, ModelThread> heads = new HashMap<>();
    /** The heads the library allocated for its threads (the others are glibc's, in thread descriptors). */
    private final java.util.Set<Long> libraryHeads = new java.util.HashSet<>();
    private final Map<Long, String> records = new HashMap<>();
    /** glibc robust mutexes mapped here, by address: their names ({@link ModelNativeMutex}). */
    private final Map<Long, String> nativeMutexes = new HashMap<>();
    private final ModelRegion heap;
    private final RobustMutexProtocol protocol;
    private long nextAddress = MAP_BASE;
    /** Set when a thread of the process touched unmapped memory: the process dies of SIGSEGV. */
    boolean faulted;
    private int nextHeadSlot;

    ModelProcess(KernelModel model, int pid, ModelPidNamespace pidNamespace) {
        this.model = model;
        this.pid = pid;
        this.pidNamespace = pidNamespace;
        this.heap = map(model.newSharedObject("heap-" + pid, HEAP_SIZE), HEAP_BASE);
        this.protocol = new RobustMutexProtocol(new ModelKernel(model, this), model.interruptSliceNanos(),
                model.recheckNanos());
    }

    /**
     * The process id.
     *
     * @return the pid
     */
    public int pid() {
        return pid;
    }

    /**
     * The PID namespace the process lives in: its threads' TIDs are numbers in it.
     *
     * @return the namespace
     */
    public ModelPidNamespace pidNamespace() {
        return pidNamespace;
    }

    /**
     * The model.
     *
     * @return the model this process lives in
     */
    public KernelModel model() {
        return model;
    }

    RobustMutexProtocol protocol() {
        return protocol;
    }

    /**
     * The process's threads, alive or dead, in creation order.
     *
     * @return the threads
     */
    public List<ModelThread> threads() {
        model.lock.lock();
        try {
            return List.copyOf(threads);
        } finally {
            model.lock.unlock();
        }
    }

    /**
     * Creates a thread.
     *
     * @param name its name
     * @return the thread, idle
     */
    public ModelThread newThread(String name) {
        return newThread(name, 0);
    }

    /**
     * Creates a thread with a chosen TID, which no live thread of the namespace may have: a TID reused after
     * its earlier thread died.
     *
     * @param name its name
     * @param tid the TID, or 0 for the next unused one
     * @return the thread, idle
     * @throws IllegalArgumentException when a live thread of the namespace has that TID
     */
    public ModelThread newThread(String name, int tid) {
        ModelThread thread = model.newThread(this, name, tid);
        model.lock.lock();
        try {
            threads.add(thread);
            if (model.glibcHeads()) {
                registerGlibcHead(thread);
            }
        } finally {
            model.lock.unlock();
        }
        return thread;
    }

    /**
     * What glibc does for a thread it creates, before the thread runs (nptl/allocatestack.c and
     * pthread_create.c's start_thread; for the initial thread, dl-tls_init_tp.c): in the thread's descriptor,
     * {@code robust_prev} = {@code list.next} = the head, {@code futex_offset} = -32, {@code list_op_pending} =
     * 0, then {@code set_robust_list(head, 24)}. Not steps of the thread: nothing can kill it in between.
     */
    private void registerGlibcHead(ModelThread thread) {
        long head = allocateHead(thread, false);
        store(head - RobustListHeadDescriptor.PREV_SLOT_SIZE, head);
        store(head + RobustListHeadDescriptor.LIST_NEXT_OFFSET, head);
        store(head + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET, RobustListHeadDescriptor.FUTEX_OFFSET);
        store(head + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 0);
        thread.descriptorHead = head;
        thread.robustHead = head;
    }

    private void store(long address, long value) {
        model.store64(resolve(address, 8), value);
    }

    /**
     * Maps a shared object at the next free address.
     *
     * @param object the object
     * @return the mapping
     */
    public ModelRegion map(SharedObject object) {
        model.lock.lock();
        try {
            long address = nextAddress;
            nextAddress += (object.size() + 0xffffL) & ~0xffffL;
            return map(object, address);
        } finally {
            model.lock.unlock();
        }
    }

    /**
     * Maps a shared object at a chosen address, which must be free (page aligned).
     *
     * @param object the object
     * @param address where
     * @return the mapping
     * @throws IllegalArgumentException when the range overlaps a mapping
     */
    public ModelRegion map(SharedObject object, long address) {
        model.lock.lock();
        try {
            if ((address & 0xfff) != 0) {
                throw new IllegalArgumentException(String.format("address 0x%x is not page aligned", address));
            }
            Map.Entry<Long, ModelRegion> below = mappings.floorEntry(address + object.size() - 1);
            if (below != null && below.getValue().address() + below.getValue().size() > address) {
                throw new IllegalArgumentException(String.format("0x%x overlaps %s", address, below.getValue()));
            }
            ModelRegion region = new ModelRegion(model, this, address, object);
            mappings.put(address, region);
            return region;
        } finally {
            model.lock.unlock();
        }
    }

    void unmap(ModelRegion region) {
        model.lock.lock();
        try {
            if (mappings.get(region.address()) == region) {
                mappings.remove(region.address());
                region.unmapped();
                records.keySet().removeIf(a -> a >= region.address() && a < region.address() + region.size());
                nativeMutexes.keySet().removeIf(a -> a >= region.address() && a < region.address() + region.size());
            }
        } finally {
            model.lock.unlock();
        }
    }

    /**
     * Kills the process (SIGKILL): every thread that is not dead dies, in creation order, each with its
     * robust list walked; then its mappings go.
     */
    public void kill() {
        if (KernelModel.current() != null) {
            throw new IllegalStateException("a process is killed by the driver, not from a simulated thread");
        }
        for (ModelThread thread : threads()) {
            if (thread.state != ModelThread.State.DEAD) {
                model.deliverDeath(thread);
            }
        }
        model.lock.lock();
        try {
            for (ModelRegion region : new ArrayList<>(mappings.values())) {
                unmap(region);
            }
        } finally {
            model.lock.unlock();
        }
    }

    KernelModel.Location resolve(long address, int width) {
        model.lock.lock();
        try {
            Map.Entry<Long, ModelRegion> entry = mappings.floorEntry(address);
            if (entry == null) {
                return null;
            }
            ModelRegion region = entry.getValue();
            long offset = address - region.address();
            if (offset < 0 || offset + width > region.size()) {
                return null;
            }
            return new KernelModel.Location(region.object(), (int) offset);
        } finally {
            model.lock.unlock();
        }
    }

    /**
     * A 32-byte slot of the heap for a robust list head: its 8-byte prev slot, then the 24-byte head.
     *
     * @param thread whose head it is
     * @param library whether the library allocates it (else it is glibc's, in the thread's descriptor)
     * @return the head's address (8 bytes into the slot)
     */
    long allocateHead(ModelThread thread, boolean library) {
        model.lock.lock();
        try {
            long slot = HEAP_BASE + (long) nextHeadSlot++ * HEAD_SLOT;
            // The head follows the 8 bytes of its prev slot, as in glibc's thread descriptor.
            long head = slot + RobustListHeadDescriptor.PREV_SLOT_SIZE;
            if (slot + HEAD_SLOT > HEAP_BASE + HEAP_SIZE) {
                throw new IllegalStateException("process " + pid + " has no room for another robust list head");
            }
            heads.put(head, thread);
            if (library) {
                libraryHeads.add(head);
            }
            return head;
        } finally {
            model.lock.unlock();
        }
    }

    /** Whether the library allocated this head for one of its threads ({@code RobustListHeads.isOwn}). */
    boolean isLibraryHead(long head) {
        model.lock.lock();
        try {
            return libraryHeads.contains(head);
        } finally {
            model.lock.unlock();
        }
    }

    ModelMemory heapMemory() {
        return heap.memory();
    }

    void nameNativeMutex(long address, String name) {
        model.lock.lock();
        try {
            nativeMutexes.put(address, name);
        } finally {
            model.lock.unlock();
        }
    }

    void nameRecord(long address, String name) {
        model.lock.lock();
        try {
            records.put(address, name);
        } finally {
            model.lock.unlock();
        }
    }

    /** A readable name of an address: a head field, a record field, or an offset in a mapping. */
    String describe(long address) {
        model.lock.lock();
        try {
            long headBase = address - Math.floorMod(address - HEAP_BASE, HEAD_SLOT)
                    + RobustListHeadDescriptor.PREV_SLOT_SIZE;
            ModelThread owner = heads.get(headBase);
            if (owner != null) {
                // With glibc's heads, one the library registers besides (robustList=own) is told apart.
                String head = owner.descriptorHead != 0 && libraryHeads.contains(headBase) ? ".own.head." : ".head.";
                return owner.name + head + switch ((int) (address - headBase)) {
                    case RobustListHeadDescriptor.LIST_NEXT_OFFSET -> "list.next";
                    case RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET -> "futex_offset";
                    case RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET -> "list_op_pending";
                    case -RobustListHeadDescriptor.PREV_SLOT_SIZE -> "prev";
                    default -> "+" + (address - headBase);
                };
            }
            for (Map.Entry<Long, String> mutex : nativeMutexes.entrySet()) {
                long offset = address - mutex.getKey();
                if (offset >= 0 && offset < ModelNativeMutex.SIZE) {
                    return mutex.getValue() + "." + ModelNativeMutex.field((int) offset);
                }
            }
            for (Map.Entry<Long, String> record : records.entrySet()) {
                long offset = address - record.getKey();
                if (offset >= 0 && offset < MutexRecordDescriptor.SIZE) {
                    return record.getValue() + "." + recordField((int) offset);
                }
            }
            Map.Entry<Long, ModelRegion> entry = mappings.floorEntry(address);
            if (entry != null && address < entry.getKey() + entry.getValue().size()) {
                return entry.getValue().object().name() + "+" + (address - entry.getKey());
            }
            return String.format("0x%x (unmapped)", address);
        } finally {
            model.lock.unlock();
        }
    }

    private static String recordField(int offset) {
        return switch (offset) {
            case MutexRecordDescriptor.FUTEX_WORD_OFFSET -> "word";
            case MutexRecordDescriptor.STATE_OFFSET -> "state";
            case MutexRecordDescriptor.FENCING_TOKEN_OFFSET -> "token";
            case MutexRecordDescriptor.LIST_PREV_OFFSET -> "prev";
            case MutexRecordDescriptor.LIST_NEXT_OFFSET -> "next";
            case MutexRecordDescriptor.KIND_OFFSET -> "kind";
            case MutexRecordDescriptor.OWNER_PID_OFFSET -> "pid";
            case MutexRecordDescriptor.OWNER_DIED_COUNT_OFFSET -> "died";
            default -> "+" + offset;
        };
    }

    @Override
    public String toString() {
        return "ModelProcess[" + pid + "]";
    }
}
