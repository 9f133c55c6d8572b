package io.robustmutex;

/**
 * One acquisition of a {@link RobustMutex}, released by {@link #close()}; meant for try-with-resources:
 *
 * <pre>{@code
 * try (Acquisition held = mutex.acquire()) {
 *     if (held.ownerDied()) {
 *         repair(data);             // the previous owner died in the middle of an update
 *         held.markConsistent();
 *     }
 *     update(data, held.fencingToken());
 * }
 * }</pre>
 *
 * <p>An acquisition belongs to the thread that made it: only that thread may use it.
 */
public interface Acquisition extends AutoCloseable {

    /**
     * Whether the previous owner died holding the mutex: the data it protects may be half-updated. Repair
     * it, then call {@link #markConsistent()}; releasing without doing so makes the mutex not recoverable.
     *
     * @return true when this acquisition found a dead owner's lock
     */
    boolean ownerDied();

    /**
     * Declares the protected data repaired after an owner death.
     *
     * @throws IllegalMonitorStateException when called from another thread or after {@link #close()}
     */
    void markConsistent();

    /**
     * The fencing token of this acquisition: strictly greater than that of every earlier acquisition of the
     * same mutex, by any process, so a holder's writes can be ordered (and stale holders refused) by it. A
     * re-entrant acquisition (by the thread that already holds the mutex) takes no new token: it returns the
     * token of the outermost acquisition, the one that took the mutex from another owner, because the thread
     * has held the mutex without interruption since then.
     *
     * @return the token
     */
    long fencingToken();

    /**
     * The mutex acquired.
     *
     * @return the mutex
     */
    RobustMutex mutex();

    /**
     * Releases the mutex (once; later calls do nothing).
     *
     * @throws IllegalMonitorStateException when called from another thread than the one that acquired
     */
    @Override
    void close();
}
