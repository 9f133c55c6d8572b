package io.robustmutex.internal.libc;

import jnr.ffi.annotations.SaveError;

/**
 * The C library functions the binding calls, named as in C. Pointers are passed as {@code long}.
 *
 * <p>Only {@code syscall(2)} is needed: every kernel interface the library uses is reached through it with
 * the architecture's syscall numbers, so no libc wrapper (some of which, like a {@code gettid} fallback, have
 * been wrong on other architectures) stands in between.
 */
public interface LibC {

    /**
     * {@code long syscall(long number, ...)}; unused trailing arguments are passed as 0, which the kernel
     * ignores.
     *
     * @param number the architecture's syscall number
     * @param a1 first argument
     * @param a2 second argument
     * @param a3 third argument
     * @param a4 fourth argument
     * @param a5 fifth argument
     * @param a6 sixth argument
     * @return the result, or -1 with errno set
     */
    @SaveError
    long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);
}
