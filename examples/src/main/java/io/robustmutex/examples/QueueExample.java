package io.robustmutex.examples;

import io.robustmutex.MutexKind;
import io.robustmutex.RobustCondition;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * {@code example-queue [FILE] [produce|consume]}: a bounded queue in one mapped file, shared by processes that
 * sleep on robust conditions until it has room or items.
 *
 * <pre>
 *   offset 0    the mutex record          offset 64   "not empty"      offset 128  "not full"
 *   offset 192  head (low 32 bits) and count (high 32 bits)     offset 200  the last item taken
 *   offset 256  the slots (8 longs)
 * </pre>
 *
 * <p>A producer appends 1, 2, 3, ... and a consumer takes them in order. Every change is made with the mutex
 * held and ends with one 8-byte store, so a process killed anywhere ({@code kill -9} it) leaves the queue as
 * it was before the change or after it, but for one case that the recovery handler finishes. Give a file on
 * {@code /dev/shm} and run {@code produce} in one terminal and {@code consume} in another; kill either and start
 * it again.
 */
final class QueueExample implements RobustMutexTool.Command {

    private static final int POSITION = 192;
    private static final int TAKEN = 200;
    private static final int SLOTS = 256;
    private static final int CAPACITY = 8;

    @Override
    public String summary() {
        return "example: a bounded queue in a mapped file, producers and consumers waiting on robust conditions";
    }

    @Override
    public String arguments() {
        return "[FILE] [produce|consume]";
    }

    @Override
    public String help() {
        return """
                Maps FILE (default: a temporary file) holding a robust mutex, two robust conditions ("not empty"
                and "not full") and a queue of 8 slots. With no role, runs a producer and a consumer thread for
                10,000 items and checks that the consumer took each once and in order. With a role, runs that side
                until interrupted, printing progress: give a file on /dev/shm, run 'produce' in one terminal and
                'consume' in another, kill -9 either, start it again, and the queue carries on.

                Exit status: 0 when every item was taken once and in order, 1 otherwise.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        List<String> positional = Arguments.parse(args).positional(0, 2, "[FILE] [produce|consume]");
        String role = positional.size() == 2 ? positional.get(1) : "both";
        if (!List.of("both", "produce", "consume").contains(role)) {
            throw new UsageException(role + " (expected produce or consume)");
        }
        boolean temporary = positional.isEmpty();
        Path path = temporary ? Files.createTempFile("robust-mutex-queue", ".shm") : Path.of(positional.get(0));
        try {
            return run(path, role, out);
        } catch (Exception e) {
            throw new IllegalStateException(FileErrors.describe(path, e), e);
        } finally {
            if (temporary) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static int run(Path path, String role, PrintStream out) throws Exception {
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            Queue queue = new Queue(region);
            if (role.equals("both")) {
                int items = 10_000;
                Thread producer = new Thread(() -> {
                    for (int i = 0; i < items; i++) {
                        queue.put();
                    }
                });
                producer.start();
                long wrong = 0;
                for (int i = 0; i < items; i++) {
                    wrong += queue.take() ? 0 : 1;
                }
                producer.join();
                out.printf("%s: %d items produced and taken, %d out of order%n", path, items, wrong);
                return wrong == 0 ? 0 : 1;
            }
            for (long n = 1; ; n++) {
                if (role.equals("produce")) {
                    queue.put();
                } else if (!queue.take()) {
                    out.println("an item was taken out of order");
                    return 1;
                }
                if (n % 1000 == 0) {
                    out.printf("%s: %d items %s%n", path, n, role.equals("produce") ? "produced" : "taken");
                    out.flush();
                }
                LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(100));
            }
        }
    }

    /** The queue: all of its state is in the mapped file, so every process sees the same. */
    private static final class Queue {
        private final RobustMutex mutex;
        private final RobustCondition notEmpty;
        private final RobustCondition notFull;
        private final ByteBuffer data;

        Queue(SharedMemory region) {
            mutex = region.mutex(0, MutexKind.PI);
            notEmpty = region.condition(64, mutex);
            notFull = region.condition(128, mutex);
            data = region.buffer();
            // Runs inside lock(), or inside a wait, when the previous holder died holding the mutex. The head and
            // the count share one 8-byte store, which a death cannot split, and each change ends with it, so
            // the queue is as before the change or after it, but for one case: a consumer that recorded the
            // item it took and died before storing the new head. This handler finishes that take.
            mutex.setRecoveryHandler(m -> {
                long head = head();
                long count = count();
                if (count > 0 && data.getLong(slot(head)) == data.getLong(TAKEN)) {
                    position(head + 1, count - 1);
                }
            });
        }

        private static int slot(long index) {
            return SLOTS + 8 * (int) (index % CAPACITY);
        }

        private long head() {
            return data.getLong(POSITION) & 0xffff_ffffL;
        }

        private long count() {
            return data.getLong(POSITION) >>> 32;
        }

        private void position(long head, long count) {
            data.putLong(POSITION, (count << 32) | (head % CAPACITY));
        }

        void put() {
            mutex.lock();
            try {
                while (count() == CAPACITY) {
                    notFull.awaitUninterruptibly();
                }
                long count = count();
                // The next item follows the last taken and those queued; the slot is free until the count grows.
                data.putLong(slot(head() + count), data.getLong(TAKEN) + count + 1);
                position(head(), count + 1);
                notEmpty.signal();
            } finally {
                mutex.unlock();
            }
        }

        /** Takes the oldest item; false when it is not the one after the last taken. */
        boolean take() {
            mutex.lock();
            try {
                while (count() == 0) {
                    notEmpty.awaitUninterruptibly();
                }
                long head = head();
                long item = data.getLong(slot(head));
                boolean inOrder = item == data.getLong(TAKEN) + 1;
                data.putLong(TAKEN, item);
                position(head + 1, count() - 1);
                notFull.signal();
                return inOrder;
            } finally {
                mutex.unlock();
            }
        }
    }
}
