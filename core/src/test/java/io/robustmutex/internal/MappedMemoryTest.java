package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Every memory implementation gives the same results, little-endian, on real off-heap memory. */
class MappedMemoryTest {

    static Stream<Arguments> implementations() {
        Function<ByteBuffer, MappedMemory> unsafe = UnsafeMemory::new;
        Function<ByteBuffer, MappedMemory> varHandle = VarHandleMemory::new;
        Function<ByteBuffer, MappedMemory> segment = ForeignAccess::segmentMemory;
        return Stream.of(Arguments.of("unsafe", unsafe), Arguments.of("varhandle", varHandle),
                Arguments.of("segment", segment));
    }

    /** Every operation reads and writes the bytes a little-endian layout puts there. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void operationsAgree(String name, Function<ByteBuffer, MappedMemory> factory) {
        assumeTrue(!name.equals("unsafe") || UnsafeMemory.isAvailable(), "needs sun.misc.Unsafe");
        assumeTrue(!name.equals("segment") || ForeignAccess.memorySegments(),
                "needs JDK 22 or later with the multi-release jar's classes (the suite's JDK 25 run)");
        ByteBuffer buffer = NativeMemory.allocateAligned(128, 64);
        MappedMemory memory = factory.apply(buffer);
        assertEquals(NativeMemory.address(buffer), memory.address());
        assertEquals(128, memory.size());

        memory.putIntPlain(0, 0x11223344);
        assertEquals(0x44, buffer.get(0));
        assertEquals(0x11223344, memory.getIntPlain(0));
        memory.putIntRelease(4, 5);
        memory.putIntVolatile(8, 6);
        assertEquals(5, memory.getIntVolatile(4));
        assertEquals(6, buffer.getInt(8));
        assertTrue(memory.compareAndSetInt(0, 0x11223344, 7));
        assertFalse(memory.compareAndSetInt(0, 0x11223344, 8));
        assertEquals(7, memory.compareAndExchangeInt(0, 9, 10));
        assertEquals(7, memory.compareAndExchangeInt(0, 7, 10));
        assertEquals(10, memory.getAndSetInt(0, 11));
        assertEquals(11, buffer.getInt(0));

        memory.putLongPlain(16, 0x0102030405060708L);
        assertEquals(0x08, buffer.get(16));
        assertEquals(0x0102030405060708L, memory.getLongPlain(16));
        memory.putLongRelease(24, -2);
        assertEquals(-2, memory.getLongVolatile(24));
        assertEquals(-2, buffer.getLong(24));
    }
}
