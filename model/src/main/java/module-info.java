/**
 * The reference model of the kernel side of robust futexes, for tests: runs the library's lock protocol on
 * simulated processes and threads, kills a thread before any step, explores schedules.
 */
module io.robustmutex.model {
    // Transitive: the model's API takes and returns the library's types (Architecture, MutexKind, RobustMutex).
    requires transitive io.robustmutex;

    exports io.robustmutex.model;
}
