package io.robustmutex;

import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.MutexRecord;
import io.robustmutex.internal.MutexRecordDescriptor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

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
     * Decodes a record from its 64 bytes.
     *
     * @param record the record's bytes from its first byte (little-endian is applied)
     * @param where the record, for messages ({@code /dev/shm/x.mutex[3]})
     * @return the snapshot
     * @throws MutexDamagedException when the kind field holds no valid value
     */
    static MutexSnapshot decode(ByteBuffer record, Object where) {
        ByteBuffer r = record.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int base = r.position();
        int word = r.getInt(base + MutexRecordDescriptor.FUTEX_WORD_OFFSET);
        int kindWord = r.getInt(base + MutexRecordDescriptor.KIND_OFFSET);
        MutexKind kind = MutexRecord.decodeKind(kindWord);
        if (kind == null) {
            throw new MutexDamagedException(String.format("%s: kind word=0x%08x is not that of an initialized"
                    + " record; something other than this library wrote it", where, kindWord));
        }
        return new MutexSnapshot(kind, MutexState.decode(r.getInt(base + MutexRecordDescriptor.STATE_OFFSET)), word,
                FutexWord.owner(word), r.getInt(base + MutexRecordDescriptor.OWNER_PID_OFFSET),
                FutexWord.hasWaiters(word), FutexWord.ownerDied(word),
                r.getLong(base + MutexRecordDescriptor.FENCING_TOKEN_OFFSET),
                r.getLong(base + MutexRecordDescriptor.OWNER_DIED_COUNT_OFFSET));
    }

    /**
     * Whether some thread holds the mutex.
     *
     * @return true when the owner TID is not 0
     */
    public boolean locked() {
        return ownerTid != 0;
    }
}
