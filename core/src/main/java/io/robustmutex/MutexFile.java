package io.robustmutex;

import io.robustmutex.internal.ConditionProtocol;
import io.robustmutex.internal.ConditionRecord;
import io.robustmutex.internal.ConditionRecordDescriptor;
import io.robustmutex.internal.Errno;
import io.robustmutex.internal.FileStatus;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.HostIdentity;
import io.robustmutex.internal.LinuxBackend;
import io.robustmutex.internal.LinuxFile;
import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.internal.LinuxSyscalls;
import io.robustmutex.internal.MappedMemory;
import io.robustmutex.internal.MappedRegion;
import io.robustmutex.internal.MutexFileHeader;
import io.robustmutex.internal.MutexFileHeaderDescriptor;
import io.robustmutex.internal.MutexRecord;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.internal.NativeMemory;
import io.robustmutex.internal.OpenFlag;
import io.robustmutex.internal.RobustMutexProtocol;
import io.robustmutex.internal.TrustedFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A file of robust mutexes shared by the processes that open it (design.md section 3): a 4096-byte header
 * followed by 64-byte mutex records and, when it was created with conditions, 64-byte condition records
 * ({@link #condition(int, RobustMutex)}). Put it on {@code /dev/shm} for memory speed, or on disk to survive
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
 * <h2>Creation</h2>
 * Opening creates the file when it does not exist, completely, under a temporary name in the same directory
 * that it then gives the file's name with {@code link(2)}, which never replaces anything: the file appears
 * under its name only whole, a creator that fails or is killed part way leaves nothing that blocks the next
 * open, and processes creating the same file at once end with one file. {@link #openExisting} meanwhile
 * waits (up to ten seconds) while another live process is creating the file, instead of failing. The mode is
 * {@code rw-------}, or {@code rw-rw----} with {@link FileAccess#GROUP}, set through the descriptor whatever
 * the umask.
 *
 * <h2>Trust</h2>
 * The library never follows a symbolic link to a mutex file, and checks the open descriptor: a regular file,
 * owned by this process's effective user ({@link FileAccess#OWNER}) or belonging to one of its groups
 * ({@link FileAccess#GROUP}), with no permission broader than the access asked for. Anything else is refused
 * with an {@link UntrustedFileException} naming the file, its owner and its mode, before a byte is written.
 * Every process that can write the file remains trusted: it writes list pointers the kernel follows when
 * threads of every process using it exit, and since a thread has one robust list, a hostile writer of one
 * file can keep the kernel from releasing that thread's mutexes in other files too (the next contender for
 * such a mutex then finds its owner gone and takes it over, reporting the death). Keep shared files in a
 * directory with the sticky bit, such as {@code /dev/shm}, and sensitive ones in a directory only their users
 * can write.
 *
 * <h2>Validation</h2>
 * A file that is not a complete mutex file of format version 1 (mutexes only) or 2 (mutexes and conditions) is
 * refused with a {@link MutexFileFormatException} naming what was found, and is not modified. A file created
 * without conditions is written in version 1, which libraries that know no conditions read too. A file created
 * in another PID namespace is refused, whatever its kind: the kernel releases a dead thread's locks by comparing
 * TIDs numbered per namespace, so sharing across namespaces can give a lock two owners (kernel-abi.md section 5);
 * processes that share a file must share a PID namespace. A file last initialized in an earlier boot carries
 * meaningless TIDs: on open its held lock words are reset and reported to their next acquirer as owner deaths,
 * unless another handle of this boot has the file open (every handle marks it in use with an
 * open-file-description lock on its last possible byte, kept until its mapping is unmapped): then the boot id
 * was rewritten while the file is in use, and nothing is reset.
 *
 * <h2>Closing and deleting</h2>
 * {@link #close()} marks this handle closed; later operations through it throw {@link IllegalStateException}.
 * When the last handle of the file in this JVM is closed, the file is unmapped as soon as no thread of the
 * JVM holds one of its mutexes or has one in its robust-list pending slot, usually at once. Deleting the file
 * while processes use it splits them: a process that opens the path afterwards creates a new file there and
 * takes its mutexes at once, while a holder of the old one still holds it. Delete a mutex file only when no
 * process uses it; {@link #isUnlinked()} tells a user of the file that it happened, and
 * {@code robust-mutex.jar inspect} lists the processes that still map a deleted file of that name. A file must
 * not be truncated while mapped either: the next access to a vanished page raises SIGBUS.
 */
public final class MutexFile implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(MutexFile.class.getName());
    /** How long {@link #openExisting} waits for another process that is creating the file. */
    private static final long CREATION_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final String CREATING = ".creating.";
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path path;
    private final MappedRegion region;
    private final MutexFileHeader header;
    private final RobustMutexProtocol protocol;
    private final ConditionProtocol conditionProtocol;
    private final OpenFlag open;
    private final int wordsReset;
    private final AtomicReferenceArray<RobustMutex> mutexes;

    private MutexFile(Path path, MappedRegion region, MutexFileHeader header, RobustMutexProtocol protocol,
            int wordsReset) {
        this.path = path;
        this.region = region;
        this.header = header;
        this.protocol = protocol;
        this.conditionProtocol = new ConditionProtocol(protocol);
        this.open = new OpenFlag(path.toString());
        this.wordsReset = wordsReset;
        this.mutexes = new AtomicReferenceArray<>(header.recordCount());
    }

    /**
     * Opens the file, creating it with {@code mutexCount} {@link MutexKind#PI} mutexes and no conditions if it does
     * not exist.
     *
     * @param path the file
     * @param mutexCount the number of mutexes; an existing file must have exactly this many, and no conditions
     * @return the open file
     * @throws IOException when the file cannot be created, read or mapped; the message names it
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
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
     * Opens the file, creating it with {@code mutexCount} mutexes of the given kind and no conditions if it does
     * not exist.
     *
     * @param path the file
     * @param mutexCount the number of mutexes; an existing file must have exactly this many, and no conditions
     * @param kind the kind of the mutexes of a new file (an existing file keeps its own)
     * @return the open file
     * @throws IOException when the file cannot be created, read or mapped; the message names it
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
     * @throws MutexFileFormatException when an existing file is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     */
    public static MutexFile open(Path path, int mutexCount, MutexKind kind) throws IOException {
        return open(path, mutexCount, kind, FileAccess.OWNER);
    }

    /**
     * Opens the file, creating it with {@code mutexCount} mutexes of the given kind, no conditions and the given
     * access if it does not exist; an existing file must be exactly as private as {@code access} says.
     *
     * @param path the file
     * @param mutexCount the number of mutexes; an existing file must have exactly this many, and no conditions
     * @param kind the kind of the mutexes of a new file (an existing file keeps its own)
     * @param access who may use the file
     * @return the open file
     * @throws IOException when the file cannot be created, read or mapped; the message names it
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
     * @throws MutexFileFormatException when an existing file is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     */
    public static MutexFile open(Path path, int mutexCount, MutexKind kind, FileAccess access) throws IOException {
        return open(path, mutexCount, 0, kind, access);
    }

    /**
     * Opens the file, creating it with {@code mutexCount} mutexes of the given kind and {@code conditionCount}
     * conditions if it does not exist.
     *
     * @param path the file
     * @param mutexCount the number of mutexes; an existing file must have exactly this many
     * @param conditionCount the number of conditions, 0 or more; an existing file must have exactly this many
     * @param kind the kind of the mutexes of a new file (an existing file keeps its own)
     * @return the open file
     * @throws IOException when the file cannot be created, read or mapped; the message names it
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
     * @throws MutexFileFormatException when an existing file is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     * @throws IllegalArgumentException when a count is out of range or differs from an existing file's
     */
    public static MutexFile open(Path path, int mutexCount, int conditionCount, MutexKind kind) throws IOException {
        return open(path, mutexCount, conditionCount, kind, FileAccess.OWNER);
    }

    /**
     * Opens the file, creating it with {@code mutexCount} mutexes of the given kind, {@code conditionCount}
     * conditions and the given access if it does not exist; an existing file must be exactly as private as
     * {@code access} says. A file created with conditions is written in format version 2, which libraries that
     * know no conditions refuse; one created without them in version 1.
     *
     * @param path the file
     * @param mutexCount the number of mutexes; an existing file must have exactly this many
     * @param conditionCount the number of conditions, 0 or more; an existing file must have exactly this many
     * @param kind the kind of the mutexes of a new file (an existing file keeps its own)
     * @param access who may use the file
     * @return the open file
     * @throws IOException when the file cannot be created, read or mapped; the message names it
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
     * @throws MutexFileFormatException when an existing file is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     * @throws IllegalArgumentException when a count is out of range (mutexes and conditions together at most
     *     33,554,367: the mapping must stay under 2 GiB) or differs from an existing file's
     */
    public static MutexFile open(Path path, int mutexCount, int conditionCount, MutexKind kind, FileAccess access)
            throws IOException {
        if (mutexCount < 1 || mutexCount > MutexFileHeaderDescriptor.MAX_RECORDS) {
            throw new IllegalArgumentException("mutexCount=" + mutexCount + " (expected 1.."
                    + MutexFileHeaderDescriptor.MAX_RECORDS + ")");
        }
        if (conditionCount < 0 || conditionCount > MutexFileHeaderDescriptor.MAX_RECORDS - mutexCount) {
            throw new IllegalArgumentException("conditionCount=" + conditionCount + " (expected 0.."
                    + (MutexFileHeaderDescriptor.MAX_RECORDS - mutexCount) + " with " + mutexCount
                    + " mutexes: at most " + MutexFileHeaderDescriptor.MAX_RECORDS + " records in all)");
        }
        return openOrCreate(path, mutexCount, conditionCount, Objects.requireNonNull(kind, "kind"),
                Objects.requireNonNull(access, "access"));
    }

    /**
     * Opens an existing mutex file of this process's user ({@link FileAccess#OWNER}), with however many mutexes
     * and conditions it has. If another live process is creating it right now, waits for it (up to ten seconds).
     *
     * @param path the file
     * @return the open file
     * @throws java.nio.file.NoSuchFileException when it does not exist
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
     * @throws MutexFileFormatException when it is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     */
    public static MutexFile openExisting(Path path) throws IOException {
        return openExisting(path, FileAccess.OWNER);
    }

    /**
     * Opens an existing mutex file, with however many mutexes and conditions it has; it must be exactly as
     * private as {@code access} says. If another live process is creating it right now, waits for it (up to ten
     * seconds).
     *
     * @param path the file
     * @param access who may use the file
     * @return the open file
     * @throws java.nio.file.NoSuchFileException when it does not exist
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
     * @throws MutexFileFormatException when it is not a valid mutex file (it is not modified)
     * @throws IllegalStateException when the file is used in another PID namespace than this process's:
     *     no robust mutex is safe between PID namespaces (kernel-abi.md section 5); it is not modified
     */
    public static MutexFile openExisting(Path path, FileAccess access) throws IOException {
        return openOrCreate(path, -1, -1, null, Objects.requireNonNull(access, "access"));
    }

    /** Opens the file, creating it when {@code requestedCount} is positive; a negative count takes the file's. */
    private static MutexFile openOrCreate(Path path, int requestedCount, int requestedConditions, MutexKind kind,
            FileAccess access) throws IOException {
        Objects.requireNonNull(path, "path");
        RobustMutexProtocol protocol = LinuxBackend.protocol();
        LinuxSyscalls sys = LinuxPlatform.get().syscalls();
        UUID bootId = HostIdentity.bootId();
        long pidNamespace = HostIdentity.pidNamespace();
        long waitUntil = System.nanoTime() + CREATION_WAIT_NANOS;
        while (true) {
            LinuxFile file;
            try {
                file = LinuxFile.open(sys, path, true);
            } catch (NoSuchFileException absent) {
                if (requestedCount > 0) {
                    try {
                        create(sys, path, requestedCount, requestedConditions, kind, access, bootId, pidNamespace);
                    } catch (FileAlreadyExistsException raced) {
                        // Another process gave the name to its complete file first: open that one.
                    }
                    continue;
                }
                if (beingCreated(path) && System.nanoTime() - waitUntil < 0) {
                    sleepBriefly(path);
                    continue;
                }
                throw absent;
            }
            try {
                return openChecked(sys, path, file, requestedCount, requestedConditions, access, bootId,
                        pidNamespace, protocol);
            } catch (IOException | RuntimeException | Error failure) {
                file.close();
                throw failure;
            }
        }
    }

    /** Validates the open file, maps it, and brings its boot id up to date; the region takes the descriptor. */
    private static MutexFile openChecked(LinuxSyscalls sys, Path path, LinuxFile file, int requestedCount,
            int requestedConditions, FileAccess access, UUID bootId, long pidNamespace, RobustMutexProtocol protocol)
            throws IOException {
        FileStatus status = file.status();
        TrustedFiles.check(path, status, access, sys.geteuid(), sys.groups());
        ByteBuffer headerBytes = ByteBuffer.allocate(MutexFileHeaderDescriptor.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        if (status.size() > 0) {
            headerBytes.limit((int) Math.min(status.size(), MutexFileHeaderDescriptor.SIZE));
            file.readFully(headerBytes, 0);
            headerBytes.clear();
        }
        MutexFileHeader header = MutexFileHeader.validate(path, headerBytes, status.size());
        if (header.pidNamespace() != pidNamespace) {
            throw new IllegalStateException(HostIdentity.foreignPidNamespace(path.toString(), header.pidNamespace(),
                    pidNamespace));
        }
        if (requestedCount > 0 && (header.recordCount() != requestedCount
                || header.conditionCount() != requestedConditions)) {
            boolean conditions = header.conditionCount() != 0 || requestedConditions != 0;
            throw new IllegalArgumentException(path + " has " + counts(header.recordCount(), header.conditionCount(),
                    conditions) + "; asked for " + counts(requestedCount, requestedConditions, conditions)
                    + " (use MutexFile.openExisting to open it with its own count" + (conditions ? "s)" : ")"));
        }
        MappedRegion region = MappedRegion.open(sys, file, status, (int) header.fileSize());
        try {
            header.validateRecords(path, region.memory());
            int reset = header.bootId().equals(bootId) ? 0 : region.underFileLock(() -> {
                ByteBuffer current = NativeMemory.allocateAligned(16, 8);
                MutexFileHeader.putBootId(current, 0, bootId);
                ByteBuffer stored = NativeMemory.allocateAligned(16, 8);
                LinuxFile same = region.file();
                same.readFully(stored, MutexFileHeaderDescriptor.BOOT_ID_OFFSET);
                if (stored.clear().equals(current)) {
                    // Another process brought it up to date while we waited for the lock.
                    return 0;
                }
                int words;
                if (region.openedInThisJvm() || same.inUseElsewhere()) {
                    // A handle of this boot has the file open (its in-use mark says so), so the words are this
                    // boot's: the boot id was changed while the file is in use. Nothing is reset.
                    LOG.log(System.Logger.Level.WARNING, "{0}: its boot id names another boot, but the file is"
                            + " open in this boot; something rewrote the boot id. No lock word is reset", path);
                    words = 0;
                } else {
                    // Only mutex records: a condition record holds no TID, so nothing in it names a thread of
                    // an earlier boot. Its waiters hint may count waiters that the reboot ended: too high a hint
                    // costs a signal one wake-up call that finds nobody, never a lost wake-up.
                    words = resetStaleWords(region.memory(), header.recordCount());
                }
                same.writeFully(current, MutexFileHeaderDescriptor.BOOT_ID_OFFSET);
                same.sync();
                return words;
            });
            // Marked in use only now, once any reset is done: the first openers of a boot do not see each other.
            int unmarked = region.file().markInUse();
            if (unmarked != 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: cannot mark the file in use ({1}: "
                        + (unmarked == Errno.EAGAIN || unmarked == Errno.EACCES
                        ? "another program holds a write lock over its last byte, a whole-file FileChannel.lock()"
                        + " of the mutex file?" : "the file system offers no open-file-description locks")
                        + "). The file works; a rewritten boot id could reset this handle''s held words", path,
                        Errno.name(unmarked));
            }
            region.markOpened();
            return new MutexFile(path, region, header, protocol, reset);
        } catch (IOException | RuntimeException | Error failure) {
            region.release();
            throw failure;
        }
    }

    private static String counts(int mutexes, int conditions, boolean withConditions) {
        return mutexes + " mutexes" + (withConditions ? " and " + conditions + " conditions" : "");
    }

    /**
     * Creates the file complete under a temporary name, then gives it its name without replacing anything.
     *
     * @throws FileAlreadyExistsException when another process gave the name to its file first
     */
    private static void create(LinuxSyscalls sys, Path path, int count, int conditions, MutexKind kind,
            FileAccess access, UUID bootId, long pidNamespace) throws IOException {
        Path temporary = temporaryName(path);
        removeAbandonedCreations(sys, path);
        long fileId;
        do {
            fileId = RANDOM.nextLong();
        } while (fileId == 0);
        MutexFileHeader header = new MutexFileHeader(count, conditions, kind, bootId, pidNamespace, fileId,
                System.currentTimeMillis());
        long size = header.fileSize();
        ByteBuffer bytes = NativeMemory.allocateAligned((int) size, ConditionRecordDescriptor.ALIGNMENT);
        ByteBuffer encoded = header.encode();
        bytes.put(0, encoded, 0, encoded.capacity());
        for (int i = 0; i < count; i++) {
            bytes.putInt(MutexFileHeaderDescriptor.recordOffset(i) + MutexRecordDescriptor.KIND_OFFSET,
                    MutexRecord.kindWord(kind));
        }
        if (conditions > 0) {
            // Every condition record is complete at creation, as the mutex records are: none is initialized later.
            MappedMemory memory = MappedMemory.of(bytes);
            for (int i = 0; i < conditions; i++) {
                ConditionRecordDescriptor.initialize(memory, MutexFileHeaderDescriptor.conditionOffset(count, i));
            }
        }
        try (LinuxFile file = LinuxFile.create(sys, temporary, TrustedFiles.mode(access))) {
            try {
                // The mode given at creation is narrowed by the umask; set the one asked for.
                file.chmod(TrustedFiles.mode(access));
                file.allocate(size);
                file.writeFully(bytes, 0);
                file.sync();
                LinuxFile.link(sys, temporary, path);
            } finally {
                LinuxFile.unlinkQuietly(sys, temporary);
            }
        }
    }

    /** A name in the file's directory that says who is creating the file. */
    private static Path temporaryName(Path path) {
        String name = shortened(path.getFileName().toString());
        String temporary = "." + name + CREATING + ProcessHandle.current().pid() + "."
                + Long.toHexString(RANDOM.nextLong() & Long.MAX_VALUE);
        Path parent = path.getParent();
        return parent == null ? Path.of(temporary) : parent.resolve(temporary);
    }

    /**
     * The file name cut to at most 200 bytes of UTF-8, at a code point: a temporary name adds up to 36 bytes
     * ({@code .} and {@code .creating.<pid>.<16 hex digits>}) and must stay within the 255-byte name limit.
     */
    static String shortened(String name) {
        int bytes = 0;
        for (int i = 0; i < name.length(); ) {
            int codePoint = name.codePointAt(i);
            bytes += codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
            if (bytes > 200) {
                return name.substring(0, i);
            }
            i += Character.charCount(codePoint);
        }
        return name;
    }

    /** The temporary names of creations of this file in progress or abandoned, with their creators' pids. */
    private static List<Map.Entry<Path, Long>> creations(Path path) {
        Path parent = path.toAbsolutePath().getParent();
        String name = path.getFileName().toString();
        String prefix = "." + shortened(name) + CREATING;
        List<Map.Entry<Path, Long>> found = new ArrayList<>();
        // A filter, not a glob: the name may hold characters a glob gives a meaning to ({ [ * ? \).
        DirectoryStream.Filter<Path> ours = entry -> entry.getFileName().toString().startsWith(prefix);
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(parent, ours)) {
            for (Path entry : entries) {
                String rest = entry.getFileName().toString().substring(prefix.length());
                int dot = rest.indexOf('.');
                try {
                    found.add(Map.entry(entry, Long.parseLong(dot < 0 ? rest : rest.substring(0, dot))));
                } catch (NumberFormatException e) {
                    // Not one of ours.
                }
            }
        } catch (IOException e) {
            // An unreadable directory has no creations we can see.
        }
        return found;
    }

    private static boolean beingCreated(Path path) {
        for (Map.Entry<Path, Long> creation : creations(path)) {
            if (ProcessHandle.of(creation.getValue()).isPresent()) {
                return true;
            }
        }
        return false;
    }

    /** Removes the temporary files of creators that died part way (best effort). */
    private static void removeAbandonedCreations(LinuxSyscalls sys, Path path) {
        for (Map.Entry<Path, Long> creation : creations(path)) {
            if (ProcessHandle.of(creation.getValue()).isEmpty()) {
                LinuxFile.unlinkQuietly(sys, creation.getKey());
            }
        }
    }

    private static void sleepBriefly(Path path) throws IOException {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException(path + ": interrupted while another process created it");
        }
    }

    /**
     * Reads a mutex file without opening it for use: no lock is taken, no mapping is made, nothing is
     * written, and the robust-mutex kernel support is not needed. A symbolic link is not followed and a file
     * that is not a regular file (a FIFO, say) is refused without blocking. Every field of every mutex record,
     * and the sequence and waiters hint of every condition record, is reported as found.
     *
     * @param path the file
     * @return the report
     * @throws java.nio.file.NoSuchFileException when it does not exist
     * @throws MutexFileFormatException when it is not a regular file or not a valid mutex file
     * @throws IOException when it cannot be read; the message names it
     */
    public static MutexFileReport inspect(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        PosixFileAttributes attributes = Files.readAttributes(path, PosixFileAttributes.class,
                LinkOption.NOFOLLOW_LINKS);
        if (!attributes.isRegularFile()) {
            throw new MutexFileFormatException(path, "is " + (attributes.isSymbolicLink() ? "a symbolic link"
                    : attributes.isDirectory() ? "a directory" : "not a regular file (a FIFO, socket or device)")
                    + ": not a mutex file");
        }
        // Opened without blocking and without following a link, and looked at again through the descriptor: a
        // file swapped in since the check above is refused the same way.
        LinuxSyscalls sys = LinuxSyscalls.current();
        try (LinuxFile file = LinuxFile.open(sys, path, false)) {
            FileStatus status = file.status();
            if (!status.isRegularFile()) {
                throw new MutexFileFormatException(path, "is " + status.typeName() + ": not a mutex file");
            }
            long size = status.size();
            ByteBuffer headerBytes = ByteBuffer.allocate(MutexFileHeaderDescriptor.SIZE).order(ByteOrder.LITTLE_ENDIAN);
            if (size > 0) {
                headerBytes.limit((int) Math.min(size, MutexFileHeaderDescriptor.SIZE));
                file.readFully(headerBytes, 0);
            }
            MutexFileHeader header = MutexFileHeader.validate(path, headerBytes.clear(), size);
            ByteBuffer records = ByteBuffer.allocate((int) (header.fileSize() - MutexFileHeaderDescriptor.SIZE))
                    .order(ByteOrder.LITTLE_ENDIAN);
            file.readFully(records, MutexFileHeaderDescriptor.SIZE);
            List<MutexSnapshot> snapshots = new ArrayList<>();
            for (int i = 0; i < header.recordCount(); i++) {
                try {
                    snapshots.add(MutexSnapshot.decode(records.duplicate().position(i * MutexRecordDescriptor.SIZE),
                            "record " + i));
                } catch (MutexDamagedException damaged) {
                    throw new MutexFileFormatException(path, damaged.getMessage());
                }
            }
            List<MutexFileReport.ConditionSnapshot> conditions = new ArrayList<>();
            for (int i = 0; i < header.conditionCount(); i++) {
                int offset = MutexFileHeaderDescriptor.conditionOffset(header.recordCount(), i);
                int at = offset - MutexFileHeaderDescriptor.SIZE;
                MutexFileHeader.checkConditionKind(path, i, offset,
                        records.getInt(at + ConditionRecordDescriptor.KIND_OFFSET));
                conditions.add(new MutexFileReport.ConditionSnapshot(
                        records.getInt(at + ConditionRecordDescriptor.SEQUENCE_OFFSET),
                        records.getInt(at + ConditionRecordDescriptor.WAITERS_OFFSET)));
            }
            boolean currentBoot = header.bootId().equals(HostIdentity.bootId());
            boolean sameNamespace = header.pidNamespace() == HostIdentity.pidNamespace();
            return new MutexFileReport(path, header.kind(), Instant.ofEpochMilli(header.createdMillis()),
                    header.bootId(), currentBoot, header.pidNamespace(), sameNamespace, snapshots, conditions);
        }
    }

    /**
     * Resets lock words written during an earlier boot, whose TIDs name nothing now (or an unrelated thread of
     * this boot that took the same number): a held word becomes OWNER_DIED with no TID, so its next acquirer
     * learns of the death, and its record INCONSISTENT with no list pointers or owner pid; no waiter survives a
     * reboot, so WAITERS is dropped. Called only when no open handle of this boot has marked the file in use
     * (see {@link LinuxFile#markInUse}; a handle keeps its mark until its mapping is unmapped, so while any
     * thread of this boot holds a record), and under the file's lock, so nothing of this boot can be using the
     * words: the TIDs need no look-up. Each word is changed with a compare-and-swap from the value read.
     */
    private static int resetStaleWords(MappedMemory memory, int count) {
        int reset = 0;
        for (int i = 0; i < count; i++) {
            int base = MutexFileHeaderDescriptor.recordOffset(i);
            int wordOffset = base + MutexRecordDescriptor.FUTEX_WORD_OFFSET;
            int word = memory.getIntVolatile(wordOffset);
            if (word == FutexWord.FREE) {
                continue;
            }
            boolean held = FutexWord.owner(word) != 0;
            int update = held || FutexWord.ownerDied(word) ? FutexWord.OWNER_DIED : FutexWord.FREE;
            if (update == word || !memory.compareAndSetInt(wordOffset, word, update)) {
                continue;
            }
            reset++;
            if (held) {
                if (memory.getIntVolatile(base + MutexRecordDescriptor.STATE_OFFSET)
                        == MutexRecordDescriptor.STATE_CONSISTENT) {
                    memory.putIntVolatile(base + MutexRecordDescriptor.STATE_OFFSET,
                            MutexRecordDescriptor.STATE_INCONSISTENT);
                }
                memory.putLongPlain(base + MutexRecordDescriptor.LIST_PREV_OFFSET, 0);
                memory.putLongPlain(base + MutexRecordDescriptor.LIST_NEXT_OFFSET, 0);
                memory.putIntVolatile(base + MutexRecordDescriptor.OWNER_PID_OFFSET, 0);
            }
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
     * @throws MutexDamagedException when the record's kind word was overwritten
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
        MutexKind kind;
        region.enter();
        try {
            kind = MutexRecord.decodeKind(region.memory().getIntVolatile(offset + MutexRecordDescriptor.KIND_OFFSET));
        } finally {
            region.exit();
        }
        if (kind == null) {
            throw new MutexDamagedException(path + ": record " + index + " was overwritten with a bad kind word;"
                    + " something other than this library wrote it");
        }
        String name = path + "[" + index + "]";
        RobustMutex created = new RobustMutex(new MutexRecord(region.memory(), offset, kind, name, region, 0,
                region.identity(offset)), protocol, open, region, name);
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
     * The condition at an index, used with {@code mutex}. Every process that names the same index shares the
     * condition; they must all use it with the same mutex (usually one of this file's), which waiters hold.
     *
     * @param index 0 to {@link #conditionCount()} - 1
     * @param mutex the mutex waiters hold, from this file or any other
     * @return the condition (a new object on each call; objects for the same index share the record)
     * @throws IllegalArgumentException when the index is out of range (a file created without conditions has
     *     none)
     * @throws IllegalStateException when this handle is closed
     * @throws MutexDamagedException when the record's kind word was overwritten
     */
    public RobustCondition condition(int index, RobustMutex mutex) {
        Objects.requireNonNull(mutex, "mutex");
        open.ensureOpen();
        if (index < 0 || index >= header.conditionCount()) {
            throw new IllegalArgumentException("index=" + index + " is out of range: " + path + " has "
                    + header.conditionCount() + " conditions" + (header.conditionCount() == 0 ? " (a file gets"
                    + " them at creation: MutexFile.open(path, mutexCount, conditionCount, kind))" : ""));
        }
        int offset = MutexFileHeaderDescriptor.conditionOffset(header.recordCount(), index);
        int kindWord;
        region.enter();
        try {
            kindWord = region.memory().getIntVolatile(offset + ConditionRecordDescriptor.KIND_OFFSET);
        } finally {
            region.exit();
        }
        if (kindWord != ConditionRecordDescriptor.KIND_WORD) {
            throw new MutexDamagedException(String.format("%s: condition %d was overwritten with a bad kind word"
                    + " (0x%08x); something other than this library wrote it", path, index, kindWord));
        }
        String name = path + "#condition" + index;
        return new RobustCondition(new ConditionRecord(region.memory(), offset, name, region), conditionProtocol,
                mutex, open, region, name);
    }

    /**
     * The number of conditions in the file.
     *
     * @return the count: 0 for a file of format version 1
     */
    public int conditionCount() {
        return header.conditionCount();
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
     * Whether the file has been deleted while open: its last name removed (by this or another process).
     * Processes that open the path from now on get a different file and no longer exclude processes that use
     * this one.
     *
     * @return true when the file's link count is 0
     * @throws IOException naming the file when its status cannot be read
     * @throws IllegalStateException when this handle is closed
     */
    public boolean isUnlinked() throws IOException {
        open.ensureOpen();
        return region.isUnlinked();
    }

    /**
     * Closes this handle. Mutexes obtained from it throw {@link IllegalStateException} afterwards. When it was
     * this JVM's last handle of the file, the file is unmapped as soon as no thread of the JVM holds one of
     * its mutexes or names one to the kernel (usually at once).
     *
     * <p>Holding belongs to the file, not to a handle (a thread that holds a mutex through one handle holds it
     * through every handle of the file in this JVM), so the close is refused while any thread of the JVM holds
     * one of the file's mutexes, whichever handle it acquired through: close a handle once no thread holds.
     *
     * @throws IllegalStateException when a thread of this JVM holds one of the file's mutexes
     */
    @Override
    public synchronized void close() {
        if (open.closeUnlessHeld(region.memory())) {
            region.release();
        }
    }

    @Override
    public String toString() {
        return "MutexFile[" + path + ", " + header.recordCount() + " " + header.kind() + " mutexes"
                + (header.conditionCount() == 0 ? "" : ", " + header.conditionCount() + " conditions")
                + (open.isClosed() ? ", closed" : "") + "]";
    }
}
