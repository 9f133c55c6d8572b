package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.Errno;
import io.robustmutex.internal.FutexOp;
import io.robustmutex.internal.FutexWord;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernel's selftests of robust lists (tools/testing/selftests/futex/functional/robust_list.c, listed in
 * kernel-abi.md section 6), run against the model. Cases 8 and 9 (the vDSO try-unlock) need an architecture
 * description and run in the architecture modules ({@code VdsoModelContractTest}); the same cases run against
 * the real kernel in {@code RobustListSelftestsOnKernelTest}.
 *
 * <p>Layout in the mapped object: robust list heads at 0 and 32, lock words from 1024 with their list entries
 * 32 bytes after them (futex_offset -32).
 */
class RobustListSelftestsOnModelTest extends ModelFixture {

    private static final int WAITERS = FutexWord.WAITERS;

    private static int wordOffset(int i) {
        return 1024 + i * 64;
    }

    private static int entryOffset(int i) {
        return wordOffset(i) + 32;
    }

    /** Links entries {@code indexes} (in order) on the list of the head at {@code headOffset}. */
    private void linkList(int headOffset, int... indexes) {
        long previous = at(headOffset);
        for (int i : indexes) {
            mem.putLong((int) (previous - mem.address()), at(entryOffset(i)));
            previous = at(entryOffset(i));
        }
        mem.putLong((int) (previous - mem.address()), at(headOffset));
    }

    private ModelThread holderThatRegisters(int... locks) {
        ModelThread holder = process.newThread("holder");
        holder.start(() -> {
            ModelSyscalls.initHead(mem, at(0), -32);
            for (int i : locks) {
                mem.putInt(wordOffset(i), sys.gettid() | WAITERS);
            }
            linkList(0, locks);
            assertEquals(0, sys.setRobustList(at(0), 24));
            return null;
        });
        model.runUntilQuiet();
        return holder;
    }

    private ModelTask<Integer> waitOn(int lock, int value) {
        ModelThread waiter = process.newThread("waiter-" + lock);
        ModelTask<Integer> task = waiter.start(() -> sys.futex(at(wordOffset(lock)), FutexOp.FUTEX_WAIT, value, 0, 0));
        model.run(waiter);
        assertEquals(ModelThread.State.BLOCKED, waiter.state());
        return task;
    }

    /** 1. test_robustness: the holder exits; the waiting thread is woken and the word has OWNER_DIED. */
    @Test
    void robustness() {
        ModelThread holder = holderThatRegisters(0);
        ModelTask<Integer> waiter = waitOn(0, holder.tid() | WAITERS);
        model.deliverDeath(holder);
        model.runUntilQuiet();
        assertEquals(0, waiter.result());
        assertEquals(FutexWord.OWNER_DIED | WAITERS, mem.getInt(wordOffset(0)));
    }

    /** 2. test_set_robust_list_invalid_size: 24 is accepted; 48, 23 and 0 are EINVAL. */
    @Test
    void setRobustListInvalidSize() {
        ModelTask<int[]> task = process.newThread("t").start(() -> new int[] {
            sys.setRobustList(at(0), 24), sys.setRobustList(at(0), 48), sys.setRobustList(at(0), 23),
            sys.setRobustList(at(0), 0)});
        model.runUntilQuiet();
        assertEquals(List.of(0, -Errno.EINVAL, -Errno.EINVAL, -Errno.EINVAL),
                List.of(task.result()[0], task.result()[1], task.result()[2], task.result()[3]));
    }

    /** 3. test_get_robust_list_self: get returns the last head set, length 24. */
    @Test
    void getRobustListSelf() {
        ModelTask<long[]> task = process.newThread("t").start(() -> {
            sys.setRobustList(at(0), 24);
            sys.setRobustList(at(32), 24);
            long[] out = new long[2];
            assertEquals(0, sys.getRobustList(0, out));
            return out;
        });
        model.runUntilQuiet();
        assertEquals(at(32), task.result()[0]);
        assertEquals(24, task.result()[1]);
    }

    /** 4. test_get_robust_list_child: get by another thread's TID returns that thread's head. */
    @Test
    void getRobustListChild() {
        ModelThread child = process.newThread("child");
        child.start(() -> sys.setRobustList(at(32), 24));
        model.runUntilQuiet();
        ModelTask<long[]> task = process.newThread("parent").start(() -> {
            long[] out = new long[2];
            assertEquals(0, sys.getRobustList(child.tid(), out));
            return out;
        });
        model.runUntilQuiet();
        assertEquals(at(32), task.result()[0]);
        model.deliverDeath(child);
        ModelTask<Integer> gone = process.newThread("later").start(() -> sys.getRobustList(child.tid(), new long[2]));
        model.runUntilQuiet();
        assertEquals(-Errno.ESRCH, gone.result());
    }

