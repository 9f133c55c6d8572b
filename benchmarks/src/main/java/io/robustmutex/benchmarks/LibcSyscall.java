package io.robustmutex.benchmarks;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.LastError;
import com.kenai.jffi.Library;
import com.kenai.jffi.Type;

/**
 * The binding's fall-back where it has no syscall stub (aarch64, or a policy that forbids executable memory):
 * the C library's {@code syscall} through jffi's direct invoker with six 64-bit parameters and errno saved,
 * as {@code JnrAccess} makes it, here so that the table can show it beside the stub on any machine.
 */
final class LibcSyscall {

    private static final Invoker INVOKER = Invoker.getInstance();
    private static final CallContext SIX_LONGS = CallContext.getCallContext(Type.SINT64,
            new Type[] {Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64},
            CallingConvention.DEFAULT, true);
    private static final long SYSCALL = Library.getDefault().getSymbolAddress("syscall");

    private LibcSyscall() {
    }

    /**
     * Makes a syscall of at most five arguments.
     *
     * @param number the syscall number
     * @return the result, or {@code -errno}
     */
    static long call(long number) {
        long result = INVOKER.invokeL6(SIX_LONGS, SYSCALL, number, 0, 0, 0, 0, 0);
        return result == -1 ? -LastError.getInstance().get() : result;
    }
}
