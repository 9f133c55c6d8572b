/*
 * How to run (after `mvn -B -q install -DskipTests` and `mvn -B -q package -pl jcstress-tests`):
 *
 *   java -jar jcstress-tests/target/jcstress.jar -t RobustMutexMutexTests
 *
 * What it checks, on the real kernel, for both kinds (PI: FUTEX_LOCK_PI2/FUTEX_UNLOCK_PI; NORMAL: FUTEX_WAIT/
 * FUTEX_WAKE): mutual exclusion between two threads racing for one RobustMutex through the Lock interface,
 * named by the racing operations as in JCStress's own ReentrantLockMutexTests:
 *
 *   L_L    lock()    / lock()
 *   L_TL   lock()    / tryLock()
 *   TL_TL  tryLock() / tryLock()
 *   RL_L   lock(); lock(); unlock(); unlock() (re-entrant) / lock()
 *
 * L_L, L_TL, TL_TL: inside the lock each actor reads a plain int field, writes it back plus one, and reads the
 * fencing token. The result is (what actor1 read, what actor2 read, the field at the end, 1 if the fencing tokens
 * grew in entry order); -1 means tryLock() failed. Both reading 0 is a lost update: both were inside at once.
 *
 * RL_L: actor1 locks, writes the field +1, locks again, writes +2, unlocks once, writes +3, unlocks; actor2 locks
 * and adds 10. The result is (what actor1 read, what actor2 read, actor1's hold counts inside the inner hold,
 * after it and after the outer release as three digits, 210). actor2 reading +1 or +2 means the inner unlock let
 * it in while actor1 still held the mutex once.
 */
package io.robustmutex;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import io.robustmutex.jcstress.MutexPool;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressMeta;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;
import org.openjdk.jcstress.infra.results.III_Result;

/** Mutual exclusion and re-entrancy of {@link RobustMutex} through {@link java.util.concurrent.locks.Lock}. */
public class RobustMutexMutexTests {

    // ---------------------------------------------------------------- outcomes

    /** Both actors lock: both get in, one after the other. */
    @Outcome(id = "0, 1, 2, 1", expect = ACCEPTABLE, desc = "actor1 entered first, then actor2")
    @Outcome(id = "1, 0, 2, 1", expect = ACCEPTABLE, desc = "actor2 entered first, then actor1")
    @Outcome(id = "0, 0, .*", expect = FORBIDDEN, desc = "both read 0: both were inside at once (lost update)")
    @Outcome(expect = FORBIDDEN, desc = "broken exclusion, or fencing tokens not in entry order")
    public static class BothEnter {
    }

    /** actor1 locks, actor2 tries: actor2 may find it held. */
    @Outcome(id = "0, 1, 2, 1", expect = ACCEPTABLE, desc = "actor1 entered first, then actor2")
    @Outcome(id = "1, 0, 2, 1", expect = ACCEPTABLE, desc = "actor2 entered first, then actor1")
    @Outcome(id = "0, -1, 1, 1", expect = ACCEPTABLE, desc = "actor2's tryLock found actor1 inside")
    @Outcome(id = "0, 0, .*", expect = FORBIDDEN, desc = "both read 0: both were inside at once (lost update)")
    @Outcome(expect = FORBIDDEN, desc = "broken exclusion, or fencing tokens not in entry order")
    public static class SecondMayFail {
    }

    /** Both actors try: either may find it held, never both. */
    @Outcome(id = "0, 1, 2, 1", expect = ACCEPTABLE, desc = "actor1 entered first, then actor2")
    @Outcome(id = "1, 0, 2, 1", expect = ACCEPTABLE, desc = "actor2 entered first, then actor1")
    @Outcome(id = "0, -1, 1, 1", expect = ACCEPTABLE, desc = "actor2's tryLock found actor1 inside")
    @Outcome(id = "-1, 0, 1, 1", expect = ACCEPTABLE, desc = "actor1's tryLock found actor2 inside")
    @Outcome(id = "-1, -1, .*", expect = FORBIDDEN, desc = "both tryLocks failed: each saw the other inside")
    @Outcome(id = "0, 0, .*", expect = FORBIDDEN, desc = "both read 0: both were inside at once (lost update)")
    @Outcome(expect = FORBIDDEN, desc = "broken exclusion, or fencing tokens not in entry order")
    public static class EitherMayFail {
    }

