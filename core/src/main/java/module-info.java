/**
 * robust-mutex: a robust mutex in shared memory for Java processes on Linux.
 *
 * <p>The API is the package {@code io.robustmutex}; {@code io.robustmutex.spi} is what an architecture module
 * implements. Put an architecture module ({@code io.robustmutex.x86_64}, {@code io.robustmutex.aarch64}) on
 * the module path beside this one: it is found as a provider of {@link io.robustmutex.spi.Architecture}. On
 * JDK 22 and later this module calls the kernel through the foreign function API (the multi-release jar's
 * classes): run with {@code --enable-native-access=io.robustmutex} (README, "Java modules"; design.md
 * section 2).
 */
// "requires-automatic": JNR-FFI and jffi are automatic modules (their manifests name them); "module": the
// implementation is exported to io.robustmutex.model, which is built after this module.
@SuppressWarnings({"requires-automatic", "module"})
module io.robustmutex {
    requires org.jnrproject.ffi;
    requires org.jnrproject.jffi;
    // UnsafeMemory reaches sun.misc.Unsafe reflectively, and jffi uses it too.
    requires jdk.unsupported;
    // For JNR-FFI and jffi, which are automatic modules and so cannot say what they need: both log through
    // java.util.logging, and JNR-FFI generates its bindings with ASM. On the class path the JDK resolves
    // every system module and the jars are all there; with "java -m" only what some module requires is.
    // (jffi's native jar, jnr-x86asm and jnr-a64asm are automatic modules, resolved with the others.)
    requires java.logging;
    requires org.objectweb.asm;

    exports io.robustmutex;
    exports io.robustmutex.spi;
    // The implementation, for the reference model, which runs the lock protocol on its simulated kernel.
    exports io.robustmutex.internal to io.robustmutex.model;
    // LibC alone: see its package-info for why this export cannot be qualified.
    exports io.robustmutex.internal.libc;

    uses io.robustmutex.spi.Architecture;
}
