package io.robustmutex.examples;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.SharedMemory;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * {@code torture}: a kill storm at the scale users run. For each kind, several worker JVMs ({@link
 * TortureWorker}) take one mutex in turns and move units between two accounts under it with a journal; the
 * parent kills one of them with SIGKILL again and again (half the time whichever holds the mutex at that
 * moment, otherwise any: most of those are asleep in the kernel waiting) and starts a new one in its place.
 *
 * <p>Checked throughout: the ledger balances after every acquisition (every update committed, or rolled back
 * by the next owner; none lost or doubled); an acquisition that finds another process marked inside the
 * critical section reports an owner death, and that process is one the parent killed, reported once; the
 * survivors make progress after every kill (no waiter left asleep); at the end every worker stops when asked
 * and the parent, taking the mutex last, finds the ledger whole. Exits 0 iff nothing was violated.
 *
 * <pre>
 * options: --kills N (per kind, default 1000)   --processes N (per kind, default 3)
 *          --kind pi,normal (default both)      --duration SECONDS (the most it may run, default 1200)
 *          --dir DIRECTORY (default /dev/shm)   --seed N
 * </pre>
 */
final class TortureCommand implements RobustMutexTool.Command {

    /** The longest the survivors may go without committing an update while one of them is ready. */
    private static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(10);

    @Override
    public String summary() {
        return "kill worker JVMs holding and waiting for mutexes again and again; check the ledger they keep";
    }

    @Override
    public String arguments() {
        return "[--kills N] [--processes N] [--kind pi,normal] [--duration SECONDS] [--dir DIRECTORY] [--seed N]";
    }

