package io.robustmutex.benchmarks;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.MemoryIO;
import com.kenai.jffi.PageManager;
import com.kenai.jffi.Type;
import io.robustmutex.internal.NativeAccess;

/**
 * An option weighed for the library's syscalls and not taken (docs/performance.md, "Native calls"): a few
 * bytes of machine code in a page of their own that load one syscall number, make the syscall and return the
 * kernel's raw result ({@code -errno} on failure, so no errno is read), called through jffi with no errno
 * saved. Here for {@code gettid} only, to measure it beside the library's path.
 *
 * <p>The page is written while writable and then made read-and-execute with {@code mprotect}; where a policy
 * forbids making memory executable (an SELinux {@code execmem} denial, {@code prctl(PR_SET_MDWE)}, systemd's
 * {@code MemoryDenyWriteExecute=}), {@code mprotect} fails and so does {@link #gettid}.
 */
final class RawSyscallStub {

    private static final Invoker INVOKER = Invoker.getInstance();
    private static final CallContext NO_PARAMETERS = CallContext.getCallContext(Type.SINT64, new Type[0],
            CallingConvention.DEFAULT, false);
    private static final int PROT_READ_EXEC = PageManager.PROT_READ | PageManager.PROT_EXEC;

    private final long address;

    private RawSyscallStub(long address) {
        this.address = address;
    }

    /**
     * Writes the stub for a syscall of no arguments.
     *
     * @param architecture {@code x86_64} or {@code aarch64}
     * @param number the syscall number
     * @return the stub
     * @throws IllegalStateException when the page cannot be made executable
     */
    static RawSyscallStub gettid(String architecture, long number) {
        byte[] code;
        long mprotect;
        if (architecture.equals("x86_64")) {
            // mov eax, imm32; syscall; ret
            code = new byte[] {(byte) 0xb8, (byte) number, (byte) (number >> 8), 0, 0, 0x0f, 0x05, (byte) 0xc3};
            mprotect = 10;
        } else if (architecture.equals("aarch64")) {
            // movz x8, #number; svc #0; ret (little-endian words)
            code = words(0xd2800008 | (int) (number << 5), 0xd4000001, 0xd65f03c0);
            mprotect = 226;
        } else {
            throw new IllegalStateException("no stub for " + architecture);
        }
        PageManager pages = PageManager.getInstance();
        long page = pages.allocatePages(1, PageManager.PROT_READ | PageManager.PROT_WRITE);
        MemoryIO.getInstance().putByteArray(page, code, 0, code.length);
        long result = NativeAccess.current().syscall5(mprotect, page, pages.pageSize(), PROT_READ_EXEC, 0, 0);
        if (result != 0) {
            pages.freePages(page, 1);
            throw new IllegalStateException("mprotect(PROT_READ | PROT_EXEC) of the stub's page failed: errno "
                    + -result);
        }
        return new RawSyscallStub(page);
    }

    private static byte[] words(int... words) {
        byte[] bytes = new byte[4 * words.length];
        for (int i = 0; i < words.length; i++) {
            for (int b = 0; b < 4; b++) {
                bytes[4 * i + b] = (byte) (words[i] >>> (8 * b));
            }
        }
        return bytes;
    }

    /**
     * Makes the syscall.
     *
     * @return the kernel's result, or {@code -errno}
     */
    long call() {
        return INVOKER.invokeL0NoErrno(NO_PARAMETERS, address);
    }
}
