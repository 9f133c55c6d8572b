package io.robustmutex;

import io.robustmutex.internal.ConditionProtocol;
import io.robustmutex.internal.ConditionRecord;
import io.robustmutex.internal.MappedRegion;
import io.robustmutex.internal.OpenFlag;
import io.robustmutex.internal.RobustMutexProtocol;
import java.util.Date;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;

/**
 * A condition of a {@link RobustMutex} that threads of any process sharing the memory wait on and signal, and
 * that survives {@code kill -9} of any of them at any instruction.
 *
 * <p>Get one from a {@link MutexFile} ({@link MutexFile#condition(int, RobustMutex)}: every process names the
 * same condition by its index), from a region mapped with {@link SharedMemory}
 * ({@link SharedMemory#condition(long, RobustMutex)}: by its offset), or, for the threads of one JVM, from
 * {@link RobustMutex#newCondition()}:
 *
 * <pre>{@code
 * RobustMutex mutex = file.mutex(0);
 * RobustCondition notEmpty = file.condition(0, mutex);
 * mutex.lock();
 * try {
 *     while (queue.isEmpty()) {
 *         notEmpty.await();
 *     }
 *     take();
 * } finally {
 *     mutex.unlock();
 * }
 * }</pre>
 *
 * <h2>The {@link Condition} contract</h2>
 * Every method requires the calling thread to hold the mutex and throws {@link IllegalMonitorStateException}
 * otherwise. A wait releases every hold of the mutex and, however it ends (a signal, the deadline, an
 * interrupt, a spurious wake-up), holds it again, with the same hold count, before it returns or throws;
 * interruption is noticed within one slice ({@code io.robustmutex.interruptSliceMillis}). Spurious wake-ups
 * happen, as the contract allows: wait in a loop that tests what you wait for. The one exception to "held
 * again" is a re-acquisition that fails: the mutex became not recoverable meanwhile
 * ({@link MutexNotRecoverableException}), its record was damaged ({@link MutexDamagedException}), or its file
 * was closed in this JVM ({@link IllegalStateException}); then nothing is held, as after a failed
 * {@link RobustMutex#lock()}. Closing the condition's file in this JVM ends its waits within the re-check
 * interval, as spurious wake-ups.
 *
 * <p>Every process must use a condition with the same mutex: the guarantee that no signal is lost rests on
 * waiters and signallers holding the same mutex while they read and move the sequence. A wait on a mutex that
 * is {@link MutexState#INCONSISTENT} (an owner death not yet repaired) releases it still INCONSISTENT, so its
 * next acquirer is told of the death, this waiter included when it re-acquires.
 *
 * <h2>Owner death</h2>
 * A wait re-acquires the mutex; if its previous owner died holding it, the wait applies the owner-died policy
 * of {@link RobustMutex#lock()}: with a {@link RecoveryHandler} set, the handler repairs the data, the mutex is
 * marked consistent and the wait returns; without one, the wait throws {@link OwnerDiedException} with the
 * mutex held again (the contract requires it), still {@link MutexState#INCONSISTENT}, and the caller's
 * {@code unlock()} releases it still inconsistent, so that its next acquirer is told in turn (unless the caller
 * repairs and calls {@link RobustMutex#markConsistent()} first).
 *
 * <h2>Crash safety</h2>
 * The record keeps no waiter queue: one sequence word that each signal moves, which waiters sleep on in the
 * kernel, and a count of waiters that is only a hint. A waiter or a signaller killed at any step leaves nothing
 * half-done. The one effect of such a death is a lost wake-up (a signaller killed between moving the sequence
 * and waking, or a woken waiter killed before it re-acquired), and it is bounded: a waiter looks at the
 * sequence at least every re-check interval (100 ms by default, {@code io.robustmutex.recheckMillis}) and
 * returns when it moved. docs/protocol.md, "Conditions", gives the protocol step by step.
 *
 * <h2>Fairness and priority inheritance</h2>
 * {@link #signal()} wakes one waiter the kernel chooses; a waiter that went to sleep after the signal is not
 * woken by it. Woken waiters re-acquire the mutex through the ordinary robust lock (for a PI mutex,
 * {@code FUTEX_LOCK_PI2}, so a waiter blocked on it lends its priority to the holder), not through the
 * kernel's requeue-PI operations: docs/protocol.md says why.
 */
public final class RobustCondition implements Condition {

    private final ConditionRecord record;
    private final ConditionProtocol protocol;
    private final RobustMutex mutex;
    private final OpenFlag open;
    private final MappedRegion region;
    private final String name;

    RobustCondition(ConditionRecord record, ConditionProtocol protocol, RobustMutex mutex, OpenFlag open,
            MappedRegion region, String name) {
        this.record = record;
        this.protocol = protocol;
        this.mutex = Objects.requireNonNull(mutex, "mutex");
        this.open = open;
        this.region = region;
        this.name = name;
    }

    /**
     * The mutex this condition is used with.
     *
     * @return the mutex
     */
    public RobustMutex mutex() {
        return mutex;
    }

    /**
     * Waits until signalled or interrupted; the mutex is held again on return.
     *
     * @throws InterruptedException when interrupted on entry or while waiting (the mutex is held again)
     * @throws IllegalMonitorStateException when the calling thread does not hold the mutex
     * @throws OwnerDiedException when the mutex's previous owner died and no recovery handler is set (the mutex
     *     is held again, still INCONSISTENT)
     */
    @Override
    public void await() throws InterruptedException {
        awaitUntilDeadline(RobustMutexProtocol.WAIT_FOREVER, true);
    }

