package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.FutexWord;
import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.PendingSlotWidth;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The vDSO try-unlock of an architecture, run by the model from the architecture module's description:
 * kernel selftests 8 and 9 (kernel-abi.md section 6), and the return-to-user fixup at every instruction
 * (section 4.3). Each architecture module subclasses this.
 */
public abstract class VdsoModelContractTest {

    /** For the architecture modules' subclasses. */
    protected VdsoModelContractTest() {
    }

    /** The architecture under test. */
    protected abstract Architecture architecture();

    private KernelModel model(boolean userIrqRecorded) {
        return KernelModel.builder().architecture(architecture()).vdsoTryUnlock(true)
                .userIrqRecorded(userIrqRecorded).build();
    }

    /** The outcome of one try-unlock: return value, word and slot afterwards, the slot's initial value. */
    private record Run(Integer returned, int word, long slot, long entry, ModelThread thread, List<Step> steps) {

        long cleared(PendingSlotWidth width) {
            return width == PendingSlotWidth.BITS_64 ? 0 : entry & 0xffffffff_00000000L;
        }
    }

    /**
     * Runs the try-unlock on a word holding {@code tid | extra}, with list_op_pending naming the word's entry,
     * killing or interrupting as asked.
     */
    private Run tryUnlock(KernelModel model, PendingSlotWidth width, int extra, KillPoint kill, int interruptAt) {
        ModelProcess process = model.newProcess();
        ModelRegion mem = process.map(model.newSharedObject("vdso", 4096));
        ModelSyscalls sys = new ModelSyscalls(process);
        long head = mem.address();
        long word = mem.address() + 1024;
        ModelThread thread = process.newThread("T");
        thread.start(() -> {
            ModelSyscalls.initHead(mem, head, -32);
            mem.putLong(16, word + 32);
            mem.putInt(1024, sys.gettid() | extra);
            return sys.setRobustList(head, 24);
        });
        model.runUntilQuiet();
        if (kill != null) {
            thread.killAt(kill);
        }
        if (interruptAt >= 0) {
            thread.interruptBeforeStep(interruptAt);
        }
        ModelTask<Integer> call = thread.start(() -> sys.vdsoTryUnlock(word, sys.gettid(), head + 16, width));
        model.run(thread);
        List<Step> steps = thread.steps();
        if (thread.state() == ModelThread.State.STOPPED) {
            model.deliverDeath(thread);
        }
        return new Run(call.outcome() == ModelTask.Outcome.COMPLETED ? call.result() : null, mem.getInt(1024),
                mem.getLong(16), word + 32, thread, steps);
    }

    /** 8. Uncontended: returns the TID, the word is 0 and the slot is cleared (32-bit: its low half only). */
    @ParameterizedTest
    @EnumSource(PendingSlotWidth.class)
    void uncontendedTryUnlock(PendingSlotWidth width) {
        try (KernelModel model = model(true)) {
            Run run = tryUnlock(model, width, 0, null, -1);
            assertEquals(run.thread().tid(), run.returned());
            assertEquals(0, run.word());
            assertEquals(run.cleared(width), run.slot());
        }
    }

    /** 9. Contended (word {@code tid | WAITERS}): returns the word and modifies nothing. */
    @ParameterizedTest
    @EnumSource(PendingSlotWidth.class)
    void contendedTryUnlock(PendingSlotWidth width) {
        try (KernelModel model = model(true)) {
            Run run = tryUnlock(model, width, FutexWord.WAITERS, null, -1);
            assertEquals(run.thread().tid() | FutexWord.WAITERS, run.returned());
            assertEquals(run.thread().tid() | FutexWord.WAITERS, run.word());
            assertEquals(run.entry(), run.slot());
        }
    }

    /**
     * Killed before any instruction, with the fixup: after the exit the word is either still ours (the
     * kernel then flagged it OWNER_DIED) or released with the pending slot cleared; never released with the
     * slot still naming it.
     */
    @ParameterizedTest
    @EnumSource(PendingSlotWidth.class)
    void fixupLeavesNoStalePendingEntry(PendingSlotWidth width) {
        int instructions = instructionCount(width);
        assertTrue(instructions >= architecture().unlockCriticalSection(width).instructions().size());
        for (int k = 0; k < instructions; k++) {
            try (KernelModel model = model(true)) {
                Run run = tryUnlock(model, width, 0, KillPoint.beforeStep(k), -1);
                assertTrue(run.thread().isDead());
                if (run.word() == 0) {
                    assertEquals(run.cleared(width), run.slot(), "killed before " + run.steps().get(k).operation());
                } else {
                    assertEquals(FutexWord.OWNER_DIED, run.word(), "killed before " + run.steps().get(k).operation());
                }
            }
        }
    }

    /** Without the fixup (no user_irq) there are instructions at which a kill leaves a stale pending entry. */
    @ParameterizedTest
    @EnumSource(PendingSlotWidth.class)
    void withoutFixupAStaleEntryRemains(PendingSlotWidth width) {
        List<String> stale = new ArrayList<>();
        for (int k = 0; k < instructionCount(width); k++) {
            try (KernelModel model = model(false)) {
                Run run = tryUnlock(model, width, 0, KillPoint.beforeStep(k), -1);
                if (run.word() == 0 && run.slot() == run.entry()) {
                    stale.add(run.steps().get(k).operation());
                }
            }
        }
        assertFalse(stale.isEmpty(), "a kill inside [cs_start, cs_end) after a successful CAS leaves the slot set");
        String store = "vdso: " + architecture().unlockCriticalSection(width).instructions()
                .get(architecture().unlockCriticalSection(width).csSuccess()).assembly();
        assertTrue(stale.contains(store), stale.toString());
    }

    /** An interrupt (no signal) before any instruction changes nothing about the result. */
    @ParameterizedTest
    @EnumSource(PendingSlotWidth.class)
    void interruptsAreHarmless(PendingSlotWidth width) {
        for (int j = 0; j < instructionCount(width); j++) {
            try (KernelModel model = model(true)) {
                Run run = tryUnlock(model, width, 0, null, j);
                assertEquals(run.thread().tid(), run.returned(), "interrupt before step " + j);
                assertEquals(0, run.word());
                assertEquals(run.cleared(width), run.slot());
            }
        }
    }

    /** The number of instructions an undisturbed uncontended call executes. */
    protected int instructionCount(PendingSlotWidth width) {
        try (KernelModel model = model(true)) {
            return tryUnlock(model, width, 0, null, -1).steps().size();
        }
    }

    /** Runs the call with an interrupt before step {@code j} and returns its steps. */
    protected List<Step> stepsWithInterrupt(PendingSlotWidth width, int j) {
        try (KernelModel model = model(true)) {
            return tryUnlock(model, width, 0, null, j).steps();
        }
    }
}
