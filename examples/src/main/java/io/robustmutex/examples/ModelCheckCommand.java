package io.robustmutex.examples;

import io.robustmutex.MutexKind;
import io.robustmutex.UnlockPath;
import io.robustmutex.internal.Architectures;
import io.robustmutex.model.ModelCheck;
import io.robustmutex.spi.Architecture;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Collectors;

/**
 * {@code model-check}: four tables on the reference model. The first kills a simulated thread before every
 * step of lock and unlock, for every configuration, with a peer that remaps the memory; the second explores
 * the schedules of a few threads (a holder, waiters, a barger; a vanished owner) within a preemption bound,
 * combined with the death of any one thread at any step and with injected kernel results; the third explores
 * a thread that holds glibc robust mutexes and the library's on the one robust list it shares with glibc; the
 * fourth explores waiters and a signaller of a condition, with deaths, and what its re-check heals.
 * Exits 0 iff every configuration expected to be safe is safe and no explored schedule breaks an invariant.
 *
 * <pre>
 * options (each list option takes a comma-separated subset; default: all)
 *   --arch x86_64,aarch64   --kind PI,NORMAL   --path vdso,syscall,classic
 *   --lifetime on,off       --fixup on,off     --scenario hand-off,contention,vanished-owner,stale-boot
 *   --part deaths,schedules,shared-list,conditions
 *   --deep (3 preemptions, 2 with a death or fault; shared list: 1, 1; conditions: 3, 1)
 *   --max-schedules N (per row; default 200,000, 2,000,000 with --deep)
 *   --findings (print what each unsafe row found)
 * </pre>
 */
final class ModelCheckCommand implements RobustMutexTool.Command {

    private static final Set<String> PARTS = Set.of("deaths", "schedules", "shared-list", "conditions");

    @Override
    public String summary() {
        return "check the protocol on the reference model: every death point, and every schedule within a bound";
    }

    @Override
    public String arguments() {
        return "[--arch LIST] [--kind LIST] [--path LIST] [--lifetime LIST] [--fixup LIST] [--scenario LIST]"
                + " [--part LIST] [--deep] [--max-schedules N] [--findings]";
    }

