package io.robustmutex.internal;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * {@link NativeAccess} through the foreign function and memory API (JDK 22 and later).
 *
 * <p>{@code syscall(2)} is one downcall handle, in a constant, to the C library's variadic
 * {@code long syscall(long number, ...)} (the number fixed, the six arguments variadic {@code long}s, as C
 * passes them), with errno captured by {@link Linker.Option#captureCallState} into a per-thread segment. It
 * is an ordinary downcall, not a critical one: futex calls sleep, and a thread in a critical downcall would
 * hold up every safepoint of the JVM. Buffer addresses come from {@link MemorySegment#ofBuffer}; views of
 * native memory from {@link MemorySegment#reinterpret}, a restricted method; functions by address are
 * {@link FfmFunction}s.
 */
@SuppressWarnings("restricted") // downcallHandle and reinterpret: the reason for --enable-native-access
final class FfmAccess extends NativeAccess {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURED = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURED.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final MethodHandle SYSCALL = LINKER.downcallHandle(
            LINKER.defaultLookup().find("syscall").orElseThrow(
                    () -> new UnsatisfiedLinkError("the C library has no syscall function")),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG),
            Linker.Option.firstVariadicArg(1), Linker.Option.captureCallState("errno"));

    private final ThreadLocal<MemorySegment> captured =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURED));

    private FfmAccess() {
    }

    /**
     * Links the C library's {@code syscall}.
     *
     * @return the implementation
     * @throws IllegalCallerException when the JVM denies native access to this module
     */
    static FfmAccess create() {
        return new FfmAccess();
    }

    @Override
    public String name() {
        return "ffm";
    }

    @Override
    public long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment state = captured.get();
        long result;
        try {
            result = (long) SYSCALL.invokeExact(state, number, a1, a2, a3, a4, a5, a6);
        } catch (Throwable t) {
            throw new IllegalStateException("syscall(" + number + ") through the foreign function API", t);
        }
        return result == -1 ? -(int) ERRNO.get(state, 0L) : result;
    }

    @Override
    public long address(Buffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("buffer is not direct: " + buffer);
        }
        // A segment of a buffer starts at its position.
        return MemorySegment.ofBuffer(buffer).address() - buffer.position();
    }

    @Override
    public ByteBuffer view(long address, int size) {
        if (address == 0 || size < 0) {
            throw new IllegalArgumentException("address=" + address + ", size=" + size);
        }
        return MemorySegment.ofAddress(address).reinterpret(size).asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public NativeFunction function(String name, long address, NativeFunction.CType returnType,
            int parameterCount) {
        return new FfmFunction(name, address, returnType, parameterCount);
    }
}
