package io.robustmutex.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * {@link MappedMemory} through little-endian {@link VarHandle} views of the buffer, which support atomic
 * access on aligned offsets of direct buffers and bounds-check every access.
 */
final class VarHandleMemory extends MappedMemory {

    private static final VarHandle INT =
            MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG =
            MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    VarHandleMemory(ByteBuffer buffer) {
        super(buffer);
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
}
