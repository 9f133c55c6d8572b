package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.UnlockPath;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.x86_64.X86_64Architecture;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Protocol defects found in review, each as the exact schedule that shows it on the model: two owners after two
 * PI contenders both meet a vanished owner, the lost wake-up of a woken waiter killed while a barger holds, a
 * NORMAL owner that is gone but not flagged, TID reuse, and a word that names the caller.
 */
class ProtocolDefectsOnModelTest {

    /** The longest a lost wake-up or a vanished NORMAL owner may delay a waiter, in model time (generous). */
    private static final long HEAL_BOUND = TimeUnit.SECONDS.toNanos(1);

    /** Three processes sharing one mutex; the first thread of each is the actor of the same name. */
    private static final class World implements AutoCloseable {
        final KernelModel model;
        final SharedObject shm;
        final MutexKind kind;

        World(KernelModel model, MutexKind kind) {
            this.model = model;
            this.shm = model.newSharedObject("shm", 4096);
            this.kind = kind;
        }

        RobustMutex mutexIn(ModelProcess process) {
            return process.map(shm).mutex(0, kind);
        }

        /** A thread of a new process that wrote its TID into the word without a robust-list entry, then died. */
        ModelThread vanishedOwner() {
            ModelProcess process = model.newProcess();
            ModelRegion region = process.map(shm);
            region.mutex(0, kind);
            ModelThread ghost = process.newThread("ghost");
            ghost.start(() -> {
                region.putInt(0, ghost.tid());
                return null;
            });
            model.run(ghost);
            model.deliverDeath(ghost);
            return ghost;
        }

        int word() {
            return shm.view.getInt(0);
        }

        @Override
        public void close() {
            model.close();
        }
    }

    private static World world(UnlockPath path, MutexKind kind) {
        return new World(KernelModel.builder().architecture(new X86_64Architecture())
                .vdsoTryUnlock(path == UnlockPath.VDSO).unlockPath(path).build(), kind);
    }

    /** The number of steps of a task up to and including the first step whose operation starts so. */
    private static int stepsThrough(List<Step> steps, String operation) {
        for (Step step : steps) {
            if (step.operation().startsWith(operation)) {
                return step.index() + 1;
            }
        }
        throw new AssertionError("no step " + operation + " in " + steps);
    }

    /**
     * Defect 2. C1 and C2 both get ESRCH from FUTEX_LOCK_PI for a vanished owner; C2 takes the mutex over
     * first; C1 must then not take it from C2 (it goes back to the kernel and waits for C2).
     */
    @ParameterizedTest
    @EnumSource(value = UnlockPath.class)
    void secondPiContenderDoesNotStealAfterEsrch(UnlockPath path) {
        int throughEsrch;
        try (World dry = world(path, MutexKind.PI)) {
            dry.vanishedOwner();
            RobustMutex mutex = dry.mutexIn(dry.model.newProcess());
            ModelThread c1 = dry.model.newProcess().newThread("C1");
            RobustMutex m1 = dry.mutexIn(c1.process());
            c1.start(m1::acquire);
            dry.model.runUntilQuiet();
            throughEsrch = stepsThrough(c1.steps(), "futex(FUTEX_LOCK_PI");
            assertTrue(mutex != null);
        }
        try (World w = world(path, MutexKind.PI)) {
            w.vanishedOwner();
            ModelThread c1 = w.model.newProcess().newThread("C1");
            ModelThread c2 = w.model.newProcess().newThread("C2");
            RobustMutex m1 = w.mutexIn(c1.process());
            RobustMutex m2 = w.mutexIn(c2.process());
            ModelTask<Acquisition> first = c1.start(m1::acquire);
            w.model.runSteps(c1, throughEsrch);
            assertEquals(ModelThread.State.RUNNABLE, c1.state(), "C1 paused right after its ESRCH");
            ModelTask<Acquisition> second = c2.start(m2::acquire);
            w.model.run(c2);
            assertTrue(second.result().ownerDied(), "C2 took the vanished owner's mutex over");
            assertEquals(c2.tid(), FutexWord.owner(w.word()));
            w.model.run(c1);
            assertFalse(first.isDone(), "C1 took the mutex from C2: two owners");
            assertEquals(ModelThread.State.BLOCKED, c1.state());
            assertEquals(c2.tid(), FutexWord.owner(w.word()));
            c2.start(() -> {
                second.result().markConsistent();
                second.result().close();
                return null;
            });
            w.model.runUntilQuiet();
            assertFalse(first.result().ownerDied(), "C2 released normally");
        }
    }

