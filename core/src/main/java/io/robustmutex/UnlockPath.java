package io.robustmutex;

import java.util.Locale;

/**
 * How a robust mutex is released (design.md section 4; kernel-abi.md sections 4 and 4.4). Declared from the
 * weakest to the strongest; the library uses the strongest the kernel offers unless told to use a weaker
 * one with the system property {@value #PROPERTY}.
 */
public enum UnlockPath {

    /**
     * The classic sequence: set {@code list_op_pending}, release the word in user space (or with
     * {@code FUTEX_WAKE}/{@code FUTEX_UNLOCK_PI} when contended), then clear {@code list_op_pending}. Works on
     * every kernel; a death between the release and the clear leaves a stale pending entry (the unmap race
     * of kernel-abi.md section 4), which the library closes for memory it maps itself (design.md section 5).
     */
    CLASSIC("classic"),

    /**
     * Linux 7.2's {@code futex(op | FUTEX_ROBUST_UNLOCK)}: the kernel releases the word and clears
     * {@code list_op_pending} in one syscall, so no death can fall between them. One syscall per unlock.
     */
    SYSCALL("syscall"),

    /**
     * Linux 7.2's vDSO {@code __vdso_futex_robust_list64_try_unlock}: the uncontended release and the clear
     * of {@code list_op_pending}, made atomic with respect to death by the kernel's return-to-user fixup,
     * without a syscall; contended releases fall back to {@link #SYSCALL}.
     */
    VDSO("vdso");

    /** The system property that forces a weaker path, e.g. {@code -Dio.robustmutex.unlockPath=classic}. */
    public static final String PROPERTY = "io.robustmutex.unlockPath";

    private final String id;

    UnlockPath(String id) {
        this.id = id;
    }

    /**
     * The lower-case name used in properties and reports.
     *
     * @return {@code "classic"}, {@code "syscall"} or {@code "vdso"}
     */
    public String id() {
        return id;
    }

    /**
     * Parses a path name.
     *
     * @param text {@code classic}, {@code syscall} or {@code vdso}, in any case
     * @return the path
     * @throws IllegalArgumentException naming the value when it is none of these
     */
    public static UnlockPath parse(String text) {
        String wanted = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
        for (UnlockPath path : values()) {
            if (path.id.equals(wanted)) {
                return path;
            }
        }
        throw new IllegalArgumentException(PROPERTY + "=" + text + " (expected classic, syscall or vdso)");
    }
}
