package io.robustmutex;

/**
 * A system call failed with an error the library did not expect. The message names the call and the errno.
 *
 * <p>Expected outcomes (a timeout, owner death, a busy lock) are never reported with this exception.
 */
public final class SyscallException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final int errno;
    private final String errnoName;

    /**
     * Creates the exception.
     *
     * @param call the call that failed, e.g. {@code "futex(FUTEX_LOCK_PI2)"}
     * @param errno the errno value
     * @param errnoName the errno's symbolic name
     */
    public SyscallException(String call, int errno, String errnoName) {
        super(call + " failed: " + errnoName + " (" + errno + ")");
        this.call = call;
        this.errno = errno;
        this.errnoName = errnoName;
    }

    /**
     * The call that failed.
     *
     * @return the call name
     */
    public String call() {
        return call;
    }

    /**
     * The errno value.
     *
     * @return the errno
     */
    public int errno() {
        return errno;
    }

    /**
     * The errno's symbolic name.
     *
     * @return e.g. {@code "EINVAL"}
     */
    public String errnoName() {
        return errnoName;
    }
}
