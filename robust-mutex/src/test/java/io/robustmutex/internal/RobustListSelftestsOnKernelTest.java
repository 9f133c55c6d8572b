package io.robustmutex.internal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.robustmutex.spi.PendingSlotWidth;
import io.robustmutex.spi.VdsoRobustUnlockSymbols;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernel's robust-list selftests (tools/testing/selftests/futex/functional/robust_list.c, as listed in
 * kernel-abi.md section 6) against the running kernel. Cases 8 to 10 need Linux 7.2 and are skipped, naming
 * the feature, where it is missing; {@code RobustListSelftestsOnModelTest} runs every case on the model.
 *
 * <p>Each case runs its robust-list owner on a fresh thread that registers its own head (replacing glibc's
 * for that thread only) and then exits; the memory stays referenced until the kernel has walked it.
 */
class RobustListSelftestsOnKernelTest {

    private static final int WAITERS = FutexWord.WAITERS;

    private final LinuxSyscalls sys = LinuxPlatform.get().syscalls();
    private final ByteBuffer memory = NativeMemory.allocateAligned(8192, 64);
    private final long base = NativeMemory.address(memory);

    private long at(int offset) {
        return base + offset;
    }

    private static int word(int i) {
        return 1024 + i * 64;
    }

    private static int entry(int i) {
        return word(i) + 32;
    }

    private void initHead(int head) {
        memory.putLong(head, at(head));
        memory.putLong(head + 8, -32);
        memory.putLong(head + 16, 0);
    }

    private void link(int head, int... locks) {
        int previous = head;
        for (int i : locks) {
            memory.putLong(previous, at(entry(i)));
            previous = entry(i);
        }
        memory.putLong(previous, at(head));
    }

    /** A thread that runs {@code setup} with its TID, signals, then exits when released. */
    private final class Owner {
        final CountDownLatch ready = new CountDownLatch(1);
        final CountDownLatch exit = new CountDownLatch(1);
        final Thread thread;
        volatile int tid;

