package io.robustmutex;

import io.robustmutex.internal.ApiBridge;
import io.robustmutex.internal.ConditionProtocol;
import io.robustmutex.internal.ConditionRecord;
import io.robustmutex.internal.ConditionRecordDescriptor;
import io.robustmutex.internal.MappedMemory;
import io.robustmutex.internal.MappedRegion;
import io.robustmutex.internal.MutexRecord;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.internal.NativeMemory;
import io.robustmutex.internal.OpenFlag;
import io.robustmutex.internal.RobustMutexProtocol;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.Lock;

/**
 * A mutex in shared memory that processes on one Linux machine take in turns, that the kernel releases and
 * flags when its holder dies, and whose next holder learns of that death.
 *
 * <p>Get one from a {@link MutexFile} ({@link MutexFile#mutex(int)}) or from a region mapped with
 * {@link SharedMemory} ({@link SharedMemory#mutex(long, MutexKind)}). Two styles of use:
 *
 * <pre>{@code
 * // try-with-resources, seeing owner death
 * try (Acquisition held = mutex.acquire()) {
 *     if (held.ownerDied()) {
 *         repair();
 *         held.markConsistent();
 *     }
 *     work();
 * }
 *
 * // java.util.concurrent.locks.Lock, with a recovery handler for owner death
 * mutex.setRecoveryHandler(m -> repair());
 * mutex.lock();
 * try {
 *     work();
 * } finally {
 *     mutex.unlock();
 * }
 * }</pre>
 *
 * <h2>Owner death through {@link Lock}</h2>
 * The {@link Lock} methods cannot tell their caller that the previous owner died holding the mutex, and code
 * written for {@code ReentrantLock} would carry on over half-updated data. So they never return normally after
 * an owner death unless a {@link RecoveryHandler} is set: with one, it repairs the data inside the call and the
 * mutex is marked consistent; without one, they release the mutex, leave it {@link MutexState#INCONSISTENT}
 * (its next acquirer is told of the death in turn) and throw {@link OwnerDiedException}. The try-with-resources
 * style ({@link #acquire()}) always returns, with {@link Acquisition#ownerDied()} saying what happened.
 * Owner deaths, and mutexes becoming not recoverable, are logged through {@link System.Logger} at
 * {@code WARNING}, naming the file and index.
 *
 * <h2>Ownership</h2>
 * The mutex is owned by an OS thread: the thread that acquired it must release it, and a thread may acquire
 * it again while holding it (re-entrant, like {@link java.util.concurrent.locks.ReentrantLock}); it is
 * released when the hold count returns to zero. Acquisition from a virtual thread is refused. If the owning
 * thread exits or its process dies while holding the mutex, the kernel releases it and marks it; the next
 * acquisition reports {@link Acquisition#ownerDied()} and the mutex is {@link MutexState#INCONSISTENT}
 * until {@link Acquisition#markConsistent()}. Releasing it without that makes it
 * {@link MutexState#NOT_RECOVERABLE}: every later acquisition throws {@link MutexNotRecoverableException}
 * until {@link #reinitialize()}.
 *
 * <h2>Memory Synchronization</h2>
 * As for {@link Lock}: a successful acquisition has the memory effects of a volatile read of the futex
 * word, and a release those of a volatile write, so writes made by a holder to the shared memory (in this
 * process or another) before releasing are visible to the next holder after acquiring.
 *
 * <h2>Waiting</h2>
 * Contended acquisition blocks in the kernel ({@code FUTEX_LOCK_PI2} for {@link MutexKind#PI},
 * {@code FUTEX_WAIT} for {@link MutexKind#NORMAL}). A thread blocked there does not notice
 * {@link Thread#interrupt()}, so interruptible and timed acquisitions wait in slices (20 ms by default,
 * system property {@code io.robustmutex.interruptSliceMillis}) and check for interruption between them.
 */
public final class RobustMutex implements Lock {

