package io.robustmutex.internal;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * {@link NativeFunction} as a foreign function downcall. The handles take the function's address as their
 * first argument, so that there is one constant handle per call shape, which the JIT inlines, rather than a
 * handle per function held in a field, which it cannot. They are {@link Linker.Option#critical critical}:
 * the functions called this way are vDSO functions, which never block, so the call skips the transition of
 * the thread out of Java and back (about 5.5 ns per call of {@code __vdso_getcpu} here against 8 to 11.5 ns
 * through jffi, docs/performance.md).
 */
@SuppressWarnings("restricted") // downcallHandle: the reason for --enable-native-access
final class FfmFunction extends NativeFunction {

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle INT_2 = handle(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle INT_3 =
            handle(FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle LONG_2 = handle(FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle LONG_3 =
            handle(FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));

    private final MemorySegment target;

    FfmFunction(String name, long address, CType returnType, int parameterCount) {
        super(name, address, returnType, parameterCount);
        this.target = MemorySegment.ofAddress(address);
    }

    private static MethodHandle handle(FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(descriptor, Linker.Option.critical(false));
    }

    @Override
    public long invoke(long a1, long a2) {
        checkArity(2);
        try {
            return switch (returnType) {
                case SINT32 -> (int) INT_2.invokeExact(target, a1, a2);
                case UINT32 -> Integer.toUnsignedLong((int) INT_2.invokeExact(target, a1, a2));
                case SINT64 -> (long) LONG_2.invokeExact(target, a1, a2);
            };
        } catch (Throwable t) {
            throw new IllegalStateException("calling " + this, t);
        }
    }

    @Override
    public long invoke(long a1, long a2, long a3) {
        checkArity(3);
        try {
            return switch (returnType) {
                case SINT32 -> (int) INT_3.invokeExact(target, a1, a2, a3);
                case UINT32 -> Integer.toUnsignedLong((int) INT_3.invokeExact(target, a1, a2, a3));
                case SINT64 -> (long) LONG_3.invokeExact(target, a1, a2, a3);
            };
        } catch (Throwable t) {
            throw new IllegalStateException("calling " + this, t);
        }
    }
}
