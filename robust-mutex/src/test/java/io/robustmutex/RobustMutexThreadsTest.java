package io.robustmutex;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** RobustMutex between threads of one JVM, on the real kernel, for both kinds. */
class RobustMutexThreadsTest {

    @TempDir
    Path dir;

    private MutexFile file(MutexKind kind) throws Exception {
        return MutexFile.open(dir.resolve("threads-" + kind + ".mutex"), 4, kind);
    }

    /** Eight threads incrementing a shared counter under the mutex lose no increment. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void mutualExclusionBetweenThreads(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("counter-" + kind), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            ByteBuffer data = region.buffer();
            int threads = 8;
            int iterations = 5_000;
            AtomicBoolean overlap = new AtomicBoolean();
            AtomicInteger inside = new AtomicInteger();
            List<CompletableFuture<Void>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int style = t % 4;
                done.add(Threads.start("incrementer-" + t, () -> {
                    for (int i = 0; i < iterations; i++) {
                        switch (style) {
                            case 0 -> mutex.lock();
                            case 1 -> {
                                while (!mutex.tryLock()) {
                                    Thread.onSpinWait();
                                }
                            }
                            case 2 -> assertTrue(mutex.tryLock(1, TimeUnit.MINUTES));
                            default -> mutex.lockInterruptibly();
                        }
                        try {
                            if (inside.incrementAndGet() != 1) {
                                overlap.set(true);
                            }
                            data.putLong(64, data.getLong(64) + 1);
                            inside.decrementAndGet();
                        } finally {
                            mutex.unlock();
                        }
                    }
                    return null;
                }));
            }
            for (CompletableFuture<Void> future : done) {
                Threads.get(future);
            }
            assertFalse(overlap.get(), "two threads were inside at once");
            assertEquals((long) threads * iterations, data.getLong(64));
            assertFalse(mutex.snapshot().locked());
        }
    }

    /** A thread that ends while holding the mutex is reported dead to the next acquirer, once. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void threadEndingWhileHoldingIsReportedAsOwnerDeath(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(0);
            long token = Threads.runToEnd("dies-holding", () -> mutex.acquire().fencingToken());
            // The kernel releases the word when the OS thread exits, just after its Java code ends.
            await().atMost(Duration.ofSeconds(30)).until(() -> mutex.snapshot().ownerDied());
            MutexSnapshot afterDeath = mutex.snapshot();
            assertTrue(afterDeath.ownerDied(), afterDeath.toString());
            assertEquals(0, afterDeath.ownerTid());
            try (Acquisition held = mutex.acquire()) {
                assertTrue(held.ownerDied());
                assertEquals(token + 1, held.fencingToken());
                assertEquals(MutexState.INCONSISTENT, mutex.snapshot().state());
                assertFalse(mutex.isConsistent());
                held.markConsistent();
                assertTrue(mutex.isConsistent());
            }
            try (Acquisition again = mutex.acquire()) {
                assertFalse(again.ownerDied(), "one death is reported once");
            }
            assertEquals(1, mutex.snapshot().ownerDiedCount());
        }
    }

    /**
     * A thread holding several mutexes releases them in an order other than the reverse of acquisition and
     * takes more, then ends. The kernel's own exit walk of the thread's robust list must find exactly the
     * mutexes still held, so the list stayed intact through every unlink; the released ones stay free.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void severalHeldMutexesReleasedOutOfOrderKeepTheKernelListIntact(MutexKind kind) throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("several-" + kind + ".mutex"), 6, kind)) {
            List<RobustMutex> m = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                m.add(file.mutex(i));
            }
            Threads.runToEnd("holds-several", () -> {
                m.get(0).lock();                                           // the first hold, alone
                m.get(1).lock();
                assertTrue(m.get(2).tryLock());
                assertTrue(m.get(3).tryAcquire(Duration.ofSeconds(10)).isPresent());
                m.get(0).unlock();                                         // the oldest, with three after it
                m.get(2).unlock();                                         // one in the middle
                m.get(4).lockInterruptibly();
                m.get(0).lock();                                           // again, now the newest
                m.get(0).lock();                                           // re-entered: one entry, two holds
                m.get(3).unlock();
                m.get(5).lock();
                m.get(5).unlock();                                         // the newest, at the list's front
                for (int i = 0; i < 6; i++) {
                    assertEquals(i == 0 || i == 1 || i == 4, m.get(i).isHeldByCurrentThread(), "mutex " + i);
                }
                return null;                                               // ends holding 1, 4 and 0
            });
            await().atMost(Duration.ofSeconds(30)).until(() -> m.get(0).snapshot().ownerDied()
                    && m.get(1).snapshot().ownerDied() && m.get(4).snapshot().ownerDied());
            for (int i = 0; i < 6; i++) {
                MutexSnapshot snapshot = m.get(i).snapshot();
                boolean held = i == 0 || i == 1 || i == 4;
                assertEquals(held, snapshot.ownerDied(), "mutex " + i + ": " + snapshot);
                assertEquals(0, snapshot.ownerTid(), "mutex " + i + ": " + snapshot);
                try (Acquisition acquisition = m.get(i).acquire()) {
                    assertEquals(held, acquisition.ownerDied(), "mutex " + i);
                    acquisition.markConsistent();
                }
            }
        }
    }

    /** A thread waiting in the kernel is woken when the holder thread ends, and learns of the death. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void waiterIsWokenByHolderThreadDeath(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(1);
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch die = new CountDownLatch(1);
            CompletableFuture<Void> holder = Threads.start("holder", () -> {
                mutex.acquire();
                held.countDown();
                die.await();
                return null;
            });
            assertTrue(held.await(60, TimeUnit.SECONDS));
            CompletableFuture<Boolean> waiter = Threads.start("waiter", () -> {
                try (Acquisition acquisition = mutex.acquire()) {
                    acquisition.markConsistent();
                    return acquisition.ownerDied();
                }
            });
            await().atMost(Duration.ofSeconds(30)).until(() -> mutex.snapshot().waiters());
            die.countDown();
            Threads.get(holder);
            assertTrue(Threads.<Boolean>get(waiter), "the waiter saw the owner's death");
        }
    }

    /** The owning thread may acquire again; the mutex is free only when every hold is released. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void reentrancy(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(0);
            mutex.lock();
            try (Acquisition inner = mutex.acquire()) {
                assertEquals(2, mutex.getHoldCount());
                assertFalse(inner.ownerDied());
                assertTrue(mutex.tryLock());
                assertEquals(3, mutex.getHoldCount());
                mutex.unlock();
            }
            assertEquals(1, mutex.getHoldCount());
            assertFalse(Threads.<Boolean>runToEnd("other", mutex::tryLock), "still held after an inner release");
            mutex.unlock();
            assertEquals(0, mutex.getHoldCount());
            assertFalse(mutex.isHeldByCurrentThread());
            assertTrue(Threads.<Boolean>runToEnd("other", () -> {
                boolean got = mutex.tryLock();
                mutex.unlock();
                return got;
            }));
        }
    }

    /** Releasing a mutex the thread does not hold is IllegalMonitorStateException, from any entry point. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void unlockByNonOwnerIsRefused(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(0);
            assertThrows(IllegalMonitorStateException.class, mutex::unlock);
            Acquisition held = mutex.acquire();
            IllegalMonitorStateException e = Threads.runToEnd("intruder", () ->
                    assertThrows(IllegalMonitorStateException.class, mutex::unlock));
            assertTrue(e.getMessage().contains("not held by the current thread"), e.getMessage());
            Threads.runToEnd("intruder", () -> assertThrows(IllegalMonitorStateException.class, held::close));
            Threads.runToEnd("intruder", () -> assertThrows(IllegalMonitorStateException.class,
                    mutex::markConsistent));
            assertTrue(mutex.isHeldByCurrentThread());
            held.close();
            held.close();
            assertFalse(mutex.snapshot().locked());
        }
    }

    /** Releasing after an owner death without repair makes the mutex not recoverable until reinitialized. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void notRecoverableUntilReinitialized(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(2);
            Threads.runToEnd("dies-holding", mutex::acquire);
            try (Acquisition held = mutex.acquire()) {
                assertTrue(held.ownerDied());
            }
            assertEquals(MutexState.NOT_RECOVERABLE, mutex.snapshot().state());
            assertThrows(MutexNotRecoverableException.class, mutex::acquire);
            assertThrows(MutexNotRecoverableException.class, mutex::lock);
            assertThrows(MutexNotRecoverableException.class, mutex::tryLock);
            assertFalse(mutex.snapshot().locked(), "a refused acquisition releases the mutex");

            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Void> other = Threads.start("holder", () -> {
                mutex.reinitialize();
                mutex.lock();
                held.countDown();
                release.await();
                mutex.unlock();
                return null;
            });
            assertTrue(held.await(60, TimeUnit.SECONDS));
            assertThrows(IllegalStateException.class, mutex::reinitialize, "held by another thread");
            release.countDown();
            Threads.get(other);
            try (Acquisition held2 = mutex.acquire()) {
                assertFalse(held2.ownerDied());
                assertThrows(IllegalStateException.class, mutex::reinitialize, "held by this thread");
            }
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());
        }
    }

    /** The recovery handler repairs for Lock-style callers; a failing one leaves the mutex not recoverable. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void recoveryHandlerServesLockCallers(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(3);
            AtomicInteger repairs = new AtomicInteger();
            mutex.setRecoveryHandler(m -> {
                assertTrue(m.isHeldByCurrentThread());
                repairs.incrementAndGet();
            });
            Threads.runToEnd("dies-holding", () -> {
                mutex.lock();
                return null;
            });
            mutex.lock();
            assertTrue(mutex.isConsistent());
            mutex.unlock();
            assertEquals(1, repairs.get());
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());

            mutex.setRecoveryHandler(m -> {
                throw new IllegalStateException("cannot repair");
            });
            Threads.runToEnd("dies-holding", () -> {
                mutex.lock();
                return null;
            });
            MutexNotRecoverableException e = assertThrows(MutexNotRecoverableException.class, mutex::lock);
            assertEquals("cannot repair", e.getCause().getMessage());
            assertFalse(mutex.isHeldByCurrentThread());
            assertEquals(MutexState.NOT_RECOVERABLE, mutex.snapshot().state());
        }
    }

    /** Fencing tokens strictly increase with every acquisition, whoever makes it. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void fencingTokensStrictlyIncrease(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(0);
            long last = 0;
            for (int i = 0; i < 20; i++) {
                long token = i % 2 == 0 ? Threads.runToEnd("t" + i, () -> {
                    try (Acquisition a = mutex.acquire()) {
                        return a.fencingToken();
                    }
                }) : mutex.acquire().fencingToken();
                if (i % 2 == 1) {
                    assertEquals(token, mutex.fencingToken());
                    mutex.unlock();
                }
                assertTrue(token > last, token + " > " + last);
                last = token;
            }
        }
    }

    /**
     * A re-entrant acquisition takes no new token: it has the outermost acquisition's, and the next acquisition
     * after the full release takes the next token.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aReentrantAcquisitionHasTheOutermostToken(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(1);
            long outer;
            try (Acquisition first = mutex.acquire()) {
                outer = first.fencingToken();
                try (Acquisition inner = mutex.acquire()) {
                    assertEquals(2, mutex.getHoldCount());
                    assertEquals(outer, inner.fencingToken());
                }
                assertEquals(outer, first.fencingToken());
            }
            try (Acquisition next = mutex.acquire()) {
                assertEquals(outer + 1, next.fencingToken());
            }
        }
    }

    /** A timed acquisition of a held mutex gives up at its deadline: not early, not much later, no hang. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void timeoutsAreHonoured(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(0);
            CountDownLatch held = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Void> holder = Threads.start("holder", () -> {
                try (Acquisition a = mutex.acquire()) {
                    assertFalse(a.ownerDied());
                    held.countDown();
                    release.await();
                }
                return null;
            });
            assertTrue(held.await(60, TimeUnit.SECONDS));
            for (Duration timeout : List.of(Duration.ofMillis(50), Duration.ofMillis(300))) {
                long start = System.nanoTime();
                Optional<Acquisition> result = mutex.tryAcquire(timeout);
                long elapsed = System.nanoTime() - start;
                assertTrue(result.isEmpty());
                assertTrue(elapsed >= timeout.toNanos(), "returned after " + elapsed + " ns, before " + timeout);
                assertTrue(elapsed < timeout.toNanos() + TimeUnit.SECONDS.toNanos(5), "returned after " + elapsed);
            }
            assertTrue(mutex.tryAcquire(Duration.ZERO).isEmpty());
            assertTrue(mutex.tryAcquire(Duration.ofMillis(-5)).isEmpty());
            assertFalse(mutex.tryLock(10, TimeUnit.MILLISECONDS));
            assertFalse(mutex.snapshot().ownerTid() == 0);
            release.countDown();
            Threads.get(holder);
            try (Acquisition a = mutex.tryAcquire(Duration.ofDays(365 * 1000)).orElseThrow()) {
                assertFalse(a.ownerDied());
            }
        }
    }

    /** An interrupted waiter in lockInterruptibly or a timed acquisition leaves within one slice. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void interruptIsNoticedWithinASlice(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            RobustMutex mutex = file.mutex(0);
            try (Acquisition held = mutex.acquire()) {
                assertFalse(held.ownerDied());
                for (int style = 0; style < 2; style++) {
                    int which = style;
                    AtomicBoolean started = new AtomicBoolean();
                    CompletableFuture<Boolean> waiter = Threads.start("interrupted-" + style, () -> {
                        started.set(true);
                        try {
                            if (which == 0) {
                                mutex.lockInterruptibly();
                            } else {
                                mutex.tryAcquire(Duration.ofMinutes(10));
                            }
                            return false;
                        } catch (InterruptedException e) {
                            return true;
                        }
                    });
                    await().atMost(Duration.ofSeconds(30)).until(started::get);
                    await().atMost(Duration.ofSeconds(30)).until(() -> mutex.snapshot().waiters());
                    Thread waiting = Thread.getAllStackTraces().keySet().stream()
                            .filter(t -> t.getName().equals("interrupted-" + which)).findFirst().orElseThrow();
                    long start = System.nanoTime();
                    waiting.interrupt();
                    assertTrue(Threads.<Boolean>get(waiter), "threw InterruptedException");
                    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(2));
                }
                assertTrue(mutex.isHeldByCurrentThread());
            }
            Thread.currentThread().interrupt();
            assertThrows(InterruptedException.class, mutex::lockInterruptibly);
            assertFalse(Thread.interrupted());
        }
    }

    /**
     * A thread's first lock joins the head glibc registered for it: the same head stays registered, and the
     * thread reports it joined. Nothing is registered by the lock.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void firstLockJoinsGlibcHead(MutexKind kind) throws Exception {
        try (MutexFile file = file(kind)) {
            Object[] seen = Threads.runToEnd("joins", () -> {
                RegisteredRobustList before = KernelSupport.currentThreadRobustList();
                String choiceBefore = KernelSupport.robustList();
                file.mutex(0).acquire().close();
                return new Object[] {before, KernelSupport.currentThreadRobustList(), choiceBefore,
                    KernelSupport.robustList()};
            });
            RegisteredRobustList before = (RegisteredRobustList) seen[0];
            RegisteredRobustList after = (RegisteredRobustList) seen[1];
            assertEquals(RegisteredRobustList.Owner.GLIBC, before.owner());
            assertEquals(before, after, "the lock changed the registered head");
            assertEquals(-32, after.futexOffset());
            assertEquals("joined glibc", seen[2]);
            assertEquals("joined glibc", seen[3]);
        }
    }

    /**
     * On a joined list, unlinking reads the record's own list fields; fields overwritten while it was held (by
     * something other than its holder) are reported, not followed, and the mutex stays held until they are
     * right again.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void overwrittenListFieldsAreReportedNotFollowed(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("damaged-list"), 4096)) {
            RobustMutex first = region.mutex(0, kind);
            RobustMutex second = region.mutex(64, kind);
            Threads.runToEnd("damaged", () -> {
                first.lock();
                second.lock();
                MutexDamagedException damaged = unlockWithDamagedNext(region, first);
                assertTrue(damaged.getMessage().contains("next=0x3"), damaged.getMessage());
                assertTrue(first.isHeldByCurrentThread());
                first.unlock();
                second.unlock();
                assertFalse(first.snapshot().locked());
                assertFalse(second.snapshot().locked());
                return null;
            });
        }
    }

    /**
     * Unlocks the record at offset 0 of the region while its list {@code next} field holds 3, which no entry can
     * be; expects the refusal, then puts the field back.
     */
    private static MutexDamagedException unlockWithDamagedNext(SharedMemory region, RobustMutex first) {
        ByteBuffer bytes = region.buffer();
        long next = bytes.getLong(32);
        bytes.putLong(32, 3);
        try {
            return assertThrows(MutexDamagedException.class, first::unlock);
        } finally {
            bytes.putLong(32, next);
        }
    }

