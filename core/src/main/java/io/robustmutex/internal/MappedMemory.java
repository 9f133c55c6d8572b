package io.robustmutex.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * {@link AtomicMemory} over a direct (typically mapped) buffer, through little-endian {@link VarHandle}
 * views, which support atomic access on aligned offsets of direct buffers. The buffer is referenced for as
 * long as this object is, so the mapping cannot be unmapped while anything that may access it is reachable.
 */
public final class MappedMemory implements AtomicMemory {

    private static final VarHandle INT =
            MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG =
            MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final ByteBuffer buffer;
    private final long address;

    /**
     * Wraps a direct buffer; the buffer's position and limit are ignored, its capacity is the region size.
     *
     * @param buffer a direct buffer
     */
    public MappedMemory(ByteBuffer buffer) {
        Objects.requireNonNull(buffer, "buffer");
        this.buffer = buffer.duplicate().clear();
        this.address = NativeMemory.address(buffer);
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
    public long address() {
        return address;
    }

    @Override
    public int size() {
        return buffer.capacity();
    }

    @Override
    public int getIntVolatile(int offset) {
        return (int) INT.getVolatile(buffer, offset);
    }

    @Override
    public int getIntPlain(int offset) {
        return (int) INT.get(buffer, offset);
    }

    @Override
    public void putIntPlain(int offset, int value) {
        INT.set(buffer, offset, value);
    }

    @Override
    public void putIntRelease(int offset, int value) {
        INT.setRelease(buffer, offset, value);
    }

    @Override
    public void putIntVolatile(int offset, int value) {
        INT.setVolatile(buffer, offset, value);
    }

    @Override
    public boolean compareAndSetInt(int offset, int expected, int update) {
        return INT.compareAndSet(buffer, offset, expected, update);
    }

    @Override
    public int compareAndExchangeInt(int offset, int expected, int update) {
        return (int) INT.compareAndExchange(buffer, offset, expected, update);
    }

    @Override
    public int getAndSetInt(int offset, int value) {
        return (int) INT.getAndSet(buffer, offset, value);
    }

    @Override
    public long getLongPlain(int offset) {
        return (long) LONG.get(buffer, offset);
    }

    @Override
    public long getLongVolatile(int offset) {
        return (long) LONG.getVolatile(buffer, offset);
    }

    @Override
    public void putLongPlain(int offset, long value) {
        LONG.set(buffer, offset, value);
    }

    @Override
    public void putLongRelease(int offset, long value) {
        LONG.setRelease(buffer, offset, value);
    }

    @Override
    public String toString() {
        return String.format("MappedMemory[0x%x, %d bytes]", address, buffer.capacity());
    }
}
