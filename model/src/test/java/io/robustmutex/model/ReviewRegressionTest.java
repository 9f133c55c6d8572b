package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.SyscallException;
import io.robustmutex.UnlockPath;
import io.robustmutex.internal.FutexOp;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.RobustListHeadDescriptor;
import java.util.Optional;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Liveness and error-path cases: a spent wake passed on, pending cleared on failure, process-wide faults. */
class ReviewRegressionTest {

    /**
     * A NORMAL waiter woken by an unlock, then interrupted before it could take the word (a barger took it),
     * passes the wake on: the other sleeper is not left asleep on a mutex that nobody will wake it for.
     */
    @ParameterizedTest
    @EnumSource(value = UnlockPath.class, names = {"CLASSIC", "SYSCALL"})
    void interruptedWaiterPassesOnItsWake(UnlockPath path) {
        try (KernelModel model = KernelModel.builder().unlockPath(path).build()) {
            SharedObject shm = model.newSharedObject("shm", 4096);
            ModelProcess a = model.newProcess();
            ModelProcess b = model.newProcess();
            RobustMutex ma = a.map(shm).mutex(0, MutexKind.NORMAL);
            RobustMutex mb = b.map(shm).mutex(0, MutexKind.NORMAL);
            ModelThread holder = a.newThread("holder");
            holder.start(ma::acquire);
            model.runUntilQuiet();
            ModelThread first = b.newThread("interruptible");
            ModelTask<String> interrupted = first.start(() -> {
                try {
                    mb.lockInterruptibly();
                    return "acquired";
                } catch (InterruptedException e) {
                    return "interrupted";
                }
            });
            model.run(first);
            ModelThread second = b.newThread("patient");
            ModelTask<Boolean> patient = second.start(() -> {
                try (Acquisition held = mb.acquire()) {
                    return held.ownerDied();
                }
            });
            model.run(second);
            assertEquals(ModelThread.State.BLOCKED, first.state());
            assertEquals(ModelThread.State.BLOCKED, second.state());

            holder.start(() -> {
                ma.unlock();
                return null;
            });
            model.run(holder);
            assertEquals(ModelThread.State.RUNNABLE, first.state(), "the single wake went to the first sleeper");
            ModelThread barger = a.newThread("barger");
            ModelTask<Optional<Acquisition>> barged = barger.start(ma::tryAcquire);
            model.run(barger);
            assertTrue(barged.result().isPresent(), "the barger took the free word before the woken waiter ran");

            first.interrupt();
            model.run(first);
            assertEquals("interrupted", interrupted.result());
            barger.start(() -> {
                barged.result().orElseThrow().close();
                return null;
            });
            model.runUntilQuiet();
            assertFalse(patient.result(), "the patient waiter got the mutex");
            assertEquals(ModelThread.State.IDLE, second.state());
        }
    }

    /** A release the kernel refuses (the word was overwritten) leaves no pending entry behind. */
    @ParameterizedTest
    @EnumSource(value = UnlockPath.class, names = {"CLASSIC", "SYSCALL"})
    void refusedReleaseClearsPending(UnlockPath path) {
        try (KernelModel model = KernelModel.builder().unlockPath(path).build()) {
            ModelProcess a = model.newProcess();
            ModelRegion region = a.map(model.newSharedObject("shm", 4096));
            RobustMutex mutex = region.mutex(0, MutexKind.PI);
            ModelThread thread = a.newThread("t");
            thread.start(mutex::acquire);
            model.runUntilQuiet();
            region.putInt(0, 4242);
            ModelTask<Boolean> unlock = thread.start(() -> {
                mutex.unlock();
                return true;
            });
            model.runUntilQuiet();
            SyscallException failure = assertInstanceOf(SyscallException.class, unlock.failure());
            assertEquals("EPERM", failure.errnoName());
            KernelModel.Location pending = a.resolve(
                    thread.robustHead + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 8);
            assertEquals(0, model.load64(pending));
            ModelTask<Boolean> held = thread.start(mutex::isHeldByCurrentThread);
            model.runUntilQuiet();
            assertFalse(held.result());
        }
    }

