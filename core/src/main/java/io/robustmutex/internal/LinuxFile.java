package io.robustmutex.internal;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * An open file descriptor of the file layer and its path, through the binding's syscalls: opened without
 * following a symbolic link, looked at through the descriptor itself ({@code statx}), so that what is checked
 * is what is used. Every failure is an {@link IOException} that names the path and the operation (a
 * {@link NoSuchFileException}, {@link FileAlreadyExistsException} or {@link AccessDeniedException} where one
 * fits, else a {@link FileSystemException} with the errno).
 */
public final class LinuxFile implements AutoCloseable {

    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_CREAT = 0100;
    private static final int O_EXCL = 0200;
    private static final int O_NONBLOCK = 04000;
    private static final int O_CLOEXEC = 02000000;
    private static final int LOCK_EX = 2;
    private static final int LOCK_UN = 8;

    private final LinuxSyscalls sys;
    private final Path path;
    private int fd;

    private LinuxFile(LinuxSyscalls sys, Path path, int fd) {
        this.sys = sys;
        this.path = path;
        this.fd = fd;
    }

    /**
     * Opens an existing file, never through a symbolic link, never blocking (a FIFO opens at once; the caller
     * then finds from {@link #status()} that it is not a regular file).
     *
     * @param sys the binding
     * @param path the file
     * @param write whether to open it for writing too
     * @return the open file
     * @throws IOException naming the path: {@link NoSuchFileException}, a refused symbolic link, ...
     */
    public static LinuxFile open(LinuxSyscalls sys, Path path, boolean write) throws IOException {
        int flags = (write ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC | sys.files().oNofollow();
        return new LinuxFile(sys, path, check("open", path, openRetrying(sys, path, flags, 0)));
    }

    /**
     * Creates a new file, failing if anything (a file, a symbolic link, dangling or not) has the name.
     *
     * @param sys the binding
     * @param path the new file
     * @param mode its permission bits (the umask may narrow them; see {@link #chmod})
     * @return the open file, read-write
     * @throws IOException naming the path: {@link FileAlreadyExistsException} when the name is taken
     */
    public static LinuxFile create(LinuxSyscalls sys, Path path, int mode) throws IOException {
        int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | sys.files().oNofollow();
        return new LinuxFile(sys, path, check("create", path, openRetrying(sys, path, flags, mode)));
    }

    private static long openRetrying(LinuxSyscalls sys, Path path, int flags, int mode) {
        long result;
        do {
            result = sys.openat(path, flags, mode);
        } while (result == -Errno.EINTR);
        return result;
    }

    /**
     * Gives an existing file another name, never replacing anything.
     *
     * @param sys the binding
     * @param from the existing name
     * @param to the new name
     * @throws FileAlreadyExistsException when {@code to} exists
     * @throws IOException naming the paths otherwise
     */
    public static void link(LinuxSyscalls sys, Path from, Path to) throws IOException {
        long result = sys.linkat(from, to);
        if (result < 0) {
            throw error("link " + from + " to", to, (int) -result);
        }
    }

    /**
     * Removes a name, if it is there.
     *
     * @param sys the binding
     * @param path the name
     * @return true when it was removed
     */
    public static boolean unlinkQuietly(LinuxSyscalls sys, Path path) {
        return sys.unlinkat(path) == 0;
    }

    /**
     * The path the file was opened by.
     *
     * @return the path
     */
    public Path path() {
        return path;
    }

    /**
     * The descriptor.
     *
     * @return the file descriptor number
     */
    public int fd() {
        ensureOpen();
        return fd;
    }

    /**
     * What the kernel says of the open descriptor.
     *
     * @return the status
     * @throws IOException naming the path
     */
    public FileStatus status() throws IOException {
        ByteBuffer out = NativeMemory.allocateAligned(FileStatus.STATX_SIZE, 8);
        check("statx", path, sys.statx(fd(), out));
        return FileStatus.decode(out);
    }

    /**
     * Sets the permission bits through the descriptor.
     *
     * @param mode the bits
     * @throws IOException naming the path
     */
    public void chmod(int mode) throws IOException {
        check("chmod", path, sys.fchmod(fd(), mode));
    }

    /**
     * Makes the file at least {@code size} bytes long, with its blocks allocated now where the file system
     * can, so that a full file system fails here, naming the file, rather than as a SIGBUS at the first touch
     * of a page. New bytes are zero.
     *
     * @param size the size
     * @throws IOException naming the path ({@code ENOSPC}: no space left)
     */
    public void allocate(long size) throws IOException {
        long result;
        do {
            result = sys.fallocate(fd(), 0, size);
        } while (result == -Errno.EINTR);
        if (result == -Errno.EOPNOTSUPP) {
            // The file system cannot allocate ahead: extend it with a zero byte at the end instead.
            if (status().size() < size) {
                ByteBuffer zero = NativeMemory.allocateAligned(1, 8);
                writeFully(zero, size - 1);
            }
            return;
        }
        check("allocate " + size + " bytes in", path, result);
    }

    /**
     * Reads exactly {@code buffer.remaining()} bytes at a position.
     *
     * @param buffer where the bytes go
     * @param position the file offset
     * @throws EOFException naming the path when the file ends first
     * @throws IOException naming the path
     */
    public void readFully(ByteBuffer buffer, long position) throws IOException {
        ByteBuffer direct = buffer.isDirect() ? buffer : NativeMemory.allocateAligned(buffer.remaining(), 8);
        int start = direct.position();
        long at = position;
        while (direct.hasRemaining()) {
            long n = sys.pread(fd(), direct, at);
            if (n == -Errno.EINTR) {
                continue;
            }
            check("read", path, n);
            if (n == 0) {
                throw new EOFException(path + ": the file ends at " + at + ", before the " + direct.remaining()
                        + " more bytes expected");
            }
            direct.position(direct.position() + (int) n);
            at += n;
        }
        if (direct != buffer) {
            buffer.put(direct.flip().position(start));
        }
    }

    /**
     * Writes all of {@code buffer.remaining()} bytes at a position.
     *
     * @param buffer the bytes
     * @param position the file offset
     * @throws IOException naming the path ({@code ENOSPC}: no space left)
     */
    public void writeFully(ByteBuffer buffer, long position) throws IOException {
        ByteBuffer direct = buffer;
        if (!buffer.isDirect()) {
            direct = NativeMemory.allocateAligned(buffer.remaining(), 8);
            direct.put(buffer.duplicate()).flip();
            buffer.position(buffer.limit());
        }
        long at = position;
        while (direct.hasRemaining()) {
            long n = sys.pwrite(fd(), direct, at);
            if (n == -Errno.EINTR) {
                continue;
            }
            check("write", path, n);
            direct.position(direct.position() + (int) n);
            at += n;
        }
    }

    /**
     * Forces the file's data and metadata to storage.
     *
     * @throws IOException naming the path
     */
    public void sync() throws IOException {
        check("fsync", path, sys.fsync(fd()));
    }

    /**
     * Takes the exclusive {@code flock} of this open file description, waiting for it. Other open
     * descriptions of the file, in this process or another, wait; closing an unrelated descriptor does not
     * drop it (unlike {@code FileChannel.lock}).
     *
     * @throws IOException naming the path
     */
    public void lock() throws IOException {
        long result;
        do {
            result = sys.flock(fd(), LOCK_EX);
        } while (result == -Errno.EINTR);
        check("flock", path, result);
    }

    /**
     * Releases the {@code flock} taken by {@link #lock()}.
     *
     * @throws IOException naming the path
     */
    public void unlock() throws IOException {
        check("flock unlock", path, sys.flock(fd(), LOCK_UN));
    }

    /**
     * The byte whose open-file-description read lock every open handle of a mutex file holds: the last byte a
     * file offset can name, far past any record. A record lock that reaches it conflicts: a whole-file
     * {@code FileChannel.lock()} (a POSIX write lock to the end of all offsets) taken on the mutex file itself.
     */
    static final long IN_USE_BYTE = Long.MAX_VALUE;

    /**
     * Marks the file in use by this open file description, for as long as it stays open: a shared
     * open-file-description lock ({@code F_OFD_SETLK}, {@code F_RDLCK}) on {@link #IN_USE_BYTE}. The kernel drops
     * it when the description is closed, so when its process dies.
     *
     * @return 0 when marked; else why not, an errno: {@code EAGAIN} or {@code EACCES} when a write lock on that
     *     byte (another program's whole-file {@code FileChannel.lock()} of this file) prevents it,
     *     {@code ENOLCK}, {@code EINVAL} or {@code EOPNOTSUPP} when the file system offers no such locks
     * @throws IOException naming the path, for any other failure
     */
    public int markInUse() throws IOException {
        long result = sys.ofdLock(fd(), LinuxSyscalls.F_OFD_SETLK, LinuxSyscalls.F_RDLCK, IN_USE_BYTE);
        if (result < 0 && cannotMark((int) -result)) {
            return (int) -result;
        }
        check("fcntl(F_OFD_SETLK, F_RDLCK)", path, result);
        return 0;
    }

    private static boolean cannotMark(int errno) {
        return errno == Errno.EAGAIN || errno == Errno.EACCES || errno == Errno.ENOLCK || errno == Errno.EINVAL
                || errno == Errno.EOPNOTSUPP;
    }

    /**
     * Whether another open file description (in any process) has marked the file in use with
     * {@link #markInUse()}, or holds any other record lock on its last byte. Where the file system cannot
     * answer ({@code ENOLCK}, {@code EINVAL}, {@code EOPNOTSUPP}) it is not known, and counted as in use.
     *
     * @return true when one has, or when that is not known
     * @throws IOException naming the path, for any other failure
     */
    public boolean inUseElsewhere() throws IOException {
        long found = sys.ofdLock(fd(), LinuxSyscalls.F_OFD_GETLK, LinuxSyscalls.F_WRLCK, IN_USE_BYTE);
        if (found == -Errno.ENOLCK || found == -Errno.EINVAL || found == -Errno.EOPNOTSUPP) {
            return true;
        }
        check("fcntl(F_OFD_GETLK)", path, found);
        return found != LinuxSyscalls.F_UNLCK;
    }

    /**
     * Maps the first {@code size} bytes read-write and shared.
     *
     * @param size the number of bytes
     * @return the mapping's address
     * @throws IOException naming the path
     */
    public long map(long size) throws IOException {
        return checkLong("mmap", path, sys.mmap(fd(), size));
    }

    /** Closes the descriptor (once). */
    @Override
    public void close() {
        if (fd >= 0) {
            sys.close(fd);
            fd = -1;
        }
    }

    private void ensureOpen() {
        if (fd < 0) {
            throw new IllegalStateException(path + ": descriptor already closed");
        }
    }

    private static int check(String operation, Path path, long result) throws IOException {
        if (result < 0) {
            throw error(operation, path, (int) -result);
        }
        return (int) Math.min(result, Integer.MAX_VALUE);
    }

    private static long checkLong(String operation, Path path, long result) throws IOException {
        if (result < 0) {
            throw error(operation, path, (int) -result);
        }
        return result;
    }

    /**
     * The exception for a failed operation on a path.
     *
     * @param operation what was done, e.g. {@code "open"}
     * @param path the path
     * @param errno the positive errno value
     * @return the exception, naming the path
     */
    public static IOException error(String operation, Path path, int errno) {
        String file = path.toString();
        String reason = operation + " failed: " + Errno.name(errno) + " (" + errno + ")";
        return switch (errno) {
            case Errno.ENOENT -> new NoSuchFileException(file, null, reason);
            case Errno.EEXIST -> new FileAlreadyExistsException(file, null, reason);
            case Errno.EACCES, Errno.EPERM -> new AccessDeniedException(file, null, reason);
            case Errno.ENOTDIR -> new NotDirectoryException(file);
            case Errno.ELOOP -> new FileSystemException(file, null, reason + ": a symbolic link; the library never"
                    + " follows a link to a file it maps (a link may point anywhere its author chose)");
            case Errno.ENOSPC, Errno.EDQUOT -> new FileSystemException(file, null, reason
                    + ": no space left for the file");
            default -> new FileSystemException(file, null, reason);
        };
    }
}
