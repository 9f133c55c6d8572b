package io.robustmutex.internal;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.MemoryIO;
import com.kenai.jffi.PageManager;
import com.kenai.jffi.Type;
import java.util.Locale;

/**
 * The x86-64 syscall instruction behind a C function of six 64-bit parameters, so that JNR-FFI's fastest
 * call (jffi's direct {@code invokeL6NoErrno}) makes a syscall with no C library and no errno in between:
 * the function moves the number and five arguments into the registers of the kernel's syscall convention,
 * executes {@code syscall} and returns the kernel's result, {@code -errno} on failure (docs/performance.md,
 * "Syscalls through the binding").
 *
 * <pre>
 * mov rax, rdi ; mov rdi, rsi ; mov rsi, rdx ; mov rdx, rcx ; mov r10, r8 ; mov r8, r9 ; syscall ; ret
 * </pre>
 *
 * <p>The 21 bytes are written into a page of their own, which is then made read-and-execute with
 * {@code mprotect}, never writable and executable at once. Where a policy forbids making memory executable
 * (an SELinux {@code execmem} denial, {@code prctl(PR_SET_MDWE)}, systemd's {@code MemoryDenyWriteExecute=}),
 * {@code mprotect} fails, {@link #create} says why, and the binding calls the C library's {@code syscall}
 * instead. Only on x86-64, where stores are seen by instruction fetch without cache maintenance; on aarch64
 * the instruction cache would have to be cleaned and invalidated for the page, which jffi offers no way to
 * do, so the binding calls the C library there.
 */
final class SyscallStub {

    private static final Invoker INVOKER = Invoker.getInstance();
    private static final CallContext SIX_LONGS = CallContext.getCallContext(Type.SINT64,
            new Type[] {Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64},
            CallingConvention.DEFAULT, false);
    /** {@code mprotect}'s number on x86-64 (arch/x86/entry/syscalls/syscall_64.tbl). */
    private static final long X86_64_MPROTECT = 10;
    private static final int PROT_READ = 1;
    private static final int PROT_EXEC = 4;

    private static final byte[] X86_64_CODE = {
        0x48, (byte) 0x89, (byte) 0xf8, // mov rax, rdi   (the number)
        0x48, (byte) 0x89, (byte) 0xf7, // mov rdi, rsi
        0x48, (byte) 0x89, (byte) 0xd6, // mov rsi, rdx
        0x48, (byte) 0x89, (byte) 0xca, // mov rdx, rcx
        0x4d, (byte) 0x89, (byte) 0xc2, // mov r10, r8    (the kernel's fourth argument register)
        0x4d, (byte) 0x89, (byte) 0xc8, // mov r8, r9
        0x0f, 0x05,                     // syscall        (clobbers rcx and r11, caller-saved)
        (byte) 0xc3,                    // ret
    };

    private final long address;

    private SyscallStub(long address) {
        this.address = address;
    }

    /** The outcome of making the stub: the stub, or why there is none. */
    record Outcome(SyscallStub stub, String reason) {
    }

    /**
     * Whether there is a stub for this architecture (x86-64 only).
     *
     * @param osArch the JVM's {@code os.arch}
     * @return whether {@link #create} applies
     */
    static boolean applies(String osArch) {
        String arch = osArch.toLowerCase(Locale.ROOT);
        return arch.equals("amd64") || arch.equals("x86_64");
    }

    /**
     * Makes the stub, on an architecture it {@link #applies} to.
     *
     * @param protect makes a page read-and-execute: {@code mprotect(address, length, PROT_READ | PROT_EXEC)}
     *     through the C library, returning 0 or {@code -errno}
     * @return the stub, or the reason there is none
     */
    static Outcome create(Protect protect) {
        PageManager pages = PageManager.getInstance();
        long page;
        try {
            page = pages.allocatePages(1, PageManager.PROT_READ | PageManager.PROT_WRITE);
        } catch (RuntimeException | Error e) {
            return new Outcome(null, "no page for the stub: " + e);
        }
        if (page == 0) {
            return new Outcome(null, "no page for the stub");
        }
        MemoryIO.getInstance().putByteArray(page, X86_64_CODE, 0, X86_64_CODE.length);
        long result = protect.protect(X86_64_MPROTECT, page, pages.pageSize(), PROT_READ | PROT_EXEC);
        if (result != 0) {
            pages.freePages(page, 1);
            return new Outcome(null, "the stub's page could not be made executable: mprotect returned "
                    + Errno.name((int) -result));
        }
        return new Outcome(new SyscallStub(page), null);
    }

    /** {@code mprotect} through the C library. */
    @FunctionalInterface
    interface Protect {
        /**
         * Calls {@code mprotect}.
         *
         * @param number {@code mprotect}'s syscall number
         * @param address the page
         * @param length its length
         * @param protection the new protection
         * @return 0 or {@code -errno}
         */
        long protect(long number, long address, long length, int protection);
    }

    /**
     * Makes a syscall.
     *
     * @param number the syscall number
     * @param a1 first argument
     * @param a2 second argument
     * @param a3 third argument
     * @param a4 fourth argument
     * @param a5 fifth argument
     * @return the kernel's result: non-negative, or {@code -errno}
     */
    long call(long number, long a1, long a2, long a3, long a4, long a5) {
        return INVOKER.invokeL6NoErrno(SIX_LONGS, address, number, a1, a2, a3, a4, a5);
    }
}
