package io.robustmutex.benchmarks;

import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One of the two processes of the contended-throughput run: waits for the start flag, then locks, increments
 * the shared counter and unlocks until the time is up, and prints how many times it did.
 *
 * <p>{@code ContendedWorker REGION KIND SECONDS}: the mutex is at offset 0 of the region, the counter at 64,
 * the start flag at 72.
 */
public final class ContendedWorker {

    static final int COUNTER = 64;
    static final int START = 72;

    private ContendedWorker() {
    }

    /**
     * Entry point.
     *
     * @param args region path, kind, seconds
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        MutexKind kind = MutexKind.valueOf(args[1]);
        long nanos = TimeUnit.MILLISECONDS.toNanos((long) (Double.parseDouble(args[2]) * 1000));
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            ByteBuffer data = region.buffer();
            // Warm the lock path up before the clock starts.
            for (int i = 0; i < 200_000; i++) {
                mutex.lock();
                mutex.unlock();
            }
            System.out.println("READY");
            while (data.getLong(START) == 0) {
                Thread.onSpinWait();
            }
            long count = 0;
            long deadline = System.nanoTime() + nanos;
            while (true) {
                mutex.lock();
                data.putLong(COUNTER, data.getLong(COUNTER) + 1);
                mutex.unlock();
                count++;
                if ((count & 1023) == 0 && System.nanoTime() - deadline >= 0) {
                    break;
                }
            }
            System.out.println("COUNT " + count);
        }
    }
}
