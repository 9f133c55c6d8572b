package io.robustmutex.internal;

import java.nio.charset.StandardCharsets;

/**
 * The header of a mutex file (design.md section 3): 4096 bytes, then the mutex records, then (format version 2)
 * the condition records.
 *
 * <pre>
 *   0              8        12       16       20       24       28       32
 *  +--------------+--------+--------+--------+--------+--------+--------+
 *  | magic        |version |header  |record  |mutex   |kind at |cond.   |
 *  | "RBSTMTX\0"  | 1 or 2 |size    |size 64 |count   |creation|count   |
 *  +--------------+--------+--------+--------+--------+--------+--------+
 *  32                               48                56                64
 *  +--------------------------------+-----------------+-----------------+
 *  | boot id of the last initializer| creator PID ns  | file id (random)|
 *  +--------------------------------+-----------------+-----------------+
 *  64               72                                                4096
 *  +----------------+---------------------------------------------------+
 *  | created (ms)   | zero                                              |
 *  +----------------+---------------------------------------------------+
 * </pre>
 *
 * <p>The magic is written last, after everything else has been forced to the file, so a file whose creator
 * died part way has no magic and is never trusted. The boot id is that of the boot that last initialized
 * the lock words: on another boot they carry stale TIDs and are reset on open. The file id is a random
 * number drawn at creation, shown by diagnostics to tell files apart.
 *
 * <p>Format version 2 is version 1 plus condition records: the word at offset 28, reserved and zero in version 1,
 * holds their count (at least 1), and that many 64-byte {@link ConditionRecordDescriptor condition records}
 * follow the mutex records. A file created without conditions is written as version 1, so that libraries that
 * read only version 1 keep opening it; one with conditions is written as version 2.
 */
public final class MutexFileHeaderDescriptor {

    /** The magic bytes. */
    public static final byte[] MAGIC = "RBSTMTX\0".getBytes(StandardCharsets.US_ASCII);
    /** The format version of a file without condition records: its word at offset 28 is reserved (zero). */
    public static final int VERSION_1 = 1;
    /** The format version of a file with condition records: its word at offset 28 counts them (at least 1). */
    public static final int VERSION_2 = 2;

    /** Offset of the magic (8 bytes). */
    public static final int MAGIC_OFFSET = 0;
    /** Offset of the format version. */
    public static final int VERSION_OFFSET = MAGIC_OFFSET + 8;
    /** Offset of the header size. */
    public static final int HEADER_SIZE_OFFSET = VERSION_OFFSET + 4;
    /** Offset of the record size. */
    public static final int RECORD_SIZE_OFFSET = HEADER_SIZE_OFFSET + 4;
    /** Offset of the record count: the number of mutex records. */
    public static final int RECORD_COUNT_OFFSET = RECORD_SIZE_OFFSET + 4;
    /** Offset of the kind the records were created with. */
    public static final int KIND_OFFSET = RECORD_COUNT_OFFSET + 4;
    /** Offset of the condition count (format version 2): the number of condition records after the mutexes. */
    public static final int CONDITION_COUNT_OFFSET = KIND_OFFSET + 4;
    /** The same word in format version 1: reserved, zero. */
    public static final int RESERVED_OFFSET = CONDITION_COUNT_OFFSET;
    /** Offset of the boot id (16 bytes: most significant long, then least significant long). */
    public static final int BOOT_ID_OFFSET = CONDITION_COUNT_OFFSET + 4;
    /** Offset of the creator's PID namespace inode. */
    public static final int PID_NAMESPACE_OFFSET = BOOT_ID_OFFSET + 16;
    /** Offset of the random file id. */
    public static final int FILE_ID_OFFSET = PID_NAMESPACE_OFFSET + 8;
    /** Offset of the creation time, milliseconds since the epoch. */
    public static final int CREATED_OFFSET = FILE_ID_OFFSET + 8;
    /** The header size; records start here. */
    public static final int SIZE = 4096;

    /**
     * The largest number of records, mutexes and conditions together, a file may have (the mapping must stay
     * under 2 GiB).
     */
    public static final int MAX_RECORDS = (Integer.MAX_VALUE - SIZE) / MutexRecordDescriptor.SIZE;

    private MutexFileHeaderDescriptor() {
    }

    /**
     * The file size for a number of mutex records, without conditions (format version 1).
     *
     * @param recordCount the number of mutex records
     * @return the size in bytes
     */
    public static long fileSize(long recordCount) {
        return fileSize(recordCount, 0);
    }

    /**
     * The file size for a number of mutex records and of condition records.
     *
     * @param recordCount the number of mutex records
     * @param conditionCount the number of condition records
     * @return the size in bytes
     */
    public static long fileSize(long recordCount, long conditionCount) {
        return SIZE + recordCount * MutexRecordDescriptor.SIZE + conditionCount * ConditionRecordDescriptor.SIZE;
    }

    /**
     * The format version a file with this many condition records is written in.
     *
     * @param conditionCount the number of condition records
     * @return {@link #VERSION_1} without conditions, {@link #VERSION_2} with
     */
    public static int version(int conditionCount) {
        return conditionCount == 0 ? VERSION_1 : VERSION_2;
    }

    /**
     * The offset of record {@code index} in the file.
     *
     * @param index the record index
     * @return the offset
     */
    public static int recordOffset(int index) {
        return SIZE + index * MutexRecordDescriptor.SIZE;
    }

    /**
     * The offset of condition record {@code index} in a file with {@code recordCount} mutex records: the
     * conditions follow the mutexes.
     *
     * @param recordCount the number of mutex records
     * @param index the condition index
     * @return the offset
     */
    public static int conditionOffset(int recordCount, int index) {
        return recordOffset(recordCount) + index * ConditionRecordDescriptor.SIZE;
    }
}
