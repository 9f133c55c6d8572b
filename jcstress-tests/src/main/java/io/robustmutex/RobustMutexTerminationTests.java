/*
 * How to run (after `mvn -B -q install -DskipTests` and `mvn -B -q package -pl jcstress-tests`):
 *
 *   java -jar jcstress-tests/target/jcstress.jar -t RobustMutexTerminationTests
 *
 * What it checks, on the real kernel, for both kinds: that a thread blocked in the kernel waiting for a held
 * RobustMutex comes back when the holder lets go (JCStress Mode.Termination: the actor must finish after the
 * signal, else the run is STALE). A lost wake-up (NORMAL: FUTEX_WAKE missed) or a lost hand-off (PI:
 * FUTEX_UNLOCK_PI to a waiter) shows up as STALE.
 *
 *   L    the actor blocks in lock(); the signal makes the holder unlock()
 *   TLt  the actor blocks in tryLock(1 minute), which waits in slices; the signal makes the holder unlock()
 *   LI   the actor blocks in lockInterruptibly(); the signal interrupts it (the holder keeps the mutex until
 *        the actor has left; an actor that takes the mutex instead of noticing the interrupt is an ERROR)
 *
 * The mutex must be released by the thread that took it, and JCStress gives no guarantee on which threads run
 * the state's constructor and the signal, so a dedicated holder thread (one per JVM) takes the mutex when the
 * state is built and releases it when the signal asks, each time by a handshake. Before acting, the signal waits
 * (at most a second) for the actor to mark the word with WAITERS, so that the release is a hand-off to a thread
 * asleep in the kernel rather than an unlock that races the actor's first attempt.
 */
package io.robustmutex;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import io.robustmutex.jcstress.MutexPool;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressMeta;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Mode;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.Signal;
import org.openjdk.jcstress.annotations.State;

/** Hand-off of a held {@link RobustMutex} to a thread blocked in the kernel. */
public class RobustMutexTerminationTests {

    /** How long the LI signal waits for the interrupted actor before it lets the holder go anyway. */
    static final long INTERRUPT_GRACE_SECONDS = 5;
    /** How long a signal waits for the actor to be asleep in the kernel before it acts anyway. */
    static final long WAITER_PATIENCE_MILLIS = 1000;

    /** The outcomes of every test here. */
    @Outcome(id = "TERMINATED", expect = ACCEPTABLE, desc = "the blocked actor returned once the holder let go")
    @Outcome(id = "STALE", expect = FORBIDDEN, desc = "the actor stayed blocked: a lost wake-up or hand-off")
    @Outcome(id = "ERROR", expect = FORBIDDEN, desc = "the actor or the signal threw (see the actor's message)")
    public static class HandOff {
    }

    /**
     * Mutexes placed in a {@link SharedMemory} region ({@link SharedMemory#mutex(long, MutexKind)}), one after
     * the other, per kind: the other tests take theirs from mutex files. JCStress runs the states of a
     * termination test one at a time, so a few slots are plenty.
     */
    static final int PLACED_SLOTS = 64;

    private static MutexPool placedPool(MutexKind kind) {
        return MutexPool.builder(kind).placement(MutexPool.Placement.SHARED_MEMORY).slots(PLACED_SLOTS)
                .dataBytesPerSlot(0).build();
    }

    /** Made on first use of PI mutexes. */
    private static final class PiMutexes {
        static final MutexPool POOL = placedPool(MutexKind.PI);
    }

    /** Made on first use of NORMAL mutexes. */
    private static final class NormalMutexes {
        static final MutexPool POOL = placedPool(MutexKind.NORMAL);
    }

    /** The one thread per JVM that holds the states' mutexes; it does one thing at a time, when asked. */
    static final class Holder {
        private static final ExecutorService THREAD = Executors.newSingleThreadExecutor(task -> {
            Thread thread = new Thread(task, "robust-mutex-holder");
            thread.setDaemon(true);
            return thread;
        });

        private Holder() {
        }

        static void lock(RobustMutex mutex) {
            call(() -> {
                mutex.lock();
                return null;
            });
        }

        static void unlock(RobustMutex mutex) {
            call(() -> {
                mutex.unlock();
                return null;
            });
        }

        private static void call(Callable<Void> action) {
            try {
                THREAD.submit(action).get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while the holder thread worked", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException("the holder thread failed", e.getCause());
            }
        }
    }

    /** A mutex that the holder thread holds from construction until {@link #release()}. */
    public static class HeldState {
        final RobustMutex mutex;
        volatile Thread waiter;
        final CountDownLatch left = new CountDownLatch(1);

        HeldState(MutexKind kind) {
            mutex = (kind == MutexKind.PI ? PiMutexes.POOL : NormalMutexes.POOL).next().mutex();
            Holder.lock(mutex);
        }

