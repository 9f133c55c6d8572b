package io.robustmutex.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Field;
import java.nio.ByteBuffer;

/**
 * {@link MappedMemory} by address through {@code sun.misc.Unsafe} (JDK 17 to 23, where its memory access
 * methods are supported without warnings). {@code putOrdered*} is a release store. The native byte order is
 * little-endian on both supported architectures, which {@link MappedMemory} checks before choosing this.
 *
 * <p>The methods are reached through constant method handles bound to the Unsafe instance, which the JIT
 * inlines like direct calls, so that the source names no JDK-internal type (the compiler would warn about
 * it, without a way to suppress the warning).
 *
 * <p>No bounds are checked here: every offset the library passes is a field offset of a record or head
 * whose position was validated against the region when the record or head was created.
 */
final class UnsafeMemory extends MappedMemory {

    private static final MethodHandle GET_INT;
    private static final MethodHandle GET_INT_VOLATILE;
    private static final MethodHandle PUT_INT;
    private static final MethodHandle PUT_INT_ORDERED;
    private static final MethodHandle PUT_INT_VOLATILE;
    private static final MethodHandle CAS_INT;
    private static final MethodHandle GET_AND_SET_INT;
    private static final MethodHandle GET_LONG;
    private static final MethodHandle GET_LONG_VOLATILE;
    private static final MethodHandle PUT_LONG;
    private static final MethodHandle PUT_LONG_ORDERED;
    private static final boolean AVAILABLE;

    static {
        MethodHandle[] handles = new MethodHandle[11];
        boolean available;
        try {
            Class<?> type = Class.forName("sun.misc.Unsafe");
            Field field = type.getDeclaredField("theUnsafe");
            field.setAccessible(true);
            Object unsafe = field.get(null);
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            handles[0] = absolute(lookup, type, unsafe, "getInt", int.class);
            handles[1] = onNull(lookup, type, unsafe, "getIntVolatile", int.class);
            handles[2] = absolute(lookup, type, unsafe, "putInt", void.class, int.class);
            handles[3] = onNull(lookup, type, unsafe, "putOrderedInt", void.class, int.class);
            handles[4] = onNull(lookup, type, unsafe, "putIntVolatile", void.class, int.class);
            handles[5] = onNull(lookup, type, unsafe, "compareAndSwapInt", boolean.class, int.class, int.class);
            handles[6] = onNull(lookup, type, unsafe, "getAndSetInt", int.class, int.class);
            handles[7] = absolute(lookup, type, unsafe, "getLong", long.class);
            handles[8] = onNull(lookup, type, unsafe, "getLongVolatile", long.class);
            handles[9] = absolute(lookup, type, unsafe, "putLong", void.class, long.class);
            handles[10] = onNull(lookup, type, unsafe, "putOrderedLong", void.class, long.class);
            available = true;
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            available = false;
        }
        GET_INT = handles[0];
        GET_INT_VOLATILE = handles[1];
        PUT_INT = handles[2];
        PUT_INT_ORDERED = handles[3];
        PUT_INT_VOLATILE = handles[4];
        CAS_INT = handles[5];
        GET_AND_SET_INT = handles[6];
        GET_LONG = handles[7];
        GET_LONG_VOLATILE = handles[8];
        PUT_LONG = handles[9];
        PUT_LONG_ORDERED = handles[10];
        AVAILABLE = available;
    }

    /** A method {@code (long address, args...)} of the instance. */
    private static MethodHandle absolute(MethodHandles.Lookup lookup, Class<?> type, Object unsafe, String name,
            Class<?> result, Class<?>... args) throws ReflectiveOperationException {
        Class<?>[] parameters = new Class<?>[args.length + 1];
        parameters[0] = long.class;
        System.arraycopy(args, 0, parameters, 1, args.length);
        return lookup.findVirtual(type, name, MethodType.methodType(result, parameters)).bindTo(unsafe);
    }

    /** A method {@code (Object base, long offset, args...)} of the instance, with a null base. */
    private static MethodHandle onNull(MethodHandles.Lookup lookup, Class<?> type, Object unsafe, String name,
            Class<?> result, Class<?>... args) throws ReflectiveOperationException {
        Class<?>[] parameters = new Class<?>[args.length + 2];
        parameters[0] = Object.class;
        parameters[1] = long.class;
        System.arraycopy(args, 0, parameters, 2, args.length);
        MethodHandle handle = lookup.findVirtual(type, name, MethodType.methodType(result, parameters)).bindTo(unsafe);
        return MethodHandles.insertArguments(handle, 0, (Object) null);
    }

    UnsafeMemory(ByteBuffer buffer) {
        super(buffer);
        if (!AVAILABLE) {
            throw new IllegalStateException("sun.misc.Unsafe is not available");
        }
    }

    static boolean isAvailable() {
        return AVAILABLE;
    }

    /** Method handles throw Throwable in their signature; these never throw checked exceptions. */
    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException runtime) {
            return runtime;
        }
        if (t instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(t);
    }

    @Override
    public int getIntVolatile(int offset) {
        try {
            return (int) GET_INT_VOLATILE.invokeExact(address + offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int getIntPlain(int offset) {
        try {
            return (int) GET_INT.invokeExact(address + offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void putIntPlain(int offset, int value) {
        try {
            PUT_INT.invokeExact(address + offset, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void putIntRelease(int offset, int value) {
        try {
            PUT_INT_ORDERED.invokeExact(address + offset, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void putIntVolatile(int offset, int value) {
        try {
            PUT_INT_VOLATILE.invokeExact(address + offset, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public boolean compareAndSetInt(int offset, int expected, int update) {
        try {
            return (boolean) CAS_INT.invokeExact(address + offset, expected, update);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int compareAndExchangeInt(int offset, int expected, int update) {
        while (true) {
            int current = getIntVolatile(offset);
            if (current != expected) {
                return current;
            }
            if (compareAndSetInt(offset, expected, update)) {
                return expected;
            }
        }
    }

    @Override
    public int getAndSetInt(int offset, int value) {
        try {
            return (int) GET_AND_SET_INT.invokeExact(address + offset, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long getLongPlain(int offset) {
        try {
            return (long) GET_LONG.invokeExact(address + offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long getLongVolatile(int offset) {
        try {
            return (long) GET_LONG_VOLATILE.invokeExact(address + offset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void putLongPlain(int offset, long value) {
        try {
            PUT_LONG.invokeExact(address + offset, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void putLongRelease(int offset, long value) {
        try {
            PUT_LONG_ORDERED.invokeExact(address + offset, value);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