    /**
     * Defect 3. H releases (waking W1), takes the free word again before W1 runs, W1 is killed before it
     * re-acquires (its pending entry names a word H holds, so the kernel wakes nobody), and H's release finds no
     * WAITERS bit: W2 must still get the mutex, within a bounded delay, not sleep for ever on a free word.
     */
    @ParameterizedTest
    @EnumSource(value = UnlockPath.class)
    void wokenWaiterKilledWhileABargerHoldsLosesNoWakeUp(UnlockPath path) {
        try (World w = world(path, MutexKind.NORMAL)) {
            ModelThread h = w.model.newProcess().newThread("H");
            ModelThread w1 = w.model.newProcess().newThread("W1");
            ModelThread w2 = w.model.newProcess().newThread("W2");
            RobustMutex mh = w.mutexIn(h.process());
            RobustMutex m1 = w.mutexIn(w1.process());
            RobustMutex m2 = w.mutexIn(w2.process());
            h.start(() -> {
                mh.lock();
                return null;
            });
            w.model.run(h);
            w1.start(() -> {
                m1.lock();
                m1.unlock();
                return null;
            });
            w.model.run(w1);
            ModelTask<Boolean> patient = w2.start(() -> {
                try (Acquisition held = m2.acquire()) {
                    return held.ownerDied();
                }
            });
            w.model.run(w2);
            assertEquals(ModelThread.State.BLOCKED, w1.state());
            assertEquals(ModelThread.State.BLOCKED, w2.state());
            h.start(() -> {
                mh.unlock();
                mh.lock();
                return null;
            });
            w.model.run(h);
            assertEquals(ModelThread.State.RUNNABLE, w1.state(), "the release woke W1");
            assertEquals(h.tid(), FutexWord.owner(w.word()), "H barged in before W1 ran");
            w.model.deliverDeath(w1);
            h.start(() -> {
                mh.unlock();
                return null;
            });
            long released = w.model.nanoTime();
            w.model.runFor(HEAL_BOUND);
            assertTrue(patient.isDone(), "W2 is asleep on a free word; word " + FutexWord.describe(w.word()));
            assertFalse(patient.result());
            assertTrue(w.model.nanoTime() - released <= HEAL_BOUND);
        }
    }

    /**
     * Defect 4. A NORMAL word naming a thread that is gone, not flagged by the kernel: a waiter finds the
     * owner gone, takes the mutex over and reports the death.
     */
    @ParameterizedTest
    @EnumSource(value = UnlockPath.class)
    void normalWaiterTakesOverAVanishedOwner(UnlockPath path) {
        try (World w = world(path, MutexKind.NORMAL)) {
            w.vanishedOwner();
            ModelThread c = w.model.newProcess().newThread("C");
            RobustMutex mutex = w.mutexIn(c.process());
            ModelTask<Boolean> took = c.start(() -> {
                try (Acquisition held = mutex.acquire()) {
                    held.markConsistent();
                    return held.ownerDied();
                }
            });
            long start = w.model.nanoTime();
            w.model.runFor(HEAL_BOUND);
            assertTrue(took.isDone(), "the waiter sleeps behind a vanished owner; word "
                    + FutexWord.describe(w.word()));
            assertTrue(took.result(), "the owner's death was reported");
            assertTrue(w.model.nanoTime() - start <= HEAL_BOUND);
        }
    }

