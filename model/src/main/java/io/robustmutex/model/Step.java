package io.robustmutex.model;

/**
 * One step of a simulated thread: a memory access, a system call, or one instruction of the vDSO
 * try-unlock. A simulated thread can be killed, or interrupted, before any step.
 *
 * @param index the step's index within the thread's current task, from 0
 * @param operation what the step does, e.g. {@code "CAS"}, {@code "store-release"},
 *     {@code "futex(FUTEX_WAKE)"}, {@code "vdso: lock cmpxchg %ecx,(%rdi)"}
 * @param target what it touches, e.g. {@code "T1.head.list_op_pending"}, {@code "mutex@0x7f0000000000.word"}
 */
public record Step(int index, String operation, String target) {

    /**
     * The step as one line.
     *
     * @return {@code "#index operation target"}
     */
    public String describe() {
        return "#" + index + " " + operation + (target.isEmpty() ? "" : " " + target);
    }

    /**
     * Whether this step is an instruction of the vDSO try-unlock.
     *
     * @return true for vDSO instructions
     */
    public boolean isVdsoInstruction() {
        return operation.startsWith("vdso: ");
    }
}