    @Override
    public String help() {
        return """
                Runs the library's protocol on the reference model of the kernel. The first table kills a simulated
                thread before every step of lock and unlock, for every configuration; the second explores every
                schedule of a few threads within a preemption bound, with the death of any one thread at any step
                and injected kernel results; the third does the same for a thread that glibc started, holding
                glibc robust mutexes (NORMAL and PI) and the library's on the robust list they share; the fourth
                does the same for waiters and a signaller of a condition (await, signal, signalAll), and shows
                which wake-ups only the waiters' bounded re-check saves. docs/model.md explains the columns.

                options (each LIST is a comma-separated subset; default: all):
                  --arch x86_64,aarch64      --kind pi,normal            --path vdso,syscall,classic
                  --lifetime on,off          --fixup on,off              --scenario %s
                  --part deaths,schedules,shared-list,conditions
                  --deep (3 preemptions, 2 with a death or fault; in the shared-list table 1 and 1; in the
                          conditions table 3 and 1)
                  --max-schedules N (per row; default 200,000, 2,000,000 with --deep; a row that reaches it
                                     stops and says CUT)
                  --findings (print what each unsafe row found)

                Exit status: 0 when every configuration expected to be safe is safe and every schedule within
                the bound was explored without breaking an invariant; 1 when a row broke an invariant (FAILED)
                or, with none broken, when a row was cut short at --max-schedules (INCOMPLETE); 2 for bad
                arguments.""".formatted(String.join(",", ModelCheck.scenarios()));
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments arguments = Arguments.parse(args, Set.of("--findings", "--deep"), Set.of("--arch", "--kind",
                "--path", "--lifetime", "--fixup", "--scenario", "--part", "--max-schedules"));
        arguments.noPositional();
        List<Architecture> architectures = Architectures.all();
        Set<String> archs = list(arguments, "--arch", null);
        Set<String> kinds = list(arguments, "--kind", null);
        Set<String> paths = list(arguments, "--path", null);
        Set<String> lifetimes = list(arguments, "--lifetime", Set.of("on", "off"));
        Set<String> fixups = list(arguments, "--fixup", Set.of("on", "off"));
        Set<String> scenarios = list(arguments, "--scenario", Set.copyOf(ModelCheck.scenarios()));
        Set<String> parts = arguments.value("--part").isPresent() ? list(arguments, "--part", PARTS) : PARTS;
        boolean findings = arguments.flag("--findings");
        ModelCheck.Depth depth = arguments.flag("--deep") ? ModelCheck.Depth.DEEP : ModelCheck.Depth.DEFAULT;
        int maxSchedules = depth.maxSchedules();
        if (arguments.value("--max-schedules").isPresent()) {
            String value = arguments.value("--max-schedules").get();
            try {
                maxSchedules = Integer.parseInt(value.trim().replace("_", "").replace(",", ""));
            } catch (NumberFormatException e) {
                maxSchedules = 0;
            }
            if (maxSchedules < 1) {
                throw new UsageException("--max-schedules " + value + " (expected a whole number, at least 1)");
            }
        }
        List<ModelCheck.Configuration> deathConfigurations = new ArrayList<>();
        for (ModelCheck.Configuration c : ModelCheck.configurations(architectures)) {
            if ((archs == null || archs.contains(c.architecture().name()))
                    && (kinds == null || kinds.contains(c.kind().name().toLowerCase(Locale.ROOT)))
                    && (paths == null || paths.contains(c.unlockPath().id()))
                    && (lifetimes == null || lifetimes.contains(c.lifetimeRule() ? "on" : "off"))
                    && (fixups == null || c.unlockPath() != UnlockPath.VDSO
                            || fixups.contains(c.fixup() ? "on" : "off"))) {
                deathConfigurations.add(c);
            }
        }
        List<ModelCheck.ExplorationConfiguration> explorationConfigurations = new ArrayList<>();
        for (ModelCheck.ExplorationConfiguration c : ModelCheck.explorationConfigurations(architectures)) {
            if ((archs == null || c.unlockPath() != UnlockPath.VDSO || archs.contains(c.architecture().name()))
                    && (kinds == null || kinds.contains(c.kind().name().toLowerCase(Locale.ROOT)))
                    && (paths == null || paths.contains(c.unlockPath().id()))) {
                explorationConfigurations.add(c);
            }
        }
        List<ModelCheck.SharedListRow> sharedListRows = new ArrayList<>();
        List<Architecture> vdsoArchitectures = architectures.stream()
                .filter(a -> archs == null || archs.contains(a.name())).toList();
        if (!vdsoArchitectures.isEmpty()) {
            for (ModelCheck.SharedListRow row : ModelCheck.sharedListRows(vdsoArchitectures)) {
                ModelCheck.ExplorationConfiguration c = row.configuration();
                if ((kinds == null || kinds.contains(c.kind().name().toLowerCase(Locale.ROOT)))
                        && (paths == null || paths.contains(c.unlockPath().id()))) {
                    sharedListRows.add(row);
                }
            }
        }
        List<ModelCheck.ConditionRow> conditionRows = new ArrayList<>();
        for (ModelCheck.ConditionRow row : ModelCheck.conditionRows(architectures)) {
            ModelCheck.ExplorationConfiguration c = row.configuration();
            if ((kinds == null || kinds.contains(c.kind().name().toLowerCase(Locale.ROOT)))
                    && (paths == null || paths.contains(c.unlockPath().id()))) {
                conditionRows.add(row);
            }
        }
        boolean deaths = parts.contains("deaths") && !deathConfigurations.isEmpty();
        boolean schedules = parts.contains("schedules") && !explorationConfigurations.isEmpty();
        boolean shared = parts.contains("shared-list") && !sharedListRows.isEmpty();
        boolean conditions = parts.contains("conditions") && !conditionRows.isEmpty();
        if (!deaths && !schedules && !shared && !conditions) {
            throw new UsageException("no configuration matches the options (architectures available: "
                    + architectures.stream().map(Architecture::name).collect(Collectors.joining(",")) + "; kinds: "
                    + Arrays.toString(MutexKind.values()) + ")");
        }
        // The protocol logs every owner death it takes over; here thousands are expected.
        Logger protocolLog = Logger.getLogger("io.robustmutex");
        Level level = protocolLog.getLevel();
        protocolLog.setLevel(Level.OFF);
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Runtime.getRuntime().availableProcessors()));
        try {
            int failures = 0;
            int[] cut = new int[1];
            if (deaths) {
                failures += deathTable(deathConfigurations, pool, findings, out);
            }
            if (schedules) {
                if (deaths) {
                    out.println();
                }
                failures += scheduleTable(explorationConfigurations, scenarios, depth, maxSchedules, pool, findings,
                        out, cut);
            }
            if (shared) {
                if (deaths || schedules) {
                    out.println();
                }
                failures += sharedListTable(sharedListRows, depth, maxSchedules, pool, findings, out, cut);
            }
            if (conditions) {
                if (deaths || schedules || shared) {
                    out.println();
                }
                failures += conditionsTable(conditionRows, depth, maxSchedules, pool, findings, out, cut);
            }
            out.println();
            if (failures > 0) {
                out.println("FAILED: " + failures + " row(s) broke an invariant (run with --findings)"
                        + (cut[0] > 0 ? "; " + cut[0] + " more row(s) were cut short (CUT)" : ""));
                return 1;
            }
            if (cut[0] > 0) {
                out.printf("INCOMPLETE: %d row(s) reached the cap of %,d schedules (CUT) before every schedule within"
                        + " the bound was explored; none of the schedules explored broke an invariant. Raise the cap"
                        + " with --max-schedules.%n", cut[0], maxSchedules);
                return 1;
            }
            out.println("OK: every configuration expected to be safe is safe, and no explored schedule breaks an"
                    + " invariant.");
            return 0;
        } finally {
            pool.shutdownNow();
            protocolLog.setLevel(level);
        }
    }

    /** The death-injection table; returns the number of configurations expected safe that are not. */
    private static int deathTable(List<ModelCheck.Configuration> selected, ExecutorService pool, boolean findings,
            PrintStream out) throws Exception {
        String format = "%-8s %-7s %-8s %-9s %-6s %10s %13s %11s %12s  %-9s %-8s%n";
        out.println("Death injection: a thread killed before every step of its lock and unlock.");
        out.printf(format, "arch", "kind", "unlock", "lifetime", "fixup", "scenarios", "death-points",
                "violations", "corruptions", "expected", "result");
        List<Future<ModelCheck.Result>> futures = new ArrayList<>();
        for (ModelCheck.Configuration c : selected) {
            futures.add(pool.submit(() -> ModelCheck.check(c)));
        }
        int unexpectedUnsafe = 0;
        int unexpectedSafe = 0;
        List<ModelCheck.Result> unsafe = new ArrayList<>();
        for (Future<ModelCheck.Result> future : futures) {
            ModelCheck.Result r = future.get();
            ModelCheck.Configuration c = r.configuration();
            out.printf(format, c.architecture().name(), c.kind(), c.unlockPath().id(),
                    c.lifetimeRule() ? "on" : "off", c.fixupLabel(), r.scenarios(), r.deathPoints(),
                    r.violations(), r.corruptions(), c.expectedSafe() ? "safe" : "unsafe",
                    r.safe() ? "safe" : "UNSAFE");
            if (!r.safe()) {
                unsafe.add(r);
            }
            if (c.expectedSafe() && !r.safe()) {
                unexpectedUnsafe++;
            } else if (!c.expectedSafe() && r.safe()) {
                unexpectedSafe++;
            }
        }
        out.println("lifetime: unmapping follows the library's mapping-lifetime rule (design.md section 5);"
                + " fixup: the kernel's vDSO return-to-user fixup runs (off: an arm64 kernel that does not"
                + " record user_irq, or the sequence copied outside the vDSO).");
        out.println("A peer remaps the lock's memory with data holding the dead thread's TID: a corruption is"
                + " a kernel write into that data.");
        if (findings) {
            for (ModelCheck.Result r : unsafe) {
                out.println();
                out.println(r.configuration() + ":");
                r.findings().forEach(f -> out.println("  " + f));
            }
        }
        if (unexpectedSafe > 0) {
            out.println("note: " + unexpectedSafe + " configuration(s) expected to show the race did not;"
                    + " the model failed to reproduce it there");
        }
        return unexpectedUnsafe;
    }

    /**
     * The schedule-exploration table; returns the number of rows with a violating schedule, and counts in
     * {@code cut[0]} the rows without one that stopped at the cap.
     */
    private static int scheduleTable(List<ModelCheck.ExplorationConfiguration> selected, Set<String> scenarios,
            ModelCheck.Depth depth, int maxSchedules, ExecutorService pool, boolean findings, PrintStream out,
            int[] cut) throws Exception {
        String format = "%-15s %-8s %-7s %-8s %-7s %10s %8s %7s %10s %7s  %-6s%n";
        out.println("Schedules: every interleaving with at most " + depth.preemptions() + " preemption(s), or "
                + depth.preemptionsWithInjection() + " when one thread is killed (before any step, or asleep in the"
                + " kernel) or one futex call returns an injected result.");
        out.printf(format, "scenario", "arch", "kind", "unlock", "wake", "schedules", "deaths", "faults",
                "violating", "healed", "result");
        List<Future<ModelCheck.ExplorationResult>> futures = new ArrayList<>();
        for (String scenario : ModelCheck.scenarios()) {
            if (scenarios != null && !scenarios.contains(scenario)) {
                continue;
            }
            for (ModelCheck.ExplorationConfiguration c : selected) {
                futures.add(pool.submit(() -> ModelCheck.explore(c, scenario, depth, maxSchedules)));
            }
        }
        return printRows(futures, (r, result) -> {
            ModelCheck.ExplorationConfiguration c = r.configuration();
            out.printf(format, r.scenario(), c.architectureLabel(), c.kind(), c.unlockPath().id(), c.wakeLabel(),
                    r.schedules(), r.withDeath(), r.withFault(), r.violating(), r.healed(), result);
        }, "wake: what FUTEX_WAKE|FUTEX_ROBUST_UNLOCK leaves in the word (Linux 7.2: 0; a proposed kernel: WAITERS"
                + " while waiters remain). healed: schedules in which a waiter asleep on a free word was woken by the"
                + " bounded re-check instead of sleeping for ever.", findings, out, cut);
    }

    /**
     * Prints each explored row as its result arrives, then the total and a footer, and with {@code findings} the
     * violating schedules of the unsafe rows; returns the number of rows with a violating schedule, and counts in
     * {@code cut[0]} the rows without one that stopped at the cap.
     */
    private static int printRows(List<Future<ModelCheck.ExplorationResult>> futures,
            BiConsumer<ModelCheck.ExplorationResult, String> row, String footer, boolean findings, PrintStream out,
            int[] cut) throws Exception {
        int failing = 0;
        long total = 0;
        List<ModelCheck.ExplorationResult> unsafe = new ArrayList<>();
        for (Future<ModelCheck.ExplorationResult> future : futures) {
            ModelCheck.ExplorationResult r = future.get();
            total += r.schedules();
            row.accept(r, r.violating() > 0 ? "UNSAFE" : r.truncated() ? "CUT" : "safe");
            if (r.violating() > 0) {
                failing++;
                unsafe.add(r);
            } else if (r.truncated()) {
                cut[0]++;
            }
        }
        out.println(total + " schedules. " + footer);
        if (findings) {
            for (ModelCheck.ExplorationResult r : unsafe) {
                out.println();
                out.println(r.scenario() + ", " + r.configuration() + ":");
                r.findings().forEach(f -> out.println("  " + f));
            }
        }
        return failing;
    }

    /**
     * The shared-list table; returns the number of rows with a violating schedule, and counts in {@code cut[0]}
     * the rows without one that stopped at the cap.
     */
    private static int sharedListTable(List<ModelCheck.SharedListRow> selected, ModelCheck.Depth depth,
            int maxSchedules, ExecutorService pool, boolean findings, PrintStream out, int[] cut) throws Exception {
        String format = "%-70s %-7s %-7s %10s %8s %7s %10s %7s  %-9s %-6s%n";
        out.println("Shared robust list: a thread that glibc started holds glibc robust mutexes and the library's on"
                + " the one list (the library joined glibc's head), a peer contending for each; every schedule with"
                + " at most " + depth.sharedListPreemptions() + " preemption(s), or "
                + depth.sharedListPreemptionsWithInjection() + " when one thread is killed or one futex call returns"
                + " an injected result.");
        out.printf(format, "row", "arch", "ours", "schedules", "deaths", "faults", "violating", "healed", "expected",
                "result");
        List<Future<ModelCheck.ExplorationResult>> futures = new ArrayList<>();
        for (ModelCheck.SharedListRow row : selected) {
            futures.add(pool.submit(() -> ModelCheck.exploreSharedList(row, depth, maxSchedules)));
        }
        return printRows(futures, (r, result) -> out.printf(format, r.scenario(),
                r.configuration().architectureLabel(), r.configuration().kind(), r.schedules(), r.withDeath(),
                r.withFault(), r.violating(), r.healed(), "safe", result),
                "ours: the kind of the library's mutex. Checked besides the schedules table's invariants: between"
                + " operations, each thread's registered list holds exactly what it holds, both kinds, most recent"
                + " first, with every prev and PI bit right; after a death, nothing is left held by the dead thread"
                + " and each next acquirer is told (EOWNERDEAD for glibc's).", findings, out, cut);
    }

    /**
     * The conditions table, then what the waiters' re-check heals (the {@code signal} rows again without it);
     * returns the number of rows with a violating schedule, and counts in {@code cut[0]} the rows without one
     * that stopped at the cap.
     */
    private static int conditionsTable(List<ModelCheck.ConditionRow> selected, ModelCheck.Depth depth,
            int maxSchedules, ExecutorService pool, boolean findings, PrintStream out, int[] cut) throws Exception {
        String format = "%-24s %-7s %-8s %-6s %10s %8s %7s %10s %7s %8s  %-6s%n";
        out.println("Conditions: waiters and a signaller of a condition (its sequence word and waiters hint beside the"
                + " mutex), each in its own process; every schedule with at most " + depth.conditionPreemptions()
                + " preemption(s), or " + depth.conditionPreemptionsWithInjection() + " when one thread is killed"
                + " (before any step, or asleep in the kernel) or one futex call returns an injected result"
                + " (two-signals: " + depth.conditionTwoRoundsPreemptionsWithInjection() + "); bound: preemptions/with"
                + " a death or fault.");
        out.printf(format, "row", "kind", "unlock", "bound", "schedules", "deaths", "faults", "violating", "healed",
                "max-wake", "result");
        List<Future<ModelCheck.ConditionResult>> futures = new ArrayList<>();
        for (ModelCheck.ConditionRow row : selected) {
            futures.add(pool.submit(() -> ModelCheck.exploreCondition(row, depth, maxSchedules)));
        }
        List<Future<ModelCheck.ConditionResult>> withoutRecheck = new ArrayList<>();
        for (ModelCheck.ConditionRow row : selected) {
            if (row.scenario().equals("signal")) {
                withoutRecheck.add(pool.submit(() -> ModelCheck.exploreConditionWithoutRecheck(row, depth,
                        maxSchedules)));
            }
        }
        List<Future<ModelCheck.ExplorationResult>> explorations = new ArrayList<>();
        List<Double> latencies = new ArrayList<>();
        List<Integer> conditionHealed = new ArrayList<>();
        for (Future<ModelCheck.ConditionResult> future : futures) {
            ModelCheck.ConditionResult r = future.get();
            explorations.add(CompletableFuture.completedFuture(r.exploration()));
            latencies.add(r.maxLatencyRechecks());
            conditionHealed.add(r.conditionHealed());
        }
        int[] index = new int[1];
        List<String> bounds = selected.stream().map(row -> ModelCheck.conditionBoundsLabel(row, depth)).toList();
        int failing = printRows(explorations, (r, result) -> {
            int i = index[0]++;
            out.printf(format, r.scenario(), r.configuration().kind(), r.configuration().unlockPath().id(),
                    bounds.get(i), r.schedules(), r.withDeath(), r.withFault(), r.violating(), conditionHealed.get(i),
                    String.format(Locale.ROOT, "%.2f", latencies.get(i)), result);
        }, "healed: schedules in which a waiter slept on after a signal had moved the sequence (the signaller"
                + " died before its wake-up, or the waiter woken died) until its re-check woke it. max-wake: the"
                + " longest a wait took to return after the signal that moved its sequence, in re-check intervals"
                + " (a violation above " + ModelCheck.conditionWakeBound() + "). Checked besides the schedules"
                + " table's invariants: each wait returns holding the mutex; the waiters hint is never below the"
                + " threads asleep on the sequence; with the signaller alive every surviving waiter gets what it"
                + " waited for; afterwards a fresh await/signal pair on the record works.", findings, out, cut);
        for (Future<ModelCheck.ConditionResult> future : withoutRecheck) {
            ModelCheck.ExplorationResult r = future.get().exploration();
            out.printf("Without the re-check (%s, %s): %d of %d schedules leave a waiter asleep past a signal until its"
                    + " deadline%s.%n", r.scenario(), r.configuration().kind(), r.violating(), r.schedules(),
                    r.violating() > 0 ? " (the healed schedules above, as expected)" : "; note: the model failed to"
                    + " show the lost wake-up");
        }
        return failing;
    }

    /**
     * A comma-separated list option, lower-cased.
     *
     * @param allowed the values it may hold, or null for any (they then only filter)
     * @return the values, or null when the option is absent
     */
    private static Set<String> list(Arguments arguments, String option, Set<String> allowed) {
        if (arguments.value(option).isEmpty()) {
            return null;
        }
        Set<String> values = Arrays.stream(arguments.value(option).get().split(","))
                .map(v -> v.trim().toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
        for (String value : values) {
            if (allowed != null && !allowed.contains(value)) {
                throw new UsageException(option + " " + value + " (expected " + String.join(",", new TreeSet<>(allowed))
                        + ")");
            }
        }
        return values;
    }
}
