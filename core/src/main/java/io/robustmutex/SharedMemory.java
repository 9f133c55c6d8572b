package io.robustmutex;

import io.robustmutex.internal.HostIdentity;
import io.robustmutex.internal.LinuxBackend;
import io.robustmutex.internal.MappedFiles;
import io.robustmutex.internal.MappedMemory;
import io.robustmutex.internal.MutexRecord;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.internal.OpenFlag;
import io.robustmutex.internal.RobustMutexProtocol;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
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
 * <p>The library maps the file itself, so the mapping stays until nothing references it: no thread can
 * hold a lock in, or name to the kernel, memory that was unmapped (design.md section 5). The first
 * {@link #mutex(long, MutexKind)} call on an offset whose record is all zeros initializes it, under a file
 * lock, so processes racing to do so agree. A record keeps the PID namespace of its users, and a process of
 * another PID namespace is refused, for both kinds (kernel-abi.md section 5). Unlike a {@link MutexFile}, a
 * region has no header: it cannot tell a reboot from a restart, so keep regions with mutexes in
 * {@code /dev/shm} (cleared at boot) or {@link RobustMutex#reinitialize()} them after a reboot.
 */
public final class SharedMemory implements AutoCloseable {

    private final Path path;
    private final FileAccess access;
    private final MappedMemory memory;
    private final RobustMutexProtocol protocol;
    private final long pidNamespace;
    private final OpenFlag open;
    private final ConcurrentHashMap<Integer, RobustMutex> mutexes = new ConcurrentHashMap<>();

    private SharedMemory(Path path, FileAccess access, MappedMemory memory, RobustMutexProtocol protocol,
            long pidNamespace) {
        this.path = path;
        this.access = access;
        this.memory = memory;
        this.protocol = protocol;
        this.pidNamespace = pidNamespace;
        this.open = new OpenFlag(path.toString());
    }

    /**
     * Maps the first {@code size} bytes of a file, creating it (mode 0600) or extending it with zeros as
     * needed.
     *
     * @param path the file
     * @param size the region size in bytes, at least 64 and below 2 GiB
     * @return the region
     * @throws IOException when the file cannot be created, extended or mapped
     */
    public static SharedMemory map(Path path, long size) throws IOException {
        return map(path, size, FileAccess.OWNER);
    }

    /**
     * Maps the first {@code size} bytes of a file, creating it with the given access or extending it with
     * zeros as needed.
     *
     * @param path the file
     * @param size the region size in bytes, at least 64 and below 2 GiB
     * @param access the permissions of a new file
     * @return the region
     * @throws IOException when the file cannot be created, extended or mapped
     */
    public static SharedMemory map(Path path, long size, FileAccess access) throws IOException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(access, "access");
        if (size < MutexRecordDescriptor.SIZE || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size=" + size + " (expected " + MutexRecordDescriptor.SIZE + ".."
                    + Integer.MAX_VALUE + ")");
        }
        RobustMutexProtocol protocol = LinuxBackend.protocol();
        long pidNamespace = HostIdentity.pidNamespace();
        synchronized (MappedFiles.FILE_LOCKS) {
            try (FileChannel channel = MappedFiles.open(path, true, access)) {
                FileLock fileLock = channel.lock();
                try {
                    long existing = channel.size();
                    if (existing < size) {
                        channel.write(ByteBuffer.allocate(1), size - 1);
                    }
                    if (existing == 0) {
                        // The mode given at creation is narrowed by the umask; set the one asked for.
                        Files.setPosixFilePermissions(path, access.permissions());
                    }
                    return new SharedMemory(path, access, MappedFiles.map(path, channel, (int) size), protocol,
                            pidNamespace);
                } finally {
                    fileLock.release();
                }
            }
        }
    }

    /**
     * The whole region as a buffer (little-endian, position 0, limit the size); the caller's data lives
     * here, next to the 64-byte mutex records it placed.
     *
     * @return a new buffer over the region
     */
    public ByteBuffer buffer() {
        open.ensureOpen();
        return memory.buffer();
    }

    /**
     * The region size.
     *
     * @return bytes
     */
    public long size() {
        return memory.size();
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
        MutexRecordDescriptor.checkOffset(offset, memory.size());
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

    private RobustMutex create(int offset, MutexKind kind) {
        int kindOffset = offset + MutexRecordDescriptor.KIND_OFFSET;
        if (memory.getIntVolatile(kindOffset) == 0) {
            initializeUnderFileLock(offset, kind);
        }
        int kindWord = memory.getIntVolatile(kindOffset);
        MutexKind found = MutexRecord.decodeKind(kindWord);
        if (found == null) {
            throw new IllegalArgumentException(String.format("offset=%d holds no mutex record (kind word=0x%08x):"
                    + " is the caller's own data there?", offset, kindWord));
        }
        MutexRecord.bindPidNamespace(memory, offset, pidNamespace, path + "@" + offset);
        return new RobustMutex(new MutexRecord(memory, offset, found), protocol, open, path + "@" + offset);
    }

    private void initializeUnderFileLock(int offset, MutexKind kind) {
        synchronized (MappedFiles.FILE_LOCKS) {
            try (FileChannel channel = MappedFiles.open(path, false, access)) {
                FileLock recordLock = channel.lock(offset, MutexRecordDescriptor.SIZE, false);
                try {
                    if (memory.getIntVolatile(offset + MutexRecordDescriptor.KIND_OFFSET) != 0) {
                        return;
                    }
                    for (int field = 0; field < MutexRecordDescriptor.SIZE; field += 8) {
                        if (memory.getLongVolatile(offset + field) != 0) {
                            throw new IllegalArgumentException("offset=" + offset + " is not an all-zero record"
                                    + " and has no mutex kind: is the caller's own data there?");
                        }
                    }
                    MutexRecord.initialize(memory, offset, kind, pidNamespace);
                } finally {
                    recordLock.release();
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot lock " + path + " to initialize the mutex at offset "
                        + offset, e);
            }
        }
    }

    /**
     * Closes this handle: mutexes and buffers obtained from it may no longer be used through it.
     *
     * @throws IllegalStateException when a thread of this JVM holds one of its mutexes
     */
    @Override
    public synchronized void close() {
        open.closeUnlessHeld(memory);
    }

    @Override
    public String toString() {
        return "SharedMemory[" + path + ", " + memory.size() + " bytes" + (open.isClosed() ? ", closed" : "") + "]";
    }
}
