package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.testing.ChildProcess;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Ordinary {@code lock(); try { ... } finally { unlock(); }} code, with a writer killed in the middle of an
 * update, either recovers through the recovery handler it registered or fails loudly, holding nothing; a
 * {@code lock()} never returns normally over the half-done update. The death is logged, naming the mutex.
 */
class LockContractTest {

    private static final int A = 64;
    private static final int B = 72;

    @TempDir
    Path dir;

    /** Sets up a region whose two accounts sum to 100, and a child that dies half way through moving 30. */
    private static ByteBuffer halfUpdated(Path path, MutexKind kind) throws Exception {
        ByteBuffer data;
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            region.mutex(0, kind);
            data = region.buffer();
            data.putLong(A, 40).putLong(B, 60);
        }
        try (ChildProcess writer = ChildProcess.start(MutexWorker.class, "half-update", path.toString(),
                kind.name())) {
            writer.awaitLine("MID", Duration.ofSeconds(60));
            writer.kill();
            writer.process().waitFor(30, TimeUnit.SECONDS);
        }
        assertEquals(10 + 60, data.getLong(A) + data.getLong(B), "the writer died half way");
        return data;
    }

    /** The records the library logs while {@code body} runs. */
    private static List<LogRecord> logged(ThrowingRunnable body) throws Exception {
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler handler = new Handler() {
            @Override
            public void publish(LogRecord record) {
                records.add(record);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger logger = Logger.getLogger("io.robustmutex");
        logger.addHandler(handler);
        try {
            body.run();
        } finally {
            logger.removeHandler(handler);
        }
        return records;
    }

    /** Code that may throw. */
    private interface ThrowingRunnable {
        void run() throws Exception;
    }

    /**
     * Without a recovery handler, lock() throws OwnerDiedException, holds nothing, and leaves the mutex
     * INCONSISTENT, so the next lock() is refused too and the next acquire() is told of the death; once that
     * repairs and marks it consistent, lock() returns normally.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void withoutAHandlerLockFailsLoudly(MutexKind kind) throws Exception {
        Path path = dir.resolve("no-handler-" + kind);
        ByteBuffer data = halfUpdated(path, kind);
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            List<LogRecord> log = logged(() -> Threads.runToEnd("plain-lock-user", () -> {
                OwnerDiedException e = assertThrows(OwnerDiedException.class, mutex::lock);
                assertTrue(e.getMessage().contains(path + "@0") && e.getMessage().contains("setRecoveryHandler"),
                        e.getMessage());
                assertFalse(mutex.isHeldByCurrentThread(), "lock() failed but left the mutex held");
                assertEquals(MutexState.INCONSISTENT, mutex.snapshot().state());
                assertThrows(OwnerDiedException.class, mutex::lock, "the death is passed on, not forgotten");
                assertThrows(OwnerDiedException.class, mutex::tryLock);
                return null;
            }));
            assertTrue(log.stream().anyMatch(r -> r.getLevel() == Level.WARNING
                    && r.getMessage().contains("owner died")), "no warning was logged: " + log);
            Threads.runToEnd("repairer", () -> {
                try (Acquisition held = mutex.acquire()) {
                    assertTrue(held.ownerDied());
                    data.putLong(A, data.getLong(A) + 30);
                    held.markConsistent();
                }
                mutex.lock();
                assertEquals(100, data.getLong(A) + data.getLong(B));
                mutex.unlock();
                return null;
            });
        }
    }

    /** With a recovery handler, lock() repairs inside the call and returns normally over repaired data. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void withAHandlerLockRecovers(MutexKind kind) throws Exception {
        Path path = dir.resolve("handler-" + kind);
        ByteBuffer data = halfUpdated(path, kind);
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            mutex.setRecoveryHandler(m -> data.putLong(A, 100 - data.getLong(B)));
            Threads.runToEnd("handled-lock-user", () -> {
                mutex.lock();
                try {
                    assertEquals(100, data.getLong(A) + data.getLong(B), "lock() returned over a half update");
                    assertTrue(mutex.isConsistent());
                } finally {
                    mutex.unlock();
                }
                return null;
            });
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());
        }
    }
}
