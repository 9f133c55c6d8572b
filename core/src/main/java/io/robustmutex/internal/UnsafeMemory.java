package io.robustmutex.internal;

import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * {@link MappedMemory} by address through {@code sun.misc.Unsafe} (JDK 17 to 23, where its memory access
 * methods are supported without warnings). {@code putOrdered*} is a release store. The native byte order is
 * little-endian on both supported architectures, which {@link MappedMemory} checks before choosing this.
 *
 * <p>No bounds are checked here: every offset the library passes is a field offset of a record or head
 * whose position was validated against the region when the record or head was created.
 */
final class UnsafeMemory extends MappedMemory {

    private static final sun.misc.Unsafe UNSAFE = load();

    UnsafeMemory(ByteBuffer buffer) {
        super(buffer);
        if (UNSAFE == null) {
            throw new IllegalStateException("sun.misc.Unsafe is not available");
        }
    }

    private static sun.misc.Unsafe load() {
        try {
            Field field = sun.misc.Unsafe.class.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            return (sun.misc.Unsafe) field.get(null);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            return null;
        }
    }

    static boolean isAvailable() {
        return UNSAFE != null;
    }

    @Override
    public int getIntVolatile(int offset) {
        return UNSAFE.getIntVolatile(null, address + offset);
    }

    @Override
    public int getIntPlain(int offset) {
        return UNSAFE.getInt(address + offset);
    }

    @Override
    public void putIntPlain(int offset, int value) {
        UNSAFE.putInt(address + offset, value);
    }

    @Override
    public void putIntRelease(int offset, int value) {
        UNSAFE.putOrderedInt(null, address + offset, value);
    }

    @Override
    public void putIntVolatile(int offset, int value) {
        UNSAFE.putIntVolatile(null, address + offset, value);
    }

    @Override
    public boolean compareAndSetInt(int offset, int expected, int update) {
        return UNSAFE.compareAndSwapInt(null, address + offset, expected, update);
    }

    @Override
    public int compareAndExchangeInt(int offset, int expected, int update) {
        long at = address + offset;
        while (true) {
            int current = UNSAFE.getIntVolatile(null, at);
            if (current != expected) {
                return current;
            }
            if (UNSAFE.compareAndSwapInt(null, at, expected, update)) {
                return expected;
            }
        }
    }

    @Override
    public int getAndSetInt(int offset, int value) {
        return UNSAFE.getAndSetInt(null, address + offset, value);
    }

    @Override
    public long getLongPlain(int offset) {
        return UNSAFE.getLong(address + offset);
    }

    @Override
    public long getLongVolatile(int offset) {
        return UNSAFE.getLongVolatile(null, address + offset);
    }

    @Override
    public void putLongPlain(int offset, long value) {
        UNSAFE.putLong(address + offset, value);
    }

    @Override
    public void putLongRelease(int offset, long value) {
        UNSAFE.putOrderedLong(null, address + offset, value);
    }
}
