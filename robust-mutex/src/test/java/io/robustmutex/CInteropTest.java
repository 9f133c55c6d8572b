package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.MutexFileHeaderDescriptor;
import io.robustmutex.testing.ChildProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interoperability at the kernel level: a C process that follows the PI protocol of kernel-abi.md section 5
 * on the same record (src/test/c/robust_peer.c) and Java holders exclude each other, and each side learns
 * of the other's death.
 */
class CInteropTest {

    private static Path peer;

    @TempDir
    Path dir;

    @BeforeAll
    static void compilePeer() throws Exception {
        Path source = Path.of("src/test/c/robust_peer.c").toAbsolutePath();
        peer = Path.of("target/robust_peer").toAbsolutePath();
        Files.createDirectories(peer.getParent());
        try (ChildProcess gcc = ChildProcess.command(List.of("gcc", "-O2", "-Wall", "-Werror", "-o", peer.toString(),
                source.toString()))) {
            assertEquals(0, gcc.waitFor(Duration.ofMinutes(2)), () -> String.join("\n", gcc.errorLines()));
        }
    }

    /** A C process and two Java threads increment one counter under one PI mutex and lose nothing. */
    @Test
    void cAndJavaHoldersExcludeEachOther() throws Exception {
        Path path = dir.resolve("interop-counter");
        int iterations = 100_000;
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, MutexKind.PI);
            try (ChildProcess c = ChildProcess.command(List.of(peer.toString(), "increment", path.toString(), "0",
                    "64", Integer.toString(iterations)))) {
                c.awaitLine("READY", Duration.ofSeconds(30));
                List<CompletableFuture<Void>> javas = new ArrayList<>();
                for (int t = 0; t < 2; t++) {
                    javas.add(Threads.start("java-" + t, () -> {
                        var data = region.buffer();
                        for (int i = 0; i < iterations; i++) {
                            mutex.lock();
                            try {
                                data.putLong(64, data.getLong(64) + 1);
                            } finally {
                                mutex.unlock();
                            }
                        }
                        return null;
                    }));
                }
                for (CompletableFuture<Void> java : javas) {
                    Threads.get(java);
                }
                assertEquals(0, c.waitFor(Duration.ofMinutes(2)), () -> String.join("\n", c.errorLines()));
            }
            assertEquals(3L * iterations, region.buffer().getLong(64));
        }
    }

    /** A C holder killed with SIGKILL is reported to the next Java acquirer. */
    @Test
    void deathOfCHolderIsReportedToJava() throws Exception {
        Path path = dir.resolve("interop.mutex");
        try (MutexFile file = MutexFile.open(path, 2, MutexKind.PI)) {
            RobustMutex mutex = file.mutex(1);
            try (ChildProcess c = ChildProcess.command(List.of(peer.toString(), "hold", path.toString(),
                    Integer.toString(MutexFileHeaderDescriptor.recordOffset(1))))) {
                c.awaitLine("HELD", Duration.ofSeconds(30));
                assertTrue(mutex.snapshot().locked());
                assertTrue(mutex.tryAcquire().isEmpty(), "the C holder excludes Java");
                c.kill();
            }
            try (Acquisition held = mutex.tryAcquire(Duration.ofSeconds(10)).orElseThrow()) {
                assertTrue(held.ownerDied());
                held.markConsistent();
            }
        }
    }

    /** A Java holder killed with SIGKILL is reported to the next C acquirer. */
    @Test
    void deathOfJavaHolderIsReportedToC() throws Exception {
        Path path = dir.resolve("interop2.mutex");
        MutexFile.open(path, 1, MutexKind.PI).close();
        try (ChildProcess java = ChildProcess.start(MutexWorker.class, "hold", path.toString(), "0")) {
            java.awaitLine(l -> l.startsWith("HELD"), Duration.ofSeconds(60));
            try (ChildProcess c = ChildProcess.command(List.of(peer.toString(), "hold", path.toString(),
                    Integer.toString(MutexFileHeaderDescriptor.recordOffset(0))))) {
                java.kill();
                c.awaitLine("OWNER_DIED", Duration.ofSeconds(10));
                c.awaitLine("HELD", Duration.ofSeconds(10));
            }
        }
    }
}
