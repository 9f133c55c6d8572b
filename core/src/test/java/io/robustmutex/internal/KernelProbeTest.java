package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.robustmutex.UnlockPath;
import org.junit.jupiter.api.Test;

/** The choice of unlock path from the probes and the override property. */
class KernelProbeTest {

    /** The vDSO path needs the syscall flag as well; the syscall path needs only the flag. */
    @Test
    void bestPathFollowsCapabilities() {
        assertEquals(UnlockPath.VDSO, KernelProbe.best(true, true));
        assertEquals(UnlockPath.SYSCALL, KernelProbe.best(false, true));
        assertEquals(UnlockPath.CLASSIC, KernelProbe.best(true, false));
        assertEquals(UnlockPath.CLASSIC, KernelProbe.best(false, false));
    }

    /** The property lowers the path; it never raises it above what the kernel offers. */
    @Test
    void overrideOnlyLowers() {
        assertEquals(UnlockPath.VDSO, KernelProbe.choose(UnlockPath.VDSO, null));
        assertEquals(UnlockPath.CLASSIC, KernelProbe.choose(UnlockPath.VDSO, "classic"));
        assertEquals(UnlockPath.SYSCALL, KernelProbe.choose(UnlockPath.VDSO, " SYSCALL "));
        assertEquals(UnlockPath.CLASSIC, KernelProbe.choose(UnlockPath.CLASSIC, "vdso"));
        assertEquals(UnlockPath.SYSCALL, KernelProbe.choose(UnlockPath.SYSCALL, "vdso"));
    }

    /**
     * A value that names no path is reported and ignored, as every bad property value is (docs/configuration.md):
     * a mistyped tuning knob must not make the library unavailable.
     */
    @Test
    void unknownOverrideIsIgnored() {
        assertEquals(UnlockPath.VDSO, KernelProbe.choose(UnlockPath.VDSO, "fast"));
        assertEquals(UnlockPath.CLASSIC, KernelProbe.choose(UnlockPath.CLASSIC, "clasic"));
    }
}
