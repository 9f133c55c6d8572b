/**
 * Implementation: the Linux binding (JNR-FFI), the vDSO lookup, the shared-memory descriptors and the lock
 * protocol. Not an API; anything here may change in any release.
 *
 * <p>Naming: descriptor classes ({@code *Descriptor}) hold the offsets of one shared-memory layout and
 * nothing else writes an offset literal; binding methods return what the kernel returns (a non-negative
 * value or {@code -errno}) and {@link io.robustmutex.internal.Errno} turns an unexpected errno into an
 * exception.
 *
 * <p>Exported only to the module {@code io.robustmutex.model}; design.md section 2 says why it is one package
 * and how its classes group by concern.
 */
package io.robustmutex.internal;
