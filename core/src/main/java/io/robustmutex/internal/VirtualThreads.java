package io.robustmutex.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Detects virtual threads (JDK 21+) on a Java 17 baseline, where {@code Thread.isVirtual()} does not exist.
 * A robust mutex is owned by an OS thread (its TID is in the futex word and its robust list is the
 * kernel's), and a virtual thread may continue on another carrier, so virtual threads are refused.
 */
public final class VirtualThreads {

    private static final MethodHandle IS_VIRTUAL = findIsVirtual();

    private VirtualThreads() {
    }

    private static MethodHandle findIsVirtual() {
        try {
            return MethodHandles.publicLookup().findVirtual(Thread.class, "isVirtual",
                    MethodType.methodType(boolean.class));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null;
        }
    }

    /**
     * Whether a thread is virtual.
     *
     * @param thread a thread
     * @return true only on JDK 21+ for a virtual thread
     */
    public static boolean isVirtual(Thread thread) {
        if (IS_VIRTUAL == null) {
            return false;
        }
        try {
            return (boolean) IS_VIRTUAL.invokeExact(thread);
        } catch (Throwable t) {
            throw new IllegalStateException("Thread.isVirtual failed", t);
        }
    }

    /**
     * Refuses the calling thread when it is virtual.
     *
     * @throws UnsupportedOperationException for a virtual thread, saying what to do instead
     */
    public static void refuseCurrent() {
        if (isVirtual(Thread.currentThread())) {
            throw new UnsupportedOperationException("robust mutexes are owned by OS threads, and a virtual thread can"
                    + " continue on another carrier thread: take the mutex from a platform thread (for example an"
                    + " executor from Executors.newFixedThreadPool or Thread.ofPlatform())");
        }
    }
}
