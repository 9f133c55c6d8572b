package io.robustmutex.internal;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.Type;
import java.util.Arrays;

/**
 * {@link NativeFunction} through jffi's {@code Invoker} with the call context built once (design.md section
 * 8: the cheapest form through JNR's jffi layer, about 8 ns per call, with no errno saved).
 */
final class JnrFunction extends NativeFunction {

    private static final Invoker INVOKER = Invoker.getInstance();

    private final CallContext context;

    JnrFunction(String name, long address, CType returnType, int parameterCount) {
        super(name, address, returnType, parameterCount);
        Type[] parameters = new Type[parameterCount];
        // Integers and pointers are passed alike, in 64-bit registers, on both supported architectures.
        Arrays.fill(parameters, Type.SINT64);
        Type result = switch (returnType) {
            case SINT32 -> Type.SINT32;
            case UINT32 -> Type.UINT32;
            case SINT64 -> Type.SINT64;
        };
        this.context = CallContext.getCallContext(result, parameters, CallingConvention.DEFAULT, false);
    }

    @Override
    public long invoke(long a1, long a2) {
        checkArity(2);
        return INVOKER.invokeL2NoErrno(context, address, a1, a2);
    }

    @Override
    public long invoke(long a1, long a2, long a3) {
        checkArity(3);
        return INVOKER.invokeL3NoErrno(context, address, a1, a2, a3);
    }
}
