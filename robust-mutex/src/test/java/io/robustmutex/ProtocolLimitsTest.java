package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.LinuxPlatform;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Refusals that keep the kernel's help honest: no more holds than the exit walk releases, no sleep on a word
 * that names the caller, and no robust-list registration by calls that only ask or are refused.
 */
class ProtocolLimitsTest {

    @TempDir
    Path dir;

    /**
     * The exit walk stops after 2048 entries (kernel-abi.md section 5), so the 2049th hold of one thread is
     * refused, naming the limit; the 2048 held ones stay held and release normally.
     */
    @Test
    void the2049thHoldIsRefused() throws Exception {
        Threads.runToEnd("many-holds", () -> {
            try (MutexFile file = MutexFile.open(dir.resolve("many.mutex"), 2049, MutexKind.NORMAL)) {
                List<Acquisition> held = new ArrayList<>();
                for (int i = 0; i < 2048; i++) {
                    held.add(file.mutex(i).acquire());
                }
                RobustMutex last = file.mutex(2048);
                IllegalStateException e = assertThrows(IllegalStateException.class, last::acquire);
                assertTrue(e.getMessage().contains("2048"), e.getMessage());
                assertFalse(last.isHeldByCurrentThread());
                assertEquals(0, last.snapshot().ownerTid(), "the refused mutex was not taken");
                held.get(7).close();
                try (Acquisition now = last.acquire()) {
                    assertFalse(now.ownerDied(), "after one release there is room again");
                }
                for (int i = 0; i < held.size(); i++) {
                    if (i != 7) {
                        held.get(i).close();
                    }
                }
            }
            return null;
        });
    }

    /**
     * A word that holds the caller's own TID, though the caller does not hold the mutex, would never be freed
     * for it: a NORMAL acquisition throws, as PI's does on the kernel's EDEADLK, instead of sleeping for ever.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aWordNamingTheCallerIsRefusedNotSleptOn(MutexKind kind) throws Exception {
        Threads.runToEnd("own-tid", () -> {
            try (SharedMemory region = SharedMemory.map(dir.resolve("own-" + kind), 4096)) {
                RobustMutex mutex = region.mutex(0, kind);
                int tid = LinuxPlatform.get().syscalls().gettid();
                region.buffer().putInt(0, tid);
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> mutex.tryAcquire(Duration.ofSeconds(5)));
                assertTrue(e.getMessage().contains(String.valueOf(tid)), e.getMessage());
                assertFalse(mutex.isHeldByCurrentThread());
                region.buffer().putInt(0, 0);
            }
            return null;
        });
    }

    /**
     * A thread that never locked anything and calls unlock, isHeldByCurrentThread or getHoldCount is answered
     * without touching the kernel: glibc's robust list head stays registered for it.
     */
    @Test
    void queriesAndRefusedUnlocksDoNotRegisterAHead() throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("queries.mutex"), 1)) {
            RobustMutex mutex = file.mutex(0);
            RegisteredRobustList after = Threads.runToEnd("fresh", () -> {
                assertEquals(RegisteredRobustList.Owner.GLIBC, KernelSupport.currentThreadRobustList().owner());
                assertThrows(IllegalMonitorStateException.class, mutex::unlock);
                assertFalse(mutex.isHeldByCurrentThread());
                assertEquals(0, mutex.getHoldCount());
                assertThrows(IllegalMonitorStateException.class, mutex::markConsistent);
                assertThrows(IllegalMonitorStateException.class, mutex::fencingToken);
                return KernelSupport.currentThreadRobustList();
            });
            assertEquals(RegisteredRobustList.Owner.GLIBC, after.owner(), "a head was registered: " + after);
        }
    }
}
