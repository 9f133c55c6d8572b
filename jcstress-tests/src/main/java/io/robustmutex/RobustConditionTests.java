/*
 * How to run (after `mvn -B -q install -DskipTests` and `mvn -B -q package -pl jcstress-tests`):
 *
 *   java -jar jcstress-tests/target/jcstress.jar -t RobustConditionTests
 *
 * What it checks, on the real kernel, for both kinds: the hand-off of a value through a RobustCondition. A
 * signaller locks, writes the value to mapped shared memory and to a plain field, signals and unlocks; a waiter
 * locks and waits in the usual loop, `while (value not set) awaitNanos(...)`, then reads both. The waiter always
 * leaves the loop with the value: when the signal came before it locked, it finds the value without waiting (a
 * signal is not remembered, but the predicate is checked under the mutex, so nothing is lost); otherwise the
 * signal wakes it.
 *
 *   PI_SHARED, NORMAL_SHARED      one waiter, signal(), a condition record in a SharedMemory region; the two
 *                                 actors race freely, so the signal usually comes before the waiter locks
 *   PI_LOCAL_RL, NORMAL_LOCAL_RL  one waiter holding the mutex twice, signal(), RobustMutex.newCondition(); the
 *                                 signaller first lets the waiter get to its wait (below), and gets in only if
 *                                 the wait released both holds; the waiter holds the mutex twice again afterwards
 *   PI_SHARED_ALL, NORMAL_SHARED_ALL  two waiters, signalAll(), a SharedMemory condition: both return. The second
 *                                 waiter runs on a helper thread (one per JVM) that the first starts for each
 *                                 state and waits for: JCStress runs no test with more actors than CPUs, and CI
 *                                 has two
 *
 * The head start: a waiter counts itself, under the mutex, just before its first await; the signaller spins
 * (yielding, at most HEAD_START_NANOS) until the count reaches the number of waiters, then locks. Its lock
 * succeeds only once every counted waiter released the mutex in await, so the signal finds them all waiting
 * (asleep, or between the release and the sleep). When the spin gives up (a waiter not yet scheduled), the race
 * is free again.
 *
 * Every wait is bounded (awaitNanos, 5 s in all): a waiter that the signal never reaches records TIMED_OUT, a
 * FORBIDDEN outcome, instead of hanging the run; after one wait timed out, the waits of the rest of the JVM give
 * up at once, so a broken build fails in seconds. A lost wake-up cannot make a waiter time out (it looks at the
 * sequence word at least every interruption slice, 20 ms by default, and returns when it moved), so a waiter also
 * records how late it came back after the signal: 10 ms or more is LATE, reported as interesting (a lost
 * FUTEX_WAKE, or signalAll waking only one waiter, shows up as many LATE results; a scheduling stall or a GC
 * pause as a few).
 *
 * How a waiter left the loop: 0 the value was already there (no wait), 1 woken by the signal, 2 LATE, 3 woken
 * more than once (a spurious wake-up, allowed by the Condition contract, though nothing here should cause one),
 * -1 TIMED_OUT, -2 interrupted.
 */
package io.robustmutex;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import io.robustmutex.jcstress.MutexPool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressMeta;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/** Await and signal hand-off through {@link RobustCondition}: no waiter misses the value or the wake-up. */
public class RobustConditionTests {

    /** The value the signaller publishes. */
    static final int SET = 42;
    /** The longest a waiter waits in all. */
    static final long WAIT_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** A waiter back this long after the signal or later is LATE. */
    static final long LATE_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    /** The longest a signaller gives the waiters to reach their wait. */
    static final long HEAD_START_NANOS = TimeUnit.MILLISECONDS.toNanos(2);

    /** How a waiter left its loop: the value was there when it locked. */
    static final int NO_WAIT = 0;
    /** How a waiter left its loop: one wait, which the signal ended. */
    static final int WOKEN = 1;
    /** How a waiter left its loop: one wait, ended {@link #LATE_NANOS} or more after the signal. */
    static final int LATE = 2;
    /** How a waiter left its loop: more than one wait (a spurious wake-up first). */
    static final int SPURIOUS = 3;
    /** How a waiter left its loop: the time ran out without the value. */
    static final int TIMED_OUT = -1;
    /** How a waiter left its loop: interrupted (nothing here interrupts). */
    static final int INTERRUPTED = -2;

