package io.robustmutex;

/**
 * What a mutex record says at one moment, read without taking the mutex (fields may change while they are
 * read; each is read atomically).
 *
 * @param kind PI or NORMAL
 * @param state the consistency state
 * @param word the raw futex word
 * @param ownerTid the owner's TID (in the owner's PID namespace), 0 when free
 * @param ownerPid the owner's process id as recorded by this library (diagnostics only), 0 when none
 * @param waiters whether the WAITERS bit is set
 * @param ownerDied whether the OWNER_DIED bit is set (a dead owner not yet seen by an acquirer)
 * @param fencingToken the number of acquisitions so far
 * @param ownerDiedCount how many dead owners acquirers have detected
 */
public record MutexSnapshot(
        MutexKind kind,
        MutexState state,
        int word,
        int ownerTid,
        int ownerPid,
        boolean waiters,
        boolean ownerDied,
        long fencingToken,
        long ownerDiedCount) {

    /**
     * Whether some thread holds the mutex.
     *
     * @return true when the owner TID is not 0
     */
    public boolean locked() {
        return ownerTid != 0;
    }
}