    /** Re-entrant holder against a locker: (actor1 read, actor2 read, actor1's hold counts 2-1-0). */
    @Outcome(id = "0, 3, 210", expect = ACCEPTABLE, desc = "actor1 (both holds) first, then actor2")
    @Outcome(id = "10, 0, 210", expect = ACCEPTABLE, desc = "actor2 first, then actor1")
    @Outcome(id = "0, [12], .*", expect = FORBIDDEN, desc = "actor2 got in while actor1 still held the mutex")
    @Outcome(expect = FORBIDDEN, desc = "broken exclusion or wrong hold counts")
    public static class ReentrantThenLock {
    }

    // ---------------------------------------------------------------- states

    /** A mutex no other live state uses, and a plain field that only its holder touches. */
    public static class LockState {
        final RobustMutex mutex;
        int value;
        long token1;
        long token2;

        LockState(MutexKind kind) {
            mutex = MutexPool.shared(kind).next().mutex();
        }

        /** lock(), then the critical section; returns the value read. */
        int lockAndEnter(int actor) {
            mutex.lock();
            try {
                return enter(actor);
            } finally {
                mutex.unlock();
            }
        }

        /** tryLock(), then the critical section; returns the value read, or -1 when tryLock() failed. */
        int tryLockAndEnter(int actor) {
            if (!mutex.tryLock()) {
                return -1;
            }
            try {
                return enter(actor);
            } finally {
                mutex.unlock();
            }
        }

        private int enter(int actor) {
            int seen = value;
            value = seen + 1;
            long token = mutex.fencingToken();
            if (actor == 1) {
                token1 = token;
            } else {
                token2 = token;
            }
            return seen;
        }

        /** Records the final value, and whether whoever entered second holds the greater fencing token. */
        void arbiter(IIII_Result r) {
            r.r3 = value;
            boolean ordered = true;
            if (r.r1 >= 0 && r.r2 >= 0) {
                ordered = r.r1 != r.r2 && (r.r1 < r.r2) == (token1 < token2);
            }
            r.r4 = ordered ? 1 : 0;
        }

        /**
         * actor1 of the re-entrant test: enters, writes value+1, locks again, writes value+2, unlocks once,
         * writes value+3, unlocks. Returns the value read at entry; r3 gets the hold counts inside the inner
         * hold, after its release, and after the outer release, as three digits (expected 2, 1, 0).
         */
        int reentrant(III_Result r) {
            int inner;
            int afterInner;
            int seen;
            mutex.lock();
            try {
                seen = value;
                value = seen + 1;
                mutex.lock();
                try {
                    value = seen + 2;
                    inner = mutex.getHoldCount();
                } finally {
                    mutex.unlock();
                }
                afterInner = mutex.getHoldCount();
                value = seen + 3;
            } finally {
                mutex.unlock();
            }
            r.r3 = inner * 100 + afterInner * 10 + mutex.getHoldCount();
            return seen;
        }

        /** actor2 of the re-entrant test: lock(), read, add 10. */
        int lockAndAddTen() {
            mutex.lock();
            try {
                int seen = value;
                value = seen + 10;
                return seen;
            } finally {
                mutex.unlock();
            }
        }
    }

    /** A PI mutex. */
    @State
    public static class PiState extends LockState {
        public PiState() {
            super(MutexKind.PI);
        }
    }

    /** A NORMAL mutex. */
    @State
    public static class NormalState extends LockState {
        public NormalState() {
            super(MutexKind.NORMAL);
        }
    }

    // ---------------------------------------------------------------- PI

    /** PI: lock() against lock(). */
    @JCStressTest
    @JCStressMeta(BothEnter.class)
    public static class PI_L_L {
        @Actor
        public void actor1(PiState s, IIII_Result r) {
            r.r1 = s.lockAndEnter(1);
        }

