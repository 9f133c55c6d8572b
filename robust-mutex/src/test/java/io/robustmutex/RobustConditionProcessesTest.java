package io.robustmutex;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.testing.ChildProcess;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Conditions between processes, with child JVMs killed by SIGKILL at the steps where a death could strand a
 * waiter: a woken waiter killed before it re-acquires, a signaller killed between moving the sequence and
 * waking, a waiter killed asleep, and a mutex holder killed while others wait on a condition.
 */
class RobustConditionProcessesTest {

    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration PROMPTLY = Duration.ofSeconds(10);
    /** The stated bound on a lost wake-up: the default re-check interval. */
    private static final long RECHECK_MILLIS = 100;
    /**
     * What a loaded 2-core machine may add to it: scheduling, a JIT, a GC (scaled like every timeout of the
     * tests, for an emulated guest).
     */
    private static final long SLACK_MILLIS = ChildProcess.scaled(Duration.ofMillis(1_500)).toMillis();
    private static final int SEQUENCE = MutexWorker.CONDITION;
    private static final int WAITERS = MutexWorker.CONDITION + 4;
    private static final VarHandle INTS = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    @TempDir
    Path dir;

    private static int intAt(ByteBuffer data, int offset) {
        return (int) INTS.getVolatile(data, offset);
    }

