package io.robustmutex;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.testing.ChildProcess;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** RobustMutex between real processes: child JVMs that take the lock and are killed with SIGKILL. */
class RobustMutexProcessesTest {

    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration PROMPTLY = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private static long field(String line, String name) {
        for (String part : line.split(" ")) {
            if (part.startsWith(name + "=")) {
                return part.equals(name + "=true") ? 1 : part.equals(name + "=false") ? 0
                        : Long.parseLong(part.substring(name.length() + 1));
            }
        }
        throw new AssertionError("no " + name + " in " + line);
    }

    /** Three processes incrementing a counter in one mapped file under the mutex lose no increment. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void mutualExclusionBetweenProcesses(MutexKind kind) throws Exception {
        Path region = dir.resolve("counter");
        int iterations = 100_000;
        List<ChildProcess> children = new ArrayList<>();
        try (SharedMemory memory = SharedMemory.map(region, 4096)) {
            for (int i = 0; i < 3; i++) {
                children.add(ChildProcess.start(MutexWorker.class, "increment", region.toString(), kind.name(),
                        Integer.toString(iterations)));
            }
            for (ChildProcess child : children) {
                child.awaitLine("READY", START);
            }
            // Start all three together so that they contend for the whole run.
            memory.buffer().putLong(MutexWorker.GO, 1);
            for (ChildProcess child : children) {
                assertEquals(0, child.waitFor(Duration.ofMinutes(3)), () -> String.join("\n", child.errorLines()));
                assertEquals("DONE", child.lines().get(child.lines().size() - 1));
            }
        } finally {
            children.forEach(ChildProcess::close);
        }
        try (SharedMemory memory = SharedMemory.map(region, 4096)) {
            assertEquals(3L * iterations, memory.buffer().getLong(MutexWorker.COUNTER));
            assertFalse(memory.mutex(0, kind).snapshot().locked());
        }
    }

    /** A holder killed with SIGKILL is reported to the next acquirer, with a larger fencing token. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void killedHolderIsReportedToNextAcquirer(MutexKind kind) throws Exception {
        Path path = dir.resolve("killed-holder.mutex");
        try (MutexFile file = MutexFile.open(path, 2, kind)) {
            long token;
            try (ChildProcess holder = ChildProcess.start(MutexWorker.class, "hold", path.toString(), "0")) {
                String held = holder.awaitLine(l -> l.startsWith("HELD"), START);
                token = field(held, "token");
                assertTrue(holder.lines().contains("LIST joined glibc"), () -> String.join("\n", holder.lines()));
                assertEquals(holder.pid(), file.mutex(0).snapshot().ownerPid());
                holder.kill();
            }
            assertReleasedByTheKernel(file.mutex(0));
            try (Acquisition next = file.mutex(0).tryAcquire(PROMPTLY).orElseThrow()) {
                assertTrue(next.ownerDied());
                assertTrue(next.fencingToken() > token);
                next.markConsistent();
            }
            assertEquals(1, file.mutex(0).snapshot().ownerDiedCount());
            assertEquals(MutexState.CONSISTENT, file.mutex(0).snapshot().state());
        }
    }

    /**
     * A thread without a head it can join (none registered, as with a C library that registers lazily, or one
     * with musl's futex_offset), or told by {@code -Dio.robustmutex.robustList=own} not to join, registers the
     * library's own head, says why, and its death is released by the kernel and reported all the same.
     */
    @ParameterizedTest
    @CsvSource({
        "PI, none, the C library registered no robust list head for the thread",
        "NORMAL, none, the C library registered no robust list head for the thread",
        "PI, offset, 'the registered head''s futex_offset is -28, not -32'",
        "NORMAL, offset, 'the registered head''s futex_offset is -28, not -32'",
        "PI, property, -Dio.robustmutex.robustList=own",
        "NORMAL, property, -Dio.robustmutex.robustList=own",
    })
    void killedHolderWithItsOwnHeadIsReported(MutexKind kind, String how, String reason) throws Exception {
        Path path = dir.resolve("own-head.mutex");
        try (MutexFile file = MutexFile.open(path, 1, kind)) {
            try (ChildProcess holder = how.equals("property")
                    ? ChildProcess.start(MutexWorker.class, List.of(reason), "hold", path.toString(), "0")
                    : ChildProcess.start(MutexWorker.class, "hold-without-glibc-head", path.toString(), "0", how)) {
                holder.awaitLine(l -> l.startsWith("HELD"), START);
                assertTrue(holder.lines().contains("LIST own (" + reason + ")"),
                        () -> String.join("\n", holder.lines()));
                holder.kill();
            }
            assertReleasedByTheKernel(file.mutex(0));
            try (Acquisition next = file.mutex(0).tryAcquire(PROMPTLY).orElseThrow()) {
                assertTrue(next.ownerDied());
            }
        }
    }

