package io.robustmutex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.model.KernelModel;
import io.robustmutex.model.KillPoint;
import io.robustmutex.model.ModelProcess;
import io.robustmutex.model.ModelRegion;
import io.robustmutex.model.ModelTask;
import io.robustmutex.model.ModelThread;
import io.robustmutex.model.SharedObject;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * An example of testing your own recovery logic on the reference model: a ledger of two accounts whose sum
 * must stay 100, updated under a robust mutex, with the writer killed at every point of its update.
 *
 * <p>Run it with {@code mvn -pl examples test -Dtest=RecoveryLogicModelTest} (after {@code mvn install}).
 */
class RecoveryLogicModelTest {

    private static final int ACCOUNT_A = 64;
    private static final int ACCOUNT_B = 72;
    private static final int JOURNAL = 80;

    /**
     * The code under test: a transfer writes its intent to a journal first, so that whoever finds the
     * writer dead can finish (or undo) it.
     */
    static void transfer(ModelRegion ledger, long amount) {
        ledger.putLong(JOURNAL, amount);
        ledger.putLong(ACCOUNT_A, ledger.getLong(ACCOUNT_A) - amount);
        ledger.putLong(ACCOUNT_B, ledger.getLong(ACCOUNT_B) + amount);
        ledger.putLong(JOURNAL, 0);
    }

    /** The recovery under test: undo a transfer whose journal entry is still there. */
    static void repair(ModelRegion ledger, long startA, long startB) {
        long pending = ledger.getLong(JOURNAL);
        if (pending != 0) {
            ledger.putLong(ACCOUNT_A, startA);
            ledger.putLong(ACCOUNT_B, startB);
            ledger.putLong(JOURNAL, 0);
        }
    }

    /** Kill the writer before each of its writes (and after all of them): the reader always restores the sum. */
    @ParameterizedTest
    @ValueSource(strings = {"journal", "a", "b", "journal-clear", "none"})
    void recoveryRestoresTheInvariant(String killBeforeWriting) {
        try (KernelModel model = KernelModel.builder().build()) {
            SharedObject shm = model.newSharedObject("ledger", 4096);
            ModelProcess writerProcess = model.newProcess();
            ModelProcess readerProcess = model.newProcess();
            ModelRegion writerView = writerProcess.map(shm);
            ModelRegion readerView = readerProcess.map(shm);
            RobustMutex writerLock = writerView.mutex(0, MutexKind.PI);
            RobustMutex readerLock = readerView.mutex(0, MutexKind.PI);
            writerView.putLong(ACCOUNT_A, 40);
            writerView.putLong(ACCOUNT_B, 60);

            ModelThread writer = writerProcess.newThread("writer");
            switch (killBeforeWriting) {
                case "journal" -> writer.killAt(KillPoint.beforeWriteTo(writerView, JOURNAL));
                case "a" -> writer.killAt(KillPoint.beforeWriteTo(writerView, ACCOUNT_A));
                case "b" -> writer.killAt(KillPoint.beforeWriteTo(writerView, ACCOUNT_B));
                case "journal-clear" -> writer.killAt(KillPoint.beforeWriteTo(writerView, JOURNAL, 2));
                default -> {
                }
            }
            writer.start(() -> {
                try (Acquisition held = writerLock.acquire()) {
                    assertFalse(held.ownerDied());
                    transfer(writerView, 25);
                }
                return null;
            });
            model.runUntilQuiet();
            boolean killed = !killBeforeWriting.equals("none");
            assertEquals(killed, writer.isDead(), "the writer was killed at its kill point");

            ModelTask<Boolean> reader = readerProcess.newThread("reader").start(() -> {
                try (Acquisition held = readerLock.acquire()) {
                    if (held.ownerDied()) {
                        repair(readerView, 40, 60);
                        held.markConsistent();
                    }
                    return held.ownerDied();
                }
            });
            model.runUntilQuiet();
            assertEquals(killed, reader.result(), "the reader learns of the writer's death exactly when it died");
            assertEquals(100, readerView.getLong(ACCOUNT_A) + readerView.getLong(ACCOUNT_B));
            assertEquals(0, readerView.getLong(JOURNAL));
            assertTrue(readerView.getLong(ACCOUNT_A) == 40 || readerView.getLong(ACCOUNT_A) == 15);
        }
    }
}
