package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.Errno;
import io.robustmutex.internal.FutexOp;
import io.robustmutex.internal.FutexWord;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/** The model's kernel rules, each against the sentence of kernel-abi.md it implements. */
class KernelRulesTest extends ModelFixture {

    private <T> T onThread(Callable<T> body) {
        ModelTask<T> task = process.newThread("t").start(body);
        model.runUntilQuiet();
        return task.result();
    }

    /** 4.1: before 7.2 every {@code op | FUTEX_ROBUST_UNLOCK} is ENOSYS and touches nothing. */
    @Test
    void pre72RobustUnlockIsEnosys() {
        try (KernelModel old = KernelModel.builder().release(KernelModel.Release.PRE_7_2).build()) {
            ModelProcess p = old.newProcess();
            ModelRegion m = p.map(old.newSharedObject("old", 4096));
            ModelSyscalls s = new ModelSyscalls(p);
            ModelTask<Integer> task = p.newThread("t").start(() -> {
                m.putInt(0, s.gettid());
                m.putLong(8, 77);
                return s.futex(m.address(), FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_UNLOCK, 1, m.address() + 8, 0);
            });
            old.runUntilQuiet();
            assertEquals(-Errno.ENOSYS, task.result());
            assertEquals(task.thread().tid(), m.getInt(0));
            assertEquals(77, m.getLong(8));
            assertEquals(io.robustmutex.UnlockPath.CLASSIC, old.unlockPath());
        }
    }

    /** 4.4: the detection probe, WAKE_BITSET | ROBUST_UNLOCK with bitset 0, is EINVAL with no side effect. */
    @Test
    void zeroBitsetIsEinvalWithoutSideEffect() {
        int result = onThread(() -> {
            mem.putInt(0, sys.gettid());
            mem.putLong(8, 77);
            return sys.futex(at(0), FutexOp.FUTEX_WAKE_BITSET | FutexOp.FUTEX_ROBUST_UNLOCK, 1, at(8), 0);
        });
        assertEquals(-Errno.EINVAL, result);
        assertTrue(mem.getInt(0) != 0);
        assertEquals(77, mem.getLong(8));
    }

    /** 4.1: any command other than WAKE, WAKE_BITSET and UNLOCK_PI with the flag is ENOSYS. */
    @Test
    void otherCommandsWithTheFlagAreEnosys() {
        assertEquals(-Errno.ENOSYS, (int) onThread(() ->
                sys.futex(at(0), FutexOp.FUTEX_LOCK_PI | FutexOp.FUTEX_ROBUST_UNLOCK, 0, at(8), 0)));
    }

    /** 4.1: UNLOCK_PI by a thread whose TID is not in the word is EPERM; nothing modified, slot kept. */
    @Test
    void robustUnlockPiByNonOwnerIsEpermAndClearsNothing() {
        int result = onThread(() -> {
            mem.putInt(0, 4242);
            mem.putLong(8, 77);
            return sys.futex(at(0), FutexOp.FUTEX_UNLOCK_PI | FutexOp.FUTEX_ROBUST_UNLOCK, 0, at(8), 0);
        });
        assertEquals(-Errno.EPERM, result);
        assertEquals(4242, mem.getInt(0));
        assertEquals(77, mem.getLong(8));
    }

    /** 4.1: WAKE stores 0 without checking ownership. */
    @Test
    void robustUnlockWakeDoesNotCheckOwnership() {
        assertEquals(0, (int) onThread(() -> {
            mem.putInt(0, 4242 | FutexWord.WAITERS);
            return sys.futex(at(0), FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_UNLOCK, 1, at(8), 0);
        }));
        assertEquals(0, mem.getInt(0));
    }

    /** 4.1: an unwritable slot is EFAULT after the release; the registered head's slot unregisters the list. */
    @Test
    void unwritableSlotIsEfaultAfterReleaseAndUnregisters() {
        ModelTask<Integer> task = process.newThread("t").start(() -> {
            mem.putInt(0, sys.gettid());
            return sys.futex(at(0), FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_UNLOCK, 1, 0x1000, 0);
        });
        model.runUntilQuiet();
        assertEquals(-Errno.EFAULT, task.result());
        assertEquals(0, mem.getInt(0), "released before the slot write failed");

        ModelRegion heads = process.map(model.newSharedObject("heads", 4096));
        ModelTask<long[]> registered = process.newThread("u").start(() -> {
            ModelSyscalls.initHead(heads, heads.address(), -32);
            sys.setRobustList(heads.address(), 24);
            mem.putInt(0, sys.gettid());
            heads.unmap();
            int result = sys.futex(at(0), FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_UNLOCK, 1,
                    heads.address() + 16, 0);
            long[] head = new long[2];
            sys.getRobustList(0, head);
            return new long[] {result, head[0]};
        });
        model.runUntilQuiet();
        assertEquals(-Errno.EFAULT, registered.result()[0]);
        assertEquals(0, mem.getInt(0), "released before the slot write failed");
        assertEquals(0, registered.result()[1], "the registered head's slot failed: the list is unregistered");
    }

