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
                TimeUnit.MILLISECONDS.toNanos(millis(SLICE_PROPERTY, System.getProperty(SLICE_PROPERTY),
                        DEFAULT_SLICE_MILLIS)),
                TimeUnit.MILLISECONDS.toNanos(millis(RECHECK_PROPERTY, System.getProperty(RECHECK_PROPERTY),
                        DEFAULT_RECHECK_MILLIS)));
    }

    /**
     * A duration property in milliseconds. A value that is not a whole number ({@link Long#decode} syntax), or
     * not above 0, is reported and the default used (the rule for every property, docs/configuration.md).
     *
     * @param property the property's name, for the warning
     * @param value its value, or null when unset
     * @param defaultMillis the default
     * @return the milliseconds to use
     */
    static long millis(String property, String value, long defaultMillis) {
        if (value == null) {
            return defaultMillis;
        }
        try {
            long millis = Long.decode(value.trim());
            if (millis > 0) {
                return millis;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        System.getLogger(LinuxBackend.class.getName()).log(System.Logger.Level.WARNING,
                "{0}={1} is not a whole number of milliseconds, at least 1; using the default ({2})", property,
                value, defaultMillis);
        return defaultMillis;
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
