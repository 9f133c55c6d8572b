package io.robustmutex.model;

/**
 * Thrown inside a simulated thread that has been killed, to unwind its Java stack without running further
 * steps. It is an {@link Error} so that ordinary exception handling in the code under test does not catch
 * it; code that catches {@link Throwable} must rethrow it.
 */
public final class ThreadKilled extends Error {

    private static final long serialVersionUID = 1L;

    ThreadKilled(String thread) {
        super(thread + " was killed", null, false, false);
    }
}
