package io.robustmutex.model;

import io.robustmutex.internal.Errno;
import io.robustmutex.internal.FutexOp;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.RobustListHeadDescriptor;
import java.util.Objects;

/**
 * A glibc robust mutex in a model region: a {@code pthread_mutex_t} initialised with
 * {@code PTHREAD_MUTEX_ROBUST} and {@code PTHREAD_PROCESS_SHARED}, of type {@code PTHREAD_MUTEX_NORMAL} with or
 * without {@code PTHREAD_PRIO_INHERIT}, locked and unlocked as native code of the same thread would through
 * glibc: what the library's records share a robust list with once a thread joins glibc's head
 * ({@link KernelModel.Builder#glibcHeads}).
 *
 * <h2>Overview</h2>
 *
 * <p>The layout is glibc's on LP64 (x86_64 and aarch64): {@code __lock} at 0, {@code __count} at 4,
 * {@code __owner} at 8, {@code __nusers} at 12, {@code __kind} at 16, {@code __spins} at 20, then
 * {@code __list.__prev} at 24 and {@code __list.__next} at 32. The list entry is the address of {@code __next}
 * (the word + 32), so {@code futex_offset} -32 finds the word, as for the library's records.
 *
 * <p>{@link #lock} and {@link #unlock} follow glibc 2.42 (nptl/pthread_mutex_lock.c, {@code
 * __pthread_mutex_lock_full}, and pthread_mutex_unlock.c, {@code __pthread_mutex_unlock_full}; the list macros of
 * nptl/descr.h with {@code __PTHREAD_MUTEX_HAVE_PREV}), one model step per memory access or system call, each
 * through {@link ModelMemory} at an absolute address of the calling thread's process, so a kill can land between
 * any two:
 * <ul>
 * <li>lock: {@code list_op_pending} = entry (bit 0 for PI); take the word: NORMAL CASes 0 &rarr; tid (keeping
 *     WAITERS once it has slept), takes a word with OWNER_DIED over by a CAS to {@code tid | WAITERS-if-set},
 *     and on contention sets WAITERS and sleeps in {@code FUTEX_WAIT} without a timeout; PI CASes 0 &rarr; tid
 *     and otherwise calls {@code FUTEX_LOCK_PI}, then clears OWNER_DIED with an atomic AND. After an owner died:
 *     {@code __owner} = INCONSISTENT, enqueue, pending = 0, {@link #EOWNERDEAD}. A mutex left not recoverable:
 *     release, pending = 0, {@link #ENOTRECOVERABLE}. Otherwise enqueue, pending = 0, {@code __owner} = tid.</li>
 * <li>ENQUEUE (at the front of {@code THREAD_SELF->robust_head}, whatever head is registered): H = head.list;
 *     the word 8 bytes before {@code H & ~1} (the first entry's {@code __prev}, or {@code robust_prev} before the
 *     head) = entry; entry.next = H (bit kept); entry.prev = the head; head.list = entry | bit.</li>
 * <li>unlock: EPERM unless the word names the caller; {@code __owner} INCONSISTENT makes it NOTRECOVERABLE;
 *     pending = entry | bit; DEQUEUE: N = entry.next, P = entry.prev; the word 8 bytes before {@code N & ~1} = P;
 *     the word at {@code P & ~1} = N; entry.prev = entry.next = 0; {@code __owner} = 0 (or NOTRECOVERABLE);
 *     release: NORMAL exchanges the word with 0 and wakes one if WAITERS was set; PI CASes tid &rarr; 0 unless
 *     WAITERS is set or the word is not exactly the tid, then {@code FUTEX_UNLOCK_PI}; pending = 0.</li>
 * </ul>
 * Left out, as they change nothing the kernel or another thread acts on: the reads of {@code __kind} (the type
 * is fixed here), {@code __count} and {@code __nusers}, and the compiler barriers (a step is never reordered).
 * {@code pthread_mutex_consistent} is {@link #consistent}. The futex calls are steps named
 * {@code glibc futex(...)}: the schedule explorer injects spurious wake-ups and {@code EINTR} into glibc's
 * waits, which it retries, and nothing into its PI calls, whose results it does not look at.
 */
public final class ModelNativeMutex {

    /** The mutex protocol: {@code PTHREAD_PRIO_NONE} or {@code PTHREAD_PRIO_INHERIT}. */
    public enum Type {
        /** A robust normal mutex: the word is taken in user space and waiters sleep in {@code FUTEX_WAIT}. */
        NORMAL,
        /** A robust priority-inheritance mutex: contention goes through {@code FUTEX_LOCK_PI} / {@code UNLOCK_PI}. */
        PI
    }

