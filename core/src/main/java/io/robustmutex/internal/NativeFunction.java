package io.robustmutex.internal;

/**
 * A C function called by address that never blocks: the vDSO's functions, whose addresses come from
 * {@link Vdso} (they are not in any library that a binding could load by name on every C library).
 *
 * <p>Made by {@link NativeAccess#function}: through jffi with the call context built once (JDK 17 to 21), or
 * as a foreign function downcall marked critical, since the function cannot block (JDK 22 and later).
 * Parameters are integers or pointers, passed as 64-bit values (the callee reads the low 32 bits of a 32-bit
 * parameter on both supported architectures).
 */
public abstract class NativeFunction {

    /** The C return types a function may have. */
    public enum CType {
        /** {@code int}, sign-extended to long. */
        SINT32,
        /** {@code u32}, zero-extended to long. */
        UINT32,
        /** {@code long} or a pointer. */
        SINT64
    }

    private final String name;
    final long address;
    final CType returnType;
    private final int parameterCount;

    NativeFunction(String name, long address, CType returnType, int parameterCount) {
        if (address == 0) {
            throw new IllegalArgumentException("address of " + name + " is 0");
        }
        if (parameterCount < 2 || parameterCount > 3) {
            throw new IllegalArgumentException(name + ": only functions of 2 or 3 parameters are supported");
        }
        this.name = name;
        this.address = address;
        this.returnType = returnType;
        this.parameterCount = parameterCount;
    }

    /**
     * Describes a function, through this JVM's {@link NativeAccess}.
     *
     * @param name the function's name, for messages
     * @param address its address; must not be 0
     * @param returnType the C return type
     * @param parameterCount the number of parameters, 2 or 3 (integers and pointers only)
     * @return the function
     */
    public static NativeFunction of(String name, long address, CType returnType, int parameterCount) {
        return NativeAccess.current().function(name, address, returnType, parameterCount);
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

    final void checkArity(int count) {
        if (count != parameterCount) {
            throw new IllegalArgumentException(name + " takes " + parameterCount + " parameters, not " + count);
        }
    }

    /**
     * Calls a two-parameter function.
     *
     * @param a1 first argument
     * @param a2 second argument
     * @return the return value, widened to long as the return type prescribes
     */
    public abstract long invoke(long a1, long a2);

    /**
     * Calls a three-parameter function.
     *
     * @param a1 first argument
     * @param a2 second argument
     * @param a3 third argument
     * @return the return value, widened to long as the return type prescribes
     */
    public abstract long invoke(long a1, long a2, long a3);

    @Override
    public String toString() {
        return name + "@0x" + Long.toHexString(address);
    }
}