    /** 5. test_set_list_op_pending: a lock held only through list_op_pending is released at exit. */
    @Test
    void setListOpPending() {
        ModelThread holder = process.newThread("holder");
        holder.start(() -> {
            ModelSyscalls.initHead(mem, at(0), -32);
            mem.putInt(wordOffset(0), sys.gettid() | WAITERS);
            mem.putLong(16, at(entryOffset(0)));
            return sys.setRobustList(at(0), 24);
        });
        model.runUntilQuiet();
        ModelTask<Integer> waiter = waitOn(0, holder.tid() | WAITERS);
        model.deliverDeath(holder);
        model.runUntilQuiet();
        assertEquals(0, waiter.result());
        assertEquals(FutexWord.OWNER_DIED | WAITERS, mem.getInt(wordOffset(0)));
    }

    /** 6. test_robust_list_multiple_elements: a holder of 10 locks exits; all 10 waiters see OWNER_DIED. */
    @Test
    void multipleElements() {
        int[] locks = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        ModelThread holder = holderThatRegisters(locks);
        List<ModelTask<Integer>> waiters = new ArrayList<>();
        for (int i : locks) {
            waiters.add(waitOn(i, holder.tid() | WAITERS));
        }
        model.deliverDeath(holder);
        model.runUntilQuiet();
        for (int i : locks) {
            assertEquals(0, waiters.get(i).result());
            assertEquals(FutexWord.OWNER_DIED | WAITERS, mem.getInt(wordOffset(i)), "lock " + i);
        }
    }

    /** 7. test_circular_list: a cycle not through the head ends the walk at the limit; the exit completes. */
    @Test
    void circularList() {
        ModelThread holder = process.newThread("holder");
        holder.start(() -> {
            ModelSyscalls.initHead(mem, at(0), -32);
            mem.putInt(wordOffset(0), sys.gettid());
            mem.putInt(wordOffset(1), sys.gettid());
            mem.putInt(wordOffset(2), sys.gettid());
            mem.putLong(0, at(entryOffset(0)));
            mem.putLong(entryOffset(0), at(entryOffset(1)));
            mem.putLong(entryOffset(1), at(entryOffset(0)));
            mem.putLong(16, at(entryOffset(2)));
            return sys.setRobustList(at(0), 24);
        });
        model.runUntilQuiet();
        model.deliverDeath(holder);
        assertTrue(holder.isDead());
        assertEquals(FutexWord.OWNER_DIED, mem.getInt(wordOffset(0)));
        assertEquals(FutexWord.OWNER_DIED, mem.getInt(wordOffset(1)));
        assertEquals(FutexWord.OWNER_DIED, mem.getInt(wordOffset(2)), "the pending entry is handled after the limit");
    }

    /**
     * 10. The robust unlock syscall with WAKE, WAKE_BITSET and UNLOCK_PI, each with and without
     * FUTEX_ROBUST_LIST32: returns 0, the word is 0, the pending slot is cleared (LIST32: its low half only).
     */
    @ParameterizedTest
    @ValueSource(ints = {FutexOp.FUTEX_WAKE, FutexOp.FUTEX_WAKE_BITSET, FutexOp.FUTEX_UNLOCK_PI,
            FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_LIST32, FutexOp.FUTEX_WAKE_BITSET | FutexOp.FUTEX_ROBUST_LIST32,
            FutexOp.FUTEX_UNLOCK_PI | FutexOp.FUTEX_ROBUST_LIST32})
    void robustUnlockSyscall(int op) {
        boolean list32 = (op & FutexOp.FUTEX_ROBUST_LIST32) != 0;
        int cmd = op & FutexOp.FUTEX_CMD_MASK;
        ModelTask<Integer> task = process.newThread("t").start(() -> {
            mem.putInt(wordOffset(0), sys.gettid());
            mem.putLong(16, 0x1111_2222_3333_4444L);
            int val = cmd == FutexOp.FUTEX_UNLOCK_PI ? 0 : 1;
            return sys.futex(at(wordOffset(0)), op | FutexOp.FUTEX_ROBUST_UNLOCK, val, at(16),
                    FutexOp.FUTEX_BITSET_MATCH_ANY);
        });
        model.runUntilQuiet();
        assertEquals(0, task.result());
        assertEquals(0, mem.getInt(wordOffset(0)));
        assertEquals(list32 ? 0x1111_2222_0000_0000L : 0, mem.getLong(16));
    }
}