    @Override
    public String help() {
        return """
                For each kind, worker JVMs take one mutex in turns and move units between two accounts under it,
                with a journal; the command kills one of them with SIGKILL again and again (half the time whichever
                holds the mutex, otherwise any) and starts another in its place. It checks that no update is lost
                or doubled, that every death is reported once, and that no waiter is left asleep.

                options:
                  --kills N             kills per kind (default 1000)
                  --processes N         worker JVMs per kind (default 3)
                  --kind pi,normal      the kinds to run (default both)
                  --duration SECONDS    the longest it may run (default 1200)
                  --dir DIRECTORY       where the shared files go (default /dev/shm)
                  --seed N              the random seed (default: the clock)

                Exit status: 0 when nothing was violated, 1 otherwise, 2 for bad arguments.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments arguments = Arguments.parse(args, Set.of(), Set.of("--kills", "--processes", "--kind", "--duration",
                "--dir", "--seed"));
        arguments.noPositional();
        // Each kill and each worker started takes a slot of the workers' kill log.
        int processes = (int) arguments.number("--processes", 3, 1, TortureWorker.KILL_LOG_CAPACITY / 4);
        int kills = (int) arguments.number("--kills", 1000, 1, TortureWorker.KILL_LOG_CAPACITY - 2 * processes);
        long durationSeconds = arguments.number("--duration", 1200, 1, TimeUnit.DAYS.toSeconds(365));
        Path dir = directory(arguments);
        long seed = arguments.number("--seed", System.nanoTime(), Long.MIN_VALUE, Long.MAX_VALUE);
        List<MutexKind> kinds = kinds(arguments);
        Path work = Files.createTempDirectory(dir, "robust-mutex-torture");
        out.printf("torture: %d kills per kind, %d worker JVMs per kind, kinds %s, seed %d, in %s%n", kills,
                processes, kinds, seed, work);
        Random random = new Random(seed);
        Map<MutexKind, Storm> storms = new LinkedHashMap<>();
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(durationSeconds);
        try {
            for (MutexKind kind : kinds) {
                storms.put(kind, new Storm(kind, work.resolve(kind.name().toLowerCase(Locale.ROOT)), processes));
            }
            boolean remaining = true;
            int reported = 0;
            while (remaining && System.nanoTime() < end) {
                remaining = false;
                int least = Integer.MAX_VALUE;
                for (Storm storm : storms.values()) {
                    if (storm.killed < kills && storm.violations.isEmpty()) {
                        remaining = true;
                        storm.step(random);
                    }
                    least = Math.min(least, storm.killed);
                }
                if (least / 100 > reported) {
                    reported = least / 100;
                    out.printf("  %d kills per kind after %.0f s%n", reported * 100, (System.nanoTime() - start) / 1e9);
                    out.flush();
                }
                Thread.sleep(2 + random.nextInt(20));
            }
            int failures = 0;
            out.printf("%-7s %6s %13s %15s %10s %10s %12s %8s  %s%n", "kind", "kills", "holders hit", "deaths told",
                    "rollbacks", "updates", "acquisitions", "seconds", "result");
            for (Storm storm : storms.values()) {
                storm.finish();
                if (storm.killed < kills) {
                    storm.violations.add("only " + storm.killed + " of " + kills + " kills within " + durationSeconds
                            + " s");
                }
                out.printf("%-7s %6d %13d %15s %10d %10d %12d %8.1f  %s%n", storm.kind, storm.killed,
                        storm.holdersKilled, storm.deaths + " (" + storm.unattributed + " unmarked)", storm.rollbacks,
                        storm.committed, storm.acquisitions, (storm.endNanos - start) / 1e9,
                        storm.violations.isEmpty() ? "ok" : "VIOLATED");
                for (String violation : storm.violations) {
                    out.println("  " + violation);
                }
                failures += storm.violations.size();
            }
            out.println("holders hit: kills that found the victim marked inside the critical section; deaths told:"
                    + " acquisitions that reported the owner's death (unmarked: it died before marking itself"
                    + " inside); rollbacks: half-done updates undone from the journal.");
            out.println(failures == 0 ? "OK: no update lost or doubled, every death reported once, no waiter left"
                    + " asleep." : "FAILED: " + failures + " violation(s)");
            return failures == 0 ? 0 : 1;
        } finally {
            for (Storm storm : storms.values()) {
                storm.killAll();
            }
            deleteTree(work);
        }
    }

    /** {@code --kind pi,normal}: the kinds to run, both by default. */
    static List<MutexKind> kinds(Arguments arguments) {
        if (arguments.value("--kind").isEmpty()) {
            return List.of(MutexKind.PI, MutexKind.NORMAL);
        }
        List<MutexKind> chosen = new ArrayList<>();
        for (String kind : arguments.value("--kind").get().split(",")) {
            try {
                chosen.add(MutexKind.valueOf(kind.trim().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw new UsageException("--kind " + kind + " (expected pi or normal)");
            }
        }
        return List.copyOf(new LinkedHashSet<>(chosen));
    }

    /** {@code --dir}: where the shared files go, /dev/shm by default (else the temporary directory). */
    static Path directory(Arguments arguments) {
        Path dir = Path.of(arguments.value("--dir").orElse(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm"
                : System.getProperty("java.io.tmpdir")));
        if (!Files.isDirectory(dir)) {
            throw new UsageException("--dir " + dir + ": not a directory");
        }
        return dir;
    }

    static void deleteTree(Path dir) throws IOException {
        try (var paths = Files.walk(dir)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /** The storm on one kind: a region, its workers, and the checks. */
    private static final class Storm {
        final MutexKind kind;
        final Path region;
        final SharedMemory memory;
        final ByteBuffer data;
        final List<WorkerProcess> workers = new ArrayList<>();
        final List<String> violations = new ArrayList<>();
        int killed;
        int holdersKilled;
        long lastCommitted;
        long lastProgress = System.nanoTime();
        long deaths;
        long unattributed;
        long rollbacks;
        long committed;
        long acquisitions;
        long endNanos;

        Storm(MutexKind kind, Path region, int processes) throws IOException {
            this.kind = kind;
            this.region = region;
            this.memory = SharedMemory.map(region, TortureWorker.SIZE);
            this.data = memory.buffer();
            memory.mutex(0, kind);
            TortureWorker.put(data, TortureWorker.A, TortureWorker.TOTAL);
            for (int i = 0; i < processes; i++) {
                workers.add(new WorkerProcess(TortureWorker.class, region.toString(), kind.name()));
            }
        }

        /** One round: check progress, maybe kill a worker and start another. */
        void step(Random random) throws Exception {
            checkWorkers();
            long now = System.nanoTime();
            long committedNow = TortureWorker.get(data, TortureWorker.COMMITTED);
            boolean anyReady = workers.stream().anyMatch(WorkerProcess::ready);
            if (committedNow != lastCommitted || !anyReady) {
                lastCommitted = committedNow;
                lastProgress = now;
            } else if (now - lastProgress > STALL_NANOS) {
                violations.add("no update committed for " + STALL_NANOS / 1_000_000_000L + " s with a worker ready:"
                        + " a waiter is asleep on a mutex nobody holds, or the holder is stuck");
                return;
            }
            List<WorkerProcess> ready = workers.stream().filter(WorkerProcess::ready).toList();
            if (ready.size() < 2) {
                return;
            }
            WorkerProcess victim = null;
            long inside = TortureWorker.get(data, TortureWorker.INSIDE);
            if (random.nextBoolean()) {
                for (WorkerProcess worker : ready) {
                    if (worker.process.pid() == inside) {
                        victim = worker;
                    }
                }
            }
            if (victim == null) {
                victim = ready.get(random.nextInt(ready.size()));
            }
            logKill(victim.process.pid());
            if (TortureWorker.get(data, TortureWorker.INSIDE) == victim.process.pid()) {
                holdersKilled++;
            }
            victim.process.destroyForcibly();
            if (!victim.process.waitFor(30, TimeUnit.SECONDS)) {
                violations.add("process " + victim.process.pid() + " did not die within 30 s of SIGKILL");
                return;
            }
            killed++;
            workers.remove(victim);
            workers.add(new WorkerProcess(TortureWorker.class, region.toString(), kind.name()));
        }

        private void logKill(long pid) {
            TortureWorker.log(data).logKill(pid);
        }

        private void checkWorkers() {
            TortureWorker.log(data).collect(workers, violations);
        }


        /** Stops the workers, takes the mutex last and checks the ledger. */
        void finish() throws Exception {
            TortureWorker.put(data, TortureWorker.STOP, 1);
            StormLog.awaitStopped(workers, violations);
            checkWorkers();
            try (Acquisition held = memory.mutex(0, kind).tryAcquire(java.time.Duration.ofSeconds(30))
                    .orElseThrow(() -> new IllegalStateException("the parent could not take the mutex in 30 s"))) {
                if (held.ownerDied()) {
                    violations.add("the parent was told of an owner death after every worker stopped");
                    held.markConsistent();
                }
                long a = TortureWorker.get(data, TortureWorker.A);
                long b = TortureWorker.get(data, TortureWorker.B);
                committed = TortureWorker.get(data, TortureWorker.COMMITTED);
                if (a + b != TortureWorker.TOTAL || b != committed || TortureWorker.get(data,
                        TortureWorker.JOURNAL_SEQ) != 0) {
                    violations.add("ledger broken at the end: A=" + a + " B=" + b + " committed=" + committed);
                }
            } catch (IllegalStateException e) {
                violations.add(e.getMessage());
            }
            deaths = TortureWorker.get(data, TortureWorker.DEATHS);
            unattributed = TortureWorker.get(data, TortureWorker.UNATTRIBUTED);
            // Each kill ends one process, which holds the one mutex at most once: it can cause one owner death at
            // most. Deaths the workers could not attribute to a marked holder are bounded by this too.
            if (deaths > killed) {
                violations.add(deaths + " owner deaths were reported, but only " + killed + " processes were killed"
                        + " (" + unattributed + " of the deaths with no holder marked inside)");
            }
            rollbacks = TortureWorker.get(data, TortureWorker.ROLLBACKS);
            acquisitions = TortureWorker.get(data, TortureWorker.ACQUISITIONS);
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