    /** 4.1: with a PI waiter on the word, WAKE | ROBUST_UNLOCK unlocks, then answers EINVAL. */
    @Test
    void piWaiterOnAWakeIsEinvalAfterTheUnlock() {
        ModelThread owner = process.newThread("owner");
        owner.start(() -> sys.futex(at(0), FutexOp.FUTEX_LOCK_PI, 0, 0, 0));
        model.runUntilQuiet();
        ModelThread waiter = process.newThread("pi-waiter");
        waiter.start(() -> sys.futex(at(0), FutexOp.FUTEX_LOCK_PI, 0, 0, 0));
        model.run(waiter);
        assertEquals(ModelThread.State.BLOCKED, waiter.state());
        ModelTask<Integer> wake = owner.start(() ->
                sys.futex(at(0), FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_UNLOCK, 1, at(8), 0));
        model.run(owner);
        assertEquals(-Errno.EINVAL, wake.result());
        assertEquals(0, mem.getInt(0));
    }

    /** 5: LOCK_PI takes over a word holding only OWNER_DIED and keeps the bit; EDEADLK on our own TID. */
    @Test
    void lockPiTakesOverOwnerDiedWord() {
        int[] results = onThread(() -> {
            mem.putInt(0, FutexWord.OWNER_DIED);
            int first = sys.futex(at(0), FutexOp.FUTEX_LOCK_PI2, 0, 0, 0);
            int again = sys.futex(at(0), FutexOp.FUTEX_LOCK_PI2, 0, 0, 0);
            return new int[] {first, again, sys.gettid()};
        });
        assertEquals(0, results[0]);
        assertEquals(-Errno.EDEADLK, results[1]);
        assertEquals(results[2] | FutexWord.OWNER_DIED, mem.getInt(0));
    }

    /**
     * A PI word naming a TID that does not exist gives ESRCH, after the kernel set WAITERS in it: the first
     * waiter sets the bit before it looks the owner up (kernel/futex/pi.c, futex_lock_pi_atomic).
     */
    @Test
    void lockPiOnAVanishedOwnerIsEsrchWithWaitersSet() {
        assertEquals(-Errno.ESRCH, (int) onThread(() -> {
            mem.putInt(0, 999_999);
            return sys.futex(at(0), FutexOp.FUTEX_LOCK_PI2, 0, 0, 0);
        }));
        assertEquals(999_999 | FutexWord.WAITERS, mem.getInt(0));
    }

    /** TRYLOCK_PI on a word held by a live owner sets WAITERS, then answers EAGAIN; the bit stays. */
    @Test
    void trylockPiOnAHeldWordSetsWaiters() {
        ModelThread owner = process.newThread("owner");
        owner.start(() -> sys.futex(at(0), FutexOp.FUTEX_LOCK_PI, 0, 0, 0));
        model.runUntilQuiet();
        assertEquals(owner.tid(), mem.getInt(0));
        assertEquals(-Errno.EAGAIN, (int) onThread(() -> sys.futex(at(0), FutexOp.FUTEX_TRYLOCK_PI, 0, 0, 0)));
        assertEquals(owner.tid() | FutexWord.WAITERS, mem.getInt(0));
    }

    /** LOCK_PI2 with a deadline already past sets WAITERS, then answers ETIMEDOUT; the bit stays. */
    @Test
    void lockPiTimeoutLeavesWaitersSet() {
        ModelThread owner = process.newThread("owner");
        owner.start(() -> sys.futex(at(0), FutexOp.FUTEX_LOCK_PI, 0, 0, 0));
        model.runUntilQuiet();
        assertEquals(-Errno.ETIMEDOUT, (int) onThread(() ->
                sys.futexWithDeadline(at(0), FutexOp.FUTEX_LOCK_PI2, 0, model.nanoTime())));
        assertEquals(owner.tid() | FutexWord.WAITERS, mem.getInt(0));
    }

