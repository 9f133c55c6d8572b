package io.robustmutex.internal;

import java.nio.charset.StandardCharsets;

/**
 * The header of a mutex file, format version 1 (design.md section 3): 4096 bytes, then the records.
 *
 * <pre>
 *   0              8        12       16       20       24       28       32
 *  +--------------+--------+--------+--------+--------+--------+--------+
 *  | magic        |version |header  |record  |record  |kind at |reserved|
 *  | "RBSTMTX\0"  |   1    |size    |size 64 |count   |creation|   0    |
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
 */
public final class MutexFileHeaderDescriptor {

    /** The magic bytes. */
    public static final byte[] MAGIC = "RBSTMTX\0".getBytes(StandardCharsets.US_ASCII);
    /** The format version this library writes and reads. */
    public static final int FORMAT_VERSION = 1;

    /** Offset of the magic (8 bytes). */
    public static final int MAGIC_OFFSET = 0;
    /** Offset of the format version. */
    public static final int VERSION_OFFSET = MAGIC_OFFSET + 8;
    /** Offset of the header size. */
    public static final int HEADER_SIZE_OFFSET = VERSION_OFFSET + 4;
    /** Offset of the record size. */
    public static final int RECORD_SIZE_OFFSET = HEADER_SIZE_OFFSET + 4;
    /** Offset of the record count. */
    public static final int RECORD_COUNT_OFFSET = RECORD_SIZE_OFFSET + 4;
    /** Offset of the kind the records were created with. */
    public static final int KIND_OFFSET = RECORD_COUNT_OFFSET + 4;
    /** Offset of a reserved word (zero). */
    public static final int RESERVED_OFFSET = KIND_OFFSET + 4;
    /** Offset of the boot id (16 bytes: most significant long, then least significant long). */
    public static final int BOOT_ID_OFFSET = RESERVED_OFFSET + 4;
    /** Offset of the creator's PID namespace inode. */
    public static final int PID_NAMESPACE_OFFSET = BOOT_ID_OFFSET + 16;
    /** Offset of the random file id. */
    public static final int FILE_ID_OFFSET = PID_NAMESPACE_OFFSET + 8;
    /** Offset of the creation time, milliseconds since the epoch. */
    public static final int CREATED_OFFSET = FILE_ID_OFFSET + 8;
    /** The header size; records start here. */
    public static final int SIZE = 4096;

    /** The largest record count a file may have (the mapping must stay under 2 GiB). */
    public static final int MAX_RECORDS = (Integer.MAX_VALUE - SIZE) / MutexRecordDescriptor.SIZE;

    private MutexFileHeaderDescriptor() {
    }

    /**
     * The file size for a number of records.
     *
     * @param recordCount the number of records
     * @return the size in bytes
     */
    public static long fileSize(long recordCount) {
        return SIZE + recordCount * MutexRecordDescriptor.SIZE;
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
}
