package io.robustmutex.internal;

import io.robustmutex.SyscallException;

/**
 * Errno values and names (the same on x86_64 and aarch64: include/uapi/asm-generic/errno-base.h and
 * errno.h), and the one place where an unexpected errno becomes an exception.
 *
 * <p>The binding returns results the way the kernel does: a non-negative value, or {@code -errno}. Callers
 * handle the errnos they expect as values and pass any other to {@link #exception}.
 */
public final class Errno {

    /** Operation not permitted. */
    public static final int EPERM = 1;
    /** No such file or directory. */
    public static final int ENOENT = 2;
    /** No such process. */
    public static final int ESRCH = 3;
    /** Interrupted system call. */
    public static final int EINTR = 4;
    /** No such device or address (opening a FIFO without a reader, non-blocking). */
    public static final int ENXIO = 6;
    /** Bad file descriptor. */
    public static final int EBADF = 9;
    /** Try again. */
    public static final int EAGAIN = 11;
    /** Out of memory. */
    public static final int ENOMEM = 12;
    /** Permission denied. */
    public static final int EACCES = 13;
    /** Bad address. */
    public static final int EFAULT = 14;
    /** File exists. */
    public static final int EEXIST = 17;
    /** Not a directory. */
    public static final int ENOTDIR = 20;
    /** Is a directory. */
    public static final int EISDIR = 21;
    /** Invalid argument. */
    public static final int EINVAL = 22;
    /** File table overflow. */
    public static final int ENFILE = 23;
    /** Too many open files. */
    public static final int EMFILE = 24;
    /** No space left on device. */
    public static final int ENOSPC = 28;
    /** Read-only file system. */
    public static final int EROFS = 30;
    /** Resource deadlock would occur. */
    public static final int EDEADLK = 35;
    /** File name too long. */
    public static final int ENAMETOOLONG = 36;
    /** Function not implemented. */
    public static final int ENOSYS = 38;
    /** No record locks available (a file system without lock support). */
    public static final int ENOLCK = 37;
    /** Too many symbolic links (a symbolic link met with O_NOFOLLOW). */
    public static final int ELOOP = 40;
    /** Operation not supported. */
    public static final int EOPNOTSUPP = 95;
    /** Quota exceeded. */
    public static final int EDQUOT = 122;
    /** Connection timed out (a futex wait reached its timeout). */
    public static final int ETIMEDOUT = 110;
    /** Owner died. */
    public static final int EOWNERDEAD = 130;
    /** State not recoverable. */
    public static final int ENOTRECOVERABLE = 131;

    private Errno() {
    }

    /**
     * The symbolic name of an errno value.
     *
     * @param errno a positive errno value
     * @return its name, or {@code "errno <n>"} when this class does not know it
     */
    public static String name(int errno) {
        return switch (errno) {
            case EPERM -> "EPERM";
            case ENOENT -> "ENOENT";
            case ESRCH -> "ESRCH";
            case EINTR -> "EINTR";
            case ENXIO -> "ENXIO";
            case EBADF -> "EBADF";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EACCES -> "EACCES";
            case EFAULT -> "EFAULT";
            case EEXIST -> "EEXIST";
            case ENOTDIR -> "ENOTDIR";
            case EISDIR -> "EISDIR";
            case EINVAL -> "EINVAL";
            case ENFILE -> "ENFILE";
            case EMFILE -> "EMFILE";
            case ENOSPC -> "ENOSPC";
            case EROFS -> "EROFS";
            case EDEADLK -> "EDEADLK";
            case ENAMETOOLONG -> "ENAMETOOLONG";
            case ENOSYS -> "ENOSYS";
            case ENOLCK -> "ENOLCK";
            case ELOOP -> "ELOOP";
            case EOPNOTSUPP -> "EOPNOTSUPP";
            case EDQUOT -> "EDQUOT";
            case ETIMEDOUT -> "ETIMEDOUT";
            case EOWNERDEAD -> "EOWNERDEAD";
            case ENOTRECOVERABLE -> "ENOTRECOVERABLE";
            default -> "errno " + errno;
        };
    }

    /**
     * The exception for an errno the caller did not expect.
     *
     * @param call the syscall (and operation) that failed, e.g. {@code "futex(FUTEX_LOCK_PI2)"}
     * @param errno the positive errno value
     * @return the exception to throw
     */
    public static SyscallException exception(String call, int errno) {
        return new SyscallException(call, errno, name(errno));
    }

    /**
     * Returns a raw result when it is not an error, and throws otherwise.
     *
     * @param call the syscall name for the message
     * @param result a raw result: non-negative, or {@code -errno}
     * @return {@code result} when non-negative
     * @throws SyscallException when {@code result} is negative
     */
    public static long check(String call, long result) {
        if (result < 0) {
            throw exception(call, (int) -result);
        }
        return result;
    }
}