    /**
     * On 7.2 FUTEX_ROBUST_LIST32 without FUTEX_ROBUST_UNLOCK is accepted and ignored (kernel/futex/core.c reads
     * it only to clear the slot); before 7.2 the bit made an unknown command, ENOSYS.
     */
    @Test
    void robustList32AloneIsIgnoredOn72AndEnosysBefore() {
        assertEquals(-Errno.EAGAIN, (int) onThread(() ->
                sys.futex(at(0), FutexOp.FUTEX_WAIT | FutexOp.FUTEX_ROBUST_LIST32, 5, 0, 0)));
        try (KernelModel old = KernelModel.builder().release(KernelModel.Release.PRE_7_2).build()) {
            ModelProcess p = old.newProcess();
            ModelRegion m = p.map(old.newSharedObject("old", 4096));
            ModelSyscalls s = new ModelSyscalls(p);
            ModelTask<Integer> task = p.newThread("t").start(() ->
                    s.futex(m.address(), FutexOp.FUTEX_WAIT | FutexOp.FUTEX_ROBUST_LIST32, 5, 0, 0));
            old.runUntilQuiet();
            assertEquals(-Errno.ENOSYS, task.result());
        }
    }

    /** FUTEX_WAKE counts a wake before comparing with the limit: a count of 0 (or less) wakes one. */
    @Test
    void wakeWithCountZeroWakesOne() {
        ModelThread w1 = process.newThread("w1");
        ModelThread w2 = process.newThread("w2");
        w1.start(() -> sys.futex(at(0), FutexOp.FUTEX_WAIT, 0, 0, 0));
        w2.start(() -> sys.futex(at(0), FutexOp.FUTEX_WAIT, 0, 0, 0));
        model.run(w1);
        model.run(w2);
        assertEquals(1, (int) onThread(() -> sys.futex(at(0), FutexOp.FUTEX_WAKE, 0, 0, 0)));
        assertEquals(ModelThread.State.IDLE, w1.state());
        assertEquals(ModelThread.State.BLOCKED, w2.state());
        assertEquals(1, (int) onThread(() -> sys.futex(at(0), FutexOp.FUTEX_WAKE, -5, 0, 0)));
        assertEquals(ModelThread.State.IDLE, w2.state());
    }

    /** 3: the walk checks no alignment of entry pointers, only that the lock word is 4-aligned. */
    @Test
    void entryPointersNeedNoAlignment() {
        ModelThread holder = process.newThread("holder");
        holder.start(() -> {
            int tid = sys.gettid();
            ModelSyscalls.initHead(mem, at(0), -32);
            mem.putInt(1028, tid);
            mem.putLong(0, at(1028 + 32));
            // The entry's next field is 4 bytes off an 8-byte boundary: written as two halves.
            mem.putInt(1028 + 32, (int) at(0));
            mem.putInt(1028 + 36, (int) (at(0) >>> 32));
            return sys.setRobustList(at(0), 24);
        });
        model.runUntilQuiet();
        model.deliverDeath(holder);
        assertEquals(FutexWord.OWNER_DIED, mem.getInt(1028), "an entry 4 bytes off an 8-byte boundary is walked");
    }

    /**
     * 5: the walk compares the word with the dying thread's TID in its own PID namespace, so a thread of another
     * namespace that has the owner's number, dying with the record in its pending slot, marks a word that a
     * live thread holds: the kernel fact that makes every robust lock unsafe between namespaces.
     */
    @Test
    void exitWalkComparesNamespaceLocalTids() {
        ModelProcess container = model.newProcess(model.newPidNamespace());
        ModelRegion shared = container.map(mem.object());
        ModelSyscalls containerSys = new ModelSyscalls(container);
        ModelThread owner = process.newThread("owner");
        owner.start(() -> {
            mem.putInt(2048, sys.gettid());
            return null;
        });
        model.runUntilQuiet();
        ModelThread twin = container.newThread("twin");
        assertEquals(owner.tid(), twin.tid(), "two namespaces number their first threads alike");
        twin.start(() -> {
            ModelSyscalls.initHead(shared, shared.address(), -32);
            shared.putLong(16, shared.address() + 2048 + 32);
            return containerSys.setRobustList(shared.address(), 24);
        });
        model.runUntilQuiet();
        model.deliverDeath(twin);
        assertEquals(FutexWord.OWNER_DIED, mem.getInt(2048), "the live owner's word was marked by another's death");
        assertTrue(!owner.isDead());
    }

