package io.robustmutex.internal;

import java.nio.Buffer;
import java.nio.ByteBuffer;

/**
 * How this JVM reaches native code and native memory: the C library's {@code syscall(2)}, functions called by
 * address (the vDSO's), and the addresses of direct buffers.
 *
 * <p>Two implementations, one per JVM ({@link #current()}). On JDK 17 to 21, JNR-FFI and its jffi layer
 * ({@code "jnr"}). On JDK 22 and later, the foreign function and memory API ({@code "ffm"}), from the classes
 * under {@code META-INF/versions/22} of the multi-release jar: nothing then loads jffi's JNI stub, and the
 * only JVM option the library needs is {@code --enable-native-access} for its module (or
 * {@code ALL-UNNAMED} on the class path). The system property {@value #PROPERTY} ({@code jnr} or
 * {@code ffm}) overrides the choice where the named implementation exists here (docs/configuration.md).
 */
public abstract class NativeAccess {

    /** The system property that chooses the implementation. */
    public static final String PROPERTY = "io.robustmutex.nativeAccess";

    NativeAccess() {
    }

    /** Initialization on first use; holds the implementation or the reason there is none. */
    private static final class Holder {
        static final NativeAccess ACCESS;
        static final Throwable CAUSE;

        static {
            NativeAccess access = null;
            Throwable cause = null;
            try {
                access = ForeignAccess.nativeAccess(System.getProperty(PROPERTY));
            } catch (Throwable t) {
                cause = t;
            }
            ACCESS = access;
            CAUSE = cause;
        }
    }

    /**
     * The implementation this JVM uses.
     *
     * @return the implementation
     * @throws UnsupportedOperationException carrying the cause when native code cannot be reached
     */
    public static NativeAccess current() {
        NativeAccess access = Holder.ACCESS;
        if (access == null) {
            throw new UnsupportedOperationException("native access is unavailable: " + Holder.CAUSE, Holder.CAUSE);
        }
        return access;
    }

    /**
     * The name of the implementation in this JVM: the one in use, or, when none could be made, the one
     * chosen.
     *
     * @return {@code "jnr"} or {@code "ffm"}
     */
    public static String chosen() {
        NativeAccess access = Holder.ACCESS;
        return access != null ? access.name() : ForeignAccess.chooseNativeAccess(System.getProperty(PROPERTY), false);
    }

    /**
     * Whether the JVM lets this module call native code without a warning (always before JDK 22).
     *
     * @return whether native access is enabled for this module
     */
    public static boolean enabled() {
        return ForeignAccess.nativeAccessEnabled();
    }

    /**
     * This implementation's name.
     *
     * @return {@code "jnr"} or {@code "ffm"}
     */
    public abstract String name();

    /**
     * {@code syscall(number, a1, ..., a6)} through the C library.
     *
     * @param number the syscall number
     * @param a1 first argument
     * @param a2 second argument
     * @param a3 third argument
     * @param a4 fourth argument
     * @param a5 fifth argument
     * @param a6 sixth argument
     * @return the non-negative result, or {@code -errno}
     */
    public abstract long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6);

    /**
     * {@code syscall(number, a1, ..., a5)}, for a system call (or a futex operation) that reads at most five
     * arguments: the kernel receives some value as the sixth, which such a call ignores. Through JNR-FFI, six
     * parameters in all is jffi's direct path (on x86-64 to the library's stub of the syscall instruction),
     * while a seventh sends the call through libffi with a heap buffer per call, at nearly twice the cost
     * (docs/performance.md, "Syscalls through the binding"); the foreign function API passes seven as fast as
     * six (measured), so by default this is {@link #syscall} with a sixth argument of 0.
     *
     * @param number the syscall number
     * @param a1 first argument
     * @param a2 second argument
     * @param a3 third argument
     * @param a4 fourth argument
     * @param a5 fifth argument
     * @return the non-negative result, or {@code -errno}
     */
    public long syscall5(long number, long a1, long a2, long a3, long a4, long a5) {
        return syscall(number, a1, a2, a3, a4, a5, 0);
    }

    /**
     * How {@link #syscall5} reaches the kernel: {@code "stub"} (JNR-FFI on x86-64: the syscall instruction in
     * a page of its own, no C library in between) or {@code "libc"} (the C library's {@code syscall}), the
     * latter followed by the reason there is no stub where one was tried.
     *
     * @return {@code "stub"}, or {@code "libc"} possibly followed by a reason in parentheses
     */
    public String syscallPath() {
        return "libc";
    }

    /**
     * The address of a direct buffer's byte 0 (not of its position).
     *
     * @param buffer a direct buffer
     * @return the address, never 0
     */
    public abstract long address(Buffer buffer);

    /**
     * A little-endian buffer over native memory the caller knows to be mapped for {@code size} bytes.
     *
     * @param address the first byte, not 0
     * @param size the number of bytes, not negative
     * @return the buffer
     */
    public abstract ByteBuffer view(long address, int size);

    /**
     * A C function at a known address that never blocks (a vDSO function).
     *
     * @param name the function's name, for messages
     * @param address its address, not 0
     * @param returnType its return type
     * @param parameterCount the number of its parameters, 2 or 3, each an integer or a pointer
     * @return the function
     */
    public abstract NativeFunction function(String name, long address, NativeFunction.CType returnType,
            int parameterCount);
}
