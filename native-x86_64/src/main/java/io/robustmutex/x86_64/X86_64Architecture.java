package io.robustmutex.x86_64;

import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.FileSyscalls;
import io.robustmutex.spi.FixupRule;
import io.robustmutex.spi.Instruction;
import io.robustmutex.spi.PendingSlotWidth;
import io.robustmutex.spi.SyscallNumbers;
import io.robustmutex.spi.UnlockCriticalSection;
import io.robustmutex.spi.UpstreamStatus;
import io.robustmutex.spi.VdsoRobustUnlockSymbols;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * x86_64: syscall numbers, the vDSO robust try-unlock (merged in Linux 7.2) and its register model.
 */
public final class X86_64Architecture implements Architecture {

    /**
     * Syscall numbers from arch/x86/entry/syscalls/syscall_64.tbl (installed as
     * {@code asm/unistd_64.h}); kernel-abi.md section 1.
     */
    private static final SyscallNumbers SYSCALLS = new SyscallNumbers(202, 273, 274, 186,
            "arch/x86/entry/syscalls/syscall_64.tbl (asm/unistd_64.h)");

    /**
     * File-layer syscall numbers from the same table; O_DIRECTORY and O_NOFOLLOW from
     * include/uapi/asm-generic/fcntl.h, which x86 uses unchanged.
     */
    private static final FileSyscalls FILE_SYSCALLS = new FileSyscalls(257, 3, 332, 91, 285, 17, 18, 74, 9, 11,
            265, 263, 73, 72, 324, 107, 108, 115, 0200000, 0400000,
            "arch/x86/entry/syscalls/syscall_64.tbl (asm/unistd_64.h); include/uapi/asm-generic/fcntl.h");

    private static final VdsoRobustUnlockSymbols SYMBOLS = new VdsoRobustUnlockSymbols(
            "__vdso_futex_robust_list64_try_unlock", "__vdso_futex_robust_list32_try_unlock", "LINUX_2.6");

    /** Creates the provider (used by {@link java.util.ServiceLoader}). */
    public X86_64Architecture() {
    }

    @Override
    public String name() {
        return "x86_64";
    }

    @Override
    public int elfMachine() {
        return 62; // EM_X86_64
    }

    @Override
    public SyscallNumbers syscallNumbers() {
        return SYSCALLS;
    }

    @Override
    public FileSyscalls fileSyscalls() {
        return FILE_SYSCALLS;
    }

    @Override
    public Optional<VdsoRobustUnlockSymbols> vdsoRobustUnlockSymbols() {
        return Optional.of(SYMBOLS);
    }

    /**
     * The x86 vDSO sequence of kernel-abi.md section 4.2. {@code eax} carries the expected TID into
     * {@code cmpxchg} and the observed word out of the function; ZF records whether the exchange happened,
     * and the kernel's fixup (section 4.3) clears the slot at saved {@code rdx} when it interrupts the task
     * in {@code [cs_start, cs_end)} with ZF set.
     */
    @Override
    public UnlockCriticalSection unlockCriticalSection(PendingSlotWidth width) {
        boolean wide = width == PendingSlotWidth.BITS_64;
        List<Instruction> instructions = List.of(
                new Instruction.Move("mov %esi,%eax", "rax", "rsi", 4),
                new Instruction.Zero("xor %ecx,%ecx", "rcx", true),
                new Instruction.CompareExchange("lock cmpxchg %ecx,(%rdi)", "rdi", "rax", "rcx", 4),
                new Instruction.BranchOnZeroFlag("jnz cs_end", false, UnlockCriticalSection.CS_END),
                wide ? new Instruction.Store("movq %rcx,(%rdx)", "rdx", "rcx", 8)
                     : new Instruction.Store("movl %ecx,(%rdx)", "rdx", "rcx", 4),
                new Instruction.Return("ret"));
        Map<String, Integer> labels = Map.of(
                UnlockCriticalSection.CS_START, 3,
                UnlockCriticalSection.CS_SUCCESS, 4,
                UnlockCriticalSection.CS_END, 5);
        return new UnlockCriticalSection(UpstreamStatus.MERGED, width, instructions, labels,
                "rdi", "rsi", "rdx", "rax", new FixupRule.ZeroFlagSet("rdx"),
                "arch/x86/entry/vdso (Linux 7.2), kernel-abi.md sections 4.2 and 4.3");
    }
}
