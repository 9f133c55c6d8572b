package io.robustmutex.model;

import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.internal.ApiBridge;
import io.robustmutex.internal.ConditionRecord;
import io.robustmutex.internal.ConditionRecordDescriptor;
import io.robustmutex.internal.MutexRecord;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.internal.OpenFlag;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A {@link SharedObject} mapped into a {@link ModelProcess} at an address: where a simulated process keeps
 * robust mutexes ({@link #mutex}) and its own data ({@link #getLong}, {@link #putLong}, ...). Every access
 * from a simulated thread is a step at which the thread can be killed.
 */
public final class ModelRegion {

    private final KernelModel model;
    private final ModelProcess process;
    private final long address;
    private final SharedObject object;
    private final ModelMemory memory;
    private final OpenFlag open;
    private final Map<Integer, RobustMutex> mutexes = new HashMap<>();
    private final Map<Integer, MutexRecord> records = new HashMap<>();
    private final Map<Integer, ConditionRecord> conditions = new HashMap<>();
    private final Map<Integer, ModelNativeMutex> nativeMutexes = new HashMap<>();
    private volatile boolean mapped = true;

    ModelRegion(KernelModel model, ModelProcess process, long address, SharedObject object) {
        this.model = model;
        this.process = process;
        this.address = address;
        this.object = object;
        this.memory = new ModelMemory(model, process, address, object.size());
        this.open = new OpenFlag(String.format("model region %s at 0x%x in process %d", object.name(), address,
                process.pid()));
    }

    /**
     * The mutex whose 64-byte record starts at {@code offset}, initialized with {@code kind} if the record
     * is all zeros. Initialization made from a simulated thread is made of steps, like any user code.
     *
     * @param offset a multiple of 64 with a whole record after it
     * @param kind the kind
     * @return the mutex (the same object for the same offset)
     * @throws IllegalArgumentException for a bad offset or a record of another kind
     */
    public RobustMutex mutex(long offset, MutexKind kind) {
        Objects.requireNonNull(kind, "kind");
        MutexRecordDescriptor.checkOffset(offset, object.size());
        int at = (int) offset;
        synchronized (mutexes) {
            RobustMutex existing = mutexes.get(at);
            if (existing != null) {
                if (existing.kind() != kind) {
                    throw new IllegalArgumentException("offset=" + offset + " holds a " + existing.kind() + " mutex");
                }
                return existing;
            }
            int kindWord = memory.getIntVolatile(at + MutexRecordDescriptor.KIND_OFFSET);
            if (kindWord == 0) {
                MutexRecord.initialize(memory, at, kind, process.pidNamespace().id(), 0);
                kindWord = MutexRecord.kindWord(kind);
            }
            MutexKind found = MutexRecord.decodeKind(kindWord);
            if (found != kind) {
                throw new IllegalArgumentException(String.format("offset=%d holds kind word 0x%08x, not a %s mutex",
                        offset, kindWord, kind));
            }
            String name = String.format("mutex@0x%x", address + offset);
            // As the library does for a region: a record is used from one PID namespace only.
            MutexRecord.bindPidNamespace(memory, at, process.pidNamespace().id(), object.name() + "@" + offset);
            process.nameRecord(address + offset, name);
            MutexRecord record = new MutexRecord(memory, at, kind, name, null, model.bootStamp(),
                    ((long) object.id << 32) | at);
            RobustMutex mutex = ApiBridge.newMutex(record, process.protocol(), open, name);
            mutexes.put(at, mutex);
            records.put(at, record);
            return mutex;
        }
    }

    /**
     * The record of a mutex got from {@link #mutex}: for code that drives the protocol itself (a condition's wait
     * and signal, {@code ConditionScenarios}).
     */
    MutexRecord mutexRecord(long offset) {
        synchronized (mutexes) {
            MutexRecord record = records.get((int) offset);
            if (record == null) {
                throw new IllegalArgumentException("offset=" + offset + " holds no mutex of this region");
            }
            return record;
        }
    }

    /**
     * The condition record at {@code offset}, initialized if its kind word is 0 (made of steps when called from a
     * simulated thread): what {@code SharedMemory.condition} binds to, for the condition protocol.
     */
    ConditionRecord condition(long offset) {
        ConditionRecordDescriptor.checkOffset(offset, object.size());
        int at = (int) offset;
        synchronized (conditions) {
            ConditionRecord existing = conditions.get(at);
            if (existing != null) {
                return existing;
            }
            int kindWord = memory.getIntVolatile(at + ConditionRecordDescriptor.KIND_OFFSET);
            if (kindWord == 0) {
                ConditionRecordDescriptor.initialize(memory, at);
            } else if (kindWord != ConditionRecordDescriptor.KIND_WORD) {
                throw new IllegalArgumentException(String.format("offset=%d holds kind word 0x%08x, not a condition",
                        offset, kindWord));
            }
            ConditionRecord condition = new ConditionRecord(memory, at, String.format("condition@0x%x",
                    address + offset), null);
            conditions.put(at, condition);
            return condition;
        }
    }

    /**
     * A glibc robust, process-shared mutex whose {@code pthread_mutex_t} starts at {@code offset}, initialised
     * ({@code pthread_mutex_init}) if its bytes are all zeros: what native code of a thread locks with glibc
     * while the library shares the thread's robust list ({@link KernelModel.Builder#glibcHeads}).
     *
     * @param offset an 8-aligned offset with 40 bytes after it
     * @param type NORMAL or PI
     * @return the mutex (the same object for the same offset)
     * @throws IllegalArgumentException for a bad offset or a mutex of another type there
     */
    public ModelNativeMutex nativeMutex(long offset, ModelNativeMutex.Type type) {
        return nativeMutex(offset, type, ModelNativeMutex.Flaw.NONE);
    }

    ModelNativeMutex nativeMutex(long offset, ModelNativeMutex.Type type, ModelNativeMutex.Flaw flaw) {
        Objects.requireNonNull(type, "type");
        if (offset < 0 || (offset & 7) != 0 || offset > object.size() - ModelNativeMutex.SIZE) {
            throw new IllegalArgumentException("offset=" + offset + ": a glibc mutex needs 40 bytes, 8-aligned, in "
                    + object.size());
        }
        int at = (int) offset;
        synchronized (nativeMutexes) {
            ModelNativeMutex existing = nativeMutexes.get(at);
            if (existing != null) {
                if (existing.type() != type) {
                    throw new IllegalArgumentException("offset=" + offset + " holds a " + existing.type() + " mutex");
                }
                return existing;
            }
            int kind = memory.getIntVolatile(at + ModelNativeMutex.KIND);
            if (kind == 0) {
                memory.putIntRelease(at + ModelNativeMutex.KIND, ModelNativeMutex.kindWord(type));
            } else if (kind != ModelNativeMutex.kindWord(type)) {
                throw new IllegalArgumentException(String.format("offset=%d holds kind 0x%x, not a robust shared %s"
                        + " glibc mutex", offset, kind, type));
            }
            ModelNativeMutex mutex = new ModelNativeMutex(this, at, type, flaw);
            process.nameNativeMutex(address + offset, String.format("glibc-mutex@0x%x", address + offset));
            nativeMutexes.put(at, mutex);
            return mutex;
        }
    }

    /**
     * Reads a user long.
     *
     * @param offset an 8-aligned offset
     * @return the value
     */
    public long getLong(int offset) {
        return memory.getLongVolatile(offset);
    }

    /**
     * Writes a user long.
     *
     * @param offset an 8-aligned offset
     * @param value the value
     */
    public void putLong(int offset, long value) {
        memory.putLongRelease(offset, value);
    }

    /**
     * Reads a user int.
     *
     * @param offset a 4-aligned offset
     * @return the value
     */
    public int getInt(int offset) {
        return memory.getIntVolatile(offset);
    }

    /**
     * Writes a user int.
     *
     * @param offset a 4-aligned offset
     * @param value the value
     */
    public void putInt(int offset, int value) {
        memory.putIntRelease(offset, value);
    }

    /**
     * Unmaps the region now, as {@code munmap} would: whatever still holds its addresses reaches whatever is
     * mapped there next, or faults.
     */
    public void unmap() {
        process.unmap(this);
    }

    /**
     * Unmaps the region under the library's mapping-lifetime rule (design.md section 5): once no thread of
     * the process that has not finished exiting holds a mutex in it or names it in list_op_pending.
     *
     * @param then run right after the unmap (for example, to map other data at the same address), or null
     */
    public void unmapWhenUnreferenced(Runnable then) {
        model.unmapWhenUnreferenced(this, then);
    }

    void unmapped() {
        mapped = false;
        open.close();
    }

    /**
     * Whether the region is still mapped.
     *
     * @return false after an unmap
     */
    public boolean isMapped() {
        return mapped;
    }

    /**
     * The region's address in its process.
     *
     * @return the address of byte 0
     */
    public long address() {
        return address;
    }

    /**
     * The region's size.
     *
     * @return bytes
     */
    public int size() {
        return object.size();
    }

    /**
     * The object mapped.
     *
     * @return the shared object
     */
    public SharedObject object() {
        return object;
    }

    /**
     * The process the region is mapped in.
     *
     * @return the process
     */
    public ModelProcess process() {
        return process;
    }

    ModelMemory memory() {
        return memory;
    }

    @Override
    public String toString() {
        return String.format("ModelRegion[%s at 0x%x in process %d%s]", object.name(), address, process.pid(),
                mapped ? "" : ", unmapped");
    }
}
