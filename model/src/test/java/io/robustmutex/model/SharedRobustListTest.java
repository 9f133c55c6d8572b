package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.RobustListHeadDescriptor;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The robust list a thread shares with glibc: threads that start with glibc's head registered, the library's
 * choice to join it (or not), glibc's robust mutexes ({@link ModelNativeMutex}) and the library's records on
 * the one list, and the kernel's exit walk releasing both kinds.
 */
class SharedRobustListTest {

    private static final long PI = RobustListHeadDescriptor.PI_BIT;

    private static KernelModel glibcModel() {
        return KernelModel.builder().glibcHeads(true).build();
    }

    private static long load(ModelProcess process, long address) {
        return process.model().load64(process.resolve(address, 8));
    }

    private static <T> T run(KernelModel model, ModelThread thread, Callable<T> body) {
        ModelTask<T> task = thread.start(body);
        model.runUntilQuiet();
        return task.result();
    }

    /** The list from a thread's registered head, as the kernel follows it: raw next pointers, PI bits kept. */
    private static List<Long> list(ModelThread thread) {
        List<Long> links = new ArrayList<>();
        long head = thread.registeredRobustList();
        long link = load(thread.process(), head + RobustListHeadDescriptor.LIST_NEXT_OFFSET);
        while ((link & ~PI) != head && links.size() < 10) {
            links.add(link);
            link = load(thread.process(), link & ~PI);
        }
        return links;
    }

    /** glibc's head is in the thread's descriptor and registered before the thread runs, with no step. */
    @Test
    void aGlibcThreadStartsWithItsHeadRegistered() {
        try (KernelModel model = glibcModel()) {
            ModelProcess process = model.newProcess();
            ModelThread thread = process.newThread("t");
            long head = thread.glibcRobustList();
            assertNotEquals(0, head);
            assertEquals(head, thread.registeredRobustList());
            assertEquals(head, load(process, head - RobustListHeadDescriptor.PREV_SLOT_SIZE), "robust_prev");
            assertEquals(head, load(process, head + RobustListHeadDescriptor.LIST_NEXT_OFFSET), "list.next");
            assertEquals(-32, load(process, head + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET));
            assertEquals(0, load(process, head + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET));
            assertNull(thread.robustListChoice());
            assertNotEquals(head, process.newThread("u").glibcRobustList(), "each thread has its own");
        }
    }

    /**
     * The first lock makes LinuxKernel.chooseHead's decision: get_robust_list, then a read of futex_offset, and
     * the record goes on glibc's list, which stays registered.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void theFirstLockJoinsTheRegisteredHead(MutexKind kind) {
        try (KernelModel model = glibcModel()) {
            ModelProcess process = model.newProcess();
            ModelRegion region = process.map(model.newSharedObject("shm", 4096));
            RobustMutex mutex = region.mutex(0, kind);
            ModelThread thread = process.newThread("t");
            long head = thread.glibcRobustList();
            run(model, thread, () -> mutex.acquire());
            assertEquals("joined glibc", thread.robustListChoice());
            assertEquals(head, thread.registeredRobustList());
            List<Step> steps = thread.steps();
            assertEquals("get_robust_list", steps.get(0).operation());
            assertEquals("t.head.futex_offset", steps.get(1).target());
            long entry = region.address() + 32;
            assertEquals(List.of(kind == MutexKind.PI ? entry | PI : entry), list(thread));
            assertEquals(head, load(process, entry - 8), "the record's prev is the head");
            assertEquals(head, load(process, head - 8), "robust_prev, which nothing reads, is left alone");
        }
    }

    /** {@code -Dio.robustmutex.robustList=own}: a head of the library's own replaces glibc's, without asking. */
    @Test
    void ownReplacesGlibcsHead() {
        try (KernelModel model = KernelModel.builder().glibcHeads(true)
                .robustList(KernelModel.RobustListChoice.OWN).build()) {
            ModelProcess process = model.newProcess();
            RobustMutex mutex = process.map(model.newSharedObject("shm", 4096)).mutex(0, MutexKind.NORMAL);
            ModelThread thread = process.newThread("t");
            run(model, thread, () -> mutex.acquire());
            assertEquals("own (-Dio.robustmutex.robustList=own)", thread.robustListChoice());
            assertNotEquals(thread.glibcRobustList(), thread.registeredRobustList());
            assertTrue(thread.steps().stream().noneMatch(s -> s.operation().equals("get_robust_list")));
        }
    }