    /**
     * An unlock refused for damaged list fields changes nothing: a mutex acquired after an owner death stays
     * INCONSISTENT (not made NOT_RECOVERABLE by the refused release) with its holder's pid, so that once the
     * fields are right again its holder can still repair it and release it consistent.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aRefusedUnlockLeavesTheMutexAsItWas(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("refused-unlock"), 4096)) {
            RobustMutex first = region.mutex(0, kind);
            RobustMutex second = region.mutex(64, kind);
            Threads.runToEnd("dies-holding", () -> first.acquire());
            await().atMost(Duration.ofSeconds(30)).until(() -> first.snapshot().ownerDied());
            Threads.runToEnd("damaged", () -> {
                Acquisition acquisition = first.acquire();
                assertTrue(acquisition.ownerDied());
                second.lock();
                MutexSnapshot before = first.snapshot();
                unlockWithDamagedNext(region, first);
                assertEquals(before, first.snapshot(), "the refused unlock changed the record");
                acquisition.markConsistent();
                first.unlock();
                second.unlock();
                assertEquals(MutexState.CONSISTENT, first.snapshot().state());
                assertFalse(first.snapshot().locked());
                return null;
            });
        }
    }

    /**
     * The warnings of an acquisition that took over a dead owner's mutex are logged once the mutex is held and on
     * the robust list, and a logger that fails does not change the acquisition: a logger runs the application's
     * code on the acquiring thread, which may take native robust mutexes of its own (overwriting the
     * {@code list_op_pending} slot they share) or throw.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void ownerDeathWarningsComeOnceTheMutexIsHeld(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("warned"), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            Threads.runToEnd("dies-holding", () -> mutex.acquire());
            await().atMost(Duration.ofSeconds(30)).until(() -> mutex.snapshot().ownerDied());
            java.util.logging.Logger logger = java.util.logging.Logger.getLogger(
                    "io.robustmutex.internal.RobustMutexProtocol");
            List<Boolean> heldWhenLogged = new java.util.concurrent.CopyOnWriteArrayList<>();
            java.util.logging.Handler handler = new java.util.logging.Handler() {
                @Override
                public void publish(java.util.logging.LogRecord record) {
                    heldWhenLogged.add(mutex.isHeldByCurrentThread());
                    throw new IllegalStateException("a failing log handler");
                }

                @Override
                public void flush() {
                }

                @Override
                public void close() {
                }
            };
            logger.addHandler(handler);
            try {
                Threads.runToEnd("acquirer", () -> {
                    try (Acquisition acquisition = mutex.acquire()) {
                        assertTrue(acquisition.ownerDied());
                        acquisition.markConsistent();
                    }
                    return null;
                });
            } finally {
                logger.removeHandler(handler);
            }
            assertFalse(heldWhenLogged.isEmpty(), "the owner death was not logged");
            assertEquals(List.of(true), List.copyOf(new java.util.LinkedHashSet<>(heldWhenLogged)),
                    "logged before the mutex was recorded as held");
            assertFalse(mutex.snapshot().locked());
            assertEquals(MutexState.CONSISTENT, mutex.snapshot().state());
        }
    }
}
