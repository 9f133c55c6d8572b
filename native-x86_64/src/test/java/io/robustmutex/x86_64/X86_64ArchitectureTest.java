package io.robustmutex.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.FileSyscalls;
import io.robustmutex.spi.ArchitectureContractTest;
import io.robustmutex.spi.FixupRule;
import io.robustmutex.spi.PendingSlotWidth;
import io.robustmutex.spi.SyscallNumbers;
import io.robustmutex.spi.UnlockCriticalSection;
import io.robustmutex.spi.UpstreamStatus;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The x86_64 facts of kernel-abi.md sections 1 and 4.2. */
class X86_64ArchitectureTest extends ArchitectureContractTest {

    @Override
    protected Architecture architecture() {
        return new X86_64Architecture();
    }

    @Override
    protected String expectedName() {
        return "x86_64";
    }

    @Override
    protected SyscallNumbers expectedSyscallNumbers() {
        return new SyscallNumbers(202, 273, 274, 186, "kernel-abi.md");
    }

    @Override
    protected FileSyscalls expectedFileSyscalls() {
        return new FileSyscalls(257, 3, 332, 91, 285, 17, 18, 74, 9, 11, 265, 263, 73, 72, 324, 107, 108, 115,
                0200000, 0400000, "kernel headers");
    }

    @Override
    protected List<Path> fcntlHeaders() {
        return List.of(Path.of("/usr/include/asm-generic/fcntl.h"));
    }

    @Override
    protected int expectedElfMachine() {
        return 62;
    }

    @Override
    protected List<Path> syscallHeaders() {
        return List.of(Path.of("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"),
                Path.of("/usr/include/asm/unistd_64.h"));
    }

    /** The merged symbols and their version. */
    @Test
    void vdsoSymbols() {
        var symbols = architecture().vdsoRobustUnlockSymbols().orElseThrow();
        assertEquals("__vdso_futex_robust_list64_try_unlock", symbols.symbol(PendingSlotWidth.BITS_64));
        assertEquals("__vdso_futex_robust_list32_try_unlock", symbols.symbol(PendingSlotWidth.BITS_32));
        assertEquals("LINUX_2.6", symbols.version());
    }

    /** The sequence is the kernel's: cmpxchg, then jnz at cs_start, the store at cs_success, ret at cs_end. */
    @Test
    void criticalSectionIsTheKernels() {
        UnlockCriticalSection cs = architecture().unlockCriticalSection(PendingSlotWidth.BITS_64);
        assertEquals(UpstreamStatus.MERGED, cs.status());
        assertEquals(List.of("mov %esi,%eax", "xor %ecx,%ecx", "lock cmpxchg %ecx,(%rdi)", "jnz cs_end",
                "movq %rcx,(%rdx)", "ret"), cs.instructions().stream().map(i -> i.assembly()).toList());
        assertEquals("jnz cs_end", cs.instructions().get(cs.csStart()).assembly());
        assertEquals("ret", cs.instructions().get(cs.csEnd()).assembly());
        assertEquals(new FixupRule.ZeroFlagSet("rdx"), cs.fixupRule());
        assertEquals("movl %ecx,(%rdx)",
                architecture().unlockCriticalSection(PendingSlotWidth.BITS_32).instructions().get(4).assembly());
    }
}