    /** Deliberate defects of a native library, for tests that the model's checks catch a broken list. */
    enum Flaw {
        /** glibc as it is. */
        NONE,
        /** ENQUEUE does not write the first entry's {@code prev} (or {@code robust_prev} before the head). */
        ENQUEUE_SKIPS_FIRST_PREV
    }

    /** {@code pthread_mutex_lock} after the owner died: the caller holds it and should make it consistent. */
    public static final int EOWNERDEAD = Errno.EOWNERDEAD;
    /** {@code pthread_mutex_lock} of a mutex released without being made consistent after an owner died. */
    public static final int ENOTRECOVERABLE = Errno.ENOTRECOVERABLE;
    /** {@code pthread_mutex_unlock} by a thread that does not hold it. */
    public static final int EPERM = Errno.EPERM;
    /** {@code pthread_mutex_consistent} of a mutex that is not inconsistent. */
    public static final int EINVAL = Errno.EINVAL;

    static final int LOCK = 0;
    static final int COUNT = 4;
    static final int OWNER = 8;
    static final int NUSERS = 12;
    static final int KIND = 16;
    static final int SPINS = 20;
    static final int PREV = 24;
    static final int NEXT = 32;
    /** The bytes of a {@code pthread_mutex_t} on LP64. */
    static final int SIZE = 40;

    /** {@code PTHREAD_MUTEX_ROBUST_NORMAL_NP}, {@code PTHREAD_MUTEX_PRIO_INHERIT_NP}, the process-shared bit. */
    static final int KIND_ROBUST = 16;
    static final int KIND_PI = 32;
    static final int KIND_PSHARED = 128;
    /** {@code PTHREAD_MUTEX_INCONSISTENT} and {@code PTHREAD_MUTEX_NOTRECOVERABLE}, values of {@code __owner}. */
    static final int INCONSISTENT = Integer.MAX_VALUE;
    static final int NOT_RECOVERABLE = Integer.MAX_VALUE - 1;

    /** Offsets in the 32 bytes of a thread descriptor's robust_prev and robust_head. */
    private static final int D_LIST = RobustListHeadDescriptor.PREV_SLOT_SIZE
            + RobustListHeadDescriptor.LIST_NEXT_OFFSET;
    private static final int D_PENDING = RobustListHeadDescriptor.PREV_SLOT_SIZE
            + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET;

    private final KernelModel model;
    private final ModelRegion region;
    private final ModelProcess process;
    private final ModelMemory memory;
    private final int offset;
    private final Type type;
    private final Flaw flaw;
    private final long address;

    ModelNativeMutex(ModelRegion region, int offset, Type type, Flaw flaw) {
        this.region = region;
        this.process = region.process();
        this.model = process.model();
        this.memory = region.memory();
        this.offset = offset;
        this.type = Objects.requireNonNull(type, "type");
        this.flaw = Objects.requireNonNull(flaw, "flaw");
        this.address = region.address() + offset;
    }

    /** The kind word {@code pthread_mutex_init} writes for a robust, process-shared mutex of this type. */
    static int kindWord(Type type) {
        return KIND_ROBUST | KIND_PSHARED | (type == Type.PI ? KIND_PI : 0);
    }

    /** A readable name of a field, by offset. */
    static String field(int offset) {
        return switch (offset) {
            case LOCK -> "word";
            case COUNT -> "count";
            case OWNER -> "owner";
            case NUSERS -> "nusers";
            case KIND -> "kind";
            case SPINS -> "spins";
            case PREV -> "prev";
            case NEXT -> "next";
            default -> "+" + offset;
        };
    }

    /**
     * The mutex's type.
     *
     * @return NORMAL or PI
     */
    public Type type() {
        return type;
    }

    /**
     * The region the mutex lives in.
     *
     * @return the region
     */
    public ModelRegion region() {
        return region;
    }

    /**
     * The address of the futex word ({@code __lock}) in the region's process.
     *
     * @return the address
     */
    public long wordAddress() {
        return address;
    }

    /**
     * The address of the list entry ({@code __list.__next}) in the region's process: what robust lists name.
     *
     * @return the word's address + 32
     */
    public long entryAddress() {
        return address + NEXT;
    }

    /**
     * {@code pthread_mutex_lock}, called from a simulated thread of the region's process that glibc started.
     *
     * @return 0, {@link #EOWNERDEAD} (held; the previous owner died: call {@link #consistent}) or
     *     {@link #ENOTRECOVERABLE} (not held)
     * @throws IllegalStateException where glibc would wait for ever ({@code FUTEX_LOCK_PI} gave {@code ESRCH} or
     *     {@code EDEADLK}) or abort (any other error)
     */
    public int lock() {
        ModelThread self = caller();
        ModelMemory head = descriptor(self);
        long entry = entryAddress();
        return type == Type.PI ? lockPi(self, head, entry) : lockNormal(self, head, entry);
    }

