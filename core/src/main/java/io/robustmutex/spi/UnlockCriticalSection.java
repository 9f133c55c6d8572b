package io.robustmutex.spi;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The vDSO robust try-unlock ({@code u32 try_unlock(u32 *lock, u32 tid, u64 *pop)}) of one architecture, as
 * data: the instructions, the labels, the argument registers, and the fixup rule (kernel-abi.md sections
 * 4.2 and 4.3).
 *
 * <p>Labels map to the index of the instruction they precede. {@code [cs_start, cs_end)} is the range in
 * which an interrupted task gets its pending slot cleared by the kernel when {@link #fixupRule()} says the
 * compare-and-swap succeeded. A real vDSO protects only its own addresses, so this description drives the
 * reference model; it is never turned into executable code.
 *
 * @param status whether this sequence is merged upstream or a proposal
 * @param width the width of the pending slot the sequence clears
 * @param instructions the instructions in program order
 * @param labels label name to the index of the instruction it precedes; must contain {@link #CS_START},
 *     {@link #CS_SUCCESS} and {@link #CS_END} and every branch target
 * @param lockRegister the argument register holding {@code lock}
 * @param tidRegister the argument register holding {@code tid}
 * @param pendingRegister the argument register holding {@code pop}
 * @param returnRegister the register holding the return value at {@code ret}
 * @param fixupRule the kernel's rule at an interrupt inside {@code [cs_start, cs_end)}
 * @param source where the sequence comes from
 */
public record UnlockCriticalSection(
        UpstreamStatus status,
        PendingSlotWidth width,
        List<Instruction> instructions,
        Map<String, Integer> labels,
        String lockRegister,
        String tidRegister,
        String pendingRegister,
        String returnRegister,
        FixupRule fixupRule,
        String source) {

    /** The label after the compare-and-swap: the start of the protected range. */
    public static final String CS_START = "cs_start";
    /** The label of the pending-slot store, reached only when the compare-and-swap succeeded. */
    public static final String CS_SUCCESS = "cs_success";
    /** The label just after the pending-slot store: the end (exclusive) of the protected range. */
    public static final String CS_END = "cs_end";

    /**
     * Validates the description: the three labels exist and are ordered, every label and branch target is
     * in range, and the fixup rule reads the pending register.
     *
     * @throws IllegalArgumentException naming what is inconsistent
     */
    public UnlockCriticalSection {
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(width, "width");
        Objects.requireNonNull(fixupRule, "fixupRule");
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(lockRegister, "lockRegister");
        Objects.requireNonNull(tidRegister, "tidRegister");
        Objects.requireNonNull(pendingRegister, "pendingRegister");
        Objects.requireNonNull(returnRegister, "returnRegister");
        instructions = List.copyOf(instructions);
        labels = Map.copyOf(labels);
        if (instructions.isEmpty() || !(instructions.get(instructions.size() - 1) instanceof Instruction.Return)) {
            throw new IllegalArgumentException("the last instruction must be a return");
        }
        for (Map.Entry<String, Integer> label : labels.entrySet()) {
            if (label.getValue() < 0 || label.getValue() >= instructions.size()) {
                throw new IllegalArgumentException("label " + label.getKey() + "=" + label.getValue()
                        + " is outside the " + instructions.size() + " instructions");
            }
        }
        for (String required : List.of(CS_START, CS_SUCCESS, CS_END)) {
            if (!labels.containsKey(required)) {
                throw new IllegalArgumentException("missing label " + required);
            }
        }
        if (!(labels.get(CS_START) <= labels.get(CS_SUCCESS) && labels.get(CS_SUCCESS) < labels.get(CS_END))) {
            throw new IllegalArgumentException("labels must be ordered cs_start <= cs_success < cs_end: " + labels);
        }
        for (Instruction instruction : instructions) {
            String target = null;
            if (instruction instanceof Instruction.BranchOnZeroFlag branch) {
                target = branch.target();
            } else if (instruction instanceof Instruction.BranchOnRegister branch) {
                target = branch.target();
            }
            if (target != null && !labels.containsKey(target)) {
                throw new IllegalArgumentException("branch target " + target + " of '" + instruction.assembly()
                        + "' is not a label");
            }
        }
        if (!fixupRule.pendingRegister().equals(pendingRegister)) {
            throw new IllegalArgumentException("fixup rule reads " + fixupRule.pendingRegister()
                    + " but the pending slot is passed in " + pendingRegister);
        }
    }

    /**
     * The index of the first instruction inside the protected range.
     *
     * @return the index labelled {@code cs_start}
     */
    public int csStart() {
        return labels.get(CS_START);
    }

    /**
     * The index of the pending-slot store.
     *
     * @return the index labelled {@code cs_success}
     */
    public int csSuccess() {
        return labels.get(CS_SUCCESS);
    }

    /**
     * The index of the first instruction after the protected range.
     *
     * @return the index labelled {@code cs_end}
     */
    public int csEnd() {
        return labels.get(CS_END);
    }

    /**
     * Whether an instruction pointer at the given index lies in {@code [cs_start, cs_end)}.
     *
     * @param index an instruction index
     * @return true inside the protected range
     */
    public boolean inCriticalSection(int index) {
        return index >= csStart() && index < csEnd();
    }

    /**
     * The index a label refers to.
     *
     * @param label a label name
     * @return its instruction index
     * @throws IllegalArgumentException if there is no such label
     */
    public int indexOf(String label) {
        Integer index = labels.get(label);
        if (index == null) {
            throw new IllegalArgumentException("no label " + label);
        }
        return index;
    }
}