    static {
        ApiBridge.register((record, protocol, open, name) -> new RobustMutex(record, protocol, open, null, name));
    }

    private final MutexRecord record;
    private final RobustMutexProtocol protocol;
    private final OpenFlag open;
    /** The mapping, which counts the reads made without locking; null on the reference model. */
    private final MappedRegion region;
    private final String name;
    private volatile RecoveryHandler recoveryHandler;

    RobustMutex(MutexRecord record, RobustMutexProtocol protocol, OpenFlag open, MappedRegion region, String name) {
        this.record = record;
        this.protocol = protocol;
        this.open = open;
        this.region = region;
        this.name = name;
    }

    /**
     * The kind stored in the record.
     *
     * @return PI or NORMAL
     */
    public MutexKind kind() {
        return record.kind();
    }

    /**
     * Sets the handler that repairs the protected data when a {@link Lock}-style acquisition finds that the
     * previous owner died. Without one, such an acquisition releases the mutex and throws
     * {@link OwnerDiedException} (see the class documentation).
     *
     * @param handler the handler, or null to remove it
     */
    public void setRecoveryHandler(RecoveryHandler handler) {
        this.recoveryHandler = handler;
    }

    // ---- try-with-resources style ----

    /**
     * Acquires the mutex, waiting as long as it takes (not interruptible).
     *
     * @return the acquisition, to close when done
     * @throws MutexNotRecoverableException when the mutex is not recoverable
     * @throws IllegalStateException when the mutex's file is closed
     * @throws UnsupportedOperationException on a virtual thread
     */
    public Acquisition acquire() {
        open.ensureOpen();
        return acquisition(lockUninterruptibly(RobustMutexProtocol.WAIT_FOREVER));
    }

    /**
     * Acquires the mutex if it is free now. It does not ask the kernel whether a holder still exists: a word
     * left held by an owner that is gone without the kernel releasing it (more than 2048 held, or a damaged
     * list) reads as held, and only a waiting acquisition ({@link #acquire()}, or one with a timeout) takes it
     * over. One exception: a {@link SharedMemory} record whose word was held in an earlier boot (its boot stamp
     * says so) is taken over here too, as an owner death, since no thread of this boot can hold it.
     *
     * @return the acquisition, or empty when another thread holds the mutex
     * @throws MutexNotRecoverableException when the mutex is not recoverable
     */
    public Optional<Acquisition> tryAcquire() {
        open.ensureOpen();
        int result = lockUninterruptibly(RobustMutexProtocol.NO_WAIT);
        return result == RobustMutexProtocol.TIMED_OUT ? Optional.empty() : Optional.of(acquisition(result));
    }

    /**
     * Acquires the mutex, waiting in the kernel at most {@code timeout}.
     *
     * @param timeout the longest wait; zero or negative does not wait
     * @return the acquisition, or empty when the timeout elapsed first
     * @throws InterruptedException when the thread is interrupted before acquiring (noticed within a slice)
     * @throws MutexNotRecoverableException when the mutex is not recoverable
     */
    public Optional<Acquisition> tryAcquire(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        open.ensureOpen();
        int result = protocol.lock(record, deadline(saturatedNanos(timeout)), true);
        return result == RobustMutexProtocol.TIMED_OUT ? Optional.empty() : Optional.of(acquisition(result));
    }

    private Acquisition acquisition(int result) {
        return new HeldAcquisition(this, Thread.currentThread(), result == RobustMutexProtocol.ACQUIRED_OWNER_DIED,
                protocol.fencingToken(record));
    }

    // ---- java.util.concurrent.locks.Lock ----

