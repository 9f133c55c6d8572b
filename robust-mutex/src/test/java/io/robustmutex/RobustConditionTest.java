package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Date;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
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

    /**
     * Producer and consumer threads share a bounded queue guarded by the mutex and two conditions: every item is
     * taken once and in order, nobody is ever inside with another, and nobody is left waiting.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void boundedQueueBetweenThreads(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("queue-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition notEmpty = region.condition(64, mutex);
            RobustCondition notFull = region.condition(128, mutex);
            int capacity = 4;
            int perProducer = 3_000;
            long[] ring = new long[capacity];
            long[] state = new long[3]; // head, count, next item
            java.util.concurrent.atomic.AtomicInteger inside = new java.util.concurrent.atomic.AtomicInteger();
            java.util.concurrent.atomic.AtomicBoolean overlap = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.List<CompletableFuture<Long>> done = new java.util.ArrayList<>();
            for (int p = 0; p < 2; p++) {
                done.add(Threads.start("producer-" + p, () -> {
                    for (int i = 0; i < perProducer; i++) {
                        mutex.lock();
                        try {
                            if (inside.incrementAndGet() != 1) {
                                overlap.set(true);
                            }
                            while (state[1] == capacity) {
                                inside.decrementAndGet();
                                notFull.await();
                                if (inside.incrementAndGet() != 1) {
                                    overlap.set(true);
                                }
                            }
                            ring[(int) ((state[0] + state[1]) % capacity)] = ++state[2];
                            state[1]++;
                            notEmpty.signal();
                            inside.decrementAndGet();
                        } finally {
                            mutex.unlock();
                        }
                    }
                    return 0L;
                }));
            }
            for (int c = 0; c < 2; c++) {
                done.add(Threads.start("consumer-" + c, () -> {
                    long sum = 0;
                    for (int i = 0; i < perProducer; i++) {
                        mutex.lock();
                        try {
                            if (inside.incrementAndGet() != 1) {
                                overlap.set(true);
                            }
                            while (state[1] == 0) {
                                inside.decrementAndGet();
                                notEmpty.await();
                                if (inside.incrementAndGet() != 1) {
                                    overlap.set(true);
                                }
                            }
                            sum += ring[(int) state[0]];
                            state[0] = (state[0] + 1) % capacity;
                            state[1]--;
                            notFull.signal();
                            inside.decrementAndGet();
                        } finally {
                            mutex.unlock();
                        }
                    }
                    return sum;
                }));
            }
            long sum = 0;
            for (CompletableFuture<Long> future : done) {
                sum += Threads.get(future);
            }
            assertFalse(overlap.get(), "two threads were inside at once");
            long n = 2L * perProducer;
            assertEquals(n * (n + 1) / 2, sum);
            assertFalse(mutex.snapshot().locked());
        }
    }

    /** Every method needs the mutex held, and refuses without changing the condition. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void everyMethodRefusesACallerThatDoesNotHoldTheMutex(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("refused-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(64, mutex);
            ByteBuffer data = region.buffer();
            assertThrows(IllegalMonitorStateException.class, condition::await);
            assertThrows(IllegalMonitorStateException.class, condition::awaitUninterruptibly);
            assertThrows(IllegalMonitorStateException.class, () -> condition.awaitNanos(1));
            assertThrows(IllegalMonitorStateException.class, () -> condition.await(1, TimeUnit.SECONDS));
            assertThrows(IllegalMonitorStateException.class, () -> condition.awaitUntil(new Date()));
            assertThrows(IllegalMonitorStateException.class, condition::signal);
            assertThrows(IllegalMonitorStateException.class, condition::signalAll);
            assertEquals(0, data.getLong(64), "sequence and waiters untouched");
            // Held by another thread is not held.
            mutex.lock();
            try {
                assertThrows(IllegalMonitorStateException.class, () -> Threads.runToEnd("other", () -> {
                    condition.signal();
                    return null;
                }));
            } finally {
                mutex.unlock();
            }
        }
    }

    /** Timed waits that nobody signals end at their deadline, holding the mutex, with the contract's results. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void timedWaitsEndAtTheirDeadlineHoldingTheMutex(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("timed-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(64, mutex);
            mutex.lock();
            try {
                long start = System.nanoTime();
                long left = condition.awaitNanos(TimeUnit.MILLISECONDS.toNanos(150));
                assertTrue(left <= 0, "awaitNanos returns 0 or less when the time elapsed: " + left);
                assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(150));
                assertTrue(mutex.isHeldByCurrentThread());
                assertFalse(condition.await(30, TimeUnit.MILLISECONDS));
                assertFalse(condition.awaitUntil(new Date(System.currentTimeMillis() + 30)));
                assertFalse(condition.awaitUntil(new Date(0)), "a deadline in the past does not wait");
                assertTrue(condition.awaitNanos(0) <= 0);
                assertFalse(condition.await(-1, TimeUnit.SECONDS));
                assertEquals(1, mutex.getHoldCount());
            } finally {
                mutex.unlock();
            }
            assertEquals(0, region.buffer().getInt(64 + 4), "no waiter left counted");
        }
    }

    /**
     * Interruption ends await() with InterruptedException and the mutex held again; it is refused on entry too;
     * awaitUninterruptibly keeps waiting and returns with the interrupt status set.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void interruption(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("interrupt-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(64, mutex);
            ByteBuffer data = region.buffer();
            Thread[] waiterThread = new Thread[1];
            CompletableFuture<Boolean> waiter = Threads.start("interrupted", () -> {
                waiterThread[0] = Thread.currentThread();
                mutex.lock();
                try {
                    assertThrows(InterruptedException.class, condition::await);
                    return mutex.isHeldByCurrentThread() && !Thread.currentThread().isInterrupted();
                } finally {
                    mutex.unlock();
                }
            });
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> data.getInt(68) == 1);
            waiterThread[0].interrupt();
            assertTrue(Threads.get(waiter), "held again after the interrupt, with the status cleared");

            mutex.lock();
            try {
                Thread.currentThread().interrupt();
                assertThrows(InterruptedException.class, () -> condition.await(1, TimeUnit.MINUTES));
                assertTrue(mutex.isHeldByCurrentThread());
            } finally {
                mutex.unlock();
            }

            CompletableFuture<Boolean> stubborn = Threads.start("uninterruptible", () -> {
                waiterThread[0] = Thread.currentThread();
                mutex.lock();
                try {
                    while (data.getInt(1024) == 0) {
                        condition.awaitUninterruptibly();
                    }
                    return Thread.currentThread().isInterrupted();
                } finally {
                    mutex.unlock();
                }
            });
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> data.getInt(68) == 1);
            waiterThread[0].interrupt();
            // An interrupt does not end awaitUninterruptibly: still waiting a while later.
            org.awaitility.Awaitility.await().during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(10))
                    .until(() -> !stubborn.isDone());
            mutex.lock();
            try {
                data.putInt(1024, 1);
                condition.signal();
            } finally {
                mutex.unlock();
            }
            assertTrue(Threads.get(stubborn), "returns with the interrupt status set");
        }
    }

    /** signalAll wakes every waiter; signal wakes one at a time. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void signalAllWakesEveryWaiter(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("all-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(64, mutex);
            ByteBuffer data = region.buffer();
            java.util.List<CompletableFuture<Void>> waiters = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                waiters.add(Threads.start("waiter-" + i, () -> {
                    mutex.lock();
                    try {
                        while (data.getInt(1024) == 0) {
                            condition.await();
                        }
                    } finally {
                        mutex.unlock();
                    }
                    return null;
                }));
            }
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> data.getInt(68) == 4);
            mutex.lock();
            try {
                data.putInt(1024, 1);
                condition.signalAll();
            } finally {
                mutex.unlock();
            }
            for (CompletableFuture<Void> waiter : waiters) {
                Threads.get(waiter);
            }
            assertEquals(0, data.getInt(68));
            assertEquals(1, data.getInt(64), "one signal, one step of the sequence");
        }
    }

    /** newCondition() gives a condition for the threads of this JVM, with the same contract. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void newConditionWorksBetweenThreads(MutexKind kind) throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("local-" + kind + ".mutex"), 1, kind)) {
            RobustMutex mutex = file.mutex(0);
            Condition ready = mutex.newCondition();
            assertTrue(ready instanceof RobustCondition);
            assertThrows(IllegalMonitorStateException.class, ready::signal);
            boolean[] flag = new boolean[1];
            CompletableFuture<Integer> waiter = Threads.start("waiter", () -> {
                mutex.lock();
                mutex.lock();
                mutex.lock();
                try {
                    while (!flag[0]) {
                        ready.await();
                    }
                    return mutex.getHoldCount();
                } finally {
                    mutex.unlock();
                    mutex.unlock();
                    mutex.unlock();
                }
            });
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> mutex.tryLock() && unlockedAfter(mutex, () -> !waiter.isDone()));
            mutex.lock();
            try {
                flag[0] = true;
                ready.signal();
            } finally {
                mutex.unlock();
            }
            assertEquals(3, Threads.get(waiter), "every hold released by the wait and restored after it");
            Condition other = mutex.newCondition();
            mutex.lock();
            try {
                assertFalse(other.await(10, TimeUnit.MILLISECONDS), "each newCondition() is its own condition");
            } finally {
                mutex.unlock();
            }
        }
    }

    private static boolean unlockedAfter(RobustMutex mutex, java.util.function.BooleanSupplier check) {
        try {
            return check.getAsBoolean();
        } finally {
            mutex.unlock();
        }
    }

    /** A mutex's offset is not a condition's, nor the reverse; and a misplaced condition is refused by name. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void recordsAreNeverTakenForTheOtherKind(MutexKind kind) throws Exception {
        Path path = dir.resolve("kinds-" + kind);
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            region.condition(64, mutex);
            IllegalArgumentException onMutex = assertThrows(IllegalArgumentException.class,
                    () -> region.condition(0, mutex));
            assertTrue(onMutex.getMessage().contains("mutex"), onMutex.getMessage());
            assertThrows(IllegalArgumentException.class, () -> region.mutex(64, kind));
            assertThrows(IllegalArgumentException.class, () -> region.condition(96, mutex));
            assertThrows(IllegalArgumentException.class, () -> region.condition(4096 - 32, mutex));
            region.buffer().putLong(256, 42);
            IllegalArgumentException onData = assertThrows(IllegalArgumentException.class,
                    () -> region.condition(256, mutex));
            assertTrue(onData.getMessage().contains(path.toString()), onData.getMessage());
            assertEquals(42, region.buffer().getLong(256), "the caller's data is left as it was");
        }
    }

    /** A thread that takes the mutex and ends without releasing it: the kernel releases it with OWNER_DIED. */
    private static void dieHolding(RobustMutex mutex) throws Exception {
        Threads.runToEnd("dies-holding", () -> mutex.acquire().fencingToken());
    }

    /**
     * An interrupted wait whose re-acquisition finds an owner death, repaired by the handler: the handler runs
     * with the interrupt status clear, and the InterruptedException leaves it clear, with the mutex held.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void anInterruptAndAnOwnerDeathTogether(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("interrupt-death-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            boolean[] interruptedInHandler = new boolean[1];
            mutex.setRecoveryHandler(m -> interruptedInHandler[0] = Thread.currentThread().isInterrupted());
            RobustCondition condition = region.condition(64, mutex);
            Thread[] waiterThread = new Thread[1];
            CompletableFuture<String> waiter = Threads.start("waiter", () -> {
                waiterThread[0] = Thread.currentThread();
                mutex.lock();
                try {
                    condition.await();
                    return "returned";
                } catch (InterruptedException e) {
                    return "interrupted, status " + Thread.currentThread().isInterrupted() + ", held "
                            + mutex.isHeldByCurrentThread();
                } finally {
                    mutex.unlock();
                }
            });
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> region.buffer().getInt(68) == 1);
            Threads.runToEnd("dies-holding", () -> {
                mutex.acquire();
                waiterThread[0].interrupt();
                // The waiter notices the interrupt within a slice and blocks on the mutex this thread dies holding.
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                        .until(() -> region.buffer().getInt(68) == 0);
                return null;
            });
            assertEquals("interrupted, status false, held true", Threads.get(waiter));
            assertFalse(interruptedInHandler[0], "the handler ran with the interrupt status clear");
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());
        }
    }

    /**
     * A wait on a mutex acquired after an owner death and not yet repaired releases it still INCONSISTENT and
     * re-acquires it held, told of the death again; it does not make it not recoverable.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aWaitOnAnInconsistentMutexKeepsItRecoverable(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("inconsistent-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            RobustCondition condition = region.condition(64, mutex);
            dieHolding(mutex);
            String outcome = Threads.runToEnd("waiter", () -> {
                try (Acquisition held = mutex.acquire()) {
                    assertTrue(held.ownerDied());
                    OwnerDiedException again = assertThrows(OwnerDiedException.class,
                            () -> condition.await(20, TimeUnit.MILLISECONDS));
                    assertTrue(again.getMessage().contains("condition"), again.getMessage());
                    String state = "held " + mutex.isHeldByCurrentThread() + ", " + mutex.snapshot().state();
                    held.markConsistent();
                    return state;
                }
            });
            assertEquals("held true, INCONSISTENT", outcome);
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());
        }
    }

    /**
     * Two mutexes whose waits each threw OwnerDiedException, held by one thread: released by it, both stay
     * INCONSISTENT for their next acquirers; neither becomes not recoverable.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void twoUnrepairedWaitsLeaveBothMutexesInconsistent(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("two-" + kind), 4096)) {
            RobustMutex a = region.mutex(0, kind);
            RobustMutex b = region.mutex(128, kind);
            RobustCondition onA = region.condition(64, a);
            RobustCondition onB = region.condition(192, b);
            CompletableFuture<Void> waiter = Threads.start("waiter", () -> {
                a.lock();
                assertThrows(OwnerDiedException.class, () -> onA.await(1, TimeUnit.MINUTES));
                b.lock();
                assertThrows(OwnerDiedException.class, () -> onB.await(1, TimeUnit.MINUTES));
                b.unlock();
                a.unlock();
                return null;
            });
            ByteBuffer data = region.buffer();
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> data.getInt(68) == 1);
            signalAndDieHolding(a, onA);
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> data.getInt(196) == 1);
            signalAndDieHolding(b, onB);
            Threads.get(waiter);
            assertEquals(MutexState.INCONSISTENT, a.snapshot().state());
            assertEquals(MutexState.INCONSISTENT, b.snapshot().state());
        }
    }

    /** A thread that takes the mutex, signals, and ends without releasing it. */
    private static void signalAndDieHolding(RobustMutex mutex, RobustCondition condition) throws Exception {
        Threads.runToEnd("signals-and-dies", () -> {
            mutex.acquire();
            condition.signal();
            return null;
        });
    }

    /** Closing the condition's file in this JVM ends a wait that has no deadline, within the re-check interval. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void closingTheFileEndsAWait(MutexKind kind) throws Exception {
        SharedMemory region = SharedMemory.map(dir.resolve("close-" + kind), 4096);
        RobustMutex mutex;
        RobustCondition condition;
        try (MutexFile file = MutexFile.open(dir.resolve("close-" + kind + ".mutex"), 1, kind)) {
            mutex = file.mutex(0);
            condition = region.condition(64, mutex);
            CompletableFuture<String> waiter = Threads.start("waiter", () -> {
                mutex.lock();
                try {
                    condition.await();
                    return "returned, held " + mutex.isHeldByCurrentThread();
                } finally {
                    mutex.unlock();
                }
            });
            org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                    .until(() -> region.buffer().getInt(68) == 1);
            region.close();
            assertEquals("returned, held true", Threads.get(waiter));
            mutex.lock();
            try {
                assertThrows(IllegalStateException.class, condition::await, "its file is closed");
            } finally {
                mutex.unlock();
            }
        }
    }
}
