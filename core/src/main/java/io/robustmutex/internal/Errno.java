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
    /** No such process. */
    public static final int ESRCH = 3;
    /** Interrupted system call. */
    public static final int EINTR = 4;
    /** Try again. */
    public static final int EAGAIN = 11;
    /** Out of memory. */
    public static final int ENOMEM = 12;
    /** Bad address. */
    public static final int EFAULT = 14;
    /** Invalid argument. */
    public static final int EINVAL = 22;
    /** Resource deadlock would occur. */
    public static final int EDEADLK = 35;
    /** Function not implemented. */
    public static final int ENOSYS = 38;
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
            case ESRCH -> "ESRCH";
            case EINTR -> "EINTR";
            case EAGAIN -> "EAGAIN";
            case ENOMEM -> "ENOMEM";
            case EFAULT -> "EFAULT";
            case EINVAL -> "EINVAL";
            case EDEADLK -> "EDEADLK";
            case ENOSYS -> "ENOSYS";
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