    /**
     * Waits until signalled; interruption does not end the wait but stays set when it returns.
     *
     * @throws IllegalMonitorStateException when the calling thread does not hold the mutex
     * @throws OwnerDiedException when the mutex's previous owner died and no recovery handler is set
     */
    @Override
    public void awaitUninterruptibly() {
        try {
            awaitUntilDeadline(RobustMutexProtocol.WAIT_FOREVER, false);
        } catch (InterruptedException e) {
            throw new AssertionError("an uninterruptible wait was interrupted", e);
        }
    }

    /**
     * Waits until signalled or interrupted, or until the time elapses.
     *
     * @param nanosTimeout the longest wait in nanoseconds
     * @return an estimate of the time left (nanosTimeout less the time waited); 0 or less when it elapsed
     * @throws InterruptedException when interrupted (the mutex is held again)
     */
    @Override
    public long awaitNanos(long nanosTimeout) throws InterruptedException {
        long start = protocol.mutexes().kernel().nanoTime();
        long deadline = deadline(start, nanosTimeout);
        awaitUntilDeadline(deadline, true);
        long left = nanosTimeout - (protocol.mutexes().kernel().nanoTime() - start);
        return deadline == RobustMutexProtocol.WAIT_FOREVER ? Math.max(left, 1) : left;
    }

    /**
     * Waits until signalled or interrupted, or until the time elapses.
     *
     * @param time the longest wait
     * @param unit its unit
     * @return false when the time elapsed before a signal, else true
     * @throws InterruptedException when interrupted (the mutex is held again)
     */
    @Override
    public boolean await(long time, TimeUnit unit) throws InterruptedException {
        long deadline = deadline(protocol.mutexes().kernel().nanoTime(), unit.toNanos(time));
        return awaitUntilDeadline(deadline, true) != ConditionProtocol.TIMED_OUT;
    }

    /**
     * Waits until signalled or interrupted, or until the wall-clock deadline passes. The deadline is turned
     * into a wait on the monotonic clock when the wait starts, so a wall clock set back or forward during the
     * wait does not lengthen or shorten it.
     *
     * @param deadline the wall-clock time to give up at
     * @return false when the deadline passed before a signal, else true
     * @throws InterruptedException when interrupted (the mutex is held again)
     */
    @Override
    public boolean awaitUntil(Date deadline) throws InterruptedException {
        long millis = deadline.getTime() - System.currentTimeMillis();
        long nanos = millis > Long.MAX_VALUE / 1_000_000 ? Long.MAX_VALUE
                : millis < Long.MIN_VALUE / 1_000_000 ? Long.MIN_VALUE : millis * 1_000_000;
        return awaitUntilDeadline(deadline(protocol.mutexes().kernel().nanoTime(), nanos), true)
                != ConditionProtocol.TIMED_OUT;
    }

    /**
     * Wakes one waiting thread, in this process or another, if any waits.
     *
     * @throws IllegalMonitorStateException when the calling thread does not hold the mutex
     */
    @Override
    public void signal() {
        signal(false);
    }

    /**
     * Wakes every waiting thread, in this process or another.
     *
     * @throws IllegalMonitorStateException when the calling thread does not hold the mutex
     */
    @Override
    public void signalAll() {
        signal(true);
    }

    private void signal(boolean all) {
        ensureOpen();
        enter();
        try {
            protocol.signal(record, mutex.record(), all);
        } finally {
            exit();
        }
    }

    /** The outcome: {@link ConditionProtocol#SIGNALLED} or {@link ConditionProtocol#TIMED_OUT}. */
    private int awaitUntilDeadline(long deadline, boolean interruptible) throws InterruptedException {
        ensureOpen();
        if (!mutex.isHeldByCurrentThread()) {
            throw new IllegalMonitorStateException("await: " + mutex + " is not held by the current thread");
        }
        if (interruptible && Thread.interrupted()) {
            throw new InterruptedException();
        }
        int result;
        enter();
        try {
            result = protocol.await(record, mutex.record(), deadline, interruptible);
        } finally {
            exit();
        }
        int outcome = result & ConditionProtocol.OUTCOME_MASK;
        if ((result & ConditionProtocol.OWNER_DIED) != 0) {
            // The repair runs with the interrupt status clear (interruptible I/O in it would fail otherwise); if
            // it does not complete, the interrupt is kept as the status for the caller.
            try {
                mutex.recoverHeld();
            } catch (RuntimeException | Error failure) {
                if (outcome == ConditionProtocol.INTERRUPTED) {
                    Thread.currentThread().interrupt();
                }
                throw failure;
            }
        }
        if (outcome == ConditionProtocol.INTERRUPTED) {
            throw new InterruptedException();
        }
        return outcome;
    }

    private static long deadline(long now, long nanos) {
        if (nanos <= 0) {
            return now;
        }
        long deadline = now + nanos;
        return deadline - now < 0 || deadline == RobustMutexProtocol.WAIT_FOREVER ? RobustMutexProtocol.WAIT_FOREVER
                : deadline;
    }

    private void ensureOpen() {
        if (open != null) {
            open.ensureOpen();
        }
    }

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
     * Names the condition and its mutex.
     *
     * @return a description
     */
    @Override
    public String toString() {
        return "RobustCondition[" + name + ", with " + mutex + "]";
    }

    ConditionRecord record() {
        return record;
    }
}