    private int lockNormal(ModelThread self, ModelMemory head, long entry) {
        int id = self.tid;
        head.putLongPlain(D_PENDING, entry);
        int oldval = memory.getIntVolatile(offset + LOCK);
        // Set to WAITERS once this thread may share the WAITERS flag with others, so that it keeps it.
        int assumeOtherWaiters = 0;
        while (true) {
            if (oldval == 0) {
                oldval = memory.compareAndExchangeInt(offset + LOCK, 0, id | assumeOtherWaiters);
                if (oldval == 0) {
                    break;
                }
            }
            if ((oldval & FutexWord.OWNER_DIED) != 0) {
                int newval = id | (oldval & FutexWord.WAITERS) | assumeOtherWaiters;
                int seen = memory.compareAndExchangeInt(offset + LOCK, oldval, newval);
                if (seen != oldval) {
                    oldval = seen;
                    continue;
                }
                memory.putIntPlain(offset + OWNER, INCONSISTENT);
                enqueue(self, head, entry, 0);
                head.putLongPlain(D_PENDING, 0);
                return EOWNERDEAD;
            }
            // A NORMAL mutex the caller holds already: glibc sleeps below for ever, and so does the model.
            if ((oldval & FutexWord.WAITERS) == 0) {
                int seen = memory.compareAndExchangeInt(offset + LOCK, oldval, oldval | FutexWord.WAITERS);
                if (seen != oldval) {
                    oldval = seen;
                    continue;
                }
                oldval |= FutexWord.WAITERS;
            }
            assumeOtherWaiters |= FutexWord.WAITERS;
            // futex_wait's result is not looked at: the word is read again.
            model.glibcFutex(process, address + LOCK, FutexOp.FUTEX_WAIT, oldval);
            oldval = memory.getIntVolatile(offset + LOCK);
        }
        if (memory.getIntPlain(offset + OWNER) == NOT_RECOVERABLE) {
            // lll_unlock: the old value is more than 1 (a TID), so one waiter is woken.
            if (memory.getAndSetInt(offset + LOCK, 0) > 1) {
                model.glibcFutex(process, address + LOCK, FutexOp.FUTEX_WAKE, 1);
            }
            head.putLongPlain(D_PENDING, 0);
            return ENOTRECOVERABLE;
        }
        enqueue(self, head, entry, 0);
        head.putLongPlain(D_PENDING, 0);
        memory.putIntPlain(offset + OWNER, id);
        return 0;
    }

    private int lockPi(ModelThread self, ModelMemory head, long entry) {
        int id = self.tid;
        head.putLongPlain(D_PENDING, entry | RobustListHeadDescriptor.PI_BIT);
        // glibc reads the word to spot a relock by the owner, which for this type changes nothing: the kernel
        // then answers EDEADLK, below.
        memory.getIntVolatile(offset + LOCK);
        int oldval = memory.compareAndExchangeInt(offset + LOCK, 0, id);
        if (oldval != 0) {
            int result = model.glibcFutex(process, address + LOCK, FutexOp.FUTEX_LOCK_PI, 0);
            if (result == -Errno.ESRCH || result == -Errno.EDEADLK) {
                throw new IllegalStateException(this + ": FUTEX_LOCK_PI gave " + Errno.name(-result)
                        + "; glibc's pthread_mutex_lock now waits for ever");
            }
            if (result != 0) {
                throw new IllegalStateException(this + ": FUTEX_LOCK_PI gave " + Errno.name(-result)
                        + "; glibc's futex_fatal_error would abort the process");
            }
            oldval = memory.getIntVolatile(offset + LOCK);
        }
        if ((oldval & FutexWord.OWNER_DIED) != 0) {
            memory.getAndBitwiseAndInt(offset + LOCK, ~FutexWord.OWNER_DIED);
            memory.putIntPlain(offset + OWNER, INCONSISTENT);
            enqueue(self, head, entry, RobustListHeadDescriptor.PI_BIT);
            head.putLongPlain(D_PENDING, 0);
            return EOWNERDEAD;
        }
        if (memory.getIntPlain(offset + OWNER) == NOT_RECOVERABLE) {
            model.glibcFutex(process, address + LOCK, FutexOp.FUTEX_UNLOCK_PI, 0);
            head.putLongPlain(D_PENDING, 0);
            return ENOTRECOVERABLE;
        }
        enqueue(self, head, entry, RobustListHeadDescriptor.PI_BIT);
        head.putLongPlain(D_PENDING, 0);
        memory.putIntPlain(offset + OWNER, id);
        return 0;
    }

