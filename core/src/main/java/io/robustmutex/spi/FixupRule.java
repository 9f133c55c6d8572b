package io.robustmutex.spi;

import java.util.Objects;

/**
 * How the kernel decides, from the registers saved when a task was interrupted inside
 * {@code [cs_start, cs_end)}, that the compare-and-swap of the vDSO try-unlock succeeded, and which saved
 * register holds the pending-slot address it then clears (kernel-abi.md section 4.3).
 */
public sealed interface FixupRule {

    /**
     * The saved register that holds the address of the pending slot.
     *
     * @return the register name
     */
    String pendingRegister();

    /**
     * x86_64: the CAS succeeded iff ZF is set in the saved flags.
     *
     * @param pendingRegister the register holding the pending-slot address ({@code rdx})
     */
    record ZeroFlagSet(String pendingRegister) implements FixupRule {
        /** Validates the register name. */
        public ZeroFlagSet {
            Objects.requireNonNull(pendingRegister, "pendingRegister");
        }
    }

    /**
     * aarch64 (proposal): the CAS succeeded iff the saved status register of the store-exclusive is zero.
     *
     * @param statusRegister the store-exclusive status register ({@code x3}, read as {@code w3})
     * @param width the width read from the status register
     * @param pendingRegister the register holding the pending-slot address ({@code x2})
     */
    record RegisterIsZero(String statusRegister, int width, String pendingRegister) implements FixupRule {
        /** Validates the register names. */
        public RegisterIsZero {
            Objects.requireNonNull(statusRegister, "statusRegister");
            Objects.requireNonNull(pendingRegister, "pendingRegister");
            if (width != 4 && width != 8) {
                throw new IllegalArgumentException("width=" + width + " (must be 4 or 8)");
            }
        }
    }
}
