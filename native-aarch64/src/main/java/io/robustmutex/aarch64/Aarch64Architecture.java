package io.robustmutex.aarch64;

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
 * aarch64: syscall numbers and the register model of the proposed vDSO robust try-unlock.
 *
 * <p>Linux 7.2 merged the vDSO try-unlock for x86 only. For arm64 a sequence and its fixup rule have been
 * proposed but not merged, and the symbol names and version are not final, so this module exports no
 * symbols: on aarch64 the library uses {@code FUTEX_ROBUST_UNLOCK} where the kernel has it, else the classic
 * unlock. The proposed sequence is still described here, marked {@link UpstreamStatus#PROPOSED}, so the
 * reference model can check it (kernel-abi.md section 4.3).
 */
public final class Aarch64Architecture implements Architecture {

    /**
     * Syscall numbers from include/uapi/asm-generic/unistd.h, the table arm64 uses
     * (arch/arm64/include/uapi/asm/unistd.h includes it); kernel-abi.md section 1.
     */
    private static final SyscallNumbers SYSCALLS = new SyscallNumbers(98, 99, 100, 178,
            "include/uapi/asm-generic/unistd.h (used by arch/arm64/include/uapi/asm/unistd.h)");

    /**
     * File-layer syscall numbers from the same table; O_DIRECTORY and O_NOFOLLOW from
     * arch/arm64/include/uapi/asm/fcntl.h, which overrides the generic values.
     */
    private static final FileSyscalls FILE_SYSCALLS = new FileSyscalls(56, 57, 291, 52, 47, 67, 68, 82, 222, 215,
            37, 35, 32, 25, 283, 175, 177, 158, 040000, 0100000,
            "include/uapi/asm-generic/unistd.h; arch/arm64/include/uapi/asm/fcntl.h");

    /** Creates the provider (used by {@link java.util.ServiceLoader}). */
    public Aarch64Architecture() {
    }

    @Override
    public String name() {
        return "aarch64";
    }

    @Override
    public int elfMachine() {
        return 183; // EM_AARCH64
    }

    @Override
    public SyscallNumbers syscallNumbers() {
        return SYSCALLS;
    }

    @Override
    public FileSyscalls fileSyscalls() {
        return FILE_SYSCALLS;
    }

    /**
     * None: no kernel release exports a robust try-unlock in the arm64 vDSO.
     *
     * @return empty
     */
    @Override
    public Optional<VdsoRobustUnlockSymbols> vdsoRobustUnlockSymbols() {
        return Optional.empty();
    }

    /**
     * The proposed arm64 sequence of kernel-abi.md section 4.3. The register holding the loaded value
     * ({@code w4}) and the final {@code mov w0, w4} that returns it are this module's rendering of the
     * proposal's "return the value observed"; the fixup rule (saved {@code w3 == 0}, pending slot at saved
     * {@code x2}) is the proposal's. An exception return clears the exclusive monitor, so an interrupt
     * between {@code ldxr} and {@code stlxr} makes the store fail and the loop retry.
     */
    @Override
    public UnlockCriticalSection unlockCriticalSection(PendingSlotWidth width) {
        boolean wide = width == PendingSlotWidth.BITS_64;
        List<Instruction> instructions = List.of(
                new Instruction.LoadExclusive("ldxr w4, [x0]", "x4", "x0", 4),
                new Instruction.Compare("cmp w4, w1", "x4", "x1", 4),
                new Instruction.BranchOnZeroFlag("b.ne cs_end", false, UnlockCriticalSection.CS_END),
                new Instruction.StoreExclusive("stlxr w3, wzr, [x0]", "x3", Instruction.ZERO_REGISTER, "x0", 4),
                new Instruction.BranchOnRegister("cbnz w3, retry", "x3", true, "retry", 4),
                wide ? new Instruction.Store("str xzr, [x2]", "x2", Instruction.ZERO_REGISTER, 8)
                     : new Instruction.Store("str wzr, [x2]", "x2", Instruction.ZERO_REGISTER, 4),
                new Instruction.Move("mov w0, w4", "x0", "x4", 4),
                new Instruction.Return("ret"));
        Map<String, Integer> labels = Map.of(
                "retry", 0,
                UnlockCriticalSection.CS_START, 4,
                UnlockCriticalSection.CS_SUCCESS, 5,
                UnlockCriticalSection.CS_END, 6);
        return new UnlockCriticalSection(UpstreamStatus.PROPOSED, width, instructions, labels,
                "x0", "x1", "x2", "x0", new FixupRule.RegisterIsZero("x3", 4, "x2"),
                "arm64 proposal on LKML (not merged in 7.2), kernel-abi.md section 4.3");
    }
}
