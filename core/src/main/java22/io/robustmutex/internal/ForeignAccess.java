package io.robustmutex.internal;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * What this JVM offers beyond Java 17. This is the JDK 22 version, from the multi-release jar's
 * {@code META-INF/versions/22}: native access through the foreign function API ({@link FfmAccess}) and memory
 * access through {@code MemorySegment}s ({@link SegmentMemory}), so that nothing loads jffi's JNI stub or
 * touches {@code sun.misc.Unsafe} unless a system property asks for the older implementations.
 */
@SuppressWarnings("restricted") // the probe: reinterpret
final class ForeignAccess {

    /**
     * Whether native access was enabled for this module before the library made its first restricted call.
     * Read first, because after the JDK warns of a module's first restricted call it enables native access
     * for that module, so that it warns only once.
     */
    private static final boolean NATIVE_ACCESS_ENABLED = ForeignAccess.class.getModule().isNativeAccessEnabled();

    /**
     * Why the JVM refuses this module's restricted calls, or null when it allows them (with a warning when
     * native access was not enabled). It refuses them on JDK 22 and 23 when {@code --enable-native-access}
     * names other modules but not this one (as the library's instructions for JNR-FFI used to say:
     * {@code org.jnrproject.jffi}), and from JDK 24 under {@code --illegal-native-access=deny}. The library
     * then falls back on JNR-FFI and on memory access without segments, which work where the JVM lets jffi's
     * module load its library.
     */
    private static final IllegalCallerException REFUSED = probe();

    private static IllegalCallerException probe() {
        try {
            MemorySegment.NULL.reinterpret(1);
            return null;
        } catch (IllegalCallerException e) {
            return e;
        }
    }

    private ForeignAccess() {
    }

    /**
     * The native access implementation to use: {@code ffm} unless {@link NativeAccess#PROPERTY} asks for
     * {@code jnr}.
     *
     * @param requested the value of {@link NativeAccess#PROPERTY}, or null
     * @param report whether to log a value that cannot be followed
     * @return {@code "jnr"} or {@code "ffm"}
     */
    static String chooseNativeAccess(String requested, boolean report) {
        if (requested == null) {
            return "ffm";
        }
        String value = requested.trim().toLowerCase(Locale.ROOT);
        if (value.equals("jnr") || value.equals("ffm")) {
            return value;
        }
        if (report) {
            System.getLogger(NativeAccess.class.getName()).log(System.Logger.Level.WARNING,
                    "{0}={1} is not jnr or ffm; using ffm", NativeAccess.PROPERTY, requested);
        }
        return "ffm";
    }

    /**
     * Creates the native access implementation.
     *
     * @param requested the value of {@link NativeAccess#PROPERTY}, or null
     * @return the implementation
     */
    static NativeAccess nativeAccess(String requested) {
        if (chooseNativeAccess(requested, true).equals("jnr")) {
            return new JnrAccess();
        }
        if (REFUSED != null) {
            System.getLogger(NativeAccess.class.getName()).log(System.Logger.Level.WARNING,
                    "the JVM refuses native access to module {0} ({1}); using JNR-FFI instead of the foreign"
                            + " function API. Run the JVM with --enable-native-access={0}",
                    moduleName(), REFUSED.getMessage());
            return new JnrAccess();
        }
        return FfmAccess.create();
    }

    private static String moduleName() {
        Module module = ForeignAccess.class.getModule();
        return module.isNamed() ? module.getName() : "ALL-UNNAMED";
    }

    /**
     * Whether {@code MemorySegment} memory access can be used in this JVM.
     *
     * @return true unless the JVM refuses this module's restricted calls
     */
    static boolean memorySegments() {
        return REFUSED == null;
    }

    /**
     * Memory over a buffer through {@code MemorySegment} accesses.
     *
     * @param buffer a direct buffer
     * @return the memory
     */
    static MappedMemory segmentMemory(ByteBuffer buffer) {
        return new SegmentMemory(buffer);
    }

    /**
     * Whether the JVM lets this module call native code without a warning.
     *
     * @return {@link Module#isNativeAccessEnabled()} of this module before the library's first restricted call
     */
    static boolean nativeAccessEnabled() {
        return NATIVE_ACCESS_ENABLED;
    }
}