    /**
     * Acquires the mutex, waiting as long as it takes.
     *
     * <p><b>If the previous owner died holding it</b>, this does not return normally unless a
     * {@link RecoveryHandler} is set: the handler repairs the data first, with the mutex held, and the mutex is
     * marked consistent; without a handler, the mutex is released again, left {@link MutexState#INCONSISTENT}
     * for its next acquirer, and {@link OwnerDiedException} is thrown, so that the usual
     * {@code lock(); try { ... } finally { unlock(); }} never runs over half-updated data (and, since the
     * exception comes from {@code lock()}, the {@code finally} is not reached). To see owner deaths as values
     * instead, use {@link #acquire()}.
     *
     * @throws OwnerDiedException when the previous owner died and no recovery handler is set; nothing is held
     * @throws MutexNotRecoverableException when the mutex is not recoverable, or the recovery handler failed
     * @throws MutexDamagedException when the record holds values the library never writes
     */
    @Override
    public void lock() {
        open.ensureOpen();
        if (protocol.lockFast(record, RobustMutexProtocol.WAIT_FOREVER) == RobustMutexProtocol.ACQUIRED_OWNER_DIED) {
            recover();
        }
    }

    /**
     * Acquires the mutex unless the thread is interrupted; interruption is noticed within one slice. An owner
     * death is handled as by {@link #lock()}.
     *
     * @throws InterruptedException when interrupted before acquiring
     * @throws OwnerDiedException when the previous owner died and no recovery handler is set; nothing is held
     * @throws MutexNotRecoverableException when the mutex is not recoverable, or the recovery handler failed
     */
    @Override
    public void lockInterruptibly() throws InterruptedException {
        open.ensureOpen();
        afterLockStyleAcquisition(protocol.lock(record, RobustMutexProtocol.WAIT_FOREVER, true));
    }

    /**
     * Acquires the mutex if it is free now. An owner death is handled as by {@link #lock()}. Like
     * {@link #tryAcquire()}, it does not take over a word whose owner vanished in this boot without the kernel
     * releasing it.
     *
     * @return whether it was acquired
     * @throws OwnerDiedException when the previous owner died and no recovery handler is set; nothing is held
     */
    @Override
    public boolean tryLock() {
        open.ensureOpen();
        int result = lockUninterruptibly(RobustMutexProtocol.NO_WAIT);
        if (result == RobustMutexProtocol.TIMED_OUT) {
            return false;
        }
        afterLockStyleAcquisition(result);
        return true;
    }

    /**
     * Acquires the mutex, waiting in the kernel until the timeout elapses.
     *
     * @param time the longest wait; zero or negative does not wait
     * @param unit the unit of {@code time}
     * @return whether it was acquired
     * @throws InterruptedException when interrupted before acquiring (noticed within a slice)
     * @throws OwnerDiedException when the previous owner died and no recovery handler is set; nothing is held
     */
    @Override
    public boolean tryLock(long time, TimeUnit unit) throws InterruptedException {
        open.ensureOpen();
        int result = protocol.lock(record, deadline(unit.toNanos(time)), true);
        if (result == RobustMutexProtocol.TIMED_OUT) {
            return false;
        }
        afterLockStyleAcquisition(result);
        return true;
    }

    /**
     * Releases one hold of the mutex.
     *
     * @throws IllegalMonitorStateException when the calling thread does not hold it
     */
    @Override
    public void unlock() {
        protocol.unlock(record);
    }

    /**
     * A condition for the threads of this JVM, with the {@link Condition} contract and this mutex's owner-died
     * policy ({@link RobustCondition}). Its sequence lives in memory private to this process, so threads of other
     * processes cannot wait on it or signal it: for those, use a condition in the shared memory,
     * {@link MutexFile#condition(int, RobustMutex)} or {@link SharedMemory#condition(long, RobustMutex)}.
     *
     * @return a new condition
     */
    @Override
    public RobustCondition newCondition() {
        ByteBuffer memory = NativeMemory.allocateAligned(ConditionRecordDescriptor.SIZE,
                ConditionRecordDescriptor.ALIGNMENT);
        MappedMemory atomic = MappedMemory.of(memory);
        ConditionRecordDescriptor.initialize(atomic, 0);
        return new RobustCondition(new ConditionRecord(atomic, 0, name + " condition", null),
                new ConditionProtocol(protocol), this, open, null, name + " (a condition of this JVM)");
    }