    /** Where nothing is registered (a C library that registers lazily, as musl does), the thread gets its own. */
    @Test
    void noRegisteredHeadGivesAHeadOfItsOwn() {
        try (KernelModel model = KernelModel.builder().robustList(KernelModel.RobustListChoice.JOIN).build()) {
            ModelProcess process = model.newProcess();
            RobustMutex mutex = process.map(model.newSharedObject("shm", 4096)).mutex(0, MutexKind.PI);
            ModelThread thread = process.newThread("t");
            run(model, thread, () -> mutex.acquire());
            assertEquals("own (the C library registered no robust list head for the thread)",
                    thread.robustListChoice());
            assertNotEquals(0, thread.registeredRobustList());
        }
    }

    /** A registered head with another futex_offset (musl's -28) is not joined. */
    @Test
    void aHeadWithAnotherFutexOffsetIsNotJoined() {
        try (KernelModel model = glibcModel()) {
            ModelProcess process = model.newProcess();
            RobustMutex mutex = process.map(model.newSharedObject("shm", 4096)).mutex(0, MutexKind.NORMAL);
            ModelThread thread = process.newThread("t");
            long head = thread.glibcRobustList();
            model.store64(process.resolve(head + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET, 8), -28);
            run(model, thread, () -> mutex.acquire());
            assertEquals("own (the registered head's futex_offset is -28, not -32)", thread.robustListChoice());
            assertNotEquals(head, thread.registeredRobustList());
        }
    }

    /** Without glibc's heads the model registers the library's own head as it always did: no extra step. */
    @Test
    void theDefaultModelKeepsItsSteps() {
        try (KernelModel model = KernelModel.builder().build()) {
            assertFalse(model.glibcHeads());
            assertEquals(KernelModel.RobustListChoice.OWN, model.robustList());
            ModelProcess process = model.newProcess();
            RobustMutex mutex = process.map(model.newSharedObject("shm", 4096)).mutex(0, MutexKind.NORMAL);
            ModelThread thread = process.newThread("t");
            assertEquals(0, thread.registeredRobustList());
            run(model, thread, () -> mutex.acquire());
            assertEquals("set_robust_list", thread.steps().stream().filter(s -> !s.operation().startsWith("store"))
                    .findFirst().orElseThrow().operation());
        }
        assertEquals(KernelModel.RobustListChoice.JOIN, glibcModel().robustList());
    }

    /**
     * glibc's lock and unlock on the list: front insertion with the PI bit in the pointer, robust_prev kept as
     * the tail, the entry's links cleared on unlock, list_op_pending clear after each.
     */
    @Test
    void glibcMutexesGoOnTheFrontOfTheList() {
        try (KernelModel model = glibcModel()) {
            ModelProcess process = model.newProcess();
            ModelRegion region = process.map(model.newSharedObject("shm", 4096));
            ModelNativeMutex normal = region.nativeMutex(0, ModelNativeMutex.Type.NORMAL);
            ModelNativeMutex pi = region.nativeMutex(64, ModelNativeMutex.Type.PI);
            ModelThread thread = process.newThread("t");
            long head = thread.glibcRobustList();
            assertEquals(List.of(0, 0), run(model, thread, () -> List.of(normal.lock(), pi.lock())));
            assertEquals(List.of(pi.entryAddress() | PI, normal.entryAddress()), list(thread));
            assertEquals(head, load(process, pi.entryAddress() - 8));
            assertEquals(pi.entryAddress(), load(process, normal.entryAddress() - 8));
            assertEquals(normal.entryAddress(), load(process, head - 8), "robust_prev is the tail");
            assertEquals(thread.tid(), region.getInt(0));
            assertEquals(thread.tid(), region.getInt(64));
            assertEquals(0, load(process, head + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET));
            // Out of order: the older one first.
            assertEquals(0, (int) run(model, thread, normal::unlock));
            assertEquals(List.of(pi.entryAddress() | PI), list(thread));
            assertEquals(pi.entryAddress(), load(process, head - 8));
            assertEquals(0, load(process, normal.entryAddress()));
            assertEquals(0, load(process, normal.entryAddress() - 8));
            assertEquals(0, (int) run(model, thread, pi::unlock));
            assertEquals(List.of(), list(thread));
            assertEquals(head, load(process, head - 8));
            assertEquals(0, region.getInt(0));
            assertEquals(0, region.getInt(64));
            assertEquals(ModelNativeMutex.EPERM, (int) run(model, thread, pi::unlock));
        }
    }