    /** ENQUEUE_MUTEX_BOTH of nptl/descr.h: at the front of the descriptor's list. */
    private void enqueue(ModelThread self, ModelMemory head, long entry, long bit) {
        long first = head.getLongPlain(D_LIST);
        if (flaw != Flaw.ENQUEUE_SKIPS_FIRST_PREV) {
            at((first & ~RobustListHeadDescriptor.PI_BIT) - RobustListHeadDescriptor.PREV_SLOT_SIZE)
                    .putLongPlain(0, entry);
        }
        memory.putLongPlain(offset + NEXT, first);
        memory.putLongPlain(offset + PREV, self.descriptorHead);
        head.putLongPlain(D_LIST, entry | bit);
    }

    /** DEQUEUE_MUTEX of nptl/descr.h: through the entry's own links, wherever it is. */
    private void dequeue() {
        long next = memory.getLongPlain(offset + NEXT);
        long prev = memory.getLongPlain(offset + PREV);
        at((next & ~RobustListHeadDescriptor.PI_BIT) - RobustListHeadDescriptor.PREV_SLOT_SIZE).putLongPlain(0, prev);
        at(prev & ~RobustListHeadDescriptor.PI_BIT).putLongPlain(0, next);
        memory.putLongPlain(offset + PREV, 0);
        memory.putLongPlain(offset + NEXT, 0);
    }

    /**
     * {@code pthread_mutex_unlock}, called from a simulated thread of the region's process that glibc started.
     *
     * @return 0, or {@link #EPERM} when the word does not name the caller
     */
    public int unlock() {
        ModelThread self = caller();
        ModelMemory head = descriptor(self);
        int id = self.tid;
        int word = memory.getIntVolatile(offset + LOCK);
        if ((word & FutexWord.TID_MASK) != id || word == 0) {
            return EPERM;
        }
        int newOwner = memory.getIntPlain(offset + OWNER) == INCONSISTENT ? NOT_RECOVERABLE : 0;
        long bit = type == Type.PI ? RobustListHeadDescriptor.PI_BIT : 0;
        head.putLongPlain(D_PENDING, entryAddress() | bit);
        dequeue();
        memory.putIntPlain(offset + OWNER, newOwner);
        if (type == Type.NORMAL) {
            if ((memory.getAndSetInt(offset + LOCK, 0) & FutexWord.WAITERS) != 0) {
                model.glibcFutex(process, address + LOCK, FutexOp.FUTEX_WAKE, 1);
            }
        } else {
            int l = memory.getIntVolatile(offset + LOCK);
            while (true) {
                if ((l & FutexWord.WAITERS) != 0 || l != id) {
                    // The result is not looked at.
                    model.glibcFutex(process, address + LOCK, FutexOp.FUTEX_UNLOCK_PI, 0);
                    break;
                }
                int seen = memory.compareAndExchangeInt(offset + LOCK, l, 0);
                if (seen == l) {
                    break;
                }
                l = seen;
            }
        }
        head.putLongPlain(D_PENDING, 0);
        return 0;
    }

    /**
     * {@code pthread_mutex_consistent}: after {@link #EOWNERDEAD}, the holder says it repaired the data.
     *
     * @return 0, or {@link #EINVAL} when the mutex is not inconsistent
     */
    public int consistent() {
        ModelThread self = caller();
        if (memory.getIntPlain(offset + OWNER) != INCONSISTENT) {
            return EINVAL;
        }
        memory.putIntPlain(offset + OWNER, self.tid);
        return 0;
    }

    private ModelThread caller() {
        ModelThread self = KernelModel.current();
        if (self == null) {
            throw new IllegalStateException("a glibc mutex is used from a simulated thread");
        }
        if (self.process != process) {
            throw new IllegalStateException(self + " belongs to process " + self.process.pid() + ", not to process "
                    + process.pid());
        }
        if (self.descriptorHead == 0) {
            throw new IllegalStateException(self + " has no glibc thread descriptor: build the model with"
                    + " glibcHeads(true)");
        }
        return self;
    }

    /** The 32 bytes of the thread's descriptor around robust_head: robust_prev, then the head. */
    private ModelMemory descriptor(ModelThread self) {
        return new ModelMemory(model, process, self.descriptorHead - RobustListHeadDescriptor.PREV_SLOT_SIZE,
                RobustListHeadDescriptor.PREV_SLOT_SIZE + RobustListHeadDescriptor.SIZE);
    }

    /** Eight bytes at an absolute address of the process, resolved when accessed. */
    private ModelMemory at(long target) {
        return new ModelMemory(model, process, target, Long.BYTES);
    }

    @Override
    public String toString() {
        return String.format("glibc %s mutex@0x%x", type, address);
    }
}
