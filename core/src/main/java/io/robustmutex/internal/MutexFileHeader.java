package io.robustmutex.internal;

import io.robustmutex.MutexFileFormatException;
import io.robustmutex.MutexKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.UUID;

/**
 * A validated mutex-file header ({@link MutexFileHeaderDescriptor}), and the checks that decide whether a
 * file may be trusted. Validation only reads.
 *
 * @param recordCount the number of mutex records
 * @param conditionCount the number of condition records: 0 in format version 1, at least 1 in version 2
 * @param kind the kind the records were created with
 * @param bootId the boot id of the boot that last initialized the lock words
 * @param pidNamespace the creator's PID namespace
 * @param fileId the random id drawn at creation
 * @param createdMillis the creation time
 */
public record MutexFileHeader(int recordCount, int conditionCount, MutexKind kind, UUID bootId, long pidNamespace,
        long fileId, long createdMillis) {

    /**
     * The format version of the file: 1 without conditions, 2 with.
     *
     * @return {@link MutexFileHeaderDescriptor#VERSION_1} or {@link MutexFileHeaderDescriptor#VERSION_2}
     */
    public int version() {
        return MutexFileHeaderDescriptor.version(conditionCount);
    }

    /**
     * The size of the file: the header, the mutex records and the condition records.
     *
     * @return the size in bytes
     */
    public long fileSize() {
        return MutexFileHeaderDescriptor.fileSize(recordCount, conditionCount);
    }

    /**
     * Builds the header bytes of a new file, without the magic (written last, separately).
     *
     * @return a 4096-byte little-endian buffer
     */
    public ByteBuffer encodeWithoutMagic() {
        ByteBuffer header = ByteBuffer.allocate(MutexFileHeaderDescriptor.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(MutexFileHeaderDescriptor.VERSION_OFFSET, version());
        header.putInt(MutexFileHeaderDescriptor.HEADER_SIZE_OFFSET, MutexFileHeaderDescriptor.SIZE);
        header.putInt(MutexFileHeaderDescriptor.RECORD_SIZE_OFFSET, MutexRecordDescriptor.SIZE);
        header.putInt(MutexFileHeaderDescriptor.RECORD_COUNT_OFFSET, recordCount);
        header.putInt(MutexFileHeaderDescriptor.KIND_OFFSET, MutexRecord.kindWord(kind));
        // Zero, the reserved word of version 1, when there are no conditions.
        header.putInt(MutexFileHeaderDescriptor.CONDITION_COUNT_OFFSET, conditionCount);
        putBootId(header, MutexFileHeaderDescriptor.BOOT_ID_OFFSET, bootId);
        header.putLong(MutexFileHeaderDescriptor.PID_NAMESPACE_OFFSET, pidNamespace);
        header.putLong(MutexFileHeaderDescriptor.FILE_ID_OFFSET, fileId);
        header.putLong(MutexFileHeaderDescriptor.CREATED_OFFSET, createdMillis);
        return header;
    }

    /**
     * Builds the complete header bytes of a new file, magic included.
     *
     * @return a 4096-byte little-endian buffer
     */
    public ByteBuffer encode() {
        ByteBuffer header = encodeWithoutMagic();
        header.put(MutexFileHeaderDescriptor.MAGIC_OFFSET, MutexFileHeaderDescriptor.MAGIC);
        return header;
    }

    /**
     * Writes a boot id in its header layout.
     *
     * @param buffer a little-endian buffer
     * @param at where the 16 bytes go in the buffer
     * @param bootId the boot id
     */
    public static void putBootId(ByteBuffer buffer, int at, UUID bootId) {
        buffer.putLong(at, bootId.getMostSignificantBits());
        buffer.putLong(at + 8, bootId.getLeastSignificantBits());
    }

    /**
     * Validates a header read from a file.
     *
     * @param path the file, for messages
     * @param header the first 4096 bytes (or fewer when the file is shorter)
     * @param fileSize the file's size
     * @return the header
     * @throws MutexFileFormatException naming the field and the value when the file is not a complete
     *     mutex file of format version 1 or 2
     */
    public static MutexFileHeader validate(Path path, ByteBuffer header, long fileSize)
            throws MutexFileFormatException {
        ByteBuffer h = header.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (fileSize < MutexFileHeaderDescriptor.SIZE) {
            throw new MutexFileFormatException(path, "size=" + fileSize + " is smaller than the "
                    + MutexFileHeaderDescriptor.SIZE + "-byte mutex-file header (truncated, or not a mutex file)");
        }
        byte[] magic = new byte[MutexFileHeaderDescriptor.MAGIC.length];
        h.get(MutexFileHeaderDescriptor.MAGIC_OFFSET, magic);
        if (java.util.Arrays.equals(magic, new byte[magic.length])) {
            throw new MutexFileFormatException(path, "magic is missing: it is not a mutex file (a mutex file"
                    + " appears under its name only once complete, magic included). It may hold another"
                    + " program's data: it is left as it is and never used");
        }
        if (!java.util.Arrays.equals(magic, MutexFileHeaderDescriptor.MAGIC)) {
            throw new MutexFileFormatException(path, "magic=" + printable(magic)
                    + " (expected \"RBSTMTX\\0\"): not a robust-mutex file");
        }
        int version = h.getInt(MutexFileHeaderDescriptor.VERSION_OFFSET);
        if (version != MutexFileHeaderDescriptor.VERSION_1 && version != MutexFileHeaderDescriptor.VERSION_2) {
            throw new MutexFileFormatException(path, "format version=" + version + " (this library reads versions "
                    + MutexFileHeaderDescriptor.VERSION_1 + " and " + MutexFileHeaderDescriptor.VERSION_2 + ")");
        }
        int headerSize = h.getInt(MutexFileHeaderDescriptor.HEADER_SIZE_OFFSET);
        if (headerSize != MutexFileHeaderDescriptor.SIZE) {
            throw new MutexFileFormatException(path, "header size=" + headerSize + " (expected "
                    + MutexFileHeaderDescriptor.SIZE + ")");
        }
        int recordSize = h.getInt(MutexFileHeaderDescriptor.RECORD_SIZE_OFFSET);
        if (recordSize != MutexRecordDescriptor.SIZE) {
            throw new MutexFileFormatException(path, "record size=" + recordSize + " (expected "
                    + MutexRecordDescriptor.SIZE + ")");
        }
        int count = h.getInt(MutexFileHeaderDescriptor.RECORD_COUNT_OFFSET);
        if (count <= 0 || count > MutexFileHeaderDescriptor.MAX_RECORDS) {
            throw new MutexFileFormatException(path, "record count=" + count + " (expected 1.."
                    + MutexFileHeaderDescriptor.MAX_RECORDS + ")");
        }
        int conditions = 0;
        if (version == MutexFileHeaderDescriptor.VERSION_2) {
            conditions = h.getInt(MutexFileHeaderDescriptor.CONDITION_COUNT_OFFSET);
            // The mapping must stay under 2 GiB: mutexes and conditions together at most MAX_RECORDS.
            int maxConditions = MutexFileHeaderDescriptor.MAX_RECORDS - count;
            if (conditions <= 0 || conditions > maxConditions) {
                throw new MutexFileFormatException(path, "condition count=" + conditions + " at offset "
                        + MutexFileHeaderDescriptor.CONDITION_COUNT_OFFSET + " (a format version 2 file has 1.."
                        + maxConditions + " conditions next to its " + count + " mutexes: at most "
                        + MutexFileHeaderDescriptor.MAX_RECORDS + " records in all)");
            }
        }
        long expectedSize = MutexFileHeaderDescriptor.fileSize(count, conditions);
        if (fileSize != expectedSize) {
            throw new MutexFileFormatException(path, "size=" + fileSize + ", but " + count + " records"
                    + (conditions == 0 ? "" : " and " + conditions + " condition records") + " need "
                    + expectedSize + " bytes (" + (fileSize < expectedSize ? "truncated" : "trailing bytes") + ")");
        }
        int kindWord = h.getInt(MutexFileHeaderDescriptor.KIND_OFFSET);
        MutexKind kind = MutexRecord.decodeKind(kindWord);
        if (kind == null) {
            throw new MutexFileFormatException(path, String.format("header kind=0x%08x is not PI or NORMAL", kindWord));
        }
        int reserved = h.getInt(MutexFileHeaderDescriptor.RESERVED_OFFSET);
        if (version == MutexFileHeaderDescriptor.VERSION_1 && reserved != 0) {
            throw new MutexFileFormatException(path, String.format("header reserved word at offset %d=0x%08x"
                    + " (expected 0 in a format version 1 file; version 2 keeps its condition count there)",
                    MutexFileHeaderDescriptor.RESERVED_OFFSET, reserved));
        }
        UUID bootId = new UUID(h.getLong(MutexFileHeaderDescriptor.BOOT_ID_OFFSET),
                h.getLong(MutexFileHeaderDescriptor.BOOT_ID_OFFSET + 8));
        long pidNamespace = h.getLong(MutexFileHeaderDescriptor.PID_NAMESPACE_OFFSET);
        if (pidNamespace <= 0 || pidNamespace > 0xffff_ffffL) {
            throw new MutexFileFormatException(path, "creator PID namespace=" + pidNamespace + " (expected the inode"
                    + " number of a PID namespace, 1..4294967295)");
        }
        long fileId = h.getLong(MutexFileHeaderDescriptor.FILE_ID_OFFSET);
        if (fileId == 0) {
            throw new MutexFileFormatException(path, "file id=0 (a file is created with a random non-zero id)");
        }
        long created = h.getLong(MutexFileHeaderDescriptor.CREATED_OFFSET);
        if (created <= 0) {
            throw new MutexFileFormatException(path, "creation time=" + created + " ms (expected after 1970)");
        }
        for (int at = MutexFileHeaderDescriptor.CREATED_OFFSET + 8; at < MutexFileHeaderDescriptor.SIZE; at += 8) {
            long tail = h.getLong(at);
            if (tail != 0) {
                throw new MutexFileFormatException(path, String.format("header byte %d..%d=0x%016x (the header's"
                        + " tail must be zero)", at, at + 7, tail));
            }
        }
        return new MutexFileHeader(count, conditions, kind, bootId, pidNamespace, fileId, created);
    }

    /**
     * Validates every mutex record's kind word and reserved bytes, and every condition record's kind word,
     * reading only.
     *
     * @param path the file, for messages
     * @param memory the mapped file
     * @throws MutexFileFormatException naming the record, the field and the value
     */
    public void validateRecords(Path path, AtomicMemory memory) throws MutexFileFormatException {
        for (int i = 0; i < recordCount; i++) {
            int offset = MutexFileHeaderDescriptor.recordOffset(i);
            int kindWord = memory.getIntVolatile(offset + MutexRecordDescriptor.KIND_OFFSET);
            MutexKind recordKind = MutexRecord.decodeKind(kindWord);
            if (recordKind == null) {
                throw new MutexFileFormatException(path, String.format("record %d (offset %d): kind word=0x%08x is"
                        + " not that of an initialized PI or NORMAL record (half-initialized or corrupt file)",
                        i, offset, kindWord));
            }
            if (recordKind != kind) {
                throw new MutexFileFormatException(path, "record " + i + " (offset " + offset + "): kind=" + recordKind
                        + ", but the header says the file's mutexes are " + kind);
            }
            long reservedLink = memory.getLongVolatile(offset + MutexRecordDescriptor.RESERVED_LINK_OFFSET);
            long tail = memory.getLongVolatile(offset + MutexRecordDescriptor.PID_NAMESPACE_OFFSET);
            if (reservedLink != 0 || tail != 0) {
                throw new MutexFileFormatException(path, String.format("record %d (offset %d): reserved bytes 16..23"
                        + "=0x%016x, 56..63=0x%016x (expected 0 in a mutex file)", i, offset, reservedLink, tail));
            }
            // A state the library never writes is not refused here: it is damage that an acquisition reports
            // (MutexDamagedException) and reinitialize() repairs; refusing the file would leave no way to repair.
        }
        for (int i = 0; i < conditionCount; i++) {
            int offset = MutexFileHeaderDescriptor.conditionOffset(recordCount, i);
            checkConditionKind(path, i, offset, memory.getIntVolatile(offset + ConditionRecordDescriptor.KIND_OFFSET));
        }
        // The sequence and the waiters hint of a condition may hold any value: no value of either is damage.
    }

    /**
     * Checks the kind word of a condition record of the file.
     *
     * @param path the file, for messages
     * @param index the condition's index
     * @param offset the record's offset in the file
     * @param kindWord the kind word read there
     * @throws MutexFileFormatException naming the condition, its offset and the word, unless it is
     *     {@link ConditionRecordDescriptor#KIND_WORD}
     */
    public static void checkConditionKind(Path path, int index, int offset, int kindWord)
            throws MutexFileFormatException {
        if (kindWord != ConditionRecordDescriptor.KIND_WORD) {
            throw new MutexFileFormatException(path, String.format("condition %d (offset %d): kind word=0x%08x is not"
                    + " that of an initialized condition record (0x%08x)%s", index, offset, kindWord,
                    ConditionRecordDescriptor.KIND_WORD, MutexRecord.decodeKind(kindWord) != null
                            ? ": a mutex record is there" : " (half-initialized or corrupt file)"));
        }
    }

    private static String printable(byte[] bytes) {
        StringBuilder text = new StringBuilder("\"");
        for (byte b : bytes) {
            if (b >= 0x20 && b < 0x7f) {
                text.append((char) b);
            } else {
                text.append(String.format("\\x%02x", b & 0xff));
            }
        }
        return text.append('"').toString();
    }
}