    /**
     * One thread holds glibc mutexes and the library's, interleaved, the library's in another mapping than
     * glibc's: the list holds them all, most recent first, and the thread's death releases every one with
     * OWNER_DIED, each PI bit read from the pointer that names the entry: the next lock of a glibc mutex returns
     * EOWNERDEAD, the library's acquirer is told.
     */
    @Test
    void theExitWalkReleasesBothKinds() {
        try (KernelModel model = glibcModel()) {
            SharedObject glibcData = model.newSharedObject("lmdb", 4096);
            SharedObject ours = model.newSharedObject("ours", 4096);
            ModelProcess a = model.newProcess();
            ModelProcess b = model.newProcess();
            ModelRegion glibcA = a.map(glibcData);
            ModelRegion oursA = a.map(ours);
            ModelNativeMutex nNormal = glibcA.nativeMutex(0, ModelNativeMutex.Type.NORMAL);
            ModelNativeMutex nPi = glibcA.nativeMutex(64, ModelNativeMutex.Type.PI);
            RobustMutex lNormal = oursA.mutex(0, MutexKind.NORMAL);
            RobustMutex lPi = oursA.mutex(64, MutexKind.PI);
            ModelThread victim = a.newThread("V");
            run(model, victim, () -> {
                assertEquals(0, nNormal.lock());
                lPi.acquire();
                assertEquals(0, nPi.lock());
                lNormal.acquire();
                return null;
            });
            assertEquals("joined glibc", victim.robustListChoice());
            assertEquals(List.of(oursA.address() + 32, nPi.entryAddress() | PI, oursA.address() + 64 + 32 | PI,
                    nNormal.entryAddress()), list(victim));
            model.deliverDeath(victim);
            for (int word : new int[] {glibcData.view.getInt(0), glibcData.view.getInt(64), ours.view.getInt(0),
                ours.view.getInt(64)}) {
                assertEquals(FutexWord.OWNER_DIED, word, FutexWord.describe(word));
            }
            ModelRegion glibcB = b.map(glibcData);
            ModelRegion oursB = b.map(ours);
            ModelNativeMutex bNormal = glibcB.nativeMutex(0, ModelNativeMutex.Type.NORMAL);
            ModelNativeMutex bPi = glibcB.nativeMutex(64, ModelNativeMutex.Type.PI);
            RobustMutex bLNormal = oursB.mutex(0, MutexKind.NORMAL);
            RobustMutex bLPi = oursB.mutex(64, MutexKind.PI);
            List<Object> seen = run(model, b.newThread("next"), () -> {
                List<Object> results = new ArrayList<>();
                results.add(bNormal.lock());
                results.add(bPi.lock());
                try (Acquisition x = bLNormal.acquire(); Acquisition y = bLPi.acquire()) {
                    results.add(x.ownerDied());
                    results.add(y.ownerDied());
                }
                return results;
            });
            assertEquals(List.of(ModelNativeMutex.EOWNERDEAD, ModelNativeMutex.EOWNERDEAD, true, true), seen);
        }
    }

    /**
     * The kernel's walk stops after 2048 entries, and the library refuses a thread's 2049th hold for that reason;
     * but it counts only its own holds, and the list is now shared: a thread that holds one glibc mutex and then
     * 2048 of the library's has 2049 entries on its list, and the glibc mutex, at the tail, is left held by the
     * dead TID, unless the library counts the glibc entries as well, and refuses the lock that would make the
     * list longer than the walk.
     */
    @Test
    void theLimitCountsTheGlibcEntriesToo() {
        int limit = RobustListHeadDescriptor.ROBUST_LIST_LIMIT;
        try (KernelModel model = glibcModel()) {
            ModelProcess process = model.newProcess();
            ModelRegion glibcRegion = process.map(model.newSharedObject("lmdb", 4096));
            ModelRegion ours = process.map(model.newSharedObject("ours", limit * 64));
            ModelNativeMutex glibc = glibcRegion.nativeMutex(0, ModelNativeMutex.Type.NORMAL);
            List<RobustMutex> mutexes = new ArrayList<>();
            for (int i = 0; i < limit; i++) {
                mutexes.add(ours.mutex(i * 64L, MutexKind.NORMAL));
            }
            ModelThread thread = process.newThread("t");
            Object taken = run(model, thread, () -> {
                assertEquals(0, glibc.lock());
                int n = 0;
                for (RobustMutex mutex : mutexes) {
                    try {
                        mutex.tryAcquire().orElseThrow();
                    } catch (IllegalStateException refused) {
                        assertTrue(refused.getMessage().contains("2047 of this library's"), refused.getMessage());
                        return "refused at " + n;
                    }
                    n++;
                }
                return n;
            });
            assertEquals("refused at " + (limit - 1), taken);
            model.deliverDeath(thread);
            int word = glibcRegion.getInt(0);
            assertNotEquals(thread.tid(), FutexWord.owner(word), "with " + taken + " of the library's mutexes"
                    + " taken after it, the glibc mutex is left held by the dead thread: "
                    + FutexWord.describe(word));
        }
    }

