package io.robustmutex.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** The aarch64 facts of kernel-abi.md sections 1 and 4.3. */
class Aarch64ArchitectureTest extends ArchitectureContractTest {

    @Override
    protected Architecture architecture() {
        return new Aarch64Architecture();
    }

    @Override
    protected String expectedName() {
        return "aarch64";
    }

    @Override
    protected SyscallNumbers expectedSyscallNumbers() {
        return new SyscallNumbers(98, 99, 100, 178, "kernel-abi.md");
    }

    @Override
    protected FileSyscalls expectedFileSyscalls() {
        return new FileSyscalls(56, 57, 291, 52, 47, 67, 68, 82, 222, 215, 37, 35, 32, 25, 283, 175, 177, 158,
                040000, 0100000, "kernel headers");
    }

    @Override
    protected List<Path> fcntlHeaders() {
        return List.of(Path.of("/usr/aarch64-linux-gnu/include/asm/fcntl.h"),
                Path.of("/usr/aarch64-linux-gnu/include/asm-generic/fcntl.h"));
    }

    @Override
    protected int expectedElfMachine() {
        return 183;
    }

    /**
     * arm64 uses the generic syscall table. The cross headers are the arm64 install of it; the host's
     * asm-generic/unistd.h is the same architecture-independent file.
     */
    @Override
    protected List<Path> syscallHeaders() {
        return List.of(Path.of("/usr/aarch64-linux-gnu/include/asm-generic/unistd.h"),
                Path.of("/usr/include/asm-generic/unistd.h"));
    }

    /** gettid is 178 here: the x86_64 number 186 would be msgget (kernel-abi.md section 1). */
    @Test
    void gettidIsNotTheX86Number() {
        assertEquals(178, architecture().syscallNumbers().gettid());
    }

    /** No vDSO robust unlock is merged for arm64; the proposed sequence is marked as a proposal. */
    @Test
    void vdsoUnlockIsAProposal() {
        assertTrue(architecture().vdsoRobustUnlockSymbols().isEmpty());
        UnlockCriticalSection cs = architecture().unlockCriticalSection(PendingSlotWidth.BITS_64);
        assertEquals(UpstreamStatus.PROPOSED, cs.status());
        assertEquals("stlxr w3, wzr, [x0]", cs.instructions().get(cs.csStart() - 1).assembly());
        assertEquals("cbnz w3, retry", cs.instructions().get(cs.csStart()).assembly());
        assertEquals("str xzr, [x2]", cs.instructions().get(cs.csSuccess()).assembly());
        assertEquals(new FixupRule.RegisterIsZero("x3", 4, "x2"), cs.fixupRule());
    }
}
