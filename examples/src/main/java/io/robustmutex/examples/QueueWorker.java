package io.robustmutex.examples;

import io.robustmutex.MutexKind;
import io.robustmutex.RobustCondition;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One process of {@code queue}: a producer or a consumer of a bounded queue in a {@link SharedMemory} region,
 * guarded by the mutex at offset 0, with the conditions "not empty" (offset 64) and "not full" (offset 128).
 * A producer appends the next number of the sequence 1, 2, 3, ...; a consumer takes the oldest and checks it is
 * the one after the last taken, so an item lost or taken twice is seen at once. Every change is journaled
 * first, so the mutex's recovery handler, which runs in whichever process takes the mutex after a death
 * (inside {@code lock()} or inside a condition's wait), rolls a half-done change back.
 *
 * <pre>
 *   0      mutex record         64   "not empty" condition     128  "not full" condition
 *   256    head (index of the oldest item)   264  count   272  next number to produce   280  last number taken
 *   288    journal: seq (0: none)  296 head  304 count  312 next  320 last taken  328 slot  336 slot's value
 *   344    inside: pid of the process changing the queue, 0 outside
 *   352    deaths reported        360  rollbacks      368  violations        376  stop flag
 *   384    waits (calls to await)
 *   448    the first violation, as text (up to 512 bytes)
 *   1024   the ring: {@value #CAPACITY} slots of 8 bytes
 *   2048   kill log: count, then (pid, reported) pairs, written by the parent before each kill
 * </pre>
 */
public final class QueueWorker {

    static final int MUTEX = 0;
    static final int NOT_EMPTY = 64;
    static final int NOT_FULL = 128;
    static final int HEAD = 256;
    static final int COUNT = 264;
    static final int NEXT = 272;
    static final int TAKEN = 280;
    static final int JOURNAL_SEQ = 288;
    static final int JOURNAL_HEAD = 296;
    static final int JOURNAL_COUNT = 304;
    static final int JOURNAL_NEXT = 312;
    static final int JOURNAL_TAKEN = 320;
    static final int JOURNAL_SLOT = 328;
    static final int JOURNAL_SLOT_VALUE = 336;
    static final int INSIDE = 344;
    static final int DEATHS = 352;
    static final int ROLLBACKS = 360;
    static final int VIOLATIONS = 368;
    static final int STOP = 376;
    static final int WAITS = 384;
    static final int MESSAGE = 448;
    static final int MESSAGE_SIZE = 512;
    static final int RING = 1024;
    /** The queue's capacity: small, so producers wait for "not full" as often as consumers for "not empty". */
    static final int CAPACITY = 8;
    static final int KILL_LOG = 2048;
    /** The region's size. */
    static final int SIZE = 64 * 1024;
    /** How many kills the log holds. */
    static final int KILL_LOG_CAPACITY = StormLog.capacity(SIZE, KILL_LOG);

    private final ByteBuffer data;
    private final StormLog log;
    private final long me = ProcessHandle.current().pid();

    private QueueWorker(ByteBuffer data) {
        this.data = data;
        this.log = log(data);
    }

    static StormLog log(ByteBuffer data) {
        return new StormLog(data, VIOLATIONS, MESSAGE, MESSAGE_SIZE, KILL_LOG);
    }

    /**
     * Entry point: {@code REGION KIND producer|consumer}.
     *
     * @param args the region, the mutex kind and the role
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        try (SharedMemory region = SharedMemory.map(Path.of(args[0]), SIZE)) {
            RobustMutex mutex = region.mutex(MUTEX, MutexKind.valueOf(args[1]));
            RobustCondition notEmpty = region.condition(NOT_EMPTY, mutex);
            RobustCondition notFull = region.condition(NOT_FULL, mutex);
            QueueWorker worker = new QueueWorker(region.buffer());
            mutex.setRecoveryHandler(held -> worker.recover());
            System.out.println("READY");
            System.out.flush();
            if (args[2].equals("producer")) {
                worker.produce(mutex, notEmpty, notFull);
            } else {
                worker.consume(mutex, notEmpty, notFull);
            }
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

    private void produce(RobustMutex mutex, RobustCondition notEmpty, RobustCondition notFull)
            throws InterruptedException {
        while (true) {
            mutex.lock();
            try {
                check();
                while (get(COUNT) == CAPACITY && get(STOP) == 0) {
                    await(notFull);
                    check();
                }
                if (get(STOP) != 0) {
                    put(INSIDE, 0);
                    return;
                }
                long head = get(HEAD);
                long count = get(COUNT);
                long next = get(NEXT);
                int slot = RING + 8 * (int) ((head + count) % CAPACITY);
                begin(head, count, next, get(TAKEN), slot);
                put(slot, next);
                pause();
                put(COUNT, count + 1);
                put(NEXT, next + 1);
                commit();
                notEmpty.signal();
            } finally {
                mutex.unlock();
            }
            idle();
        }
    }

    private void consume(RobustMutex mutex, RobustCondition notEmpty, RobustCondition notFull)
            throws InterruptedException {
        while (true) {
            mutex.lock();
            try {
                check();
                while (get(COUNT) == 0 && get(STOP) == 0) {
                    await(notEmpty);
                    check();
                }
                if (get(STOP) != 0) {
                    put(INSIDE, 0);
                    return;
                }
                long head = get(HEAD);
                long count = get(COUNT);
                long taken = get(TAKEN);
                long item = get(RING + 8 * (int) head);
                if (item != taken + 1) {
                    violation("took item " + item + " after item " + taken + ": "
                            + (item <= taken ? "an item taken twice" : "items lost"));
                }
                begin(head, count, get(NEXT), taken, RING + 8 * (int) head);
                put(TAKEN, item);
                pause();
                put(HEAD, (head + 1) % CAPACITY);
                put(COUNT, count - 1);
                commit();
                notFull.signal();
            } finally {
                mutex.unlock();
            }
            idle();
        }
    }

    private void await(RobustCondition condition) throws InterruptedException {
        put(INSIDE, 0);
        put(WAITS, get(WAITS) + 1);
        condition.await();
    }

    /** Marks this process inside, after checking that nobody else is marked without having died. */
    private void check() {
        long inside = get(INSIDE);
        if (inside != 0) {
            violation("process " + inside + " is marked inside the queue, yet no owner death was reported: two"
                    + " owners, or a death not reported (that process is " + (ProcessHandle.of(inside).isPresent()
                    ? "alive" : "gone") + ", and " + (log.killed(inside) ? "was" : "was not") + " killed)");
        }
        long head = get(HEAD);
        long count = get(COUNT);
        if (head < 0 || head >= CAPACITY || count < 0 || count > CAPACITY || get(NEXT) != get(TAKEN) + count + 1
                || get(JOURNAL_SEQ) != 0) {
            violation("queue broken: head=" + head + " count=" + count + " next=" + get(NEXT) + " taken="
                    + get(TAKEN) + " journal=" + get(JOURNAL_SEQ));
        }
        put(INSIDE, me);
    }

    private void begin(long head, long count, long next, long taken, int slot) {
        put(JOURNAL_HEAD, head);
        put(JOURNAL_COUNT, count);
        put(JOURNAL_NEXT, next);
        put(JOURNAL_TAKEN, taken);
        put(JOURNAL_SLOT, slot);
        put(JOURNAL_SLOT_VALUE, get(slot));
        put(JOURNAL_SEQ, next + taken + 1);
    }

    private void commit() {
        put(JOURNAL_SEQ, 0);
        put(INSIDE, 0);
    }

    /** The recovery handler: the previous owner died; undo its half-done change and attribute its death. */
    private void recover() {
        put(DEATHS, get(DEATHS) + 1);
        long inside = get(INSIDE);
        if (inside != 0) {
            attribute(inside);
        }
        if (get(JOURNAL_SEQ) != 0) {
            put((int) get(JOURNAL_SLOT), get(JOURNAL_SLOT_VALUE));
            put(HEAD, get(JOURNAL_HEAD));
            put(COUNT, get(JOURNAL_COUNT));
            put(NEXT, get(JOURNAL_NEXT));
            put(TAKEN, get(JOURNAL_TAKEN));
            put(JOURNAL_SEQ, 0);
            put(ROLLBACKS, get(ROLLBACKS) + 1);
        }
        put(INSIDE, 0);
    }

    /** Stays in the middle of a change for a moment now and then, so kills land there too. */
    private static void pause() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        if (random.nextInt(4) == 0) {
            Thread.yield();
        } else {
            for (int i = random.nextInt(200); i > 0; i--) {
                Thread.onSpinWait();
            }
        }
    }

    /** A short pause outside the mutex, so that the queue fills and empties and both conditions are waited on. */
    private static void idle() {
        java.util.concurrent.locks.LockSupport.parkNanos(
                ThreadLocalRandom.current().nextLong(TimeUnit.MICROSECONDS.toNanos(200)));
    }

    private void attribute(long pid) {
        log.attribute(pid, me);
    }

    private void violation(String text) {
        log.violation(me, text);
    }
}
