package io.robustmutex.examples;

import io.robustmutex.MutexKind;
import io.robustmutex.RobustCondition;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code queue}: a kill storm on a bounded queue shared by producer and consumer JVMs ({@link QueueWorker}) that
 * wait on two {@link RobustCondition}s. The parent kills one of them with SIGKILL again and again (half the
 * time whichever is changing the queue at that moment, otherwise any: most are asleep in a condition's wait or
 * in the mutex) and starts another of the same role in its place.
 *
 * <p>Checked throughout: every item is taken exactly once and in order (none lost, none taken twice) once the
 * recovery handler has rolled back a half-done change; every reported death is that of a killed process,
 * reported once; and the queue keeps moving: with a producer and a consumer ready, an item is taken at least
 * every {@value #STALL_SECONDS} s (a waiter left asleep by a lost wake-up wakes within the re-check interval,
 * 100 ms by default, so a stall means one slept for ever). At the end every worker stops when asked and the
 * parent finds the counts reconciled: items produced = items taken + items still queued.
 */
final class QueueCommand implements RobustMutexTool.Command {

    /** The longest the queue may go without an item taken while a producer and a consumer are ready. */
    static final long STALL_SECONDS = 10;

    @Override
    public String summary() {
        return "kill producer and consumer JVMs of a queue that waits on robust conditions; check every item";
    }

    @Override
    public String arguments() {
        return "[--kills N] [--producers N] [--consumers N] [--kind pi,normal] [--duration SECONDS] [--dir DIRECTORY]"
                + " [--seed N]";
    }