        /** Lets the holder go once the actor is waiting (the mutex's WAITERS bit is set), or after a second. */
        void release() {
            awaitWaiter();
            Holder.unlock(mutex);
        }

        /**
         * Waits (at most WAITER_PATIENCE_MILLIS) until a waiter has marked the word: a NORMAL waiter
         * sets WAITERS just before FUTEX_WAIT, and the kernel sets it for a PI waiter in FUTEX_LOCK_PI2. So the
         * release is almost always a hand-off to a thread asleep in the kernel, not an uncontended unlock.
         */
        void awaitWaiter() {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAITER_PATIENCE_MILLIS);
            while (!mutex.snapshot().waiters() && System.nanoTime() - deadline < 0) {
                Thread.yield();
            }
        }

        void lockUnlock() {
            mutex.lock();
            mutex.unlock();
        }

        void tryLockUnlock() throws InterruptedException {
            if (!mutex.tryLock(1, TimeUnit.MINUTES)) {
                throw new IllegalStateException("tryLock(1 minute) timed out although the holder let go");
            }
            mutex.unlock();
        }

        void lockInterruptibly() {
            waiter = Thread.currentThread();
            try {
                mutex.lockInterruptibly();
            } catch (InterruptedException expected) {
                left.countDown();
                return;
            }
            mutex.unlock();
            left.countDown();
            throw new IllegalStateException("lockInterruptibly() ignored the interrupt for "
                    + INTERRUPT_GRACE_SECONDS + " s and took the mutex when the holder let go");
        }

        void interruptThenRelease() throws InterruptedException {
            Thread blocked = waiter;
            while (blocked == null) {
                Thread.yield();
                blocked = waiter;
            }
            awaitWaiter();
            blocked.interrupt();
            try {
                left.await(INTERRUPT_GRACE_SECONDS, TimeUnit.SECONDS);
            } finally {
                Holder.unlock(mutex);
            }
        }
    }

    /** A PI mutex, held. */
    @State
    public static class PiState extends HeldState {
        public PiState() {
            super(MutexKind.PI);
        }
    }

    /** A NORMAL mutex, held. */
    @State
    public static class NormalState extends HeldState {
        public NormalState() {
            super(MutexKind.NORMAL);
        }
    }

    /** PI: blocked in lock() (FUTEX_LOCK_PI2), released by unlock() (FUTEX_UNLOCK_PI hands it over). */
    @JCStressTest(Mode.Termination)
    @JCStressMeta(HandOff.class)
    public static class PI_L {
        @Actor
        public void actor(PiState s) {
            s.lockUnlock();
        }

        @Signal
        public void signal(PiState s) {
            s.release();
        }
    }

    /** PI: blocked in tryLock(timeout) (FUTEX_LOCK_PI2 with a deadline, in slices), released by unlock(). */
    @JCStressTest(Mode.Termination)
    @JCStressMeta(HandOff.class)
    public static class PI_TLt {
        @Actor
        public void actor(PiState s) throws InterruptedException {
            s.tryLockUnlock();
        }

        @Signal
        public void signal(PiState s) {
            s.release();
        }
    }

    /** PI: blocked in lockInterruptibly(), interrupted. */
    @JCStressTest(Mode.Termination)
    @JCStressMeta(HandOff.class)
    public static class PI_LI {
        @Actor
        public void actor(PiState s) {
            s.lockInterruptibly();
        }

        @Signal
        public void signal(PiState s) throws InterruptedException {
            s.interruptThenRelease();
        }
    }

    /** NORMAL: blocked in lock() (FUTEX_WAIT), released by unlock() (FUTEX_WAKE). */
    @JCStressTest(Mode.Termination)
    @JCStressMeta(HandOff.class)
    public static class NORMAL_L {
        @Actor
        public void actor(NormalState s) {
            s.lockUnlock();
        }

        @Signal
        public void signal(NormalState s) {
            s.release();
        }
    }

    /** NORMAL: blocked in tryLock(timeout) (FUTEX_WAIT with a timeout, in slices), released by unlock(). */
    @JCStressTest(Mode.Termination)
    @JCStressMeta(HandOff.class)
    public static class NORMAL_TLt {
        @Actor
        public void actor(NormalState s) throws InterruptedException {
            s.tryLockUnlock();
        }

        @Signal
        public void signal(NormalState s) {
            s.release();
        }
    }

    /** NORMAL: blocked in lockInterruptibly(), interrupted. */
    @JCStressTest(Mode.Termination)
    @JCStressMeta(HandOff.class)
    public static class NORMAL_LI {
        @Actor
        public void actor(NormalState s) {
            s.lockInterruptibly();
        }

        @Signal
        public void signal(NormalState s) throws InterruptedException {
            s.interruptThenRelease();
        }
    }
}