    /** Set by the first wait of this JVM that timed out: later waits give up at once. */
    static volatile boolean timedOut;

    // ---------------------------------------------------------------- outcomes

    /** One waiter holding the mutex once: (plain value, mapped value, how it left the loop, hold count). */
    @Outcome(id = "42, 42, 0, 1", expect = ACCEPTABLE,
            desc = "the signal came before the waiter locked: it found the value without waiting")
    @Outcome(id = "42, 42, 1, 1", expect = ACCEPTABLE, desc = "the waiter waited; the signal woke it")
    @Outcome(id = "42, 42, [23], 1", expect = ACCEPTABLE_INTERESTING,
            desc = "the waiter got the value, but came back late (a lost wake-up or a stall) or woke spuriously")
    @Outcome(id = "[^,]*, [^,]*, -1, .*", expect = FORBIDDEN, desc = "TIMED_OUT: the waiter never saw the value")
    @Outcome(expect = FORBIDDEN, desc = "the waiter left without the value, or with the wrong hold count")
    public static class HandOff {
    }

    /** One waiter holding the mutex twice: (plain value, mapped value, how it left the loop, hold count). */
    @Outcome(id = "42, 42, 0, 2", expect = ACCEPTABLE,
            desc = "the signal came before the waiter locked: it found the value without waiting")
    @Outcome(id = "42, 42, 1, 2", expect = ACCEPTABLE,
            desc = "the wait released both holds, the signal woke the waiter, and it holds the mutex twice again")
    @Outcome(id = "42, 42, [23], 2", expect = ACCEPTABLE_INTERESTING,
            desc = "the waiter got the value, but came back late (a lost wake-up or a stall) or woke spuriously")
    @Outcome(id = "[^,]*, [^,]*, -1, .*", expect = FORBIDDEN,
            desc = "TIMED_OUT: the waiter never saw the value (did the wait keep a hold, locking the signaller out?)")
    @Outcome(expect = FORBIDDEN, desc = "the waiter left without the value, or with the wrong hold count")
    public static class ReentrantHandOff {
    }

    /**
     * Two waiters and signalAll: (how the actor's waiter left its loop, how the helper thread's waiter did, the
     * mapped value each read).
     */
    @Outcome(id = "[01], [01], 42, 42", expect = ACCEPTABLE,
            desc = "each waiter found the value without waiting or was woken by signalAll")
    @Outcome(id = "([0-3], [23]|[23], [0-3]), 42, 42", expect = ACCEPTABLE_INTERESTING,
            desc = "both got the value; one or both came back late (signalAll woke one only, or a stall) or spuriously")
    @Outcome(id = "(-1, .*|[^,]*, -1, .*)", expect = FORBIDDEN, desc = "TIMED_OUT: a waiter never saw the value")
    @Outcome(expect = FORBIDDEN, desc = "a waiter left without the value")
    public static class BothReturn {
    }

    // ---------------------------------------------------------------- fixture

    /**
     * Condition records in a {@link SharedMemory} region, one per slot of the kind's shared {@link MutexPool}: a
     * state takes the record at its slot's index, so a record is in use by one live state at a time, as the
     * slot is. The region's file is deleted as soon as it is mapped (nothing is left behind, even when JCStress
     * kills the JVM); a record is initialized by its first use (under a lock of the open file, which needs no
     * name).
     */
    static final class ConditionRegions {
        /** The size of a condition record, and its alignment. */
        static final int RECORD_BYTES = 64;
        private static final AtomicReferenceArray<SharedMemory> REGIONS =
                new AtomicReferenceArray<>(MutexKind.values().length);

        private ConditionRegions() {
        }

        /** The condition at the slot's index, with the slot's mutex. */
        static RobustCondition condition(MutexKind kind, MutexPool.Slot slot) {
            SharedMemory region = REGIONS.get(kind.ordinal());
            if (region == null) {
                region = create(kind);
            }
            return region.condition((long) slot.index() * RECORD_BYTES, slot.mutex());
        }

        private static synchronized SharedMemory create(MutexKind kind) {
            SharedMemory region = REGIONS.get(kind.ordinal());
            if (region != null) {
                return region;
            }
            try {
                Path shm = Path.of("/dev/shm");
                Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm
                        : Path.of(System.getProperty("java.io.tmpdir"));
                Path dir = Files.createTempDirectory(parent,
                        "robust-mutex-conditions-" + ProcessHandle.current().pid() + "-" + kind + "-");
                Path file = dir.resolve("conditions");
                try {
                    // As many records as the shared pool has slots.
                    region = SharedMemory.map(file, (long) MutexPool.DEFAULT_SLOTS * RECORD_BYTES);
                } finally {
                    Files.deleteIfExists(file);
                    Files.deleteIfExists(dir);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot map a region of conditions: " + e.getMessage(), e);
            }
            REGIONS.set(kind.ordinal(), region);
            return region;
        }
    }

