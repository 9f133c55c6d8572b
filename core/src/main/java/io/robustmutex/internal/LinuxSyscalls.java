package io.robustmutex.internal;

import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.FileSyscalls;
import io.robustmutex.spi.SyscallNumbers;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * The Linux system calls the library makes, through {@code syscall(2)} with the architecture's numbers, called
 * through this JVM's {@link NativeAccess} (JNR-FFI, or the foreign function API on JDK 22 and later).
 *
 * <p>Every method returns what the kernel returns: a non-negative result or {@code -errno}. Nothing here
 * throws for an errno; the caller handles the errnos it expects as values and passes the others to
 * {@link Errno#exception}. Out-parameters and timeouts live in a small per-thread native scratch area, so no
 * call allocates native memory.
 */
public final class LinuxSyscalls {

    /** Offsets in the per-thread scratch area. */
    private static final int SCRATCH_TIMESPEC = 0;
    private static final int SCRATCH_OUT0 = 16;
    private static final int SCRATCH_OUT1 = 24;
    private static final int SCRATCH_SIZE = 64;

    /** {@code AT_FDCWD}: paths relative to the working directory. */
    private static final long AT_FDCWD = -100;
    /** {@code AT_EMPTY_PATH}: statx of the descriptor itself. */
    private static final int AT_EMPTY_PATH = 0x1000;
    /** {@code STATX_BASIC_STATS}. */
    private static final int STATX_BASIC_STATS = 0x7ff;
    /** {@code PROT_READ | PROT_WRITE}. */
    private static final int PROT_READ_WRITE = 3;
    /** {@code MAP_SHARED}. */
    private static final int MAP_SHARED = 1;

    private final NativeAccess access;
    private final SyscallNumbers numbers;
    private final FileSyscalls files;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    private LinuxSyscalls(NativeAccess access, SyscallNumbers numbers, FileSyscalls files) {
        this.access = access;
        this.numbers = numbers;
        this.files = files;
    }

    /**
     * The binding for this machine's architecture, without the platform's checks that the futex calls work:
     * for reading files ({@code inspect}) where robust mutexes themselves may be unavailable.
     *
     * @return the binding
     * @throws UnsupportedOperationException when there is no binding for this machine
     */
    public static LinuxSyscalls current() {
        return CurrentHolder.SYSCALLS;
    }

    /** Loads the binding on first use. */
    private static final class CurrentHolder {
        static final LinuxSyscalls SYSCALLS = load(Architectures.current());
    }

    /**
     * Binds the C library.
     *
     * @param architecture the architecture whose syscall numbers are used
     * @return the binding
     * @throws UnsupportedOperationException when native code cannot be reached ({@link NativeAccess#current})
     */
    public static LinuxSyscalls load(Architecture architecture) {
        return new LinuxSyscalls(NativeAccess.current(), architecture.syscallNumbers(), architecture.fileSyscalls());
    }

    /**
     * The syscall numbers in use.
     *
     * @return the numbers
     */
    public SyscallNumbers numbers() {
        return numbers;
    }

    /** A syscall that reads six arguments: the native access's seven-parameter path. */
    private long call6(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
        return access.syscall(number, a1, a2, a3, a4, a5, a6);
    }

    /**
     * A syscall that reads at most five arguments: the native access's fast path
     * ({@link NativeAccess#syscall5}), which passes no sixth argument (the kernel's sixth argument register
     * holds whatever the path leaves there).
     */
    private long call(long number, long a1, long a2, long a3, long a4, long a5) {
        return access.syscall5(number, a1, a2, a3, a4, a5);
    }

    /**
     * Whether a futex operation ignores {@code val3}, so that it can take the five-argument path: the kernel's
     * {@code do_futex} (kernel/futex/syscall.c) replaces {@code val3} with {@code FUTEX_BITSET_MATCH_ANY} for
     * {@code FUTEX_WAIT} and {@code FUTEX_WAKE} and never passes it to the PI operations; with
     * {@code FUTEX_ROBUST_UNLOCK} only {@code FUTEX_WAKE_BITSET} reads it (kernel-abi.md section 4.1).
     */
    private static boolean ignoresVal3(int op) {
        return switch (op & FutexOp.FUTEX_CMD_MASK) {
            case FutexOp.FUTEX_WAIT, FutexOp.FUTEX_WAKE, FutexOp.FUTEX_LOCK_PI, FutexOp.FUTEX_UNLOCK_PI,
                    FutexOp.FUTEX_TRYLOCK_PI, FutexOp.FUTEX_LOCK_PI2 -> true;
            default -> false;
        };
    }

    /**
     * {@code gettid()}: the calling thread's TID. It cannot fail.
     *
     * @return the TID
     */
    public int gettid() {
        return (int) call(numbers.gettid(), 0, 0, 0, 0, 0);
    }

    /**
     * {@code set_robust_list(head, length)} for the calling thread.
     *
     * @param head the head's address, or 0 to unregister
     * @param length the head's size; only 24 is accepted by the kernel
     * @return 0, or {@code -EINVAL} for a wrong length
     */
    public long setRobustList(long head, long length) {
        return call(numbers.setRobustList(), head, length, 0, 0, 0);
    }

    /**
     * {@code get_robust_list(tid, &head, &length)}.
     *
     * @param tid a thread of this process, or 0 for the calling thread
     * @param out receives the head address at index 0 and the length at index 1
     * @return 0, or {@code -ESRCH} when there is no such thread, {@code -EPERM} when not permitted
     */
    public long getRobustList(int tid, long[] out) {
        Scratch s = scratch.get();
        long result = call(numbers.getRobustList(), tid, s.address + SCRATCH_OUT0, s.address + SCRATCH_OUT1, 0, 0);
        if (result == 0) {
            out[0] = s.buffer.getLong(SCRATCH_OUT0);
            out[1] = s.buffer.getLong(SCRATCH_OUT1);
        }
        return result;
    }

    /**
     * {@code futex(uaddr, op, val, timeout_or_val2, uaddr2, val3)} with the fourth argument passed as a raw
     * value (NULL timeout, or {@code val2}).
     *
     * @param uaddr the futex word's address
     * @param op the operation with its flags
     * @param val the operation's {@code val}
     * @param timeoutOrVal2 a timespec address, 0, or {@code val2}
     * @param uaddr2 the second address (for {@code FUTEX_ROBUST_UNLOCK}: the pending slot)
     * @param val3 the operation's {@code val3}
     * @return the kernel's result or {@code -errno}
     */
    public long futex(long uaddr, int op, int val, long timeoutOrVal2, long uaddr2, int val3) {
        return val3 == 0 && ignoresVal3(op)
                ? call(numbers.futex(), uaddr, op, val, timeoutOrVal2, uaddr2)
                : call6(numbers.futex(), uaddr, op, val, timeoutOrVal2, uaddr2, val3);
    }

    /**
     * {@code futex} with a timeout given as a {@code struct timespec}; whether it is relative or absolute,
     * and on which clock, is the operation's rule (kernel-abi.md section 1).
     *
     * @param uaddr the futex word's address
     * @param op the operation with its flags
     * @param val the operation's {@code val}
     * @param seconds {@code tv_sec}
     * @param nanos {@code tv_nsec}, 0..999,999,999
     * @param uaddr2 the second address
     * @param val3 the operation's {@code val3}
     * @return the kernel's result or {@code -errno}
     */
    public long futexTimed(long uaddr, int op, int val, long seconds, long nanos, long uaddr2, int val3) {
        Scratch s = scratch.get();
        s.buffer.putLong(SCRATCH_TIMESPEC, seconds);
        s.buffer.putLong(SCRATCH_TIMESPEC + 8, nanos);
        return val3 == 0 && ignoresVal3(op)
                ? call(numbers.futex(), uaddr, op, val, s.address + SCRATCH_TIMESPEC, uaddr2)
                : call6(numbers.futex(), uaddr, op, val, s.address + SCRATCH_TIMESPEC, uaddr2, val3);
    }

    // ------------------------------------------------------------------ the file layer

    /**
     * The file-layer numbers and flags.
     *
     * @return the architecture's file syscalls
     */
    public FileSyscalls files() {
        return files;
    }

    /**
     * {@code openat(AT_FDCWD, path, flags, mode)}.
     *
     * @param path the path
     * @param flags {@code O_*} flags
     * @param mode the mode of a file created
     * @return the descriptor, or {@code -errno}
     */
    public long openat(Path path, int flags, int mode) {
        ByteBuffer name = cString(path);
        long result = call(files.openat(), AT_FDCWD, NativeMemory.address(name), flags, mode, 0);
        Reference.reachabilityFence(name);
        return result;
    }

    /**
     * {@code close(fd)}.
     *
     * @param fd the descriptor
     * @return 0 or {@code -errno}
     */
    public long close(int fd) {
        return call(files.close(), fd, 0, 0, 0, 0);
    }

    /**
     * {@code statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS)}: the status of the open descriptor itself.
     *
     * @param fd the descriptor
     * @param out a direct buffer of at least {@link FileStatus#STATX_SIZE} bytes
     * @return 0 or {@code -errno}
     */
    public long statx(int fd, ByteBuffer out) {
        ByteBuffer empty = cString("");
        long result = call(files.statx(), fd, NativeMemory.address(empty), AT_EMPTY_PATH, STATX_BASIC_STATS,
                NativeMemory.address(out));
        Reference.reachabilityFence(empty);
        Reference.reachabilityFence(out);
        return result;
    }

    /**
     * {@code fchmod(fd, mode)}.
     *
     * @param fd the descriptor
     * @param mode the permission bits
     * @return 0 or {@code -errno}
     */
    public long fchmod(int fd, int mode) {
        return call(files.fchmod(), fd, mode, 0, 0, 0);
    }

    /**
     * {@code fallocate(fd, 0, offset, length)}: allocates the blocks now, so that a full file system is
     * reported here and not as a SIGBUS at the first touch of a page.
     *
     * @param fd the descriptor
     * @param offset where
     * @param length how many bytes
     * @return 0 or {@code -errno} ({@code -EOPNOTSUPP} where the file system cannot)
     */
    public long fallocate(int fd, long offset, long length) {
        return call(files.fallocate(), fd, 0, offset, length, 0);
    }

    /**
     * {@code pread64(fd, buffer, remaining, offset)}.
     *
     * @param fd the descriptor
     * @param buffer a direct buffer; bytes from its position to its limit are filled
     * @param offset the file offset
     * @return bytes read, or {@code -errno}
     */
    public long pread(int fd, ByteBuffer buffer, long offset) {
        long result = call(files.pread64(), fd, NativeMemory.address(buffer) + buffer.position(), buffer.remaining(),
                offset, 0);
        Reference.reachabilityFence(buffer);
        return result;
    }

    /**
     * {@code pwrite64(fd, buffer, remaining, offset)}.
     *
     * @param fd the descriptor
     * @param buffer a direct buffer; bytes from its position to its limit are written
     * @param offset the file offset
     * @return bytes written, or {@code -errno}
     */
    public long pwrite(int fd, ByteBuffer buffer, long offset) {
        long result = call(files.pwrite64(), fd, NativeMemory.address(buffer) + buffer.position(),
                buffer.remaining(), offset, 0);
        Reference.reachabilityFence(buffer);
        return result;
    }

    /**
     * {@code fsync(fd)}.
     *
     * @param fd the descriptor
     * @return 0 or {@code -errno}
     */
    public long fsync(int fd) {
        return call(files.fsync(), fd, 0, 0, 0, 0);
    }

    /**
     * {@code mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)}.
     *
     * @param fd the descriptor
     * @param length the number of bytes from offset 0
     * @return the address, or {@code -errno}
     */
    public long mmap(int fd, long length) {
        return call6(files.mmap(), 0, length, PROT_READ_WRITE, MAP_SHARED, fd, 0);
    }

    /**
     * {@code munmap(address, length)}.
     *
     * @param address the mapping's address
     * @param length its length
     * @return 0 or {@code -errno}
     */
    public long munmap(long address, long length) {
        return call(files.munmap(), address, length, 0, 0, 0);
    }

    /**
     * {@code linkat(AT_FDCWD, from, AT_FDCWD, to, 0)}: a new name for a file, failing with {@code EEXIST}
     * rather than replacing anything (a symbolic link at {@code to} counts as existing).
     *
     * @param from an existing name (not followed if it is a link)
     * @param to the new name
     * @return 0 or {@code -errno}
     */
    public long linkat(Path from, Path to) {
        ByteBuffer a = cString(from);
        ByteBuffer b = cString(to);
        long result = call(files.linkat(), AT_FDCWD, NativeMemory.address(a), AT_FDCWD, NativeMemory.address(b), 0);
        Reference.reachabilityFence(a);
        Reference.reachabilityFence(b);
        return result;
    }

    /**
     * {@code unlinkat(AT_FDCWD, path, 0)}.
     *
     * @param path the name to remove
     * @return 0 or {@code -errno}
     */
    public long unlinkat(Path path) {
        ByteBuffer name = cString(path);
        long result = call(files.unlinkat(), AT_FDCWD, NativeMemory.address(name), 0, 0, 0);
        Reference.reachabilityFence(name);
        return result;
    }

    /**
     * {@code flock(fd, operation)}: a lock owned by the open file description, so unlike
     * {@code FileChannel.lock}'s it is not dropped when some other descriptor of the file is closed.
     *
     * @param fd the descriptor
     * @param operation {@code LOCK_EX} (2), {@code LOCK_UN} (8), possibly with {@code LOCK_NB} (4)
     * @return 0 or {@code -errno}
     */
    public long flock(int fd, int operation) {
        return call(files.flock(), fd, operation, 0, 0, 0);
    }

    /** {@code F_OFD_GETLK} (kernel-abi.md section 1): which lock, if any, would conflict with the one described. */
    public static final int F_OFD_GETLK = 36;
    /** {@code F_OFD_SETLK}: take (or change, or drop) a lock owned by the open file description, not waiting. */
    public static final int F_OFD_SETLK = 37;
    /** {@code F_RDLCK}: a shared (read) lock. */
    public static final short F_RDLCK = 0;
    /** {@code F_WRLCK}: an exclusive (write) lock. */
    public static final short F_WRLCK = 1;
    /** {@code F_UNLCK}: no lock. */
    public static final short F_UNLCK = 2;

    /**
     * {@code fcntl(fd, cmd, &flock)} for an open-file-description lock on one byte: a lock owned by the open
     * file description, released when the last descriptor of it is closed (so when its process dies), and
     * independent of {@code flock} locks.
     *
     * @param fd the descriptor
     * @param cmd {@link #F_OFD_GETLK} or {@link #F_OFD_SETLK}
     * @param type {@link #F_RDLCK}, {@link #F_WRLCK} or {@link #F_UNLCK}
     * @param offset the byte locked
     * @return for {@code F_OFD_GETLK}, the type of the conflicting lock ({@link #F_UNLCK} when none); for
     *     {@code F_OFD_SETLK}, 0; or {@code -errno}
     */
    public long ofdLock(int fd, int cmd, short type, long offset) {
        // struct flock: short l_type, short l_whence, (pad), off_t l_start @8, off_t l_len @16, pid_t l_pid @24.
        ByteBuffer lock = NativeMemory.allocateAligned(32, 8);
        lock.putShort(0, type);
        lock.putShort(2, (short) 0);
        lock.putLong(8, offset);
        lock.putLong(16, 1);
        lock.putInt(24, 0);
        long result = call(files.fcntl(), fd, cmd, NativeMemory.address(lock), 0, 0);
        short found = lock.getShort(0);
        Reference.reachabilityFence(lock);
        return result < 0 || cmd != F_OFD_GETLK ? result : found;
    }

    /**
     * {@code membarrier(cmd, flags, 0)}.
     *
     * @param cmd the command
     * @param flags its flags
     * @return the command's result, or {@code -errno}
     */
    public long membarrier(int cmd, int flags) {
        return call(files.membarrier(), cmd, flags, 0, 0, 0);
    }

    /**
     * {@code geteuid()}.
     *
     * @return the effective user id
     */
    public int geteuid() {
        return (int) call(files.geteuid(), 0, 0, 0, 0, 0);
    }

    /**
     * The effective group id and the supplementary groups of the process.
     *
     * @return the group ids
     */
    public int[] groups() {
        int egid = (int) call(files.getegid(), 0, 0, 0, 0, 0);
        ByteBuffer list = NativeMemory.allocateAligned(4 * 65536, 8);
        long count = call(files.getgroups(), 65536, NativeMemory.address(list), 0, 0, 0);
        Reference.reachabilityFence(list);
        int n = count < 0 ? 0 : (int) count;
        int[] groups = new int[n + 1];
        groups[0] = egid;
        for (int i = 0; i < n; i++) {
            groups[i + 1] = list.getInt(4 * i);
        }
        return groups;
    }

    /** A NUL-terminated copy of a path in native memory. */
    private static ByteBuffer cString(Path path) {
        return cString(path.toString());
    }

    private static ByteBuffer cString(String text) {
        byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteBuffer buffer = NativeMemory.allocateAligned(bytes.length + 1, 8);
        buffer.put(0, bytes);
        buffer.put(bytes.length, (byte) 0);
        return buffer;
    }

    /** Per-thread native memory for out-parameters and timespecs. */
    private static final class Scratch {
        final ByteBuffer buffer = NativeMemory.allocateAligned(SCRATCH_SIZE, 16);
        final long address = NativeMemory.address(buffer);
    }
}
