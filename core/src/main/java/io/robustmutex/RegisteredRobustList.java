package io.robustmutex;

/**
 * The robust list head registered for a thread ({@code get_robust_list}, kernel-abi.md section 2).
 *
 * @param owner who registered it
 * @param address the head's address, 0 when none is registered
 * @param futexOffset the head's {@code futex_offset} (glibc's is -32), 0 when none is registered
 */
public record RegisteredRobustList(Owner owner, long address, long futexOffset) {

    /** Who registered a robust list head. */
    public enum Owner {
        /** None is registered. */
        NONE,
        /**
         * The C library: glibc registers one for every thread it creates, so every JVM thread starts with one
         * (with {@code futex_offset} -32).
         */
        GLIBC,
        /** This library (a thread that took a robust mutex). */
        OWN
    }

    /**
     * The report form: {@code none}, {@code own}, or {@code glibc (futex_offset=-32)}.
     *
     * @return the description
     */
    public String describe() {
        return switch (owner) {
            case NONE -> "none";
            case OWN -> "own (futex_offset=" + futexOffset + ")";
            case GLIBC -> "glibc (futex_offset=" + futexOffset + ")";
        };
    }
}
