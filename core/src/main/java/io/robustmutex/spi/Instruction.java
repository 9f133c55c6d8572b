package io.robustmutex.spi;

import java.util.Objects;

/**
 * One machine instruction of a vDSO unlock critical section, in the small register-level instruction set
 * the reference model executes.
 *
 * <p>Registers are named by their 64-bit names ({@code rax}, {@code x0}); an operation of width 4 reads the
 * low 32 bits and, when it writes a register, zero-extends (as both x86_64 and aarch64 do for 32-bit
 * destinations). The name {@link #ZERO_REGISTER} reads as zero. There is one condition flag, Z, which
 * stands for x86's ZF and aarch64's NZCV.Z. Every instruction carries its assembly text, as written in the
 * kernel source, for display.
 */
public sealed interface Instruction {

    /** The name of a register that always reads as zero ({@code xzr}/{@code wzr} on aarch64). */
    String ZERO_REGISTER = "xzr";

    /**
     * The instruction as written in the kernel source.
     *
     * @return the assembly text
     */
    String assembly();

    /**
     * {@code destination = source} ({@code mov %esi,%eax}).
     *
     * @param assembly the assembly text
     * @param destination the register written
     * @param source the register read
     * @param width 4 or 8 bytes
     */
    record Move(String assembly, String destination, String source, int width) implements Instruction {
        /** Validates the operands. */
        public Move {
            requireOperands(assembly, destination, source);
            requireWidth(width);
        }
    }

    /**
     * {@code destination = 0}, optionally setting Z ({@code xor %ecx,%ecx} sets ZF).
     *
     * @param assembly the assembly text
     * @param destination the register cleared
     * @param setsZeroFlag whether the instruction sets Z
     */
    record Zero(String assembly, String destination, boolean setsZeroFlag) implements Instruction {
        /** Validates the operands. */
        public Zero {
            requireOperands(assembly, destination);
        }
    }

    /**
     * Atomic compare-and-exchange ({@code lock cmpxchg %ecx,(%rdi)}): if the memory at {@code address}
     * equals {@code expected}, store {@code replacement} there and set Z; otherwise load the memory value
     * into {@code expected} and clear Z.
     *
     * @param assembly the assembly text
     * @param address the register holding the memory address
     * @param expected the register holding the expected value, which receives the observed value on failure
     * @param replacement the register holding the value stored on success
     * @param width 4 or 8 bytes
     */
    record CompareExchange(String assembly, String address, String expected, String replacement, int width)
            implements Instruction {
        /** Validates the operands. */
        public CompareExchange {
            requireOperands(assembly, address, expected, replacement);
            requireWidth(width);
        }
    }

    /**
     * Load-exclusive ({@code ldxr w4, [x0]}): load the memory at {@code address} into {@code destination}
     * and arm the exclusive monitor on that address.
     *
     * @param assembly the assembly text
     * @param destination the register loaded
     * @param address the register holding the memory address
     * @param width 4 or 8 bytes
     */
    record LoadExclusive(String assembly, String destination, String address, int width) implements Instruction {
        /** Validates the operands. */
        public LoadExclusive {
            requireOperands(assembly, destination, address);
            requireWidth(width);
        }
    }

    /**
     * Compare two registers and set Z when they are equal ({@code cmp w4, w1}).
     *
     * @param assembly the assembly text
     * @param left the first register
     * @param right the second register
     * @param width 4 or 8 bytes
     */
    record Compare(String assembly, String left, String right, int width) implements Instruction {
        /** Validates the operands. */
        public Compare {
            requireOperands(assembly, left, right);
            requireWidth(width);
        }
    }

    /**
     * Store-release-exclusive ({@code stlxr w3, wzr, [x0]}): if the exclusive monitor armed by the last
     * load-exclusive is still set, store {@code source} at {@code address} and write 0 to {@code status};
     * otherwise store nothing and write 1 to {@code status}. The monitor is cleared either way, and also
     * by any exception return.
     *
     * @param assembly the assembly text
     * @param status the register receiving 0 (stored) or 1 (not stored)
     * @param source the register whose value is stored
     * @param address the register holding the memory address
     * @param width 4 or 8 bytes
     */
    record StoreExclusive(String assembly, String status, String source, String address, int width)
            implements Instruction {
        /** Validates the operands. */
        public StoreExclusive {
            requireOperands(assembly, status, source, address);
            requireWidth(width);
        }
    }

    /**
     * Conditional branch on Z ({@code jnz cs_end} branches when Z is clear; {@code b.ne} likewise).
     *
     * @param assembly the assembly text
     * @param branchIfSet branch when Z is set ({@code true}) or when it is clear ({@code false})
     * @param target the label branched to
     */
    record BranchOnZeroFlag(String assembly, boolean branchIfSet, String target) implements Instruction {
        /** Validates the operands. */
        public BranchOnZeroFlag {
            requireOperands(assembly, target);
        }
    }

    /**
     * Branch on a register's value ({@code cbnz w3, retry}).
     *
     * @param assembly the assembly text
     * @param register the register tested
     * @param branchIfNonZero branch when the register is non-zero ({@code true}) or zero ({@code false})
     * @param target the label branched to
     * @param width 4 or 8 bytes
     */
    record BranchOnRegister(String assembly, String register, boolean branchIfNonZero, String target, int width)
            implements Instruction {
        /** Validates the operands. */
        public BranchOnRegister {
            requireOperands(assembly, register, target);
            requireWidth(width);
        }
    }

    /**
     * A plain store ({@code movq %rcx,(%rdx)}, {@code str xzr, [x2]}).
     *
     * @param assembly the assembly text
     * @param address the register holding the memory address
     * @param source the register whose value is stored
     * @param width 4 or 8 bytes
     */
    record Store(String assembly, String address, String source, int width) implements Instruction {
        /** Validates the operands. */
        public Store {
            requireOperands(assembly, address, source);
            requireWidth(width);
        }
    }

    /**
     * Return to the caller ({@code ret}).
     *
     * @param assembly the assembly text
     */
    record Return(String assembly) implements Instruction {
        /** Validates the operands. */
        public Return {
            requireOperands(assembly);
        }
    }

    private static void requireOperands(String... operands) {
        for (String operand : operands) {
            Objects.requireNonNull(operand, "operand");
            if (operand.isBlank()) {
                throw new IllegalArgumentException("operand must not be blank");
            }
        }
    }

    private static void requireWidth(int width) {
        if (width != 4 && width != 8) {
            throw new IllegalArgumentException("width=" + width + " (must be 4 or 8)");
        }
    }
}
