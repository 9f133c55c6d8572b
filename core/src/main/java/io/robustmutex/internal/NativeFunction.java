package io.robustmutex.internal;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.Type;

/**
 * A C function called by address, with its call context built once (design.md section 8: the cheapest form
 * through JNR's jffi layer, about 8 ns per call, with no errno saved).
 *
 * <p>Used for vDSO functions, whose addresses come from {@link Vdso}: they are not in any library that a
 * binding could load by name on every C library.
 */
public final class NativeFunction {

    private static final Invoker INVOKER = Invoker.getInstance();

    private final String name;
    private final long address;
    private final CallContext context;

    /**
     * Describes a function.
     *
     * @param name the function's name, for messages
     * @param address its address; must not be 0
     * @param returnType the C return type
     * @param parameterTypes the C parameter types (integers and pointers only)
     */
    public NativeFunction(String name, long address, Type returnType, Type... parameterTypes) {
        if (address == 0) {
            throw new IllegalArgumentException("address of " + name + " is 0");
        }
        this.name = name;
        this.address = address;
        this.context = CallContext.getCallContext(returnType, parameterTypes, CallingConvention.DEFAULT, false);
    }

    /**
     * The function's name.
     *
     * @return the name given at construction
     */
    public String name() {
        return name;
    }

    /**
     * The function's address.
     *
     * @return the address
     */
    public long address() {
        return address;
    }

    /**
     * Calls a two-argument function.
     *
     * @param a1 first argument
     * @param a2 second argument
     * @return the return value, widened to long as the return type prescribes
     */
    public long invoke(long a1, long a2) {
        return INVOKER.invokeL2NoErrno(context, address, a1, a2);
    }

    /**
     * Calls a three-argument function.
     *
     * @param a1 first argument
     * @param a2 second argument
     * @param a3 third argument
     * @return the return value, widened to long as the return type prescribes
     */
    public long invoke(long a1, long a2, long a3) {
        return INVOKER.invokeL3NoErrno(context, address, a1, a2, a3);
    }

    @Override
    public String toString() {
        return name + "@0x" + Long.toHexString(address);
    }
}
