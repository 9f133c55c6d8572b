package io.robustmutex.internal;

/**
 * The condition protocol: how a thread holding a mutex waits until another signals, so that no process killed
 * at any step of a wait or a signal can leave a waiter asleep for ever or damage the condition for later use.
 *
 * <p>A condition record keeps no waiter queue in shared memory, nothing a dead process could leave half-done:
 * one 32-bit sequence, the futex word, and a waiters hint ({@link ConditionRecordDescriptor}).
 *
 * <h2>Await</h2>
 * <ol>
 * <li>Check the caller holds the mutex (else {@link IllegalMonitorStateException}, nothing changed).</li>
 * <li><b>waiters + 1</b>, then <b>read the sequence</b>, both with the mutex held: a signal, made with the
 *     mutex held too, comes after both, so it moves the sequence past the value read and sees the waiter
 *     counted.</li>
 * <li><b>Release every hold</b> of the mutex (the robust unlock of {@link RobustMutexProtocol}).</li>
 * <li><b>Sleep</b> with {@code FUTEX_WAIT} on the sequence while it still holds the value read, at most the
 *     re-check interval at a time (and the time left, and the interrupt slice when interruptible); end when the
 *     sequence moved (signalled), the deadline passed or the thread was interrupted. A signal between the read
 *     and the sleep makes the kernel refuse to sleep ({@code EAGAIN}: the word no longer holds the value).</li>
 * <li><b>waiters - 1</b>.</li>
 * <li><b>Re-acquire</b> the mutex through the robust lock, restoring the hold count, whatever ended the sleep;
 *     an owner death found there is returned for the caller's owner-died policy.</li>
 * </ol>
 *
 * <h2>Signal</h2>
 * With the mutex held: <b>sequence + 1</b>, then, if the waiters hint is not 0, {@code FUTEX_WAKE} one waiter
 * (signal) or all (signalAll).
 *
 * <h2>Deaths</h2>
 * A waiter killed before step 5 leaves the hint one too high: later signals make a wake-up call that may find
 * nobody; nothing else. A waiter killed in step 6 is a death holding or acquiring the mutex, which the robust
 * lock handles. A signaller killed between its increment and its wake, or a waiter killed after a signal's one
 * wake-up chose it, leaves the other waiters asleep with the sequence moved: each sees it at its next look,
 * within one re-check interval, and returns as signalled. That interval bounds every lost wake-up; a look that
 * finds the sequence moved by a signal meant for another waiter is a spurious wake-up, which the
 * {@link java.util.concurrent.locks.Condition} contract allows. The sequence wraps after 2<sup>32</sup>
 * signals; a waiter that slept through exactly that many would sleep on until the next signal or the
 * deadline.
 *
 * <p>Every step is one memory access or one kernel call, made through {@link AtomicMemory} and {@link Kernel},
 * so the reference model can kill a thread before any of them.
 */
public final class ConditionProtocol {

    /** Await ended: the sequence moved (a signal, or a spurious wake-up). */
    public static final int SIGNALLED = 0;
    /** Await ended: the deadline passed with the sequence unmoved. */
    public static final int TIMED_OUT = 1;
    /** Await ended: the thread was interrupted (its interrupt status is cleared). */
    public static final int INTERRUPTED = 2;
    /** The mask of the outcome in {@link #await}'s result. */
    public static final int OUTCOME_MASK = 3;
    /** Flag in {@link #await}'s result: re-acquiring the mutex found that its previous owner died. */
    public static final int OWNER_DIED = 4;

    private final RobustMutexProtocol mutexes;
    private final Kernel kernel;

    /**
     * A condition protocol over a mutex protocol, sharing its kernel, re-check interval and interrupt slice.
     *
     * @param mutexes the mutex protocol
     */
    public ConditionProtocol(RobustMutexProtocol mutexes) {
        this.mutexes = mutexes;
        this.kernel = mutexes.kernel();
    }

    /**
     * The mutex protocol.
     *
     * @return it
     */
    public RobustMutexProtocol mutexes() {
        return mutexes;
    }