        Owner(java.util.function.IntConsumer setup) {
            thread = new Thread(() -> {
                tid = sys.gettid();
                setup.accept(tid);
                ready.countDown();
                try {
                    exit.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "robust-list-owner");
            thread.start();
            try {
                assertTrue(ready.await(30, TimeUnit.SECONDS));
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }

        void exitAndJoin() throws InterruptedException {
            exit.countDown();
            thread.join(30_000);
            assertTrue(!thread.isAlive(), "the owner thread exited");
        }
    }

    /** A thread asleep in FUTEX_WAIT on a word, reported once the kernel shows it inside futex(). */
    private CompletableFuture<Long> sleepOn(int offset, int value) {
        CompletableFuture<Long> result = new CompletableFuture<>();
        int[] tid = new int[1];
        CountDownLatch started = new CountDownLatch(1);
        Thread waiter = new Thread(() -> {
            tid[0] = sys.gettid();
            started.countDown();
            result.complete(sys.futex(at(offset), FutexOp.FUTEX_WAIT, value, 0, 0, 0));
        }, "futex-waiter");
        waiter.setDaemon(true);
        waiter.start();
        try {
            assertTrue(started.await(30, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        long futex = sys.numbers().futex();
        await().atMost(Duration.ofSeconds(30)).until(() -> result.isDone() || inSyscall(tid[0], futex));
        return result;
    }

    /** Whether a thread of this process is blocked in the given syscall (/proc/self/task/TID/syscall). */
    private static boolean inSyscall(int tid, long number) throws IOException {
        String line = Files.readString(Path.of("/proc/self/task/" + tid + "/syscall")).trim();
        return line.startsWith(number + " ");
    }

    /** 1. test_robustness: the holder exits; the sleeping waiter is woken; the word has OWNER_DIED. */
    @Test
    void robustness() throws Exception {
        Owner owner = new Owner(tid -> {
            initHead(0);
            memory.putInt(word(0), tid | WAITERS);
            link(0, 0);
            assertEquals(0, sys.setRobustList(at(0), 24));
        });
        CompletableFuture<Long> waiter = sleepOn(word(0), owner.tid | WAITERS);
        owner.exitAndJoin();
        assertEquals(0, waiter.get(30, TimeUnit.SECONDS));
        assertEquals(FutexWord.OWNER_DIED | WAITERS, memory.getInt(word(0)));
    }

    /** 2. test_set_robust_list_invalid_size: 24 is accepted; 48, 23 and 0 are EINVAL. */
    @Test
    void setRobustListInvalidSize() throws Exception {
        List<Long> results = new ArrayList<>();
        Owner owner = new Owner(tid -> {
            initHead(0);
            results.add(sys.setRobustList(at(0), 24));
            results.add(sys.setRobustList(at(0), 48));
            results.add(sys.setRobustList(at(0), 23));
            results.add(sys.setRobustList(at(0), 0));
        });
        owner.exitAndJoin();
        assertEquals(List.of(0L, (long) -Errno.EINVAL, (long) -Errno.EINVAL, (long) -Errno.EINVAL), results);
    }

    /** 3. test_get_robust_list_self: get returns the last head set, with length 24. */
    @Test
    void getRobustListSelf() throws Exception {
        long[] out = new long[2];
        Owner owner = new Owner(tid -> {
            initHead(0);
            initHead(32);
            sys.setRobustList(at(0), 24);
            sys.setRobustList(at(32), 24);
            assertEquals(0, sys.getRobustList(0, out));
        });
        owner.exitAndJoin();
        assertEquals(at(32), out[0]);
        assertEquals(24, out[1]);
    }

    /** 4. test_get_robust_list_child: get by another thread's TID returns that thread's head. */
    @Test
    void getRobustListChild() throws Exception {
        Owner owner = new Owner(tid -> {
            initHead(32);
            sys.setRobustList(at(32), 24);
        });
        long[] out = new long[2];
        assertEquals(0, sys.getRobustList(owner.tid, out));
        assertEquals(at(32), out[0]);
        assertEquals(24, out[1]);
        owner.exitAndJoin();
    }

    /** 5. test_set_list_op_pending: a lock held only through list_op_pending is released at exit. */
    @Test
    void setListOpPending() throws Exception {
        Owner owner = new Owner(tid -> {
            initHead(0);
            memory.putInt(word(0), tid | WAITERS);
            memory.putLong(16, at(entry(0)));
            assertEquals(0, sys.setRobustList(at(0), 24));
        });
        CompletableFuture<Long> waiter = sleepOn(word(0), owner.tid | WAITERS);
        owner.exitAndJoin();
        assertEquals(0, waiter.get(30, TimeUnit.SECONDS));
        assertEquals(FutexWord.OWNER_DIED | WAITERS, memory.getInt(word(0)));
    }

    /** 6. test_robust_list_multiple_elements: a holder of 10 locks exits; all 10 waiters see OWNER_DIED. */
    @Test
    void multipleElements() throws Exception {
        int[] locks = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        Owner owner = new Owner(tid -> {
            initHead(0);
            for (int i : locks) {
                memory.putInt(word(i), tid | WAITERS);
            }
            link(0, locks);
            assertEquals(0, sys.setRobustList(at(0), 24));
        });
        List<CompletableFuture<Long>> waiters = new ArrayList<>();
        for (int i : locks) {
            waiters.add(sleepOn(word(i), owner.tid | WAITERS));
        }
        owner.exitAndJoin();
        for (int i : locks) {
            assertEquals(0, waiters.get(i).get(30, TimeUnit.SECONDS), "waiter " + i);
            assertEquals(FutexWord.OWNER_DIED | WAITERS, memory.getInt(word(i)), "lock " + i);
        }
    }

    /** 7. test_circular_list: a cycle that does not pass the head ends at the limit; the exit completes. */
    @Test
    void circularList() throws Exception {
        Owner owner = new Owner(tid -> {
            initHead(0);
            memory.putInt(word(0), tid);
            memory.putInt(word(1), tid);
            memory.putLong(0, at(entry(0)));
            memory.putLong(entry(0), at(entry(1)));
            memory.putLong(entry(1), at(entry(0)));
            assertEquals(0, sys.setRobustList(at(0), 24));
        });
        owner.exitAndJoin();
        await().atMost(Duration.ofSeconds(30)).until(() -> memory.getInt(word(1)) == FutexWord.OWNER_DIED);
        assertEquals(FutexWord.OWNER_DIED, memory.getInt(word(0)));
    }

    private NativeFunction vdsoTryUnlock(PendingSlotWidth width) {
        LinuxPlatform platform = LinuxPlatform.get();
        VdsoRobustUnlockSymbols symbols = platform.architecture().vdsoRobustUnlockSymbols().orElse(null);
        String name = symbols != null ? symbols.symbol(width) : width == PendingSlotWidth.BITS_64
                ? "__vdso_futex_robust_list64_try_unlock" : "__vdso_futex_robust_list32_try_unlock";
        OptionalLong address = symbols == null ? OptionalLong.empty()
                : platform.vdso().functionAddress(name, symbols.version());
        assumeTrue(address.isPresent(), "needs the vDSO symbol " + name + "@LINUX_2.6 (Linux 7.2 on x86_64)");
        return NativeFunction.of(name, address.getAsLong(), NativeFunction.CType.UINT32, 3);
    }

    /** 8. vDSO try-unlock, uncontended: returns the TID, the word is 0, the slot cleared (32: low half). */
    @ParameterizedTest
    @EnumSource(PendingSlotWidth.class)
    void vdsoTryUnlockUncontended(PendingSlotWidth width) {
        NativeFunction tryUnlock = vdsoTryUnlock(width);
        int tid = sys.gettid();
        memory.putInt(word(0), tid);
        memory.putLong(16, 0x1111_2222_3333_4444L);
        assertEquals(tid, (int) tryUnlock.invoke(at(word(0)), tid, at(16)));
        assertEquals(0, memory.getInt(word(0)));
        assertEquals(width == PendingSlotWidth.BITS_64 ? 0 : 0x1111_2222_0000_0000L, memory.getLong(16));
    }

    /** 9. vDSO try-unlock, contended (tid | WAITERS): returns the word, nothing modified. */
    @ParameterizedTest
    @EnumSource(PendingSlotWidth.class)
    void vdsoTryUnlockContended(PendingSlotWidth width) {
        NativeFunction tryUnlock = vdsoTryUnlock(width);
        int tid = sys.gettid();
        memory.putInt(word(0), tid | WAITERS);
        memory.putLong(16, 0x1111_2222_3333_4444L);
        assertEquals(tid | WAITERS, (int) tryUnlock.invoke(at(word(0)), tid, at(16)));
        assertEquals(tid | WAITERS, memory.getInt(word(0)));
        assertEquals(0x1111_2222_3333_4444L, memory.getLong(16));
    }

    /** 10. The robust unlock syscall: returns 0, the word is 0, the slot cleared (LIST32: its low half). */
    @ParameterizedTest
    @ValueSource(ints = {FutexOp.FUTEX_WAKE, FutexOp.FUTEX_WAKE_BITSET, FutexOp.FUTEX_UNLOCK_PI,
            FutexOp.FUTEX_WAKE | FutexOp.FUTEX_ROBUST_LIST32, FutexOp.FUTEX_WAKE_BITSET | FutexOp.FUTEX_ROBUST_LIST32,
            FutexOp.FUTEX_UNLOCK_PI | FutexOp.FUTEX_ROBUST_LIST32})
    void robustUnlockSyscall(int op) {
        assumeTrue(KernelProbe.futexRobustUnlock(sys).supported(),
                "needs futex(FUTEX_ROBUST_UNLOCK) (Linux 7.2); this kernel answers "
                        + KernelProbe.futexRobustUnlock(sys).describe());
        int tid = sys.gettid();
        boolean pi = (op & FutexOp.FUTEX_CMD_MASK) == FutexOp.FUTEX_UNLOCK_PI;
        memory.putInt(word(0), tid);
        memory.putLong(16, 0x1111_2222_3333_4444L);
        assertEquals(0, sys.futex(at(word(0)), op | FutexOp.FUTEX_ROBUST_UNLOCK, pi ? 0 : 1, 0, at(16),
                FutexOp.FUTEX_BITSET_MATCH_ANY));
        assertEquals(0, memory.getInt(word(0)));
        boolean list32 = (op & FutexOp.FUTEX_ROBUST_LIST32) != 0;
        assertEquals(list32 ? 0x1111_2222_0000_0000L : 0, memory.getLong(16));
    }
}