    /**
     * A holder killed while another process and a thread of this one wait in the kernel: one waiter gets the
     * mutex with the owner's death reported, and the other gets it after that one.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void killedHolderWithWaitersInTheKernel(MutexKind kind) throws Exception {
        Path path = dir.resolve("waiters.mutex");
        try (MutexFile file = MutexFile.open(path, 1, kind);
             ChildProcess holder = ChildProcess.start(MutexWorker.class, "hold", path.toString(), "0")) {
            RobustMutex mutex = file.mutex(0);
            holder.awaitLine(l -> l.startsWith("HELD"), START);
            try (ChildProcess waiter = ChildProcess.start(MutexWorker.class, "wait", path.toString(), "0")) {
                waiter.awaitLine("WAITING", START);
                CompletableFuture<Boolean> local = Threads.start("local-waiter", () -> {
                    try (Acquisition a = mutex.tryAcquire(Duration.ofMinutes(2)).orElseThrow()) {
                        a.markConsistent();
                        return a.ownerDied();
                    }
                });
                await().atMost(START).until(() -> mutex.snapshot().waiters());
                // Both waiters are asleep in the kernel once the word has WAITERS and the child has printed.
                holder.kill();
                await().atMost(PROMPTLY).until(() -> local.isDone()
                        || waiter.lines().stream().anyMatch(l -> l.startsWith("ACQUIRED")));
                if (local.isDone()) {
                    assertTrue(Threads.<Boolean>get(local), "the first waiter learns of the death");
                    String line = waiter.awaitLine(l -> l.startsWith("ACQUIRED"), PROMPTLY);
                    assertEquals(0, field(line, "ownerDied"), "the second waiter finds a consistent mutex");
                } else {
                    String line = waiter.awaitLine(l -> l.startsWith("ACQUIRED"), PROMPTLY);
                    assertEquals(1, field(line, "ownerDied"), "the first waiter learns of the death");
                    waiter.kill();
                    assertTrue(Threads.<Boolean>get(local), "the second waiter learns of the second death");
                }
            }
        }
    }

    /** A process killed while waiting for the mutex leaves it working for everyone else. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void killedWaiterDoesNotBreakTheMutex(MutexKind kind) throws Exception {
        Path path = dir.resolve("killed-waiter.mutex");
        try (MutexFile file = MutexFile.open(path, 1, kind)) {
            RobustMutex mutex = file.mutex(0);
            Acquisition mine = mutex.acquire();
            try (ChildProcess waiter = ChildProcess.start(MutexWorker.class, "wait", path.toString(), "0")) {
                waiter.awaitLine("WAITING", START);
                await().atMost(START).until(() -> mutex.snapshot().waiters());
                waiter.kill();
            }
            assertEquals(mine.fencingToken(), mutex.fencingToken());
            mine.close();
            assertFalse(mutex.snapshot().ownerDied());
            try (ChildProcess next = ChildProcess.start(MutexWorker.class, "hold", path.toString(), "0")) {
                String line = next.awaitLine(l -> l.startsWith("HELD"), START);
                assertEquals(0, field(line, "ownerDied"));
                assertEquals(mine.fencingToken() + 1, field(line, "token"));
            }
        }
    }

    /**
     * Three processes hammer the mutex while this one kills one of them with SIGKILL, again and again, half the
     * time the current owner. After every kill the survivors make progress; no acquirer ever finds another
     * process inside the critical section unless that process was killed and the death is reported; and the
     * mutex counts at least the deaths its acquirers were told of, and no more than there were kills.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void killStorm(MutexKind kind) throws Exception {
        Path region = dir.resolve("storm");
        int rounds = 12;
        List<ChildProcess> workers = new ArrayList<>();
        Random random = new Random(kind.ordinal());
        try (SharedMemory memory = SharedMemory.map(region, 4096)) {
            RobustMutex mutex = memory.mutex(0, kind);
            ByteBuffer data = memory.buffer();
            for (int i = 0; i < 3; i++) {
                workers.add(startChurn(region, kind));
            }
            for (int round = 0; round < rounds; round++) {
                int victim = random.nextInt(workers.size());
                if (round % 2 == 0) {
                    long owner = mutex.snapshot().ownerPid();
                    for (int i = 0; i < workers.size(); i++) {
                        if (workers.get(i).pid() == owner) {
                            victim = i;
                        }
                    }
                }
                ChildProcess killed = workers.get(victim);
                MutexWorker.logKill(data, killed.pid());
                killed.kill();
                assertNoViolation(killed);
                long before = data.getLong(MutexWorker.COUNTER);
                await().atMost(PROMPTLY).until(() -> data.getLong(MutexWorker.COUNTER) > before + 1000);
                for (ChildProcess worker : workers) {
                    assertTrue(worker.process().isAlive() || worker == killed,
                            () -> "worker " + worker.pid() + " exited: " + worker.lines());
                }
                workers.set(victim, startChurn(region, kind));
            }
            for (ChildProcess worker : workers) {
                MutexWorker.logKill(data, worker.pid());
                worker.kill();
                assertNoViolation(worker);
            }
            long reported = data.getLong(MutexWorker.DEATHS);
            try (Acquisition last = mutex.tryAcquire(PROMPTLY).orElseThrow()) {
                if (last.ownerDied()) {
                    reported++;
                    last.markConsistent();
                }
                if (!last.ownerDied()) {
                    assertEquals(0, data.getLong(MutexWorker.INSIDE), "a marker left behind by an unreported death");
                }
            }
            long counted = mutex.snapshot().ownerDiedCount();
            assertTrue(reported >= 1, "half the kills aim at the owner; at least one must land inside");
            assertTrue(counted >= reported && counted <= rounds + 3,
                    () -> "ownerDiedCount " + counted + ", reported " + data.getLong(MutexWorker.DEATHS));
        } finally {
            workers.forEach(ChildProcess::close);
        }
    }

    /**
     * The kernel's exit walk released the word (no TID left, OWNER_DIED set) by the time the killed process is
     * gone: not the library's vanished-owner take-over, which would report the death as well.
     */
    private static void assertReleasedByTheKernel(RobustMutex mutex) {
        MutexSnapshot snapshot = mutex.snapshot();
        assertEquals(0, snapshot.ownerTid(), () -> "the kernel did not release the word: " + snapshot);
        assertTrue(snapshot.ownerDied(), () -> "the kernel did not flag the death: " + snapshot);
    }

