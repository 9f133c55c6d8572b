package io.robustmutex.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Locale;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * {@link AtomicMemory} over a direct (typically mapped) buffer: real memory with a real address the kernel
 * can use. The buffer is referenced for as long as this object is, so the mapping cannot be unmapped while
 * anything that may access it is reachable (design.md section 5).
 *
 * <p>Three implementations, one chosen per JVM ({@link #ACCESS}). On JDK 22 and later, {@code SegmentMemory}
 * (in the multi-release jar's {@code META-INF/versions/22}) reads and writes by address through the foreign
 * memory API: one constant segment spanning the address space and constant layout handles, which the JIT
 * compiles to plain loads, stores and atomic instructions (docs/performance.md). On JDK 17 to 21,
 * {@link UnsafeMemory} reads and writes by address through {@code sun.misc.Unsafe}, about as fast as C;
 * {@link VarHandleMemory} goes through {@code ByteBuffer} view {@link java.lang.invoke.VarHandle}s, which
 * bounds-check every access (about twice the cost). Unsafe's memory-access methods are deprecated for
 * removal and print a warning from JDK 24 on, so nothing touches Unsafe on JDK 22 and later unless asked to.
 * The system property {@value #PROPERTY} ({@code segment}, {@code unsafe} or {@code varhandle}) overrides the
 * choice where the named implementation works here. Offsets are validated where records and heads are
 * created, so no access here can leave its region.
 */
public abstract class MappedMemory implements AtomicMemory {

    /** The system property that chooses the memory access implementation. */
    public static final String PROPERTY = "io.robustmutex.memoryAccess";

    /** Where the launcher reports {@code --sun-misc-unsafe-memory-access} (JDK 23 and later). */
    public static final String UNSAFE_ACCESS_PROPERTY = "sun.misc.unsafe.memory.access";

    /** The implementation in use in this JVM: {@code "segment"}, {@code "unsafe"} or {@code "varhandle"}. */
    public static final String ACCESS = chooseAccess(System.getProperty(PROPERTY), Runtime.version().feature(),
            System.getProperty(UNSAFE_ACCESS_PROPERTY), ForeignAccess.memorySegments()
                    && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN,
            () -> ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN && UnsafeMemory.isAvailable());

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
        switch (ACCESS) {
            case "segment":
                return ForeignAccess.segmentMemory(buffer);
            case "unsafe":
                return new UnsafeMemory(buffer);
            default:
                return new VarHandleMemory(buffer);
        }
    }

    /**
     * Chooses the implementation. {@code sun.misc.Unsafe} is looked at only when it would be chosen.
     *
     * @param requested the value of {@value #PROPERTY}, or null
     * @param javaFeature the JDK's feature release
     * @param unsafeAccess the value of {@value #UNSAFE_ACCESS_PROPERTY}, or null
     * @param segments whether {@code MemorySegment} access exists here (JDK 22 and later, little-endian)
     * @param unsafeUsable whether Unsafe is available on a little-endian machine
     * @return {@code "segment"}, {@code "unsafe"} or {@code "varhandle"}
     */
    static String chooseAccess(String requested, int javaFeature, String unsafeAccess, boolean segments,
            BooleanSupplier unsafeUsable) {
        String value = requested == null ? null : requested.trim().toLowerCase(Locale.ROOT);
        if (value != null) {
            if (value.equals("varhandle") || value.equals("segment") && segments
                    || value.equals("unsafe") && unsafeUsable.getAsBoolean()) {
                return value;
            }
        }
        String choice;
        if (segments) {
            choice = "segment";
        } else {
            boolean unsafeWarns = javaFeature >= 24 && !"allow".equals(unsafeAccess);
            choice = !unsafeWarns && unsafeUsable.getAsBoolean() ? "unsafe" : "varhandle";
        }
        if (value != null) {
            // The rule for every property (docs/configuration.md): report, and do as if it were not set, or
            // the nearest that works.
            String fallback = value.equals("unsafe") && !segments ? "varhandle" : choice;
            System.getLogger(MappedMemory.class.getName()).log(System.Logger.Level.WARNING,
                    value.equals("unsafe") ? "{0}={1}: sun.misc.Unsafe cannot be used here; using {2}"
                            : value.equals("segment")
                                    ? "{0}={1}: MemorySegment access needs JDK 22 or later; using {2}"
                            : "{0}={1} is not segment, unsafe or varhandle; using {2}", PROPERTY, requested, fallback);
            return fallback;
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
