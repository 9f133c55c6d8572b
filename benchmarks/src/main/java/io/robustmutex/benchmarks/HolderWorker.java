package io.robustmutex.benchmarks;

import io.robustmutex.MutexFile;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * The holder of the recovery-latency run: takes mutex 0 of a mutex file, prints {@code HELD}, and waits to be
 * killed.
 */
public final class HolderWorker {

    private HolderWorker() {
    }

    /**
     * Entry point.
     *
     * @param args the mutex file
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        MutexFile file = MutexFile.openExisting(Path.of(args[0]));
        file.mutex(0).lock();
        System.out.println("HELD");
        new CountDownLatch(1).await();
    }
}
