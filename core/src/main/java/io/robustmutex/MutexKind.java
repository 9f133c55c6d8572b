package io.robustmutex;

/**
 * The two kinds of robust mutex (design.md section 4). The kind is chosen when a record is initialized and
 * stored in it. Neither kind may be shared between PID namespaces: the kernel's release of a dead thread's
 * locks compares TIDs numbered per namespace (kernel-abi.md section 5), so the library refuses a mutex file or
 * a region record used from another PID namespace.
 */
public enum MutexKind {

    /**
     * Priority inheritance (the default): the kernel boosts the holder to the priority of its highest
     * waiter and hands the lock directly to the top waiter on release. Contended acquisition and release go
     * through {@code FUTEX_LOCK_PI2}/{@code FUTEX_UNLOCK_PI}. A contender learns from the kernel
     * ({@code ESRCH}) when the owner's TID names no thread.
     */
    PI,

    /**
     * No priority inheritance: waiters sleep with {@code FUTEX_WAIT} and the releaser wakes one. A waiter
     * looks at the word again at least every re-check interval (100 ms by default, system property
     * {@code io.robustmutex.recheckMillis}), so a lost wake-up, or an owner that is gone without the kernel
     * releasing the word, delays it at most that long. Cheaper than PI when contended.
     */
    NORMAL
}