        @Actor
        public void actor2(PiState s, IIII_Result r) {
            r.r2 = s.lockAndEnter(2);
        }

        @Arbiter
        public void arbiter(PiState s, IIII_Result r) {
            s.arbiter(r);
        }
    }

    /** PI: lock() against tryLock(). */
    @JCStressTest
    @JCStressMeta(SecondMayFail.class)
    public static class PI_L_TL {
        @Actor
        public void actor1(PiState s, IIII_Result r) {
            r.r1 = s.lockAndEnter(1);
        }

        @Actor
        public void actor2(PiState s, IIII_Result r) {
            r.r2 = s.tryLockAndEnter(2);
        }

        @Arbiter
        public void arbiter(PiState s, IIII_Result r) {
            s.arbiter(r);
        }
    }

    /** PI: tryLock() against tryLock(). */
    @JCStressTest
    @JCStressMeta(EitherMayFail.class)
    public static class PI_TL_TL {
        @Actor
        public void actor1(PiState s, IIII_Result r) {
            r.r1 = s.tryLockAndEnter(1);
        }

        @Actor
        public void actor2(PiState s, IIII_Result r) {
            r.r2 = s.tryLockAndEnter(2);
        }

        @Arbiter
        public void arbiter(PiState s, IIII_Result r) {
            s.arbiter(r);
        }
    }

    /** PI: a re-entrant hold against lock(). */
    @JCStressTest
    @JCStressMeta(ReentrantThenLock.class)
    public static class PI_RL_L {
        @Actor
        public void actor1(PiState s, III_Result r) {
            r.r1 = s.reentrant(r);
        }

        @Actor
        public void actor2(PiState s, III_Result r) {
            r.r2 = s.lockAndAddTen();
        }
    }


    // ---------------------------------------------------------------- NORMAL

    /** NORMAL: lock() against lock(). */
    @JCStressTest
    @JCStressMeta(BothEnter.class)
    public static class NORMAL_L_L {
        @Actor
        public void actor1(NormalState s, IIII_Result r) {
            r.r1 = s.lockAndEnter(1);
        }

        @Actor
        public void actor2(NormalState s, IIII_Result r) {
            r.r2 = s.lockAndEnter(2);
        }

        @Arbiter
        public void arbiter(NormalState s, IIII_Result r) {
            s.arbiter(r);
        }
    }

    /** NORMAL: lock() against tryLock(). */
    @JCStressTest
    @JCStressMeta(SecondMayFail.class)
    public static class NORMAL_L_TL {
        @Actor
        public void actor1(NormalState s, IIII_Result r) {
            r.r1 = s.lockAndEnter(1);
        }

        @Actor
        public void actor2(NormalState s, IIII_Result r) {
            r.r2 = s.tryLockAndEnter(2);
        }

        @Arbiter
        public void arbiter(NormalState s, IIII_Result r) {
            s.arbiter(r);
        }
    }

    /** NORMAL: tryLock() against tryLock(). */
    @JCStressTest
    @JCStressMeta(EitherMayFail.class)
    public static class NORMAL_TL_TL {
        @Actor
        public void actor1(NormalState s, IIII_Result r) {
            r.r1 = s.tryLockAndEnter(1);
        }

        @Actor
        public void actor2(NormalState s, IIII_Result r) {
            r.r2 = s.tryLockAndEnter(2);
        }

        @Arbiter
        public void arbiter(NormalState s, IIII_Result r) {
            s.arbiter(r);
        }
    }

    /** NORMAL: a re-entrant hold against lock(). */
    @JCStressTest
    @JCStressMeta(ReentrantThenLock.class)
    public static class NORMAL_RL_L {
        @Actor
        public void actor1(NormalState s, III_Result r) {
            r.r1 = s.reentrant(r);
        }

        @Actor
        public void actor2(NormalState s, III_Result r) {
            r.r2 = s.lockAndAddTen();
        }
    }
}