    private int lockUninterruptibly(long deadline) {
        return protocol.lockFast(record, deadline);
    }

    private long deadline(long nanos) {
        if (nanos <= 0) {
            return RobustMutexProtocol.NO_WAIT;
        }
        long now = protocol.kernel().nanoTime();
        long deadline = now + nanos;
        // Saturate instead of overflowing into the past; the sentinels are never a real deadline.
        return deadline - now < 0 || deadline == RobustMutexProtocol.WAIT_FOREVER ? RobustMutexProtocol.WAIT_FOREVER
                : deadline;
    }

    private static long saturatedNanos(Duration timeout) {
        try {
            return timeout.toNanos();
        } catch (ArithmeticException e) {
            return timeout.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
        }
    }

    private void afterLockStyleAcquisition(int result) {
        if (result == RobustMutexProtocol.ACQUIRED_OWNER_DIED) {
            recover();
        }
    }

    /**
     * The previous owner died, found by a condition's wait, which must return with the mutex held: the recovery
     * handler repairs and the mutex is marked consistent; without one, the mutex stays held, INCONSISTENT, and
     * its release by the caller leaves it so for its next acquirer.
     */
    void recoverHeld() {
        RecoveryHandler handler = recoveryHandler;
        if (handler == null) {
            protocol.keepInconsistentAtRelease(record);
            throw new OwnerDiedException(this + ": its previous owner died holding it while this thread waited on a"
                    + " condition, so the data it protects may be half-updated. The mutex is held again, as a"
                    + " condition's wait must return, and still INCONSISTENT: releasing it leaves it so, and its"
                    + " next acquirer is told too. Set a recovery handler with setRecoveryHandler(...) to repair"
                    + " inside the wait, or repair here and call markConsistent()");
        }
        try {
            handler.recover(this);
        } catch (Throwable failure) {
            throw new MutexNotRecoverableException(this + ": the recovery handler failed after a condition's wait;"
                    + " the mutex is held again and becomes not recoverable when released", failure);
        }
        protocol.markConsistent(record);
    }

    /**
     * The previous owner died: the recovery handler repairs before the caller proceeds; without one, nothing
     * may return normally, so the mutex is released (still inconsistent, for the next acquirer to see) and the
     * death reported as an exception.
     */
    private void recover() {
        RecoveryHandler handler = recoveryHandler;
        if (handler == null) {
            protocol.releaseUnrepaired(record);
            throw new OwnerDiedException(this + ": its previous owner died holding it, so the data it protects may"
                    + " be half-updated. The Lock methods do not return after an owner death without a recovery"
                    + " handler: the mutex was released, still INCONSISTENT, and its next acquirer is told too. Set"
                    + " one with setRecoveryHandler(...), or use acquire() and Acquisition.ownerDied() /"
                    + " markConsistent()");
        }
        try {
            handler.recover(this);
        } catch (Throwable failure) {
            protocol.unlock(record);
            throw new MutexNotRecoverableException(this + ": the recovery handler failed, so the mutex was released"
                    + " without being marked consistent and is now not recoverable", failure);
        }
        protocol.markConsistent(record);
    }

    // ---- state ----

    /**
     * Whether the calling thread holds the mutex.
     *
     * @return true when held at least once by this thread
     */
    public boolean isHeldByCurrentThread() {
        return protocol.isHeldByCurrentThread(record);
    }

    /**
     * The calling thread's hold count.
     *
     * @return 0 when the thread does not hold the mutex
     */
    public int getHoldCount() {
        return protocol.holdCount(record);
    }

