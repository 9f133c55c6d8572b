package io.robustmutex.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Objects;

/**
 * {@link AtomicMemory} over a direct (typically mapped) buffer: real memory with a real address the kernel
 * can use. The buffer is referenced for as long as this object is, so the mapping cannot be unmapped while
 * anything that may access it is reachable (design.md section 5).
 *
 * <p>Two implementations, one chosen per JVM ({@link #ACCESS}): {@link UnsafeMemory} reads and writes by
 * address through {@code sun.misc.Unsafe}, about as fast as C (design.md section 8 measured the protocol's
 * fifteen accesses at under half the cost of the alternative); {@link VarHandleMemory} goes through
 * {@code ByteBuffer} view {@link java.lang.invoke.VarHandle}s, which bounds-check every access. Unsafe's
 * memory-access methods are deprecated for removal and print a warning from JDK 24 on, so from JDK 24 they
 * are used only when the JVM was started with {@code --sun-misc-unsafe-memory-access=allow}, which silences
 * that warning (the launcher reports the option as the system property {@value #UNSAFE_ACCESS_PROPERTY}).
 * The system property {@value #PROPERTY} ({@code unsafe} or {@code varhandle}) overrides the choice.
 * Offsets are validated where records and heads are created, so no access here can leave its region.
 */
public abstract sealed class MappedMemory implements AtomicMemory permits UnsafeMemory, VarHandleMemory {

    /** The system property that chooses the memory access implementation. */
    public static final String PROPERTY = "io.robustmutex.memoryAccess";

    /** Where the launcher reports {@code --sun-misc-unsafe-memory-access} (JDK 23 and later). */
    public static final String UNSAFE_ACCESS_PROPERTY = "sun.misc.unsafe.memory.access";

    /** The implementation in use in this JVM: {@code "unsafe"} or {@code "varhandle"}. */
    public static final String ACCESS = chooseAccess(System.getProperty(PROPERTY), Runtime.version().feature(),
            System.getProperty(UNSAFE_ACCESS_PROPERTY), ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN
                    && UnsafeMemory.isAvailable());

    final ByteBuffer buffer;
    final long address;

    MappedMemory(ByteBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        this.buffer = buffer.duplicate().clear();
        this.address = NativeMemory.address(buffer);
    }

    /**
     * Wraps a direct buffer with the implementation chosen for this JVM; the buffer's position and limit
     * are ignored, its capacity is the region size.
     *
     * @param buffer a direct buffer
     * @return the memory
     */
    public static MappedMemory of(ByteBuffer buffer) {
        return ACCESS.equals("unsafe") ? new UnsafeMemory(buffer) : new VarHandleMemory(buffer);
    }

    /**
     * Chooses the implementation.
     *
     * @param requested the value of {@value #PROPERTY}, or null
     * @param javaFeature the JDK's feature release
     * @param unsafeAccess the value of {@value #UNSAFE_ACCESS_PROPERTY}, or null
     * @param unsafeUsable whether Unsafe is available on a little-endian machine
     * @return {@code "unsafe"} or {@code "varhandle"}
     */
    static String chooseAccess(String requested, int javaFeature, String unsafeAccess, boolean unsafeUsable) {
        boolean unsafeWarns = javaFeature >= 24 && !"allow".equals(unsafeAccess);
        String choice = !unsafeWarns && unsafeUsable ? "unsafe" : "varhandle";
        if (requested != null) {
            String value = requested.trim().toLowerCase(Locale.ROOT);
            if (value.equals("varhandle") || value.equals("unsafe") && unsafeUsable) {
                return value;
            }
            // The rule for every property (docs/configuration.md): report, and do as if it were not set, or
            // the nearest that works.
            System.getLogger(MappedMemory.class.getName()).log(System.Logger.Level.WARNING,
                    value.equals("unsafe") ? "{0}={1}: sun.misc.Unsafe cannot be used here; using varhandle"
                            : "{0}={1} is not unsafe or varhandle; using {2}", PROPERTY, requested, choice);
            return value.equals("unsafe") ? "varhandle" : choice;
        }
        return choice;
    }

    /**
     * The buffer behind this memory.
     *
     * @return a duplicate of the buffer, little-endian
     */
    public ByteBuffer buffer() {
        return buffer.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public final long address() {
        return address;
    }

    @Override
    public final int size() {
        return buffer.capacity();
    }

    @Override
    public String toString() {
        return String.format("%s[0x%x, %d bytes]", getClass().getSimpleName(), address, buffer.capacity());
    }
}
