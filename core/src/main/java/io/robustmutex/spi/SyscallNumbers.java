package io.robustmutex.spi;

/**
 * The syscall numbers the library uses on one architecture. Syscall numbers never change once assigned;
 * each architecture module pins its numbers in a test and, where the kernel headers are installed, checks
 * them against the headers.
 *
 * @param futex {@code __NR_futex}
 * @param setRobustList {@code __NR_set_robust_list}
 * @param getRobustList {@code __NR_get_robust_list}
 * @param gettid {@code __NR_gettid}
 * @param source where the numbers come from (a kernel file)
 */
public record SyscallNumbers(long futex, long setRobustList, long getRobustList, long gettid, String source) {

    /**
     * Validates the numbers.
     *
     * @throws IllegalArgumentException if a number is negative or the source is blank
     */
    public SyscallNumbers {
        if (futex < 0 || setRobustList < 0 || getRobustList < 0 || gettid < 0) {
            throw new IllegalArgumentException("syscall numbers must not be negative: futex=" + futex
                    + ", setRobustList=" + setRobustList + ", getRobustList=" + getRobustList + ", gettid=" + gettid);
        }
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("source must name where the numbers come from");
        }
    }
}
