package io.robustmutex;

/**
 * A mutex record holds a value the library never writes: its state field is not 0, 1 or 2, its fencing token is
 * negative or has reached {@link Long#MAX_VALUE} (one more acquisition would wrap it), or its kind word is not
 * that of an initialized record. Something other than this library wrote the record. The acquisition that finds
 * a bad state or token releases the mutex and throws this; {@link MutexSnapshot#state()} reports
 * {@link MutexState#DAMAGED}. {@link RobustMutex#reinitialize()}, called while nobody holds the mutex, repairs
 * those: the state becomes consistent and a damaged token restarts at 1. A damaged kind word is not repaired
 * (the library cannot know which kind the record was): {@link RobustMutex#snapshot()} and
 * {@link MutexFile#mutex(int)} throw this for it, and the file's mutex is lost to whatever overwrote it.
 */
public class MutexDamagedException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message which mutex, what was found, and what to do
     */
    public MutexDamagedException(String message) {
        super(message);
    }
}
