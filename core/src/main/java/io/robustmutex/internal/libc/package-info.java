/**
 * The C library binding's interface, which JNR-FFI implements. Not an API; anything here may change in any
 * release.
 *
 * <p>It is a package of its own, exported to every module, because JNR-FFI implements the interface with a
 * class it generates at run time in a new class loader: that class is in the loader's unnamed module, which a
 * qualified export cannot name, and the JVM refuses to define it unless the interface's package is exported to
 * it. The rest of the implementation, {@code io.robustmutex.internal}, stays exported only to this project's
 * modules.
 */
package io.robustmutex.internal.libc;
