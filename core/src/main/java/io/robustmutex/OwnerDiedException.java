package io.robustmutex;

/**
 * Thrown by the {@link java.util.concurrent.locks.Lock} methods of {@link RobustMutex} ({@code lock()},
 * {@code lockInterruptibly()}, {@code tryLock}) when the previous owner died holding the mutex and no
 * {@link RecoveryHandler} is set: the data the mutex protects may be half-updated, and those methods have no
 * way to tell the caller so and return. When this is thrown the calling thread does not hold the mutex; the
 * mutex stays {@link MutexState#INCONSISTENT}, so its next acquirer is told of the death too.
 *
 * <p>What to do: set a handler with {@link RobustMutex#setRecoveryHandler} that repairs the data (it then runs
 * inside {@code lock()} and the mutex is marked consistent), or acquire with {@link RobustMutex#acquire()} and
 * check {@link Acquisition#ownerDied()}, repairing and calling {@link Acquisition#markConsistent()}.
 */
public class OwnerDiedException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message which mutex, and what to do
     */
    public OwnerDiedException(String message) {
        super(message);
    }
}