    /**
     * Whether the mutex is consistent; for the holder.
     *
     * @return false when an owner died and the data has not been marked consistent since
     * @throws IllegalMonitorStateException when the calling thread does not hold the mutex
     */
    public boolean isConsistent() {
        return protocol.isConsistent(record);
    }

    /**
     * Declares the protected data repaired after an owner death; for the holder.
     *
     * @throws IllegalMonitorStateException when the calling thread does not hold the mutex
     */
    public void markConsistent() {
        protocol.markConsistent(record);
    }

    /**
     * The fencing token of the holder's acquisition; for the holder.
     *
     * @return the token
     * @throws IllegalMonitorStateException when the calling thread does not hold the mutex
     */
    public long fencingToken() {
        return protocol.fencingToken(record);
    }

    /**
     * Makes an {@link MutexState#INCONSISTENT} or {@link MutexState#NOT_RECOVERABLE} mutex consistent again.
     * It succeeds only when nobody holds the mutex; it takes and releases it through the robust protocol.
     *
     * @throws IllegalStateException when any thread holds the mutex, or the file is closed
     */
    public void reinitialize() {
        open.ensureOpen();
        enter();
        try {
            protocol.reinitialize(record);
        } finally {
            exit();
        }
    }

    /** Counts a read of the record made without holding it, so its mapping stays while it reads. */
    private void enter() {
        if (region != null) {
            region.enter();
        }
    }

    private void exit() {
        if (region != null) {
            region.exit();
        }
    }

    /**
     * Reads the record without taking the mutex.
     *
     * @return the snapshot
     * @throws MutexDamagedException when the record's kind word is not one the library writes
     */
    public MutexSnapshot snapshot() {
        open.ensureOpen();
        enter();
        try {
            return snapshot(record);
        } finally {
            exit();
        }
    }

    static MutexSnapshot snapshot(MutexRecord record) {
        // Eight atomic 8-byte reads: the word and the state are read together, the rest may move meanwhile.
        var memory = record.memory();
        ByteBuffer copy = ByteBuffer.allocate(MutexRecordDescriptor.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (int field = 0; field < MutexRecordDescriptor.SIZE; field += 8) {
            copy.putLong(field, memory.getLongVolatile(record.offset() + field));
        }
        return MutexSnapshot.decode(copy, record);
    }

    MutexRecord record() {
        return record;
    }

    @Override
    public String toString() {
        return "RobustMutex[" + name + ", " + record.kind() + "]";
    }

    /** The acquisition object handed to try-with-resources callers. */
    private static final class HeldAcquisition implements Acquisition {
        private final RobustMutex mutex;
        private final Thread owner;
        private final boolean ownerDied;
        private final long fencingToken;
        private boolean closed;

        HeldAcquisition(RobustMutex mutex, Thread owner, boolean ownerDied, long fencingToken) {
            this.mutex = mutex;
            this.owner = owner;
            this.ownerDied = ownerDied;
            this.fencingToken = fencingToken;
        }

        @Override
        public boolean ownerDied() {
            return ownerDied;
        }

        @Override
        public void markConsistent() {
            checkOwner("markConsistent");
            if (closed) {
                throw new IllegalMonitorStateException("markConsistent after close: " + mutex);
            }
            mutex.markConsistent();
        }

        @Override
        public long fencingToken() {
            return fencingToken;
        }

        @Override
        public RobustMutex mutex() {
            return mutex;
        }

        @Override
        public void close() {
            checkOwner("close");
            if (!closed) {
                closed = true;
                mutex.unlock();
            }
        }

        private void checkOwner(String operation) {
            if (Thread.currentThread() != owner) {
                throw new IllegalMonitorStateException(operation + ": this acquisition of " + mutex
                        + " belongs to thread " + owner.getName());
            }
        }

        @Override
        public String toString() {
            return "Acquisition[" + mutex + ", token=" + fencingToken + (ownerDied ? ", owner died" : "") + "]";
        }
    }
}