    /** Deaths are delivered by the driver; a simulated thread cannot kill another through the driver API. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void killFromASimulatedThreadIsRefused(boolean wholeProcess) {
        try (KernelModel model = KernelModel.builder().build()) {
            ModelProcess a = model.newProcess();
            ModelThread victim = a.newThread("victim");
            ModelThread killer = a.newThread("killer");
            ModelTask<Object> attempt = killer.start(() -> {
                if (wholeProcess) {
                    a.kill();
                } else {
                    victim.kill();
                }
                return null;
            });
            model.runUntilQuiet();
            assertInstanceOf(IllegalStateException.class, attempt.failure());
            assertEquals(ModelThread.State.IDLE, killer.state());
        }
    }

    /** A PI owner that dies with a waiter hands the lock over with OWNER_DIED, even if its list missed it. */
    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void piHandOffAlwaysCarriesOwnerDied(boolean waiterTimedOutFirst) {
        try (KernelModel model = KernelModel.builder().build()) {
            ModelProcess process = model.newProcess();
            ModelRegion mem = process.map(model.newSharedObject("pi", 4096));
            ModelSyscalls sys = new ModelSyscalls(process);
            ModelThread owner = process.newThread("owner");
            owner.start(() -> sys.futex(mem.address(), FutexOp.FUTEX_LOCK_PI, 0, 0, 0));
            model.runUntilQuiet();
            if (waiterTimedOutFirst) {
                ModelThread impatient = process.newThread("impatient");
                ModelTask<Integer> timedOut = impatient.start(() ->
                        sys.futexWithDeadline(mem.address(), FutexOp.FUTEX_LOCK_PI2, 0, model.nanoTime() + 1000));
                model.runUntilQuiet();
                assertEquals(-io.robustmutex.internal.Errno.ETIMEDOUT, timedOut.result());
            }
            ModelThread waiter = process.newThread("waiter");
            ModelTask<Integer> waited = waiter.start(() -> sys.futex(mem.address(), FutexOp.FUTEX_LOCK_PI, 0, 0, 0));
            model.run(waiter);
            owner.kill();
            model.runUntilQuiet();
            assertEquals(0, waited.result());
            assertEquals(waiter.tid() | FutexWord.WAITERS | FutexWord.OWNER_DIED, mem.getInt(0));
        }
    }

    /** A thread that touches unmapped memory takes its whole process down; its locks are released. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void segmentationFaultKillsTheProcess(MutexKind kind) {
        try (KernelModel model = KernelModel.builder().build()) {
            SharedObject shm = model.newSharedObject("shm", 4096);
            ModelProcess a = model.newProcess();
            ModelProcess b = model.newProcess();
            RobustMutex ma = a.map(shm).mutex(0, kind);
            RobustMutex mb = b.map(shm).mutex(0, kind);
            ModelRegion scratch = a.map(model.newSharedObject("scratch", 4096));
            ModelThread holder = a.newThread("holder");
            holder.start(ma::acquire);
            model.runUntilQuiet();
            ModelThread faulty = a.newThread("faulty");
            ModelTask<Object> crash = faulty.start(() -> {
                scratch.unmap();
                return scratch.getLong(0);
            });
            model.runUntilQuiet();
            assertTrue(crash.failure() != null && crash.failure().getMessage().contains("SIGSEGV"));
            assertTrue(faulty.isDead());
            assertTrue(holder.isDead(), "SIGSEGV killed every thread of the process");
            ModelTask<Boolean> next = b.newThread("next").start(() -> {
                try (Acquisition held = mb.acquire()) {
                    return held.ownerDied();
                }
            });
            model.runUntilQuiet();
            assertTrue(next.result());
        }
    }
}
