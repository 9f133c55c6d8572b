package io.robustmutex;

import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.HostIdentity;
import io.robustmutex.internal.LinuxBackend;
import io.robustmutex.internal.MappedFiles;
import io.robustmutex.internal.MappedMemory;
import io.robustmutex.internal.MutexFileHeader;
import io.robustmutex.internal.MutexFileHeaderDescriptor;
import io.robustmutex.internal.MutexRecord;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.internal.OpenFlag;
import io.robustmutex.internal.RobustMutexProtocol;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A file of robust mutexes shared by the processes that open it (design.md section 3): a 4096-byte header
 * followed by 64-byte mutex records. Put it on {@code /dev/shm} for memory speed, or on disk to survive
 * process restarts.
 *
 * <pre>{@code
 * try (MutexFile file = MutexFile.open(Path.of("/dev/shm/orders.mutex"), 4)) {
 *     RobustMutex mutex = file.mutex(0);
 *     try (Acquisition held = mutex.acquire()) {
 *         ...
 *     }
 * }
 * }</pre>
 *
 * <p>Opening creates the file (mode 0600 unless {@link FileAccess#GROUP} is asked for) or validates an
 * existing one. Creation happens under a short {@link FileChannel#lock} on the header, and the header's
 * magic is written last, so processes creating the same file at once end with one valid file and a file
 * whose creator died part way is recognized and never trusted. A file that is not a complete mutex file of
 * format version 1 is refused with a {@link MutexFileFormatException} naming what was found, and is not
 * modified. A file created in another PID namespace is refused, whatever its kind: the kernel releases a dead
 * thread's locks by comparing TIDs numbered per namespace, so sharing across namespaces can give a lock two
 * owners (kernel-abi.md section 5); processes that share a file must share a PID namespace. A file last
 * initialized in an earlier boot carries meaningless TIDs: its held lock words are reset on open and reported
 * to their next acquirer as owner deaths.
 *
 * <p>{@link #close()} marks this handle closed; later operations through it throw
 * {@link IllegalStateException}. The memory is unmapped only when nothing references it any more, so no
 * thread of the JVM can ever have the kernel write into memory that was unmapped under it.
 *
 * <p>Every process that can write the file is trusted: it writes list pointers the kernel follows when our
 * threads exit, as with glibc's process-shared robust mutexes. In particular, a file must not be truncated
 * while mapped: the next access to a vanished page raises SIGBUS, which HotSpot turns into an
 * {@link InternalError} in compiled code but not in an interpreted atomic operation, where it ends the JVM.
 */
public final class MutexFile implements AutoCloseable {

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path path;
    private final MappedMemory memory;
    private final MutexFileHeader header;
    private final RobustMutexProtocol protocol;
    private final OpenFlag open;
    private final long pidNamespace;
    private final int wordsReset;
    private final AtomicReferenceArray<RobustMutex> mutexes;

    private MutexFile(Path path, MappedMemory memory, MutexFileHeader header, RobustMutexProtocol protocol,
            long pidNamespace, int wordsReset) {
        this.path = path;
        this.memory = memory;
        this.header = header;
        this.protocol = protocol;
        this.open = new OpenFlag(path.toString());
        this.pidNamespace = pidNamespace;
        this.wordsReset = wordsReset;
        this.mutexes = new AtomicReferenceArray<>(header.recordCount());
    }

    /**
     * Opens the file, creating it with {@code mutexCount} {@link MutexKind#PI} mutexes if it does not exist.
     *
     * @param path the file
     * @param mutexCount the number of mutexes; an existing file must have exactly this many
     * @return the open file
     * @throws IOException when the file cannot be created, read or mapped
     * @throws MutexFileFormatException when an existing file is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     * @throws IllegalArgumentException when the count is out of range or differs from an existing file's
     * @throws UnsupportedOperationException when robust mutexes cannot work in this JVM
     *     ({@link KernelSupport#unavailabilityCause()})
     */
    public static MutexFile open(Path path, int mutexCount) throws IOException {
        return open(path, mutexCount, MutexKind.PI, FileAccess.OWNER);
    }

    /**
     * Opens the file, creating it with {@code mutexCount} mutexes of the given kind if it does not exist.
     *
     * @param path the file
     * @param mutexCount the number of mutexes; an existing file must have exactly this many
     * @param kind the kind of the mutexes of a new file (an existing file keeps its own)
     * @return the open file
     * @throws IOException when the file cannot be created, read or mapped
     * @throws MutexFileFormatException when an existing file is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     */
    public static MutexFile open(Path path, int mutexCount, MutexKind kind) throws IOException {
        return open(path, mutexCount, kind, FileAccess.OWNER);
    }

    /**
     * Opens the file, creating it with {@code mutexCount} mutexes of the given kind and the given access if
     * it does not exist.
     *
     * @param path the file
     * @param mutexCount the number of mutexes; an existing file must have exactly this many
     * @param kind the kind of the mutexes of a new file (an existing file keeps its own)
     * @param access the permissions of a new file
     * @return the open file
     * @throws IOException when the file cannot be created, read or mapped
     * @throws MutexFileFormatException when an existing file is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     */
    public static MutexFile open(Path path, int mutexCount, MutexKind kind, FileAccess access) throws IOException {
        if (mutexCount < 1 || mutexCount > MutexFileHeaderDescriptor.MAX_RECORDS) {
            throw new IllegalArgumentException("mutexCount=" + mutexCount + " (expected 1.."
                    + MutexFileHeaderDescriptor.MAX_RECORDS + ")");
        }
        return openOrCreate(path, mutexCount, Objects.requireNonNull(kind, "kind"),
                Objects.requireNonNull(access, "access"));
    }

    /**
     * Opens an existing mutex file, with however many mutexes it has.
     *
     * @param path the file
     * @return the open file
     * @throws java.nio.file.NoSuchFileException when it does not exist
     * @throws MutexFileFormatException when it is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     */
    public static MutexFile openExisting(Path path) throws IOException {
        return openOrCreate(path, -1, null, FileAccess.OWNER);
    }

    private static MutexFile openOrCreate(Path path, int requestedCount, MutexKind kind, FileAccess access)
            throws IOException {
        Objects.requireNonNull(path, "path");
        RobustMutexProtocol protocol = LinuxBackend.protocol();
        UUID bootId = HostIdentity.bootId();
        long pidNamespace = HostIdentity.pidNamespace();
        synchronized (MappedFiles.FILE_LOCKS) {
            try (FileChannel channel = MappedFiles.open(path, requestedCount > 0, access)) {
                FileLock headerLock = channel.lock(0, MutexFileHeaderDescriptor.SIZE, false);
                try {
                    return openLocked(path, channel, requestedCount, kind, access, bootId, pidNamespace, protocol);
                } finally {
                    headerLock.release();
                }
            }
        }
    }

    /** Creates or validates the file and maps it; called with the header's file lock held. */
    private static MutexFile openLocked(Path path, FileChannel channel, int requestedCount, MutexKind kind,
            FileAccess access, UUID bootId, long pidNamespace, RobustMutexProtocol protocol) throws IOException {
        long size = channel.size();
        MutexFileHeader header;
        if (size == 0) {
            if (requestedCount < 0) {
                throw new MutexFileFormatException(path, "size=0: empty, not a mutex file");
            }
            header = create(channel, requestedCount, kind, bootId, pidNamespace);
            // The mode given at creation is narrowed by the umask; set the one asked for.
            Files.setPosixFilePermissions(path, access.permissions());
        } else {
            header = MutexFileHeader.validate(path, readHeader(channel), size);
            if (header.pidNamespace() != pidNamespace) {
                throw new IllegalStateException(HostIdentity.foreignPidNamespace(path.toString(),
                        header.pidNamespace(), pidNamespace));
            }
            if (requestedCount > 0 && header.recordCount() != requestedCount) {
                throw new IllegalArgumentException(path + " has " + header.recordCount()
                        + " mutexes; asked for " + requestedCount + " (use MutexFile.openExisting to open"
                        + " it with its own count)");
            }
        }
        MappedMemory memory = MappedFiles.map(path, channel,
                (int) MutexFileHeaderDescriptor.fileSize(header.recordCount()));
        header.validateRecords(path, memory);
        int reset = 0;
        if (!header.bootId().equals(bootId)) {
            reset = resetStaleWords(memory, header.recordCount());
            ByteBuffer id = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
            MutexFileHeader.putBootId(id, 0, bootId);
            channel.write(id, MutexFileHeaderDescriptor.BOOT_ID_OFFSET);
            channel.force(true);
        }
        return new MutexFile(path, memory, header, protocol, pidNamespace, reset);
    }

    /**
     * Reads a mutex file without opening it for use: no lock is taken, no mapping is made, nothing is
     * written, and the kernel support is not needed. Every field of every record is reported as found.
     *
     * @param path the file
     * @return the report
     * @throws java.nio.file.NoSuchFileException when it does not exist
     * @throws MutexFileFormatException when it is not a valid mutex file
     * @throws IOException when it cannot be read
     */
    public static MutexFileReport inspect(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        try (FileChannel channel = MappedFiles.openReadOnly(path)) {
            long size = channel.size();
            MutexFileHeader header = MutexFileHeader.validate(path, readHeader(channel), size);
            ByteBuffer records = ByteBuffer.allocate(header.recordCount() * MutexRecordDescriptor.SIZE)
                    .order(ByteOrder.LITTLE_ENDIAN);
            while (records.hasRemaining()
                    && channel.read(records, MutexFileHeaderDescriptor.SIZE + records.position()) > 0) {
                // read until full
            }
            List<MutexSnapshot> snapshots = new ArrayList<>();
            for (int i = 0; i < header.recordCount(); i++) {
                try {
                    snapshots.add(MutexSnapshot.decode(records.duplicate().position(i * MutexRecordDescriptor.SIZE)));
                } catch (IllegalStateException e) {
                    throw new MutexFileFormatException(path, "record " + i + ": " + e.getMessage());
                }
            }
            boolean currentBoot = header.bootId().equals(HostIdentity.bootId());
            boolean sameNamespace = header.pidNamespace() == HostIdentity.pidNamespace();
            return new MutexFileReport(path, header.kind(), Instant.ofEpochMilli(header.createdMillis()),
                    header.bootId(), currentBoot, header.pidNamespace(), sameNamespace, snapshots);
        }
    }

    private static ByteBuffer readHeader(FileChannel channel) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(MutexFileHeaderDescriptor.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        while (header.hasRemaining() && channel.read(header, header.position()) > 0) {
            // read until full or end of file
        }
        return header.clear();
    }

    /** Writes a new file: records first, then the header, then (after both are forced) the magic. */
    private static MutexFileHeader create(FileChannel channel, int count, MutexKind kind, UUID bootId,
            long pidNamespace) throws IOException {
        long fileId;
        do {
            fileId = RANDOM.nextLong();
        } while (fileId == 0);
        MutexFileHeader header = new MutexFileHeader(count, kind, bootId, pidNamespace, fileId,
                System.currentTimeMillis());
        ByteBuffer records = ByteBuffer.allocate(count * MutexRecordDescriptor.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < count; i++) {
            records.putInt(i * MutexRecordDescriptor.SIZE + MutexRecordDescriptor.KIND_OFFSET,
                    MutexRecord.kindWord(kind));
        }
        writeFully(channel, records, MutexFileHeaderDescriptor.SIZE);
        writeFully(channel, header.encodeWithoutMagic(), 0);
        channel.force(true);
        writeFully(channel, ByteBuffer.wrap(MutexFileHeaderDescriptor.MAGIC), MutexFileHeaderDescriptor.MAGIC_OFFSET);
        channel.force(true);
        return header;
    }

    private static void writeFully(FileChannel channel, ByteBuffer data, long position) throws IOException {
        long at = position;
        while (data.hasRemaining()) {
            at += channel.write(data, at);
        }
    }

    /**
     * Resets lock words written during an earlier boot: their TIDs name nothing now. A held word becomes
     * OWNER_DIED with no TID (so its next acquirer learns of the death) and its state INCONSISTENT; no
     * waiter survives a reboot, so WAITERS is dropped; list pointers and owner pids are cleared.
     */
    private static int resetStaleWords(MappedMemory memory, int count) {
        int reset = 0;
        for (int i = 0; i < count; i++) {
            int base = MutexFileHeaderDescriptor.recordOffset(i);
            int word = memory.getIntVolatile(base + MutexRecordDescriptor.FUTEX_WORD_OFFSET);
            boolean held = FutexWord.owner(word) != 0;
            if (held || word != FutexWord.FREE) {
                memory.putIntVolatile(base + MutexRecordDescriptor.FUTEX_WORD_OFFSET,
                        held || FutexWord.ownerDied(word) ? FutexWord.OWNER_DIED : FutexWord.FREE);
                reset++;
            }
            if (held && memory.getIntVolatile(base + MutexRecordDescriptor.STATE_OFFSET)
                    == MutexRecordDescriptor.STATE_CONSISTENT) {
                memory.putIntVolatile(base + MutexRecordDescriptor.STATE_OFFSET,
                        MutexRecordDescriptor.STATE_INCONSISTENT);
            }
            memory.putLongPlain(base + MutexRecordDescriptor.LIST_PREV_OFFSET, 0);
            memory.putLongPlain(base + MutexRecordDescriptor.LIST_NEXT_OFFSET, 0);
            memory.putIntVolatile(base + MutexRecordDescriptor.OWNER_PID_OFFSET, 0);
        }
        return reset;
    }

    /**
     * The mutex at an index.
     *
     * @param index 0 to {@link #mutexCount()} - 1
     * @return the mutex (the same object for the same index of this handle)
     * @throws IllegalArgumentException when the index is out of range
     * @throws IllegalStateException when this handle is closed
     */
    public RobustMutex mutex(int index) {
        open.ensureOpen();
        if (index < 0 || index >= header.recordCount()) {
            throw new IllegalArgumentException("index=" + index + " is out of range: " + path + " has "
                    + header.recordCount() + " mutexes");
        }
        RobustMutex mutex = mutexes.get(index);
        if (mutex != null) {
            return mutex;
        }
        int offset = MutexFileHeaderDescriptor.recordOffset(index);
        MutexKind kind = MutexRecord.decodeKind(memory.getIntVolatile(offset + MutexRecordDescriptor.KIND_OFFSET));
        if (kind == null) {
            throw new IllegalStateException(path + ": record " + index + " was overwritten with a bad kind word");
        }
        RobustMutex created = new RobustMutex(new MutexRecord(memory, offset, kind), protocol, open,
                path + "[" + index + "]");
        return mutexes.compareAndSet(index, null, created) ? created : mutexes.get(index);
    }

    /**
     * The number of mutexes in the file.
     *
     * @return the count
     */
    public int mutexCount() {
        return header.recordCount();
    }

    /**
     * The file.
     *
     * @return the path
     */
    public Path path() {
        return path;
    }

    /**
     * The kind the file's mutexes were created with.
     *
     * @return PI or NORMAL
     */
    public MutexKind kind() {
        return header.kind();
    }

    /**
     * How many lock words this open reset because they were written during an earlier boot.
     *
     * @return 0 unless the file was last initialized before the last reboot
     */
    public int wordsResetAfterReboot() {
        return wordsReset;
    }

    /**
     * Closes this handle. Mutexes obtained from it throw {@link IllegalStateException} afterwards.
     *
     * @throws IllegalStateException when a thread of this JVM holds one of the file's mutexes
     */
    @Override
    public synchronized void close() {
        open.closeUnlessHeld(memory);
    }

    @Override
    public String toString() {
        return "MutexFile[" + path + ", " + header.recordCount() + " " + header.kind() + " mutexes"
                + (open.isClosed() ? ", closed" : "") + "]";
    }
}
