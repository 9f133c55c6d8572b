package io.robustmutex.spi;

import java.util.Optional;

/**
 * The facts about one CPU architecture that the library needs: syscall numbers, the vDSO robust-unlock
 * symbols, and the register model of the vDSO unlock critical section.
 *
 * <p>Implementations are found with {@link java.util.ServiceLoader}; exactly one must match the running
 * architecture. Implementations must be stateless and cheap to construct.
 */
public interface Architecture {

    /**
     * The normalized architecture name this provider serves: {@code "x86_64"} or {@code "aarch64"}.
     *
     * @return the normalized name
     */
    String name();

    /**
     * The ELF {@code e_machine} value of this architecture, checked when the vDSO image is parsed
     * ({@code EM_X86_64} is 62, {@code EM_AARCH64} is 183).
     *
     * @return the ELF machine number
     */
    int elfMachine();

    /**
     * The syscall numbers of this architecture, with the source they were taken from.
     *
     * @return the syscall numbers
     */
    SyscallNumbers syscallNumbers();

    /**
     * The syscall numbers and open flags of the file layer on this architecture.
     *
     * @return the numbers and flags
     */
    FileSyscalls fileSyscalls();

    /**
     * The vDSO robust try-unlock symbols, when the upstream kernel exports them on this architecture.
     *
     * @return the symbols, or empty when no kernel release exports them on this architecture
     */
    Optional<VdsoRobustUnlockSymbols> vdsoRobustUnlockSymbols();

    /**
     * The vDSO try-unlock critical section for the given pending-slot width, as the kernel implements it
     * (or, where {@link UnlockCriticalSection#status()} says so, as proposed upstream).
     *
     * @param width the width of the {@code list_op_pending} slot the sequence clears
     * @return the instruction-level description used by the reference model
     */
    UnlockCriticalSection unlockCriticalSection(PendingSlotWidth width);
}
