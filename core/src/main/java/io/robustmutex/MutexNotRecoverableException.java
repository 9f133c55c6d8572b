package io.robustmutex;

/**
 * The mutex is not recoverable: an owner died holding it, and the next holder released it without calling
 * {@link Acquisition#markConsistent()}. Every acquisition throws this until
 * {@link RobustMutex#reinitialize()} is called while nobody holds it (design.md section 4; the
 * {@code ENOTRECOVERABLE} of POSIX robust mutexes).
 */
public class MutexNotRecoverableException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message which mutex and what to do
     */
    public MutexNotRecoverableException(String message) {
        super(message);
    }

    /**
     * Creates the exception with a cause.
     *
     * @param message which mutex and what to do
     * @param cause why it became not recoverable
     */
    public MutexNotRecoverableException(String message, Throwable cause) {
        super(message, cause);
    }
}
