package io.robustmutex;

/**
 * The consistency state stored in a mutex record (design.md section 3).
 */
public enum MutexState {
    /** Normal operation. */
    CONSISTENT,
    /** An owner died holding the mutex and the data it protects has not been marked consistent since. */
    INCONSISTENT,
    /** The holder after an owner death released it without marking it consistent; acquisitions fail. */
    NOT_RECOVERABLE,
    /**
     * The state field holds a value the library never writes: the record was damaged. Acquisitions throw
     * {@link MutexDamagedException} until {@link RobustMutex#reinitialize()} repairs it.
     */
    DAMAGED;

    static MutexState decode(int value) {
        return switch (value) {
            case 0 -> CONSISTENT;
            case 1 -> INCONSISTENT;
            case 2 -> NOT_RECOVERABLE;
            default -> DAMAGED;
        };
    }
}
