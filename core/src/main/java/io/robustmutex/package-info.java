/**
 * robust-mutex: a mutex for Java processes on one Linux machine that lives in shared memory, blocks in the
 * kernel, and tells the next owner when the previous owner died holding it.
 *
 * <p>{@link io.robustmutex.KernelSupport} says whether the running kernel supports it and which unlock path
 * ({@link io.robustmutex.UnlockPath}) is in use.
 */
package io.robustmutex;
