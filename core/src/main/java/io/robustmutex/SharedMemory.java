package io.robustmutex;

import io.robustmutex.internal.ConditionProtocol;
import io.robustmutex.internal.ConditionRecord;
import io.robustmutex.internal.ConditionRecordDescriptor;
import io.robustmutex.internal.FileStatus;
import io.robustmutex.internal.HostIdentity;
import io.robustmutex.internal.LinuxBackend;
import io.robustmutex.internal.LinuxFile;
import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.internal.LinuxSyscalls;
import io.robustmutex.internal.MappedRegion;
import io.robustmutex.internal.MutexRecord;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.internal.OpenFlag;
import io.robustmutex.internal.RobustMutexProtocol;
import io.robustmutex.internal.TrustedFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A shared file mapped by the library, in which the caller keeps its own data and places robust mutexes
 * next to it: a mutex record is 64 bytes at any 64-byte-aligned offset.
 *
 * <pre>{@code
 * try (SharedMemory region = SharedMemory.map(Path.of("/dev/shm/prices"), 4096)) {
 *     RobustMutex lock = region.mutex(0, MutexKind.PI);   // bytes 0..63
 *     ByteBuffer data = region.buffer();                  // the caller's data from byte 64 on
 *     try (Acquisition held = lock.acquire()) {
 *         data.putLong(64, data.getLong(64) + 1);
 *     }
 * }
 * }</pre>
 *
 * <p>The file is trusted as a {@link MutexFile} is (never through a symbolic link; a regular file owned by
 * this process's user, or of one of its groups with {@link FileAccess#GROUP}; nothing broader than the access
 * asked for), and created with that mode when absent. The first {@link #mutex(long, MutexKind)} call on an
 * offset whose record is all zeros initializes it, under a file lock, so processes racing to do so agree. A
 * record keeps the PID namespace of its users, and a process of another PID namespace is refused, for both
 * kinds (kernel-abi.md section 5). A record also keeps the boot in which it was last taken: a word held since
 * an earlier boot (the file survived a reboot on disk) is taken over by the next acquirer, which is told the
 * owner died.
 *
 * <p>The mutexes' mapping belongs to the library and is released as soon as the last handle of the file in
 * this JVM is closed and no thread holds or names one of its mutexes. The caller's data is reached through
 * {@link #buffer()}, a separate mapping of the same file that the garbage collector releases once no buffer
 * refers to it, so a buffer kept after {@link #close()} stays valid memory.
 */
public final class SharedMemory implements AutoCloseable {

    private final Path path;
    private final MappedRegion region;
    private final RobustMutexProtocol protocol;
    private final long pidNamespace;
    private final int bootStamp;
    private final OpenFlag open;
    private final ConcurrentHashMap<Integer, RobustMutex> mutexes = new ConcurrentHashMap<>();
    private MappedByteBuffer data;

    private SharedMemory(Path path, MappedRegion region, RobustMutexProtocol protocol, long pidNamespace,
            int bootStamp) {
        this.path = path;
        this.region = region;
        this.protocol = protocol;
        this.pidNamespace = pidNamespace;
        this.bootStamp = bootStamp;
        this.open = new OpenFlag(path.toString());
    }

    /**
     * Maps the first {@code size} bytes of a file of this process's user, creating it (mode 0600) or extending
     * it with zeros as needed.
     *
     * @param path the file
     * @param size the region size in bytes, at least 64 and below 2 GiB
     * @return the region
     * @throws IOException when the file cannot be created, extended or mapped; the message names it
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
     */
    public static SharedMemory map(Path path, long size) throws IOException {
        return map(path, size, FileAccess.OWNER);
    }

    /**
     * Maps the first {@code size} bytes of a file, creating it with the given access or extending it with
     * zeros as needed; an existing file must be exactly as private as {@code access} says.
     *
     * @param path the file
     * @param size the region size in bytes, at least 64 and below 2 GiB
     * @param access who may use the file
     * @return the region
     * @throws IOException when the file cannot be created, extended or mapped; the message names it
     * @throws UntrustedFileException when the file is a link, not a regular file, someone else's, or too open
     */
    public static SharedMemory map(Path path, long size, FileAccess access) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(access, "access");
        if (size < MutexRecordDescriptor.SIZE || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size=" + size + " (expected " + MutexRecordDescriptor.SIZE + ".."
                    + Integer.MAX_VALUE + ")");
        }
        RobustMutexProtocol protocol = LinuxBackend.protocol();
        LinuxSyscalls sys = LinuxPlatform.get().syscalls();
        long pidNamespace = HostIdentity.pidNamespace();
        int bootStamp = bootStamp(HostIdentity.bootId());
        LinuxFile file;
        try {
            file = LinuxFile.create(sys, path, TrustedFiles.mode(access));
            try {
                // The mode given at creation is narrowed by the umask; set the one asked for.
                file.chmod(TrustedFiles.mode(access));
            } catch (IOException | RuntimeException e) {
                file.close();
                throw e;
            }
        } catch (FileAlreadyExistsException exists) {
            file = LinuxFile.open(sys, path, true);
        }
        try {
            FileStatus status = file.status();
            TrustedFiles.check(path, status, access, sys.geteuid(), sys.groups());
            if (status.size() < size) {
                file.allocate(size);
                status = file.status();
            }
            MappedRegion region = MappedRegion.open(sys, file, status, (int) size);
            region.markOpened();
            return new SharedMemory(path, region, protocol, pidNamespace, bootStamp);
        } catch (IOException | RuntimeException | Error failure) {
            file.close();
            throw failure;
        }
    }

    static int bootStamp(UUID bootId) {
        return HostIdentity.bootStamp(bootId);
    }

    /**
     * The whole region as a buffer (little-endian, position 0, limit the size); the caller's data lives
     * here, next to the 64-byte mutex records it placed. The buffer maps the same file separately from the
     * mutexes and stays valid memory for as long as it is referenced, even after {@link #close()}.
     *
     * @return a new buffer over the region
     * @throws IllegalStateException when this handle is closed
     */
    public ByteBuffer buffer() {
        open.ensureOpen();
        synchronized (this) {
            if (data == null) {
                // The same file, reached through this handle's open descriptor, whatever the path names now.
                try (FileChannel channel = FileChannel.open(Path.of("/proc/self/fd/" + region.fd()),
                        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    data = channel.map(FileChannel.MapMode.READ_WRITE, 0, region.size());
                } catch (IOException e) {
                    throw new UncheckedIOException(path + ": cannot map the data buffer: " + e.getMessage(), e);
                }
            }
            return data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /**
     * The region size.
     *
     * @return bytes
     */
    public long size() {
        return region.size();
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
     * The {@link MutexKind#PI} mutex whose record starts at {@code offset}, initializing it when the record
     * is all zeros.
     *
     * @param offset a multiple of 64 with 64 bytes after it in the region
     * @return the mutex
     * @throws IllegalArgumentException when the offset is misaligned, out of bounds, or holds something
     *     other than a PI mutex record
     * @throws IllegalStateException when the record is used from another PID namespace
     */
    public RobustMutex mutex(long offset) {
        return mutex(offset, MutexKind.PI);
    }

    /**
     * The mutex whose record starts at {@code offset}, initializing it with the given kind when the record
     * is all zeros.
     *
     * @param offset a multiple of 64 with 64 bytes after it in the region
     * @param kind the kind the record has, or gets when it is initialized
     * @return the mutex (the same object for the same offset of this region)
     * @throws IllegalArgumentException when the offset is misaligned, out of bounds, or holds something
     *     other than a mutex record of that kind
     * @throws IllegalStateException when the record is used from another PID namespace
     */
    public RobustMutex mutex(long offset, MutexKind kind) {
        Objects.requireNonNull(kind, "kind");
        open.ensureOpen();
        MutexRecordDescriptor.checkOffset(offset, region.size());
        int at = (int) offset;
        RobustMutex existing = mutexes.get(at);
        if (existing == null) {
            existing = mutexes.computeIfAbsent(at, key -> create(key, kind));
        }
        if (existing.kind() != kind) {
            throw new IllegalArgumentException("offset=" + offset + " holds a " + existing.kind()
                    + " mutex, not " + kind);
        }
        return existing;
    }

    /**
     * The condition whose record starts at {@code offset}, used with {@code mutex}, initializing the record when
     * it is all zeros. Every process that names the same offset (and a mutex at the same offset) shares it.
     *
     * @param offset a multiple of 64 with 64 bytes after it in the region, not a mutex's
     * @param mutex the mutex waiters hold, from this region or any other
     * @return the condition
     * @throws IllegalArgumentException when the offset is misaligned, out of bounds, or holds something other
     *     than a condition record
     * @throws IllegalStateException when this handle is closed
     */
    public RobustCondition condition(long offset, RobustMutex mutex) {
        Objects.requireNonNull(mutex, "mutex");
        open.ensureOpen();
        ConditionRecordDescriptor.checkOffset(offset, region.size());
        int at = (int) offset;
        if (mutexes.containsKey(at)) {
            throw new IllegalArgumentException(path + ": offset=" + offset + " holds a mutex, not a condition");
        }
        region.enter();
        try {
            int kindOffset = at + ConditionRecordDescriptor.KIND_OFFSET;
            if (region.memory().getIntVolatile(kindOffset) == 0) {
                initializeConditionUnderFileLock(at);
            }
            int kindWord = region.memory().getIntVolatile(kindOffset);
            if (kindWord != ConditionRecordDescriptor.KIND_WORD) {
                throw new IllegalArgumentException(String.format("%s: offset=%d holds no condition record (kind"
                        + " word=0x%08x)%s", path, offset, kindWord, MutexRecord.decodeKind(kindWord) != null
                        ? ": a mutex is there" : ": is the caller's own data there?"));
            }
            String name = path + "@" + offset + " (condition)";
            return new RobustCondition(new ConditionRecord(region.memory(), at, name, region),
                    new ConditionProtocol(protocol), mutex, open, region, name);
        } finally {
            region.exit();
        }
    }

    private void initializeConditionUnderFileLock(int offset) {
        try {
            region.underFileLock(() -> {
                if (region.memory().getIntVolatile(offset + ConditionRecordDescriptor.KIND_OFFSET) != 0) {
                    return null;
                }
                for (int field = 0; field < ConditionRecordDescriptor.SIZE; field += 8) {
                    if (region.memory().getLongVolatile(offset + field) != 0) {
                        throw new IllegalArgumentException(path + ": offset=" + offset + " is not an all-zero record"
                                + " and has no condition kind: is the caller's own data there?");
                    }
                }
                ConditionRecordDescriptor.initialize(region.memory(), offset);
                return null;
            });
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot lock the file to initialize the condition at offset "
                    + offset + ": " + e.getMessage(), e);
        }
    }

    private RobustMutex create(int offset, MutexKind kind) {
        region.enter();
        try {
            int kindOffset = offset + MutexRecordDescriptor.KIND_OFFSET;
            if (region.memory().getIntVolatile(kindOffset) == 0) {
                initializeUnderFileLock(offset, kind);
            }
            int kindWord = region.memory().getIntVolatile(kindOffset);
            MutexKind found = MutexRecord.decodeKind(kindWord);
            if (found == null) {
                throw new IllegalArgumentException(String.format("%s: offset=%d holds no mutex record (kind"
                        + " word=0x%08x): is the caller's own data there?", path, offset, kindWord));
            }
            String name = path + "@" + offset;
            MutexRecord.bindPidNamespace(region.memory(), offset, pidNamespace, name);
            return new RobustMutex(new MutexRecord(region.memory(), offset, found, name, region, bootStamp,
                    region.identity(offset)), protocol, open, region, name);
        } finally {
            region.exit();
        }
    }

    private void initializeUnderFileLock(int offset, MutexKind kind) {
        try {
            region.underFileLock(() -> {
                if (region.memory().getIntVolatile(offset + MutexRecordDescriptor.KIND_OFFSET) != 0) {
                    return null;
                }
                for (int field = 0; field < MutexRecordDescriptor.SIZE; field += 8) {
                    if (region.memory().getLongVolatile(offset + field) != 0) {
                        throw new IllegalArgumentException(path + ": offset=" + offset + " is not an all-zero record"
                                + " and has no mutex kind: is the caller's own data there?");
                    }
                }
                MutexRecord.initialize(region.memory(), offset, kind, pidNamespace, bootStamp);
                return null;
            });
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot lock the file to initialize the mutex at offset "
                    + offset + ": " + e.getMessage(), e);
        }
    }

    /**
     * Whether the file has been deleted while mapped: processes that map the path from now on get a different
     * file and no longer exclude processes that use this one.
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
     * Closes this handle: mutexes and new buffers may no longer be obtained or used through it. When it was
     * this JVM's last handle of the file, the mutexes' mapping is released as soon as no thread holds or names
     * one of them (usually at once); buffers already obtained stay valid.
     *
     * @throws IllegalStateException when a thread of this JVM holds one of its mutexes
     */
    @Override
    public synchronized void close() {
        if (open.closeUnlessHeld(region.memory())) {
            region.release();
        }
    }

    @Override
    public String toString() {
        return "SharedMemory[" + path + ", " + region.size() + " bytes" + (open.isClosed() ? ", closed" : "") + "]";
    }
}
