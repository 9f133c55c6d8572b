package io.robustmutex.spi;

/**
 * The syscall numbers and open flags of the library's file layer on one architecture: mutex files and shared
 * regions are opened, checked, created, mapped and unmapped through these, so that every step can refuse a
 * symbolic link, look at the open descriptor itself, and release a mapping at a moment of the library's
 * choosing. Syscall numbers never change once assigned; the two {@code O_} flags that differ between
 * architectures are here too (the others, such as {@code O_CREAT} and {@code O_EXCL}, are the same on every
 * supported architecture).
 *
 * @param openat {@code __NR_openat}
 * @param close {@code __NR_close}
 * @param statx {@code __NR_statx} (its {@code struct statx} has one layout on every architecture)
 * @param fchmod {@code __NR_fchmod}
 * @param fallocate {@code __NR_fallocate}
 * @param pread64 {@code __NR_pread64}
 * @param pwrite64 {@code __NR_pwrite64}
 * @param fsync {@code __NR_fsync}
 * @param mmap {@code __NR_mmap}
 * @param munmap {@code __NR_munmap}
 * @param linkat {@code __NR_linkat}
 * @param unlinkat {@code __NR_unlinkat}
 * @param flock {@code __NR_flock}
 * @param fcntl {@code __NR_fcntl} (its open-file-description locks and {@code struct flock} have one layout on
 *     every supported, 64-bit architecture)
 * @param membarrier {@code __NR_membarrier}
 * @param geteuid {@code __NR_geteuid}
 * @param getegid {@code __NR_getegid}
 * @param getgroups {@code __NR_getgroups}
 * @param oDirectory the value of {@code O_DIRECTORY}
 * @param oNofollow the value of {@code O_NOFOLLOW}
 * @param source where the numbers come from (kernel files)
 */
public record FileSyscalls(long openat, long close, long statx, long fchmod, long fallocate, long pread64,
        long pwrite64, long fsync, long mmap, long munmap, long linkat, long unlinkat, long flock, long fcntl,
        long membarrier, long geteuid, long getegid, long getgroups, int oDirectory, int oNofollow, String source) {

    /**
     * Validates the numbers.
     *
     * @throws IllegalArgumentException if a number is negative, a flag is not a single bit, or the source is
     *     blank
     */
    public FileSyscalls {
        long[] numbers = {openat, close, statx, fchmod, fallocate, pread64, pwrite64, fsync, mmap, munmap, linkat,
            unlinkat, flock, fcntl, membarrier, geteuid, getegid, getgroups};
        for (long number : numbers) {
            if (number < 0) {
                throw new IllegalArgumentException("syscall numbers must not be negative: " + number);
            }
        }
        if (Integer.bitCount(oDirectory) != 1 || Integer.bitCount(oNofollow) != 1) {
            throw new IllegalArgumentException("O_DIRECTORY=" + Integer.toOctalString(oDirectory) + ", O_NOFOLLOW="
                    + Integer.toOctalString(oNofollow) + " (each must be one bit)");
        }
        if (source == null || source.isBlank()) {
            throw new IllegalArgumentException("source must name where the numbers come from");
        }
    }
}
