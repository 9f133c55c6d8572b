package io.robustmutex;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.internal.RobustListHeads;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Robust list heads are reused only after their threads are gone, so they do not grow with thread churn. */
class RobustListHeadsTest {

    @TempDir
    Path dir;

    /** Hundreds of short-lived locking threads reuse the heads of threads that have exited. */
    @Test
    void headsOfExitedThreadsAreReused() throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("churn.mutex"), 1)) {
            RobustMutex mutex = file.mutex(0);
            for (int i = 0; i < 400; i++) {
                Threads.runToEnd("short-" + i, () -> {
                    mutex.lock();
                    mutex.unlock();
                    return null;
                });
            }
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> RobustListHeads.reclaim(LinuxPlatform.get().syscalls()) >= 0
                            && RobustListHeads.inUse() < 200);
            assertTrue(RobustListHeads.chunkCount() <= 3, "chunks: " + RobustListHeads.chunkCount());
        }
    }
}
