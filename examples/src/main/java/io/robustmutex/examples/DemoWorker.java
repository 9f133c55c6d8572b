package io.robustmutex.examples;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * The processes of the {@code demo}: a shared ledger of two accounts whose sum must stay 100, kept in a
 * mapped file next to the robust mutex that guards it. Each transfer first writes its intent to a journal,
 * so that whoever finds the writer dead can undo a half-done transfer.
 *
 * <pre>
 *   offset 0   the robust mutex (64 bytes)
 *   offset 64  account A        offset 72  account B        offset 80  journal: amount in flight, or 0
 * </pre>
 */
public final class DemoWorker {

    static final int A = 64;
    static final int B = 72;
    static final int JOURNAL = 80;
    static final int SIZE = 4096;

    private DemoWorker() {
    }

    /**
     * {@code DemoWorker writer|successor REGION}.
     *
     * @param args the role and the region file
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        try (SharedMemory region = SharedMemory.map(Path.of(args[1]), SIZE)) {
            RobustMutex mutex = region.mutex(0, MutexKind.PI);
            ByteBuffer ledger = region.buffer();
            switch (args[0]) {
                case "writer" -> writer(mutex, ledger);
                case "successor" -> successor(mutex, ledger);
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
    }

    /** Takes the mutex and stops in the middle of a transfer: the parent kills it there. */
    private static void writer(RobustMutex mutex, ByteBuffer ledger) throws InterruptedException {
        Acquisition held = mutex.acquire();
        ledger.putLong(JOURNAL, 30);
        ledger.putLong(A, ledger.getLong(A) - 30);
        say("writer (pid " + ProcessHandle.current().pid() + "): holds the mutex (token " + held.fencingToken()
                + "), moved 30 out of A, not yet into B: A=" + ledger.getLong(A) + " B=" + ledger.getLong(B));
        new CountDownLatch(1).await();
    }

    /** Waits for the mutex in the kernel; on owner death, undoes the half-done transfer and marks consistent. */
    private static void successor(RobustMutex mutex, ByteBuffer ledger) {
        say("successor (pid " + ProcessHandle.current().pid() + "): waiting for the mutex");
        try (Acquisition held = mutex.acquire()) {
            say("successor: acquired, ownerDied=" + held.ownerDied() + ", token " + held.fencingToken()
                    + ", A=" + ledger.getLong(A) + " B=" + ledger.getLong(B) + " journal=" + ledger.getLong(JOURNAL));
            if (held.ownerDied()) {
                long inFlight = ledger.getLong(JOURNAL);
                if (inFlight != 0) {
                    // The journal says money left A but may not have reached B: put it back.
                    ledger.putLong(A, 100 - ledger.getLong(B));
                    ledger.putLong(JOURNAL, 0);
                }
                held.markConsistent();
                say("successor: repaired from the journal and marked consistent: A=" + ledger.getLong(A)
                        + " B=" + ledger.getLong(B) + " (sum " + (ledger.getLong(A) + ledger.getLong(B)) + ")");
            }
        }
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
