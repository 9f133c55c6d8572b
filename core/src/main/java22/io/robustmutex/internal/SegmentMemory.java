package io.robustmutex.internal;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * {@link MappedMemory} by address through the foreign memory API (JDK 22 and later).
 *
 * <p>Every access goes through one constant segment spanning the address space, with constant layout
 * handles, at the absolute address {@code address + offset}: with the segment and the handles constants, the
 * JIT folds the segment's session (the global one, which is never closed) and fields, leaving a compare
 * against its constant size, the alignment check of the address and the access itself
 * (docs/performance.md). No bounds
 * are checked here beyond that: every offset the library passes is a field offset of a record or head whose
 * position was validated against the region when the record or head was created, and the buffer this
 * object keeps referenced keeps the mapping alive (design.md section 5).
 */
@SuppressWarnings("restricted") // reinterpret: the reason for --enable-native-access
final class SegmentMemory extends MappedMemory {

    /** All of memory; {@link MemorySegment#reinterpret} is a restricted method (native access). */
    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    private static final VarHandle INT = ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    SegmentMemory(ByteBuffer buffer) {
        super(buffer);
    }

    @Override
    public int getIntVolatile(int offset) {
        return (int) INT.getVolatile(ALL, address + offset);
    }

    @Override
    public int getIntPlain(int offset) {
        return (int) INT.get(ALL, address + offset);
    }

    @Override
    public void putIntPlain(int offset, int value) {
        INT.set(ALL, address + offset, value);
    }

    @Override
    public void putIntRelease(int offset, int value) {
        INT.setRelease(ALL, address + offset, value);
    }

    @Override
    public void putIntVolatile(int offset, int value) {
        INT.setVolatile(ALL, address + offset, value);
    }

    @Override
    public boolean compareAndSetInt(int offset, int expected, int update) {
        return INT.compareAndSet(ALL, address + offset, expected, update);
    }

    @Override
    public int compareAndExchangeInt(int offset, int expected, int update) {
        return (int) INT.compareAndExchange(ALL, address + offset, expected, update);
    }

    @Override
    public int getAndSetInt(int offset, int value) {
        return (int) INT.getAndSet(ALL, address + offset, value);
    }

    @Override
    public long getLongPlain(int offset) {
        return (long) LONG.get(ALL, address + offset);
    }

    @Override
    public long getLongVolatile(int offset) {
        return (long) LONG.getVolatile(ALL, address + offset);
    }

    @Override
    public void putLongPlain(int offset, long value) {
        LONG.set(ALL, address + offset, value);
    }

    @Override
    public void putLongRelease(int offset, long value) {
        LONG.setRelease(ALL, address + offset, value);
    }
}
