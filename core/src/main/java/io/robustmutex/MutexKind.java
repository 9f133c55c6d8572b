package io.robustmutex;

/**
 * The two kinds of robust mutex (design.md section 4). The kind is chosen when a record is initialized and
 * stored in it.
 */
public enum MutexKind {

    /**
     * Priority inheritance (the default): the kernel boosts the holder to the priority of its highest
     * waiter and hands the lock directly to the top waiter on release. Contended acquisition and release go
     * through {@code FUTEX_LOCK_PI2}/{@code FUTEX_UNLOCK_PI}. Works only between processes of one PID
     * namespace.
     */
    PI,

    /**
     * No priority inheritance: waiters sleep with {@code FUTEX_WAIT} and the releaser wakes one. Works
     * across PID namespaces (containers sharing a file), where PI does not.
     */
    NORMAL
}