    @Override
    public String help() {
        return """
                For each kind, producer and consumer JVMs share a bounded queue guarded by a robust mutex, waiting
                on its conditions "not empty" and "not full"; the command kills one of them with SIGKILL again and
                again (half the time whichever is changing the queue, otherwise any) and starts another of the same
                role in its place. It checks that every item is taken once and in order, that every death is
                reported once, and that the queue never stalls (no waiter left asleep).

                options:
                  --kills N             kills per kind (default 200)
                  --producers N         producer JVMs per kind (default 2)
                  --consumers N         consumer JVMs per kind (default 2)
                  --kind pi,normal      the kinds to run (default both)
                  --duration SECONDS    the longest it may run (default 1200)
                  --dir DIRECTORY       where the shared files go (default /dev/shm)
                  --seed N              the random seed (default: the clock)

                Exit status: 0 when nothing was violated, 1 otherwise, 2 for bad arguments.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments arguments = Arguments.parse(args, Set.of(), Set.of("--kills", "--producers", "--consumers", "--kind",
                "--duration", "--dir", "--seed"));
        arguments.noPositional();
        int producers = (int) arguments.number("--producers", 2, 1, 8);
        int consumers = (int) arguments.number("--consumers", 2, 1, 8);
        int kills = (int) arguments.number("--kills", 200, 1, QueueWorker.KILL_LOG_CAPACITY - 16);
        long durationSeconds = arguments.number("--duration", 1200, 1, TimeUnit.DAYS.toSeconds(365));
        Path dir = TortureCommand.directory(arguments);
        long seed = arguments.number("--seed", System.nanoTime(), Long.MIN_VALUE, Long.MAX_VALUE);
        List<MutexKind> kinds = TortureCommand.kinds(arguments);
        Path work = Files.createTempDirectory(dir, "robust-mutex-queue");
        out.printf("queue: %d kills per kind, %d producer and %d consumer JVMs per kind, kinds %s, seed %d, in %s%n",
                kills, producers, consumers, kinds, seed, work);
        Random random = new Random(seed);
        List<Storm> storms = new ArrayList<>();
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(durationSeconds);
        try {
            for (MutexKind kind : kinds) {
                storms.add(new Storm(kind, work.resolve(kind.name().toLowerCase(Locale.ROOT)), producers, consumers));
            }
            boolean remaining = true;
            int reported = 0;
            while (remaining && System.nanoTime() < end) {
                remaining = false;
                int least = Integer.MAX_VALUE;
                for (Storm storm : storms) {
                    if (storm.killed < kills && storm.violations.isEmpty()) {
                        remaining = true;
                        storm.step(random);
                    }
                    least = Math.min(least, storm.killed);
                }
                if (least / 50 > reported) {
                    reported = least / 50;
                    out.printf("  %d kills per kind after %.0f s%n", reported * 50, (System.nanoTime() - start) / 1e9);
                    out.flush();
                }
                Thread.sleep(2 + random.nextInt(30));
            }
            int failures = 0;
            out.printf("%-7s %6s %12s %12s %10s %10s %10s %10s %8s  %s%n", "kind", "kills", "changers hit",
                    "deaths told", "rollbacks", "produced", "taken", "waits", "seconds", "result");
            for (Storm storm : storms) {
                storm.finish();
                if (storm.killed < kills) {
                    storm.violations.add("only " + storm.killed + " of " + kills + " kills within " + durationSeconds
                            + " s");
                }
                out.printf("%-7s %6d %12d %12d %10d %10d %10d %10d %8.1f  %s%n", storm.kind, storm.killed,
                        storm.changersKilled, storm.deaths, storm.rollbacks, storm.produced, storm.taken, storm.waits,
                        (storm.endNanos - start) / 1e9, storm.violations.isEmpty() ? "ok" : "VIOLATED");
                for (String violation : storm.violations) {
                    out.println("  " + violation);
                }
                failures += storm.violations.size();
            }
            out.println("changers hit: kills that found the victim changing the queue; deaths told: owner deaths the"
                    + " recovery handler saw; rollbacks: half-done changes undone from the journal; waits: condition"
                    + " waits.");
            out.println(failures == 0 ? "OK: every item taken once and in order, every death reported once, the"
                    + " queue never stalled." : "FAILED: " + failures + " violation(s)");
            return failures == 0 ? 0 : 1;
        } finally {
            for (Storm storm : storms) {
                storm.killAll();
            }
            TortureCommand.deleteTree(work);
        }
    }

    /** The storm on one kind: a region, its workers, and the checks. */
    private static final class Storm {
        final MutexKind kind;
        final Path region;
        final SharedMemory memory;
        final ByteBuffer data;
        final List<WorkerProcess> workers = new ArrayList<>();
        final List<String> roles = new ArrayList<>();
        final List<String> violations = new ArrayList<>();
        int killed;
        int changersKilled;
        long lastTaken;
        long lastProgress = System.nanoTime();
        long deaths;
        long rollbacks;
        long produced;
        long taken;
        long waits;
        long endNanos;

        Storm(MutexKind kind, Path region, int producers, int consumers) throws IOException {
            this.kind = kind;
            this.region = region;
            this.memory = SharedMemory.map(region, QueueWorker.SIZE);
            this.data = memory.buffer();
            RobustMutex mutex = memory.mutex(QueueWorker.MUTEX, kind);
            memory.condition(QueueWorker.NOT_EMPTY, mutex);
            memory.condition(QueueWorker.NOT_FULL, mutex);
            QueueWorker.put(data, QueueWorker.NEXT, 1);
            for (int i = 0; i < producers + consumers; i++) {
                start(i < producers ? "producer" : "consumer");
            }
        }

        private void start(String role) throws IOException {
            workers.add(new WorkerProcess(QueueWorker.class, region.toString(), kind.name(), role));
            roles.add(role);
        }

        private boolean ready(String role) {
            for (int i = 0; i < workers.size(); i++) {
                if (roles.get(i).equals(role) && workers.get(i).ready()) {
                    return true;
                }
            }
            return false;
        }

        /** One round: check progress, maybe kill a worker and start another of its role. */
        void step(Random random) throws Exception {
            checkWorkers();
            long now = System.nanoTime();
            long takenNow = QueueWorker.get(data, QueueWorker.TAKEN);
            if (takenNow != lastTaken || !ready("producer") || !ready("consumer")) {
                lastTaken = takenNow;
                lastProgress = now;
            } else if (now - lastProgress > TimeUnit.SECONDS.toNanos(STALL_SECONDS)) {
                violations.add("no item taken for " + STALL_SECONDS + " s with a producer and a consumer ready: a"
                        + " waiter is asleep for ever, or the mutex is stuck");
                return;
            }
            List<Integer> ready = new ArrayList<>();
            for (int i = 0; i < workers.size(); i++) {
                if (workers.get(i).ready()) {
                    ready.add(i);
                }
            }
            if (ready.size() < workers.size() - 1) {
                // Kill only when the workers are up (all but one, which may still be starting), so that the
                // victims include waiters asleep in the kernel.
                return;
            }
            int victim = -1;
            long inside = QueueWorker.get(data, QueueWorker.INSIDE);
            if (random.nextBoolean()) {
                for (int i : ready) {
                    if (workers.get(i).process.pid() == inside) {
                        victim = i;
                    }
                }
            }
            if (victim < 0) {
                victim = ready.get(random.nextInt(ready.size()));
            }
            WorkerProcess worker = workers.get(victim);
            logKill(worker.process.pid());
            if (QueueWorker.get(data, QueueWorker.INSIDE) == worker.process.pid()) {
                changersKilled++;
            }
            worker.process.destroyForcibly();
            if (!worker.process.waitFor(30, TimeUnit.SECONDS)) {
                violations.add("process " + worker.process.pid() + " did not die within 30 s of SIGKILL");
                return;
            }
            killed++;
            workers.remove(victim);
            String role = roles.remove(victim);
            start(role);
        }

        private void logKill(long pid) {
            QueueWorker.log(data).logKill(pid);
        }

        private void checkWorkers() {
            QueueWorker.log(data).collect(workers, violations);
        }


        /** Asks the workers to stop (waking every waiter), then takes the mutex last and reconciles the counts. */
        void finish() throws Exception {
            RobustMutex mutex = memory.mutex(QueueWorker.MUTEX, kind);
            RobustCondition notEmpty = memory.condition(QueueWorker.NOT_EMPTY, mutex);
            RobustCondition notFull = memory.condition(QueueWorker.NOT_FULL, mutex);
            mutex.setRecoveryHandler(held -> violations.add("the parent was told of an owner death while stopping"
                    + " the workers: a worker died without being killed"));
            if (!mutex.tryLock(30, TimeUnit.SECONDS)) {
                violations.add("the parent could not take the mutex in 30 s to stop the workers");
            } else {
                try {
                    QueueWorker.put(data, QueueWorker.STOP, 1);
                    notEmpty.signalAll();
                    notFull.signalAll();
                } finally {
                    mutex.unlock();
                }
            }
            StormLog.awaitStopped(workers, violations);
            checkWorkers();
            if (mutex.tryLock(30, TimeUnit.SECONDS)) {
                try {
                    long next = QueueWorker.get(data, QueueWorker.NEXT);
                    long count = QueueWorker.get(data, QueueWorker.COUNT);
                    long head = QueueWorker.get(data, QueueWorker.HEAD);
                    produced = next - 1;
                    taken = QueueWorker.get(data, QueueWorker.TAKEN);
                    if (produced != taken + count || QueueWorker.get(data, QueueWorker.JOURNAL_SEQ) != 0) {
                        violations.add("counts do not reconcile: produced " + produced + ", taken " + taken + ", "
                                + count + " queued");
                    }
                    for (int i = 0; i < count; i++) {
                        int slot = QueueWorker.RING + 8 * (int) ((head + i) % QueueWorker.CAPACITY);
                        long item = QueueWorker.get(data, slot);
                        if (item != taken + 1 + i) {
                            violations.add("queued item " + i + " is " + item + ", expected " + (taken + 1 + i));
                            break;
                        }
                    }
                } finally {
                    mutex.unlock();
                }
            } else {
                violations.add("the parent could not take the mutex in 30 s after the workers stopped");
            }
            deaths = QueueWorker.get(data, QueueWorker.DEATHS);
            if (deaths > killed) {
                violations.add(deaths + " owner deaths were reported, but only " + killed + " processes were killed");
            }
            rollbacks = QueueWorker.get(data, QueueWorker.ROLLBACKS);
            waits = QueueWorker.get(data, QueueWorker.WAITS);
            endNanos = System.nanoTime();
            memory.close();
        }

        void killAll() {
            for (WorkerProcess worker : workers) {
                worker.process.destroyForcibly();
            }
        }
    }
}