    /** 5: LOCK_PI looks the owner up in the caller's namespace: its own number there is EDEADLK. */
    @Test
    void lockPiSeesTheCallersNamespace() {
        ModelProcess container = model.newProcess(model.newPidNamespace());
        ModelRegion shared = container.map(mem.object());
        ModelSyscalls containerSys = new ModelSyscalls(container);
        ModelThread owner = process.newThread("owner");
        owner.start(() -> sys.futex(at(0), FutexOp.FUTEX_LOCK_PI, 0, 0, 0));
        model.runUntilQuiet();
        ModelTask<Integer> foreign = container.newThread("twin").start(() ->
                containerSys.futex(shared.address(), FutexOp.FUTEX_LOCK_PI, 0, 0, 0));
        model.runUntilQuiet();
        assertEquals(-Errno.EDEADLK, foreign.result());
    }

    /** A dead thread's TID can be given to a new thread; a live thread's cannot. */
    @Test
    void tidsAreReusedOnlyAfterDeath() {
        ModelThread first = process.newThread("first");
        assertThrows(IllegalArgumentException.class, () -> process.newThread("clash", first.tid()));
        model.deliverDeath(first);
        ModelThread reuse = process.newThread("reuse", first.tid());
        assertEquals(first.tid(), reuse.tid());
        assertEquals(reuse, model.thread(first.tid()));
        long[] head = new long[2];
        assertEquals(0, (int) onThread(() -> sys.getRobustList(reuse.tid(), head)), "the new thread is found");
    }

    /** The proposed robust wake leaves WAITERS when waiters stay queued after the wake, and 0 otherwise. */
    @Test
    void proposedRobustWakeKeepsWaitersWhileWaitersRemain() {
        try (KernelModel proposal = KernelModel.builder().robustWakeStoresWaiters(true).build()) {
            ModelProcess p = proposal.newProcess();
            ModelRegion m = p.map(proposal.newSharedObject("proposal", 4096));
            ModelSyscalls s = new ModelSyscalls(p);
            m.putInt(0, 77 | FutexWord.WAITERS);
            for (String name : List.of("w1", "w2")) {
                p.newThread(name).start(() -> s.futex(m.address(), FutexOp.FUTEX_WAIT, 77 | FutexWord.WAITERS, 0, 0));
            }
            proposal.runUntilQuiet();
            ModelThread unlocker = p.newThread("unlocker");
            ModelTask<Integer> first = unlocker.start(() ->
                    s.futex(m.address(), FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_UNLOCK, 1, m.address() + 8, 0));
            proposal.run(unlocker);
            assertEquals(1, first.result());
            assertEquals(FutexWord.WAITERS, m.getInt(0), "one waiter is still queued");
            ModelTask<Integer> second = unlocker.start(() ->
                    s.futex(m.address(), FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_UNLOCK, 1, m.address() + 8, 0));
            proposal.run(unlocker);
            assertEquals(1, second.result());
            assertEquals(0, m.getInt(0), "nobody is left");
        }
    }

    /** An injected result replaces the futex call: a wait returns at once, as after a spurious wake-up. */
    @Test
    void injectedResultReplacesTheCall() {
        ModelThread waiter = process.newThread("waiter").injectResultAtStep(0, 0);
        ModelTask<Integer> spurious = waiter.start(() -> sys.futex(at(0), FutexOp.FUTEX_WAIT, 0, 0, 0));
        model.runUntilQuiet();
        assertEquals(0, spurious.result());
        assertEquals(ModelThread.State.IDLE, waiter.state(), "it never slept");
    }

    /** 3: a dying PI owner's contended lock goes to its top waiter: new_tid | WAITERS | OWNER_DIED. */
    @Test
    void piHandOffAtOwnerDeath() {
        ModelThread owner = process.newThread("owner");
        owner.start(() -> {
            ModelSyscalls.initHead(mem, at(64), -32);
            sys.setRobustList(at(64), 24);
            int locked = sys.futex(at(1024), FutexOp.FUTEX_LOCK_PI2, 0, 0, 0);
            mem.putLong(64, at(1024 + 32) | 1);
            mem.putLong(1024 + 32, at(64));
            return locked;
        });
        model.runUntilQuiet();
        ModelThread waiter = process.newThread("waiter");
        ModelTask<Integer> waited = waiter.start(() -> sys.futex(at(1024), FutexOp.FUTEX_LOCK_PI2, 0, 0, 0));
        model.run(waiter);
        model.deliverDeath(owner);
        model.runUntilQuiet();
        assertEquals(0, waited.result());
        assertEquals(waiter.tid() | FutexWord.WAITERS | FutexWord.OWNER_DIED, mem.getInt(1024));
    }

