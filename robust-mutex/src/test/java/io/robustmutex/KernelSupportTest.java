package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.Architectures;
import io.robustmutex.internal.KernelProbe;
import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.testing.ChildProcess;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Capability detection on the running kernel. */
class KernelSupportTest {

    /** Prints the unlock path this JVM chose; run as a child JVM. */
    public static final class PrintUnlockPath {
        private PrintUnlockPath() {
        }

        /**
         * Entry point.
         *
         * @param args unused
         */
        public static void main(String[] args) {
            if (KernelSupport.isAvailable()) {
                System.out.println("unlock_path=" + KernelSupport.capabilities().unlockPath().id());
            } else {
                System.out.println("unavailable=" + KernelSupport.unavailabilityCause().orElseThrow().getMessage());
            }
        }
    }

    /** The library is usable on this Linux machine. */
    @Test
    void isAvailableHere() {
        assertTrue(KernelSupport.isAvailable(), () -> KernelSupport.unavailabilityCause().toString());
        assertTrue(KernelSupport.unavailabilityCause().isEmpty());
        KernelSupport.ensureAvailability();
    }

    /** The capabilities are consistent with each other and with the probes. */
    @Test
    void capabilitiesAreConsistent() {
        KernelCapabilities caps = KernelSupport.capabilities();
        assertEquals(Architectures.normalize(System.getProperty("os.arch")), caps.architecture());
        assertEquals(System.getProperty("os.version"), caps.kernelRelease());
        assertEquals(KernelProbe.best(caps.vdsoTryUnlock(), caps.futexRobustUnlock()), caps.bestUnlockPath());
        assertTrue(caps.unlockPath().compareTo(caps.bestUnlockPath()) <= 0);
        if (System.getProperty(UnlockPath.PROPERTY) == null) {
            assertEquals(caps.bestUnlockPath(), caps.unlockPath());
        }
        assertEquals(caps.vdsoTryUnlock(), caps.vdsoDetail().isEmpty());
        if (caps.vdsoTryUnlock()) {
            assertTrue(caps.futexRobustUnlock(), "the vDSO function implies the syscall flag");
        }
        assertEquals(KernelProbe.futexRobustUnlock(LinuxPlatform.get().syscalls()).supported(),
                caps.futexRobustUnlock());
    }

    /** A thread that has taken no robust mutex has glibc's head, futex_offset -32. */
    @Test
    void freshThreadHasGlibcHead() throws Exception {
        RegisteredRobustList[] seen = new RegisteredRobustList[1];
        Thread thread = new Thread(() -> seen[0] = KernelSupport.currentThreadRobustList());
        thread.start();
        thread.join(30_000);
        assertEquals(RegisteredRobustList.Owner.GLIBC, seen[0].owner());
        assertEquals(-32, seen[0].futexOffset());
        assertTrue(seen[0].address() != 0);
    }

    /** The property forces the classic path in a JVM started with it. */
    @Test
    void propertyForcesClassicPath() {
        try (ChildProcess child = ChildProcess.start(PrintUnlockPath.class,
                List.of("-D" + UnlockPath.PROPERTY + "=classic"))) {
            assertEquals(0, child.waitFor(Duration.ofSeconds(60)));
            assertEquals(List.of("unlock_path=classic"), child.lines());
        }
    }

    /** A JVM that claims an architecture without a module is unavailable, and says which. */
    @Test
    void unknownArchitectureIsUnavailableWithCause() {
        try (ChildProcess child = ChildProcess.start(PrintUnlockPath.class, List.of("-Dos.arch=riscv64"))) {
            assertEquals(0, child.waitFor(Duration.ofSeconds(60)));
            String line = child.lines().get(0);
            assertTrue(line.startsWith("unavailable=") && line.contains("os.arch=riscv64"), line);
            assertFalse(line.contains("unlock_path"));
        }
    }
}
