package io.robustmutex.spi;

import java.util.Objects;

/**
 * The names and version of the vDSO robust try-unlock functions (kernel-abi.md section 4.2).
 *
 * @param list64 the function clearing a 64-bit pending slot, {@code __vdso_futex_robust_list64_try_unlock}
 * @param list32 the function clearing a 32-bit pending slot, {@code __vdso_futex_robust_list32_try_unlock}
 * @param version the symbol version, {@code LINUX_2.6}
 */
public record VdsoRobustUnlockSymbols(String list64, String list32, String version) {

    /**
     * Validates that no name is null.
     */
    public VdsoRobustUnlockSymbols {
        Objects.requireNonNull(list64, "list64");
        Objects.requireNonNull(list32, "list32");
        Objects.requireNonNull(version, "version");
    }

    /**
     * The symbol for the given pending-slot width.
     *
     * @param width the slot width
     * @return the symbol name
     */
    public String symbol(PendingSlotWidth width) {
        return width == PendingSlotWidth.BITS_64 ? list64 : list32;
    }
}
