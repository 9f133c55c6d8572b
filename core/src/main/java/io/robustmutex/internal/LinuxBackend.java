package io.robustmutex.internal;

import java.util.concurrent.TimeUnit;

/**
 * The protocol bound to the real kernel, created once per JVM on first use.
 */
public final class LinuxBackend {

    /**
     * The system property giving the interruption slice of {@code lockInterruptibly} and timed acquisitions,
     * in milliseconds (default {@value #DEFAULT_SLICE_MILLIS}).
     */
    public static final String SLICE_PROPERTY = "io.robustmutex.interruptSliceMillis";
    /** The default interruption slice in milliseconds. */
    public static final long DEFAULT_SLICE_MILLIS = 20;
    /**
     * The system property giving the longest a NORMAL waiter sleeps before it looks at the word again, in
     * milliseconds (default {@value #DEFAULT_RECHECK_MILLIS}): the bound on the delay a lost wake-up or a
     * vanished owner can cause.
     */
    public static final String RECHECK_PROPERTY = "io.robustmutex.recheckMillis";
    /** The default re-check interval in milliseconds. */
    public static final long DEFAULT_RECHECK_MILLIS = 100;

    private LinuxBackend() {
    }

    private static final class Holder {
        static final RobustMutexProtocol PROTOCOL = new RobustMutexProtocol(new LinuxKernel(LinuxPlatform.get()),
                TimeUnit.MILLISECONDS.toNanos(Long.getLong(SLICE_PROPERTY, DEFAULT_SLICE_MILLIS)),
                TimeUnit.MILLISECONDS.toNanos(Long.getLong(RECHECK_PROPERTY, DEFAULT_RECHECK_MILLIS)));
    }

    /**
     * The protocol on the real kernel.
     *
     * @return the protocol
     * @throws UnsupportedOperationException when the library cannot work in this JVM
     */
    public static RobustMutexProtocol protocol() {
        LinuxPlatform.get();
        return Holder.PROTOCOL;
    }
}
