package io.robustmutex;

/**
 * Repairs the data a mutex protects after its owner died, for callers of the {@link java.util.concurrent.locks.Lock}
 * methods, which cannot see {@link Acquisition#ownerDied()}.
 *
 * <p>It runs in the acquiring thread, with the mutex held, inside {@code lock()}, {@code lockInterruptibly()}
 * or {@code tryLock(...)}. When it returns normally the mutex is marked consistent. When it throws, the
 * mutex is released unrepaired, which makes it not recoverable, and the lock method throws
 * {@link MutexNotRecoverableException} with the handler's exception as cause. Without a handler those methods
 * throw {@link OwnerDiedException} after an owner death instead of returning.
 *
 * <p>A handler must repair from what the shared data itself records (a journal, an invariant), since the
 * process that died took its intentions with it; it must be idempotent, because a handler that dies part way
 * leaves the next acquirer to run it again over the same data.
 */
@FunctionalInterface
public interface RecoveryHandler {

    /**
     * Repairs the protected data.
     *
     * @param mutex the mutex, held by the calling thread
     * @throws Exception when the data cannot be repaired
     */
    void recover(RobustMutex mutex) throws Exception;
}
