package io.robustmutex.examples;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One process of {@code torture}: takes the mutex at offset 0 of a region again and again and, under it,
 * moves one unit from account A to account B with a journal, so that whichever process takes the mutex after
 * a death can roll the half-done update back. Every acquirer checks the ledger and the "inside" marker, and
 * attributes each owner death it is told of to a process the parent logged as killed.
 *
 * <pre>
 *   0      mutex record (64 bytes)
 *   64     A                      72   B               80   committed updates
 *   88     journal: seq (0: none) 96   A before        104  B before         112  committed before
 *   120    inside: pid of the process in the critical section, 0 outside
 *   128    deaths reported        136  rollbacks       144  violations       152  stop flag
 *   160    deaths reported with no inside marker (the owner died before it marked)
 *   168    acquisitions
 *   192    the first violation, as text (up to 512 bytes)
 *   1024   kill log: count, then (pid, reported) pairs, written by the parent before each kill
 * </pre>
 *
 * The update's stores are release stores, so a process taking over after a death sees the journal before the
 * accounts it describes, on every architecture.
 */
public final class TortureWorker {

    /** Units in the two accounts together. */
    static final long TOTAL = 1_000_000_000L;
    static final int A = 64;
    static final int B = 72;
    static final int COMMITTED = 80;
    static final int JOURNAL_SEQ = 88;
    static final int JOURNAL_A = 96;
    static final int JOURNAL_B = 104;
    static final int JOURNAL_COMMITTED = 112;
    static final int INSIDE = 120;
    static final int DEATHS = 128;
    static final int ROLLBACKS = 136;
    static final int VIOLATIONS = 144;
    static final int STOP = 152;
    static final int UNATTRIBUTED = 160;
    static final int ACQUISITIONS = 168;
    static final int MESSAGE = 192;
    static final int MESSAGE_SIZE = 512;
    static final int KILL_LOG = 1024;
    /** The region's size. */
    static final int SIZE = 128 * 1024;
    /** How many kills the log holds. */
    static final int KILL_LOG_CAPACITY = StormLog.capacity(SIZE, KILL_LOG);

    private final ByteBuffer data;
    private final StormLog log;
    private final long me = ProcessHandle.current().pid();

    private TortureWorker(ByteBuffer data) {
        this.data = data;
        this.log = log(data);
    }

    static StormLog log(ByteBuffer data) {
        return new StormLog(data, VIOLATIONS, MESSAGE, MESSAGE_SIZE, KILL_LOG);
    }

    /**
     * Entry point: {@code REGION KIND}.
     *
     * @param args the region and the kind
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        try (SharedMemory region = SharedMemory.map(Path.of(args[0]), SIZE)) {
            RobustMutex mutex = region.mutex(0, MutexKind.valueOf(args[1]));
            TortureWorker worker = new TortureWorker(region.buffer());
            System.out.println("READY");
            System.out.flush();
            worker.loop(mutex);
        }
    }

    static long get(ByteBuffer data, int offset) {
        return StormLog.get(data, offset);
    }

    static void put(ByteBuffer data, int offset, long value) {
        StormLog.put(data, offset, value);
    }

    private long get(int offset) {
        return get(data, offset);
    }

    private void put(int offset, long value) {
        put(data, offset, value);
    }

    private void loop(RobustMutex mutex) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (get(STOP) == 0) {
            try (Acquisition held = mutex.acquire()) {
                put(ACQUISITIONS, get(ACQUISITIONS) + 1);
                long inside = get(INSIDE);
                if (held.ownerDied()) {
                    put(DEATHS, get(DEATHS) + 1);
                    if (inside == 0) {
                        put(UNATTRIBUTED, get(UNATTRIBUTED) + 1);
                    } else {
                        attribute(inside);
                    }
                    if (get(JOURNAL_SEQ) != 0) {
                        put(A, get(JOURNAL_A));
                        put(B, get(JOURNAL_B));
                        put(COMMITTED, get(JOURNAL_COMMITTED));
                        put(JOURNAL_SEQ, 0);
                        put(ROLLBACKS, get(ROLLBACKS) + 1);
                    }
                    put(INSIDE, 0);
                    held.markConsistent();
                } else if (inside != 0) {
                    violation("process " + inside + " is marked inside the critical section, yet the acquisition"
                            + " reported no owner death: two owners, or a death not reported");
                }
                long a = get(A);
                long b = get(B);
                long committed = get(COMMITTED);
                if (a + b != TOTAL || b != committed || get(JOURNAL_SEQ) != 0) {
                    violation("ledger broken: A=" + a + " B=" + b + " committed=" + committed + " journal="
                            + get(JOURNAL_SEQ));
                }
                put(INSIDE, me);
                put(JOURNAL_A, a);
                put(JOURNAL_B, b);
                put(JOURNAL_COMMITTED, committed);
                put(JOURNAL_SEQ, committed + 1);
                put(A, a - 1);
                // Stay in the middle of the update for a moment, so kills land there too.
                if (random.nextInt(4) == 0) {
                    Thread.yield();
                } else {
                    for (int i = random.nextInt(200); i > 0; i--) {
                        Thread.onSpinWait();
                    }
                }
                put(B, b + 1);
                put(COMMITTED, committed + 1);
                put(JOURNAL_SEQ, 0);
                put(INSIDE, 0);
            }
            // A short pause outside the lock: the others still contend for it, and the CPUs left over let the
            // replacements of killed workers start quickly.
            java.util.concurrent.locks.LockSupport.parkNanos(random.nextInt(50_000));
        }
    }

    private void attribute(long pid) {
        log.attribute(pid, me);
    }

    private void violation(String text) {
        log.violation(me, text);
    }
}