    /**
     * Waits on a condition with a held mutex, which is held again, with the same hold count, on return (normal
     * or not, except when re-acquiring it fails: a not-recoverable or damaged mutex).
     *
     * @param condition the condition
     * @param mutex the mutex the caller holds
     * @param deadline {@link RobustMutexProtocol#WAIT_FOREVER}, or an absolute deadline on the kernel's clock
     * @param interruptible whether to wait in slices and end the wait when the thread is interrupted
     * @return {@link #SIGNALLED}, {@link #TIMED_OUT} or {@link #INTERRUPTED}, with {@link #OWNER_DIED} when the
     *     mutex was re-acquired from an owner that died
     * @throws IllegalMonitorStateException when the caller does not hold the mutex; nothing changed
     */
    public int await(ConditionRecord condition, MutexRecord mutex, long deadline, boolean interruptible) {
        if (!mutexes.isHeldByCurrentThread(mutex)) {
            throw new IllegalMonitorStateException("await: " + mutex + " is not held by the current thread");
        }
        AtomicMemory memory = condition.memory;
        add(memory, condition.waitersOffset, 1);
        int sequence = memory.getIntVolatile(condition.sequenceOffset);
        int holds;
        try {
            holds = mutexes.releaseForWait(mutex);
        } catch (RuntimeException | Error failure) {
            // Still held: the release was refused before anything changed.
            add(memory, condition.waitersOffset, -1);
            throw failure;
        }
        int outcome;
        try {
            outcome = sleep(condition, sequence, deadline, interruptible);
        } catch (RuntimeException | Error failure) {
            add(memory, condition.waitersOffset, -1);
            try {
                if (mutexes.relockAfterWait(mutex, holds) == RobustMutexProtocol.ACQUIRED_OWNER_DIED) {
                    // Not repaired, and the caller hears of the failure, not of the death: leave it for the next.
                    mutexes.keepInconsistentAtRelease(mutex);
                }
            } catch (RuntimeException | Error relockFailure) {
                failure.addSuppressed(relockFailure);
            }
            throw failure;
        }
        add(memory, condition.waitersOffset, -1);
        int locked = mutexes.relockAfterWait(mutex, holds);
        return outcome | (locked == RobustMutexProtocol.ACQUIRED_OWNER_DIED ? OWNER_DIED : 0);
    }

    private int sleep(ConditionRecord condition, int sequence, long deadline, boolean interruptible) {
        AtomicMemory memory = condition.memory;
        long recheck = mutexes.recheckNanos();
        long slice = mutexes.interruptSliceNanos();
        AtomicMemory control = condition.control;
        while (true) {
            if (memory.getIntVolatile(condition.sequenceOffset) != sequence) {
                return SIGNALLED;
            }
            if (control != null && control.getIntVolatile(0) != 0) {
                // The condition's file was closed in this JVM: nobody here can signal it any more. End the wait
                // as a spurious wake-up; the re-acquisition, or the next call, reports the closed file.
                return SIGNALLED;
            }
            long timeout = recheck;
            if (deadline != RobustMutexProtocol.WAIT_FOREVER) {
                long remaining = deadline - kernel.nanoTime();
                if (remaining <= 0) {
                    return TIMED_OUT;
                }
                timeout = Math.min(timeout, remaining);
            }
            if (interruptible) {
                if (Thread.interrupted()) {
                    return INTERRUPTED;
                }
                timeout = Math.min(timeout, slice);
            }
            int result = kernel.futexWait(condition.sequenceAddress, sequence, timeout,
                    deadline == RobustMutexProtocol.WAIT_FOREVER);
            if (result < 0 && result != -Errno.EAGAIN && result != -Errno.EINTR && result != -Errno.ETIMEDOUT) {
                throw Errno.exception("futex(FUTEX_WAIT) on " + condition, -result);
            }
        }
    }

    /**
     * Signals a condition: moves its sequence and wakes one waiter, or all.
     *
     * @param condition the condition
     * @param mutex the mutex the caller holds
     * @param all whether to wake every waiter
     * @throws IllegalMonitorStateException when the caller does not hold the mutex; nothing changed
     */
    public void signal(ConditionRecord condition, MutexRecord mutex, boolean all) {
        if (!mutexes.isHeldByCurrentThread(mutex)) {
            throw new IllegalMonitorStateException((all ? "signalAll: " : "signal: ") + mutex
                    + " is not held by the current thread");
        }
        AtomicMemory memory = condition.memory;
        add(memory, condition.sequenceOffset, 1);
        if (memory.getIntVolatile(condition.waitersOffset) != 0) {
            int result = kernel.futexWake(condition.sequenceAddress, all ? Integer.MAX_VALUE : 1);
            if (result < 0) {
                throw Errno.exception("futex(FUTEX_WAKE) on " + condition, -result);
            }
        }
    }

    /** Adds to a word atomically (a compare-and-exchange loop: one memory step per attempt). */
    private static void add(AtomicMemory memory, int offset, int delta) {
        int seen = memory.getIntVolatile(offset);
        while (true) {
            int update = seen + delta;
            if (delta < 0 && seen == 0) {
                // The hint never goes below 0, whatever wrote it.
                return;
            }
            int witness = memory.compareAndExchangeInt(offset, seen, update);
            if (witness == seen) {
                return;
            }
            seen = witness;
        }
    }
}
