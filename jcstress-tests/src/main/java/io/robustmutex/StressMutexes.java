/*
 * Not a test: the real-kernel mutexes that the JCStress tests of this package share.
 *
 * JCStress creates a new @State object for every sample, keeps up to 40 strides of 256 of them alive at once,
 * and forks a JVM per test run. A mutex file per state would cost a file and a mapping each, so every JVM
 * creates, once per kind, one MutexFile and one SharedMemory region, in /dev/shm (or java.io.tmpdir), and
 * deletes both files as soon as they are mapped: the mappings stay valid, and nothing is left behind even when
 * JCStress ends a fork abruptly. States take their mutexes from these pools.
 */
package io.robustmutex;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/** Pools of real-kernel mutexes, and mapped data for them to protect, for the JCStress states of this package. */
final class StressMutexes {

    /**
     * Mutexes in each kind's mutex file, each with {@value #DATA_SIZE} bytes of data in the region. A state takes
     * the next one round-robin; there are more than twice as many as the states JCStress keeps alive at once
     * (40 x 256, and a state of one batch may outlive at most one more batch), so live states never share one.
     */
    static final int FILE_MUTEXES = 1 << 15;
    /** Bytes of mapped data per file mutex. */
    static final int DATA_SIZE = 16;

    /**
     * Mutexes placed in each kind's region with {@link SharedMemory#mutex(long, MutexKind)}, for tests that run
     * one state at a time (termination tests); taken round-robin.
     */
    static final int REGION_MUTEXES = 64;

    private static final int RECORD_SIZE = 64;
    private static final int DATA_START = REGION_MUTEXES * RECORD_SIZE;

    private StressMutexes() {
    }

    /**
     * A mutex of the kind's mutex file that no other live state uses, and the mapped data it protects, zeroed.
     *
     * @param kind PI or NORMAL
     * @return a free, consistent mutex and its data
     */
    static Guarded fresh(MutexKind kind) {
        return pool(kind).fresh();
    }

    /**
     * A mutex that the kind's region holds next to other data (shared round-robin by {@value #REGION_MUTEXES}
     * states).
     *
     * @param kind PI or NORMAL
     * @return a free, consistent mutex
     */
    static RobustMutex placed(MutexKind kind) {
        return pool(kind).placed();
    }

    private static Pool pool(MutexKind kind) {
        return kind == MutexKind.PI ? PiPool.POOL : NormalPool.POOL;
    }

    /**
     * A mutex and the mapped data it protects.
     *
     * @param mutex the mutex
     * @param data the whole region as a buffer: use absolute accesses only, it is shared by every state
     * @param offset where the mutex's {@value #DATA_SIZE} bytes start in {@code data}
     */
    record Guarded(RobustMutex mutex, ByteBuffer data, int offset) {
    }

    /** Created on first use of PI mutexes. */
    private static final class PiPool {
        static final Pool POOL = new Pool(MutexKind.PI);
    }

    /** Created on first use of NORMAL mutexes. */
    private static final class NormalPool {
        static final Pool POOL = new Pool(MutexKind.NORMAL);
    }

    /** One kind's mutex file and region, both mapped for the life of the JVM. */
    private static final class Pool {
        private final MutexFile file;
        private final RobustMutex[] placed = new RobustMutex[REGION_MUTEXES];
        private final ByteBuffer data;
        private final AtomicInteger nextFresh = new AtomicInteger();
        private final AtomicInteger nextPlaced = new AtomicInteger();

        Pool(MutexKind kind) {
            Path dir = directory();
            String prefix = "robust-mutex-jcstress-" + ProcessHandle.current().pid() + "-" + kind + "-";
            try {
                // A private directory, so the library creates both files itself (it never adopts an existing
                // file that it did not initialize).
                Path privateDir = Files.createTempDirectory(dir, prefix);
                try {
                    Path filePath = privateDir.resolve("mutexes");
                    try {
                        file = MutexFile.open(filePath, FILE_MUTEXES, kind);
                    } finally {
                        Files.deleteIfExists(filePath);
                    }
                    Path regionPath = privateDir.resolve("region");
                    try {
                        SharedMemory region = SharedMemory.map(regionPath,
                                DATA_START + (long) FILE_MUTEXES * DATA_SIZE);
                        // Placing a mutex initializes its record under a file lock, so the file must still exist.
                        for (int i = 0; i < REGION_MUTEXES; i++) {
                            placed[i] = region.mutex((long) i * RECORD_SIZE, kind);
                        }
                        data = region.buffer();
                    } finally {
                        Files.deleteIfExists(regionPath);
                    }
                } finally {
                    Files.deleteIfExists(privateDir);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create the " + kind + " mutexes of the JCStress tests in "
                        + dir, e);
            }
        }

        private static Path directory() {
            Path shm = Path.of("/dev/shm");
            if (Files.isDirectory(shm) && Files.isWritable(shm)) {
                return shm;
            }
            return Path.of(System.getProperty("java.io.tmpdir"));
        }

        Guarded fresh() {
            int index = Math.floorMod(nextFresh.getAndIncrement(), FILE_MUTEXES);
            RobustMutex mutex = file.mutex(index);
            int offset = DATA_START + index * DATA_SIZE;
            // The previous user of this mutex is long gone (see FILE_MUTEXES); still, write under the mutex.
            mutex.lock();
            try {
                data.putLong(offset, 0);
                data.putLong(offset + 8, 0);
            } finally {
                mutex.unlock();
            }
            return new Guarded(mutex, data, offset);
        }

        RobustMutex placed() {
            return placed[Math.floorMod(nextPlaced.getAndIncrement(), REGION_MUTEXES)];
        }
    }
}
