package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** RobustCondition between threads of one JVM, on the real kernel, for both mutex kinds. */
class RobustConditionTest {

    @TempDir
    Path dir;

    /** A waiter woken by a signal returns holding the mutex, with its hold count restored. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void signalWakesAWaiterThatReturnsHoldingTheMutex(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("signal-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition ready = region.condition(64, mutex);
            ByteBuffer data = region.buffer();
            CompletableFuture<Integer> waiter = Threads.start("waiter", () -> {
                mutex.lock();
                mutex.lock();
                try {
                    while (data.getInt(1024) == 0) {
                        ready.await();
                    }
                    assertTrue(mutex.isHeldByCurrentThread());
                    return mutex.getHoldCount();
                } finally {
                    mutex.unlock();
                    mutex.unlock();
                }
            });
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> region.buffer().getInt(64 + 4) == 1);
            mutex.lock();
            try {
                data.putInt(1024, 1);
                ready.signal();
            } finally {
                mutex.unlock();
            }
            assertEquals(2, Threads.get(waiter));
        }
    }
}
