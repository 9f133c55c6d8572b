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
    private final Map<Long, String> records = new HashMap<>();
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
        } finally {
            model.lock.unlock();
        }
        return thread;
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

    long allocateHead(ModelThread thread) {
        model.lock.lock();
        try {
            long slot = HEAP_BASE + (long) nextHeadSlot++ * HEAD_SLOT;
            // The head follows the 8 bytes of its prev slot, as in glibc's thread descriptor.
            long head = slot + RobustListHeadDescriptor.PREV_SLOT_SIZE;
            if (slot + HEAD_SLOT > HEAP_BASE + HEAP_SIZE) {
                throw new IllegalStateException("process " + pid + " has no room for another robust list head");
            }
            heads.put(head, thread);
            return head;
        } finally {
            model.lock.unlock();
        }
    }

    ModelMemory heapMemory() {
        return heap.memory();
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
                return owner.name + ".head." + switch ((int) (address - headBase)) {
                    case RobustListHeadDescriptor.LIST_NEXT_OFFSET -> "list.next";
                    case RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET -> "futex_offset";
                    case RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET -> "list_op_pending";
                    case -RobustListHeadDescriptor.PREV_SLOT_SIZE -> "prev";
                    default -> "+" + (address - headBase);
                };
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
