package io.robustmutex.internal;

import java.nio.ByteBuffer;
import java.util.Locale;

/**
 * What this JVM offers beyond Java 17. This is the Java 17 version: no foreign function and memory API, so
 * native access goes through JNR-FFI and there is no {@code MemorySegment} memory access. The multi-release
 * jar replaces this class on JDK 22 and later ({@code src/main/java22}).
 */
final class ForeignAccess {

    private ForeignAccess() {
    }

    /**
     * The native access implementation to use.
     *
     * @param requested the value of {@link NativeAccess#PROPERTY}, or null
     * @param report whether to log a value that cannot be followed
     * @return {@code "jnr"}
     */
    static String chooseNativeAccess(String requested, boolean report) {
        if (requested != null && report) {
            String value = requested.trim().toLowerCase(Locale.ROOT);
            if (!value.equals("jnr")) {
                System.getLogger(NativeAccess.class.getName()).log(System.Logger.Level.WARNING,
                        value.equals("ffm") ? "{0}={1}: the foreign function API needs JDK 22 or later; using jnr"
                                : "{0}={1} is not jnr or ffm; using jnr", NativeAccess.PROPERTY, requested);
            }
        }
        return "jnr";
    }

    /**
     * Creates the native access implementation.
     *
     * @param requested the value of {@link NativeAccess#PROPERTY}, or null
     * @return the implementation
     */
    static NativeAccess nativeAccess(String requested) {
        chooseNativeAccess(requested, true);
        return new JnrAccess();
    }

    /**
     * Whether {@code MemorySegment} memory access exists in this JVM.
     *
     * @return false
     */
    static boolean memorySegments() {
        return false;
    }

    /**
     * Memory over a buffer through {@code MemorySegment} accesses.
     *
     * @param buffer a direct buffer
     * @return never
     * @throws UnsupportedOperationException always: not on this JDK
     */
    static MappedMemory segmentMemory(ByteBuffer buffer) {
        throw new UnsupportedOperationException("MemorySegment access needs JDK 22 or later");
    }

    /**
     * Whether the JVM lets this module call native code without a warning.
     *
     * @return true: JDK 17 to 21 restrict nothing
     */
    static boolean nativeAccessEnabled() {
        return true;
    }
}