    /**
     * A signal's one wake-up lands on a waiter that is killed before it re-acquires the mutex: the other waiter,
     * whose sequence moved too, returns within the re-check interval instead of sleeping for ever.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aWokenWaiterKilledBeforeItRelocksCostsTheOthersAtMostOneRecheck(MutexKind kind) throws Exception {
        Path path = dir.resolve("woken-" + kind);
        try (SharedMemory region = SharedMemory.map(path, 4096);
                ChildProcess child = ChildProcess.start(MutexWorker.class, "cond-wait", path.toString(), kind.name())) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(SEQUENCE, mutex);
            ByteBuffer data = region.buffer();
            child.awaitLine("WAITING", START);
            // The child asleep on the sequence before the local waiter: the kernel's queue is expected to wake it
            // first; the assertion after the signal fails loudly if it did not.
            await().atMost(START).until(() -> inFutexCall(child.pid(), SEQUENCE));
            AtomicInteger returned = new AtomicInteger();
            CompletableFuture<Long> local = Threads.start("local-waiter", () -> {
                mutex.lock();
                try {
                    long before = System.nanoTime();
                    condition.awaitUninterruptibly();
                    returned.incrementAndGet();
                    return System.nanoTime() - before;
                } finally {
                    mutex.unlock();
                }
            });
            await().atMost(START).until(() -> intAt(data, WAITERS) == 2);
            long signalled;
            mutex.lock();
            try {
                assertFalse(inFutexCall(child.pid(), 0));
                condition.signal();
                signalled = System.nanoTime();
                // The woken child now blocks on the mutex we hold; kill it there, before it re-acquires.
                await().atMost(PROMPTLY).until(() -> inFutexCall(child.pid(), 0));
                assertEquals(0, returned.get(), "the local waiter was not the one woken");
                child.kill();
            } finally {
                mutex.unlock();
            }
            Threads.get(local);
            long late = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
            assertTrue(late < RECHECK_MILLIS + SLACK_MILLIS, "the surviving waiter returned " + late + " ms after"
                    + " the signal; the bound is the re-check interval, " + RECHECK_MILLIS + " ms");
            assertTrue(mutex.tryLock(), "the mutex is free after the woken waiter's death");
            mutex.unlock();
        }
    }

    /**
     * Whether a thread of the process is in a futex call that waits for or locks a shared word at this page
     * offset: 0 for the mutex word of these regions, {@link #SEQUENCE} for the condition's sequence
     * ({@code /proc/PID/task/TID/syscall}: the call's number, then its arguments: the address, then the
     * operation). The JVM's own futexes are private ones, whose operations carry {@code FUTEX_PRIVATE_FLAG}.
     */
    private static boolean inFutexCall(long pid, int pageOffset) throws java.io.IOException {
        long futex = System.getProperty("os.arch").equals("aarch64") ? 98 : 202;
        try (var tasks = java.nio.file.Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                String[] call;
                try {
                    call = java.nio.file.Files.readString(task.resolve("syscall")).trim().split(" ");
                } catch (java.io.IOException gone) {
                    continue;
                }
                if (call.length < 3 || !call[0].equals(Long.toString(futex))) {
                    continue;
                }
                long address = Long.decode(call[1]);
                long operation = Long.decode(call[2]);
                // FUTEX_WAIT (0), FUTEX_LOCK_PI (6), FUTEX_LOCK_PI2 (13), shared.
                if ((address & 0xfff) == pageOffset && (operation == 0 || operation == 6 || operation == 13)) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * A signaller killed between moving the sequence and waking anyone leaves the waiters asleep with the
     * sequence moved (staged here by moving it as that signaller did): they return within the re-check interval.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aSignallerKilledBeforeItsWakeCostsAtMostOneRecheck(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("signaller-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(SEQUENCE, mutex);
            ByteBuffer data = region.buffer();
            CompletableFuture<Void> waiter = Threads.start("waiter", () -> {
                mutex.lock();
                try {
                    condition.awaitUninterruptibly();
                } finally {
                    mutex.unlock();
                }
                return null;
            });
            await().atMost(START).until(() -> intAt(data, WAITERS) == 1);
            // Nothing has moved the sequence yet: the waiter stays asleep (held for half a re-check interval).
            await().during(Duration.ofMillis(RECHECK_MILLIS / 2)).atMost(START).until(() -> !waiter.isDone());
            long moved = System.nanoTime();
            mutex.lock();
            try {
                // The signaller's first step, and no wake-up: what it leaves when killed right after it.
                INTS.getAndAdd(data, SEQUENCE, 1);
            } finally {
                mutex.unlock();
            }
            Threads.get(waiter);
            long late = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - moved);
            assertTrue(late < RECHECK_MILLIS + SLACK_MILLIS, "the waiter returned " + late + " ms after the"
                    + " sequence moved; the bound is the re-check interval, " + RECHECK_MILLIS + " ms");
        }
    }

    /** A waiter killed asleep leaves the waiters hint one too high and the condition working. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aWaiterKilledAsleepLeavesTheConditionWorking(MutexKind kind) throws Exception {
        Path path = dir.resolve("asleep-" + kind);
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(SEQUENCE, mutex);
            ByteBuffer data = region.buffer();
            try (ChildProcess child = ChildProcess.start(MutexWorker.class, "cond-wait", path.toString(),
                    kind.name())) {
                child.awaitLine("WAITING", START);
                await().atMost(START).until(() -> intAt(data, WAITERS) == 1 && !mutex.snapshot().locked());
                child.kill();
            }
            assertEquals(1, intAt(data, WAITERS), "a dead waiter is still counted: the hint errs high only");
            int before = intAt(data, SEQUENCE);
            CompletableFuture<Boolean> waiter = Threads.start("waiter", () -> {
                mutex.lock();
                try {
                    return condition.await(1, TimeUnit.MINUTES);
                } finally {
                    mutex.unlock();
                }
            });
            await().atMost(START).until(() -> intAt(data, WAITERS) == 2);
            mutex.lock();
            try {
                condition.signal();
            } finally {
                mutex.unlock();
            }
            assertTrue(Threads.get(waiter), "signalled, not timed out");
            assertEquals(before + 1, intAt(data, SEQUENCE));
            assertEquals(1, intAt(data, WAITERS));
            assertFalse(mutex.snapshot().locked());
        }
    }

    /**
     * The mutex's holder is killed while a thread waits on a condition: the wait re-acquires the mutex and, with
     * no recovery handler, throws OwnerDiedException holding it; releasing it leaves it INCONSISTENT for the next
     * acquirer, who is told in turn.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void anOwnerDeathDuringAWaitIsReportedWithTheMutexHeld(MutexKind kind) throws Exception {
        Path path = dir.resolve("owner-died-" + kind);
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(SEQUENCE, mutex);
            ByteBuffer data = region.buffer();
            ChildProcess[] holder = new ChildProcess[1];
            CompletableFuture<OwnerDiedException> waiter = Threads.start("waiter", () -> {
                mutex.lock();
                try {
                    OwnerDiedException thrown = assertThrows(OwnerDiedException.class, () -> {
                        while (holder[0] == null || holder[0].lines().stream().noneMatch("MID"::equals)
                                || holder[0].process().isAlive()) {
                            condition.awaitNanos(TimeUnit.MILLISECONDS.toNanos(200));
                        }
                    });
                    assertTrue(mutex.isHeldByCurrentThread(), "held again, as a condition's wait must return");
                    assertEquals(1, mutex.getHoldCount());
                    return thrown;
                } finally {
                    mutex.unlock();
                }
            });
            await().atMost(START).until(() -> intAt(data, WAITERS) == 1);
            try (ChildProcess child = ChildProcess.start(MutexWorker.class, "half-update", path.toString(),
                    kind.name())) {
                holder[0] = child;
                child.awaitLine("MID", START);
                child.kill();
                OwnerDiedException thrown = Threads.get(waiter);
                assertTrue(thrown.getMessage().contains("condition"), thrown.getMessage());
            }
            assertEquals(MutexState.INCONSISTENT, mutex.snapshot().state(), "released unrepaired, not made"
                    + " not recoverable");
            try (Acquisition next = mutex.acquire()) {
                assertTrue(next.ownerDied(), "the next acquirer is told too");
                next.markConsistent();
            }
        }
    }

    /** With a recovery handler, an owner death found by a wait is repaired inside it and the wait returns. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void anOwnerDeathDuringAWaitRunsTheRecoveryHandler(MutexKind kind) throws Exception {
        Path path = dir.resolve("handler-" + kind);
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(SEQUENCE, mutex);
            ByteBuffer data = region.buffer();
            data.putLong(64, 100);
            AtomicInteger repairs = new AtomicInteger();
            mutex.setRecoveryHandler(m -> {
                assertTrue(m.isHeldByCurrentThread());
                data.putLong(64, 100);
                repairs.incrementAndGet();
            });
            ChildProcess[] holder = new ChildProcess[1];
            CompletableFuture<Long> waiter = Threads.start("waiter", () -> {
                mutex.lock();
                try {
                    while (repairs.get() == 0) {
                        condition.await(200, TimeUnit.MILLISECONDS);
                    }
                    assertTrue(mutex.isConsistent());
                    return data.getLong(64);
                } finally {
                    mutex.unlock();
                }
            });
            await().atMost(START).until(() -> intAt(data, WAITERS) == 1);
            try (ChildProcess child = ChildProcess.start(MutexWorker.class, "half-update", path.toString(),
                    kind.name())) {
                holder[0] = child;
                child.awaitLine("MID", START);
                child.kill();
                assertEquals(100L, Threads.get(waiter), "repaired by the handler before the wait returned");
            }
            assertEquals(1, repairs.get());
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());
        }
    }
}