    /**
     * 3: the walk stops at an entry whose lock word is misaligned (the entry pointer itself needs no alignment);
     * the rest and the pending entry are not handled.
     */
    @Test
    void misalignedEntryStopsTheWalk() {
        ModelThread holder = process.newThread("holder");
        holder.start(() -> {
            int tid = sys.gettid();
            ModelSyscalls.initHead(mem, at(0), -32);
            mem.putInt(1024, tid);
            mem.putInt(2048, tid);
            mem.putInt(3072, tid);
            mem.putLong(0, at(1024 + 32));
            mem.putLong(1024 + 32, at(2048 + 32) + 2);
            mem.putLong(16, at(3072 + 32));
            return sys.setRobustList(at(0), 24);
        });
        model.runUntilQuiet();
        model.deliverDeath(holder);
        assertEquals(FutexWord.OWNER_DIED, mem.getInt(1024), "handled before the misaligned entry");
        assertEquals(holder.tid(), mem.getInt(2048), "not handled: the entry's lock word is misaligned");
        assertEquals(holder.tid(), mem.getInt(3072), "the pending entry is not handled after an abort");
    }

    /** 3: the walk stops at an unreadable entry, after handling the entry whose next could not be read. */
    @Test
    void unreadableEntryStopsTheWalk() {
        ModelThread holder = process.newThread("holder");
        holder.start(() -> {
            int tid = sys.gettid();
            ModelSyscalls.initHead(mem, at(0), -32);
            mem.putInt(1024, tid);
            mem.putInt(3072, tid);
            mem.putLong(0, at(1024 + 32));
            mem.putLong(1024 + 32, 0x10_0000);
            mem.putLong(16, at(3072 + 32));
            return sys.setRobustList(at(0), 24);
        });
        model.runUntilQuiet();
        model.deliverDeath(holder);
        assertEquals(FutexWord.OWNER_DIED, mem.getInt(1024));
        assertEquals(holder.tid(), mem.getInt(3072), "the pending entry is not handled after an abort");
    }

    /** 3: an entry that is also list_op_pending is handled once, last. */
    @Test
    void pendingEntryOnTheListIsHandledOnce() {
        ModelThread holder = process.newThread("holder");
        holder.start(() -> {
            ModelSyscalls.initHead(mem, at(0), -32);
            mem.putInt(1024, sys.gettid() | FutexWord.WAITERS);
            mem.putLong(0, at(1024 + 32));
            mem.putLong(1024 + 32, at(0));
            mem.putLong(16, at(1024 + 32));
            return sys.setRobustList(at(0), 24);
        });
        model.runUntilQuiet();
        ModelThread w1 = process.newThread("w1");
        ModelThread w2 = process.newThread("w2");
        ModelTask<Integer> first = w1.start(() -> sys.futex(at(1024), FutexOp.FUTEX_WAIT,
                holder.tid() | FutexWord.WAITERS, 0, 0));
        ModelTask<Integer> second = w2.start(() -> sys.futex(at(1024), FutexOp.FUTEX_WAIT,
                holder.tid() | FutexWord.WAITERS, 0, 0));
        model.run(w1);
        model.run(w2);
        model.deliverDeath(holder);
        assertEquals(ModelThread.State.RUNNABLE, w1.state());
        assertEquals(ModelThread.State.BLOCKED, w2.state(), "one death, one wake");
        model.runUntilQuiet();
        assertEquals(0, first.result());
        assertTrue(!second.isDone());
    }

    /** A FUTEX_WAIT with a timeout returns ETIMEDOUT when model time reaches it; EAGAIN on a changed word. */
    @Test
    void waitTimesOutInModelTime() {
        long before = model.nanoTime();
        int[] results = onThread(() -> new int[] {
            sys.futex(at(0), FutexOp.FUTEX_WAIT, 5, 0, 0),
            sys.futexWithDeadline(at(0), FutexOp.FUTEX_WAIT, 0, model.nanoTime() + 1_000_000)});
        assertEquals(-Errno.EAGAIN, results[0]);
        assertEquals(-Errno.ETIMEDOUT, results[1]);
        assertEquals(before + 1_000_000, model.nanoTime());
    }
}
