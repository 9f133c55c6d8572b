package io.robustmutex.internal;

import io.robustmutex.UnlockPath;
import java.lang.System.Logger.Level;

/**
 * The side-effect-free probes of kernel-abi.md section 4.4 and the choice of unlock path (design.md
 * section 4).
 */
public final class KernelProbe {

    private static final System.Logger LOG = System.getLogger(KernelProbe.class.getName());

    /** Outcome of a probe: supported or not, and the raw result for reports. */
    public record Probe(boolean supported, long result) {
        /**
         * The raw result as text: {@code 0} or an errno name.
         *
         * @return the description
         */
        public String describe() {
            return result < 0 ? Errno.name((int) -result) : Long.toString(result);
        }
    }

    private KernelProbe() {
    }

    /**
     * Probes {@code FUTEX_ROBUST_UNLOCK}: {@code futex(NULL, FUTEX_WAKE_BITSET | FUTEX_ROBUST_UNLOCK, 1, NULL,
     * NULL, 0)} checks the zero bitset before touching anything and answers {@code EINVAL} on 7.2+;
     * {@code ENOSYS} before 7.2 (or under a seccomp filter that refuses the operation).
     *
     * @param syscalls the binding
     * @return the probe's outcome
     */
    public static Probe futexRobustUnlock(LinuxSyscalls syscalls) {
        long result = syscalls.futex(0, FutexOp.FUTEX_WAKE_BITSET | FutexOp.FUTEX_ROBUST_UNLOCK, 1, 0, 0, 0);
        return new Probe(result == -Errno.EINVAL, result);
    }

    /**
     * Probes {@code FUTEX_LOCK_PI2}: on a NULL word it fails with {@code EFAULT} where the operation exists
     * and with {@code ENOSYS} before Linux 5.14; nothing is locked either way.
     *
     * @param syscalls the binding
     * @return the probe's outcome
     */
    public static Probe futexLockPi2(LinuxSyscalls syscalls) {
        long result = syscalls.futex(0, FutexOp.FUTEX_LOCK_PI2, 0, 0, 0, 0);
        return new Probe(result != -Errno.ENOSYS, result);
    }

    /**
     * The strongest path the kernel offers. The vDSO path needs the syscall flag too: its contended case is
     * released by {@code FUTEX_ROBUST_UNLOCK}.
     *
     * @param vdsoTryUnlock whether the vDSO function is present
     * @param futexRobustUnlock whether the syscall flag is supported
     * @return the best path
     */
    public static UnlockPath best(boolean vdsoTryUnlock, boolean futexRobustUnlock) {
        if (futexRobustUnlock) {
            return vdsoTryUnlock ? UnlockPath.VDSO : UnlockPath.SYSCALL;
        }
        return UnlockPath.CLASSIC;
    }

    /**
     * Applies the {@value UnlockPath#PROPERTY} override, which may only lower the path. A value that names no
     * path, or a path the kernel does not offer, keeps the best one and logs a warning (the rule for every
     * property, docs/configuration.md).
     *
     * @param best the best path the kernel offers
     * @param requested the property value, or null when unset
     * @return the path to use
     */
    public static UnlockPath choose(UnlockPath best, String requested) {
        if (requested == null || requested.isBlank()) {
            return best;
        }
        UnlockPath wanted;
        try {
            wanted = UnlockPath.parse(requested);
        } catch (IllegalArgumentException e) {
            LOG.log(Level.WARNING, "{0}={1} is not classic, syscall or vdso; using {2}, the best path this kernel"
                    + " offers", UnlockPath.PROPERTY, requested, best.id());
            return best;
        }
        if (wanted.compareTo(best) > 0) {
            LOG.log(Level.WARNING, "{0}={1} asks for a path this kernel does not offer; using {2}",
                    UnlockPath.PROPERTY, requested, best.id());
            return best;
        }
        return wanted;
    }
}