    /**
     * Defect 4, TID reuse. While a live thread that could hold a robust mutex (it has a robust list, as every
     * thread of a glibc process has) has the vanished owner's TID, the owner looks alive and nobody takes over
     * (a delay, never a live owner taken for dead); once that thread is gone too, a waiter takes over.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aReusedTidDelaysTheTakeOverButNeverMakesItWrong(MutexKind kind) {
        try (World w = world(UnlockPath.SYSCALL, kind)) {
            ModelThread ghost = w.vanishedOwner();
            ModelThread reuser = w.model.newProcess().newThread("reuser", ghost.tid());
            // The reuser registers its robust list by taking a mutex of its own once.
            RobustMutex own = reuser.process().map(w.model.newSharedObject("own", 4096)).mutex(0, kind);
            reuser.start(() -> {
                own.lock();
                own.unlock();
                return null;
            });
            w.model.run(reuser);
            ModelThread c = w.model.newProcess().newThread("C");
            RobustMutex mutex = w.mutexIn(c.process());
            ModelTask<Boolean> took = c.start(() -> {
                try (Acquisition held = mutex.acquire()) {
                    held.markConsistent();
                    return held.ownerDied();
                }
            });
            w.model.runFor(TimeUnit.SECONDS.toNanos(5));
            assertFalse(took.isDone(), "taken over while a live thread has the owner's TID");
            assertEquals(ghost.tid(), FutexWord.owner(w.word()));
            w.model.deliverDeath(reuser);
            w.model.runFor(HEAL_BOUND);
            assertTrue(took.isDone(), "no take-over once the TID named nothing again");
            assertTrue(took.result());
        }
    }

    /**
     * A NORMAL word naming a live thread that has no robust list: no holder of a robust mutex is without one
     * (every holder registers its list before it takes the word, and a thread's exit walk clears it), so the
     * TID is an earlier owner's, reused or kept by a thread that has exited; the waiter takes the word over at
     * its next re-check and reports the death.
     */
    @org.junit.jupiter.api.Test
    void aWordNamingAThreadWithoutARobustListIsTakenOver() {
        try (World w = world(UnlockPath.SYSCALL, MutexKind.NORMAL)) {
            ModelThread ghost = w.vanishedOwner();
            w.model.newProcess().newThread("reuser", ghost.tid());
            ModelThread c = w.model.newProcess().newThread("C");
            RobustMutex mutex = w.mutexIn(c.process());
            ModelTask<Boolean> took = c.start(() -> {
                try (Acquisition held = mutex.acquire()) {
                    held.markConsistent();
                    return held.ownerDied();
                }
            });
            w.model.runFor(HEAL_BOUND);
            assertTrue(took.isDone(), "not taken over from a TID whose thread has no robust list");
            assertTrue(took.result(), "the owner's death was reported");
        }
    }

    /**
     * Defect 5. A NORMAL word that holds the caller's own TID, though the caller does not hold the mutex: the
     * acquisition throws, as PI's does on EDEADLK, instead of sleeping for ever.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aWordNamingTheCallerIsRefused(MutexKind kind) {
        try (World w = world(UnlockPath.SYSCALL, kind)) {
            ModelThread c = w.model.newProcess().newThread("C");
            ModelRegion region = c.process().map(w.shm);
            RobustMutex mutex = region.mutex(0, kind);
            ModelTask<Acquisition> attempt = c.start(() -> {
                region.putInt(0, c.tid());
                return mutex.acquire();
            });
            w.model.runFor(HEAL_BOUND);
            assertTrue(attempt.isDone(), "the thread sleeps on a word that names itself");
            assertInstanceOf(IllegalStateException.class, attempt.failure());
            assertTrue(attempt.failure().getMessage().contains(String.valueOf(c.tid())),
                    attempt.failure().getMessage());
        }
    }
}
