package io.robustmutex;

import java.util.Optional;

/**
 * What the running kernel offers the library, detected once per JVM without side effects (kernel-abi.md
 * section 4.4).
 *
 * @param architecture the normalized architecture, e.g. {@code x86_64}
 * @param kernelRelease the kernel release string (a hint only: distributions backport)
 * @param vdsoTryUnlock whether the vDSO exports the robust try-unlock for a 64-bit pending slot
 * @param vdsoDetail why the vDSO function is absent, when it is
 * @param futexRobustUnlock whether {@code futex(op | FUTEX_ROBUST_UNLOCK)} is supported
 * @param futexLockPi2 whether {@code FUTEX_LOCK_PI2} (monotonic deadline) is supported
 * @param bestUnlockPath the strongest unlock path the kernel offers
 * @param unlockPath the unlock path in use (weaker when forced by {@value UnlockPath#PROPERTY})
 */
public record KernelCapabilities(
        String architecture,
        String kernelRelease,
        boolean vdsoTryUnlock,
        Optional<String> vdsoDetail,
        boolean futexRobustUnlock,
        boolean futexLockPi2,
        UnlockPath bestUnlockPath,
        UnlockPath unlockPath) {
}