    private static void assertNoViolation(ChildProcess worker) {
        assertTrue(worker.lines().stream().noneMatch(l -> l.startsWith("VIOLATION")),
                () -> String.join("\n", worker.lines()));
    }

    private static ChildProcess startChurn(Path region, MutexKind kind) {
        ChildProcess worker = ChildProcess.start(MutexWorker.class, "churn", region.toString(), kind.name());
        worker.awaitLine("READY", START);
        return worker;
    }

    /** Processes creating the same file at once all end up with one valid file. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void concurrentCreationGivesOneValidFile(MutexKind kind) throws Exception {
        Path path = dir.resolve("created-at-once.mutex");
        List<ChildProcess> children = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                children.add(ChildProcess.start(MutexWorker.class, "open", path.toString(), "8", kind.name()));
            }
            for (ChildProcess child : children) {
                assertEquals(0, child.waitFor(START), () -> String.join("\n", child.errorLines()));
                assertEquals(List.of("OPENED count=8"), child.lines());
            }
        } finally {
            children.forEach(ChildProcess::close);
        }
        try (MutexFile file = MutexFile.openExisting(path)) {
            assertEquals(8, file.mutexCount());
            assertEquals(kind, file.kind());
            for (int i = 0; i < 8; i++) {
                assertEquals(kind, file.mutex(i).kind());
                assertFalse(file.mutex(i).snapshot().locked());
            }
        }
    }
}