    /**
     * A glibc mutex whose holder died, released without pthread_mutex_consistent, is not recoverable; made
     * consistent, it is an ordinary mutex again.
     */
    @Test
    void glibcsOwnerDeadRules() {
        try (KernelModel model = glibcModel()) {
            ModelProcess process = model.newProcess();
            ModelRegion region = process.map(model.newSharedObject("shm", 4096));
            ModelNativeMutex normal = region.nativeMutex(0, ModelNativeMutex.Type.NORMAL);
            ModelNativeMutex pi = region.nativeMutex(64, ModelNativeMutex.Type.PI);
            ModelThread holder = process.newThread("holder");
            run(model, holder, () -> List.of(normal.lock(), pi.lock()));
            model.deliverDeath(holder);
            ModelThread next = process.newThread("next");
            assertEquals(List.of(ModelNativeMutex.EOWNERDEAD, ModelNativeMutex.EOWNERDEAD, 0, 0, 0, 0),
                    run(model, next, () -> List.of(normal.lock(), pi.lock(), normal.consistent(), normal.unlock(),
                            pi.unlock(), 0)));
            assertEquals(List.of(0, ModelNativeMutex.ENOTRECOVERABLE), run(model, process.newThread("third"),
                    () -> List.of(normal.lock(), pi.lock(), normal.unlock()).subList(0, 2)));
        }
    }

    /**
     * A thread killed at every step of a glibc lock or unlock beside a record of the library's leaves nothing
     * held by its TID: the list or the pending slot names every word it holds, the pending entry is handled
     * once (the walk skips it when it is on the list), and the next lock is told exactly when the word had
     * the dead thread's TID.
     */
    @ParameterizedTest
    @EnumSource(ModelNativeMutex.Type.class)
    void aDeathAtAnyStepOfAGlibcOperationLeavesNothingHeld(ModelNativeMutex.Type type) {
        int steps = Integer.MAX_VALUE;
        for (int k = -1; k <= steps; k++) {
            try (KernelModel model = glibcModel()) {
                SharedObject shm = model.newSharedObject("shm", 4096);
                ModelProcess a = model.newProcess();
                ModelRegion region = a.map(shm);
                ModelNativeMutex glibc = region.nativeMutex(0, type);
                RobustMutex ours = region.mutex(64, MutexKind.NORMAL);
                ModelThread victim = a.newThread("V");
                List<Integer> marks = new ArrayList<>();
                model.observer = new KernelModel.Observer() {
                    @Override
                    public void exitWalkMarks(ModelThread dying, KernelModel.Location at, int word) {
                        marks.add(at.offset());
                    }
                };
                // Holds ours, then takes and releases the glibc mutex: killed before step k of that.
                run(model, victim, ours::acquire);
                // k = -1: the dry run, which counts the steps.
                victim.killAt(k < 0 ? null : KillPoint.beforeStep(k));
                ModelTask<Integer> task = victim.start(() -> glibc.lock() + glibc.unlock());
                model.run(victim);
                if (k < 0) {
                    assertEquals(0, (int) task.result());
                    steps = victim.steps().size();
                    continue;
                }
                boolean glibcHeld = FutexWord.owner(shm.view.getInt(0)) == victim.tid();
                model.deliverDeath(victim);
                assertEquals(0, FutexWord.owner(shm.view.getInt(0)), "step " + k);
                assertEquals(0, FutexWord.owner(shm.view.getInt(64)), "step " + k);
                assertEquals(glibcHeld ? 2 : 1, marks.size(), "step " + k + ": each word marked once " + marks);
                ModelProcess b = model.newProcess();
                ModelNativeMutex next = b.map(shm).nativeMutex(0, type);
                int result = run(model, b.newThread("next"), next::lock);
                assertEquals(glibcHeld ? ModelNativeMutex.EOWNERDEAD : 0, result, "step " + k);
            }
        }
        assertTrue(steps > 15, "steps " + steps);
    }
}