    /** The thread (one per JVM) on which the second waiter of the signalAll tests waits, one state at a time. */
    static final class SecondWaiter {
        private static final ExecutorService THREAD = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, "robust-condition-second-waiter");
            thread.setDaemon(true);
            return thread;
        });

        private SecondWaiter() {
        }

        /** Starts the second waiter of the state: its result is {how it left the loop, the mapped value read}. */
        static Future<int[]> start(HandOffState s) {
            return THREAD.submit(() -> {
                int[] how = new int[1];
                int mapped = s.receiveMapped(how);
                return new int[] {how[0], mapped};
            });
        }

        /** The second waiter's result; TIMED_OUT when it did not finish in time (it waits longer than it may). */
        static int[] result(Future<int[]> second) {
            try {
                return second.get(WAIT_NANOS + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                timedOut = true;
                return new int[] {TIMED_OUT, 0};
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return new int[] {INTERRUPTED, 0};
            } catch (ExecutionException e) {
                throw new IllegalStateException("the second waiter failed", e.getCause());
            }
        }
    }

    // ---------------------------------------------------------------- states

    /** Where a state's condition lives. */
    enum Where {
        /** A record in a {@link SharedMemory} region. */
        SHARED,
        /** {@link RobustMutex#newCondition()}: a word of this JVM. */
        LOCAL
    }

    /** A mutex no other live state uses, its condition, the mapped long and the plain field it protects. */
    public static class HandOffState {
        final RobustMutex mutex;
        final RobustCondition condition;
        final ByteBuffer data;
        final int x;
        /** The waiters about to wait, counted under the mutex: the signaller's head-start spin reads it. */
        final AtomicInteger waiting = new AtomicInteger();
        int value;
        long signalledAt;

        HandOffState(MutexKind kind, Where where) {
            MutexPool.Slot slot = MutexPool.shared(kind).next();
            mutex = slot.mutex();
            condition = where == Where.SHARED ? ConditionRegions.condition(kind, slot) : mutex.newCondition();
            data = slot.buffer();
            x = slot.offset();
        }

        /** Spins (yielding, at most {@link #HEAD_START_NANOS}) until this many waiters are about to wait. */
        void headStart(int waiters) {
            long deadline = System.nanoTime() + HEAD_START_NANOS;
            while (waiting.get() < waiters && System.nanoTime() - deadline < 0) {
                Thread.yield();
            }
        }

        /** Publishes the value under the mutex and signals one waiter, or all. */
        void publish(boolean all) {
            mutex.lock();
            try {
                data.putLong(x, SET);
                value = SET;
                signalledAt = System.nanoTime();
                if (all) {
                    condition.signalAll();
                } else {
                    condition.signal();
                }
            } finally {
                mutex.unlock();
            }
        }

        /** Waits for the value, holding the mutex once or twice, and records what it saw in r. */
        void receive(boolean reentrant, IIII_Result r) {
            mutex.lock();
            try {
                if (reentrant) {
                    mutex.lock();
                }
                try {
                    r.r3 = awaitValue();
                    r.r1 = value;
                    r.r2 = (int) data.getLong(x);
                    r.r4 = mutex.getHoldCount();
                } finally {
                    if (reentrant) {
                        mutex.unlock();
                    }
                }
            } finally {
                mutex.unlock();
            }
        }

        /** Waits for the value with the mutex held; returns the mapped value read, and how in how[0]. */
        int receiveMapped(int[] how) {
            mutex.lock();
            try {
                how[0] = awaitValue();
                return (int) data.getLong(x);
            } finally {
                mutex.unlock();
            }
        }

        /** The loop every Condition user writes, bounded; the caller holds the mutex. */
        private int awaitValue() {
            long remaining = timedOut ? 0 : WAIT_NANOS;
            int waits = 0;
            while (value != SET) {
                if (remaining <= 0) {
                    timedOut = true;
                    return TIMED_OUT;
                }
                if (waits == 0) {
                    waiting.incrementAndGet();
                }
                try {
                    remaining = condition.awaitNanos(remaining);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return INTERRUPTED;
                }
                waits++;
            }
            if (waits == 0) {
                return NO_WAIT;
            }
            if (waits > 1) {
                return SPURIOUS;
            }
            return System.nanoTime() - signalledAt >= LATE_NANOS ? LATE : WOKEN;
        }
    }

    /** PI, a SharedMemory condition. */
    @State
    public static class PiShared extends HandOffState {
        public PiShared() {
            super(MutexKind.PI, Where.SHARED);
        }
    }

    /** NORMAL, a SharedMemory condition. */
    @State
    public static class NormalShared extends HandOffState {
        public NormalShared() {
            super(MutexKind.NORMAL, Where.SHARED);
        }
    }

    /** PI, RobustMutex.newCondition(). */
    @State
    public static class PiLocal extends HandOffState {
        public PiLocal() {
            super(MutexKind.PI, Where.LOCAL);
        }
    }

    /** NORMAL, RobustMutex.newCondition(). */
    @State
    public static class NormalLocal extends HandOffState {
        public NormalLocal() {
            super(MutexKind.NORMAL, Where.LOCAL);
        }
    }

    // ---------------------------------------------------------------- one waiter, signal()

    /** PI: signal() hands the value to a waiter, through a SharedMemory condition. */
    @JCStressTest
    @JCStressMeta(HandOff.class)
    public static class PI_SHARED {
        @Actor
        public void signaller(PiShared s) {
            s.publish(false);
        }

        @Actor
        public void waiter(PiShared s, IIII_Result r) {
            s.receive(false, r);
        }
    }

    /** NORMAL: signal() hands the value to a waiter, through a SharedMemory condition. */
    @JCStressTest
    @JCStressMeta(HandOff.class)
    public static class NORMAL_SHARED {
        @Actor
        public void signaller(NormalShared s) {
            s.publish(false);
        }

        @Actor
        public void waiter(NormalShared s, IIII_Result r) {
            s.receive(false, r);
        }
    }

    /** PI: signal() hands the value to a waiter holding the mutex twice, through newCondition(). */
    @JCStressTest
    @JCStressMeta(ReentrantHandOff.class)
    public static class PI_LOCAL_RL {
        @Actor
        public void signaller(PiLocal s) {
            s.headStart(1);
            s.publish(false);
        }

        @Actor
        public void waiter(PiLocal s, IIII_Result r) {
            s.receive(true, r);
        }
    }

    /** NORMAL: signal() hands the value to a waiter holding the mutex twice, through newCondition(). */
    @JCStressTest
    @JCStressMeta(ReentrantHandOff.class)
    public static class NORMAL_LOCAL_RL {
        @Actor
        public void signaller(NormalLocal s) {
            s.headStart(1);
            s.publish(false);
        }

        @Actor
        public void waiter(NormalLocal s, IIII_Result r) {
            s.receive(true, r);
        }
    }

    // ---------------------------------------------------------------- two waiters, signalAll()

    /** PI: signalAll() wakes both waiters of a SharedMemory condition. */
    @JCStressTest
    @JCStressMeta(BothReturn.class)
    public static class PI_SHARED_ALL {
        @Actor
        public void signaller(PiShared s) {
            s.headStart(2);
            s.publish(true);
        }

        @Actor
        public void waiters(PiShared s, IIII_Result r) {
            Future<int[]> second = SecondWaiter.start(s);
            int[] how = new int[1];
            r.r3 = s.receiveMapped(how);
            r.r1 = how[0];
            int[] other = SecondWaiter.result(second);
            r.r2 = other[0];
            r.r4 = other[1];
        }
    }

    /** NORMAL: signalAll() wakes both waiters of a SharedMemory condition. */
    @JCStressTest
    @JCStressMeta(BothReturn.class)
    public static class NORMAL_SHARED_ALL {
        @Actor
        public void signaller(NormalShared s) {
            s.headStart(2);
            s.publish(true);
        }

        @Actor
        public void waiters(NormalShared s, IIII_Result r) {
            Future<int[]> second = SecondWaiter.start(s);
            int[] how = new int[1];
            r.r3 = s.receiveMapped(how);
            r.r1 = how[0];
            int[] other = SecondWaiter.result(second);
            r.r2 = other[0];
            r.r4 = other[1];
        }
    }
}
