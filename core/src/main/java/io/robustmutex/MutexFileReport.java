package io.robustmutex;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

/**
 * What a mutex file says, read without opening it for use (see {@link MutexFile#inspect(Path)}).
 *
 * @param path the file
 * @param kind the kind its mutexes were created with
 * @param created when it was created
 * @param bootId the boot id of the boot that last initialized its lock words
 * @param currentBoot whether that is the current boot (if not, TIDs in it are stale and the next open resets
 *     held words)
 * @param pidNamespace the PID namespace of its creator
 * @param samePidNamespace whether that is this process's PID namespace (owner TIDs and pids can be checked)
 * @param mutexes one snapshot per mutex, in index order
 * @param conditions one snapshot per condition, in index order; empty for a file created without conditions
 *     (format version 1)
 */
public record MutexFileReport(Path path, MutexKind kind, Instant created, UUID bootId, boolean currentBoot,
        long pidNamespace, boolean samePidNamespace, List<MutexSnapshot> mutexes, List<ConditionSnapshot> conditions) {

    /**
     * Copies the lists.
     */
    public MutexFileReport {
        mutexes = List.copyOf(mutexes);
        conditions = List.copyOf(conditions);
    }

    /**
     * A condition record as read from the file ({@link MutexFile#condition(int, RobustMutex)}).
     *
     * @param sequence how many signals the condition has seen, modulo 2<sup>32</sup> (so it may be negative)
     * @param waiters the waiters hint: how many threads may be waiting, too high by one for each waiter that
     *     died (or was ended by a reboot) while waiting
     */
    public record ConditionSnapshot(int sequence, int waiters) {
    }
}
