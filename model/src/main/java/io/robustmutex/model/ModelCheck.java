package io.robustmutex.model;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.UnlockPath;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.RobustListHeadDescriptor;
import io.robustmutex.spi.Architecture;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Exhaustive death injection on the model (design.md section 6): for one configuration (architecture, kind,
 * unlock path, mapping-lifetime rule, fixup), kill a thread before every step of its lock and of its unlock,
 * with and without a waiter asleep in the kernel, and, for unlocks, with and without a peer thread of the
 * same process that after the victim's release takes the lock, releases it, unmaps the memory and maps
 * different data at the same address before the victim's exit is handled (the unmap race of kernel-abi.md
 * section 4). The remapped data holds the victim's TID where the lock word was: the worst case.
 *
 * <p>Invariants checked in every scenario:
 * <ul>
 * <li>no double owner: nobody acquires while another live thread holds;</li>
 * <li>owner death reported exactly when an owner died holding (its TID in the word), once;</li>
 * <li>no lost lock or lost wake-up: at the end nobody is asleep and a fresh thread can acquire;</li>
 * <li>list_op_pending of every surviving thread is clear after each of its operations;</li>
 * <li>no corruption: the kernel never writes into memory that no longer holds the lock.</li>
 * </ul>
 * Configurations without the lifetime rule on the classic path, or on the vDSO path without the fixup, are
 * expected to show the corruption; all others to be safe.
 */
public final class ModelCheck {

    private ModelCheck() {
    }

    /**
     * One configuration of the check.
     *
     * @param architecture the architecture whose vDSO sequence is modelled
     * @param kind the mutex kind
     * @param unlockPath the unlock path
     * @param lifetimeRule whether unmapping follows the library's mapping-lifetime rule
     * @param fixup whether the kernel's return-to-user fixup runs (for the vDSO path: off models a kernel that
     *     does not record {@code user_irq}, or a copy of the sequence outside the vDSO)
     */
    public record Configuration(Architecture architecture, MutexKind kind, UnlockPath unlockPath,
            boolean lifetimeRule, boolean fixup) {

        /** Validates the fields. */
        public Configuration {
            Objects.requireNonNull(architecture, "architecture");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(unlockPath, "unlockPath");
        }

        /**
         * Whether this configuration is expected to be safe.
         *
         * @return false only without the lifetime rule on the classic path or on the vDSO path without fixup
         */
        public boolean expectedSafe() {
            return lifetimeRule || unlockPath == UnlockPath.SYSCALL || unlockPath == UnlockPath.VDSO && fixup;
        }

        /**
         * The fixup column: {@code on}/{@code off} for the vDSO path, {@code -} where it does not apply.
         *
         * @return the label
         */
        public String fixupLabel() {
            return unlockPath == UnlockPath.VDSO ? fixup ? "on" : "off" : "-";
        }

        KernelModel newModel() {
            return KernelModel.builder()
                    .architecture(architecture)
                    .vdsoTryUnlock(unlockPath == UnlockPath.VDSO)
                    .userIrqRecorded(fixup)
                    .unlockPath(unlockPath)
                    .build();
        }

        @Override
        public String toString() {
            return architecture.name() + " " + kind + " " + unlockPath.id() + " lifetime="
                    + (lifetimeRule ? "on" : "off") + " fixup=" + fixupLabel();
        }
    }

    /**
     * One configuration of the exploration of schedules.
     *
     * @param architecture the architecture whose vDSO sequence is modelled (relevant to the vDSO path)
     * @param kind the mutex kind
     * @param unlockPath the unlock path
     * @param robustWakeStoresWaiters whether {@code FUTEX_WAKE | FUTEX_ROBUST_UNLOCK} leaves WAITERS in the word
     *     while waiters remain (a proposed kernel behaviour; Linux 7.2 stores 0)
     */
    public record ExplorationConfiguration(Architecture architecture, MutexKind kind, UnlockPath unlockPath,
            boolean robustWakeStoresWaiters) {

        /** Validates the fields. */
        public ExplorationConfiguration {
            Objects.requireNonNull(architecture, "architecture");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(unlockPath, "unlockPath");
        }

        KernelModel newModel() {
            return modelBuilder().build();
        }

        KernelModel.Builder modelBuilder() {
            return KernelModel.builder()
                    .architecture(architecture)
                    .vdsoTryUnlock(unlockPath == UnlockPath.VDSO)
                    .unlockPath(unlockPath)
                    .robustWakeStoresWaiters(robustWakeStoresWaiters);
        }

        /**
         * The architecture column: the architecture for the vDSO path, {@code -} where it does not matter.
         *
         * @return the label
         */
        public String architectureLabel() {
            return unlockPath == UnlockPath.VDSO ? architecture.name() : "-";
        }

        /**
         * The wake column: what {@code FUTEX_WAKE | FUTEX_ROBUST_UNLOCK} stores, where a NORMAL unlock uses it.
         *
         * @return {@code 0} or {@code WAITERS}, or {@code -}
         */
        public String wakeLabel() {
            return kind == MutexKind.NORMAL && unlockPath != UnlockPath.CLASSIC
                    ? robustWakeStoresWaiters ? "WAITERS" : "0" : "-";
        }

        @Override
        public String toString() {
            return architectureLabel() + " " + kind + " " + unlockPath.id() + " wake-stores=" + wakeLabel();
        }
    }

    /** How far an exploration goes. */
    public enum Depth {
        /**
         * At most 2 preemptions per schedule, and 1 in schedules with a death or an injected fault; at most
         * 200,000 schedules per row. The shared-list table: 1, and 0.
         */
        DEFAULT(2, 1, 200_000, 1, 0, 2, 1, 0),
        /**
         * At most 3 preemptions per schedule, and 2 in schedules with a death or an injected fault; at most
         * 2,000,000 schedules per row (the largest row explores about 250,000). The shared-list table: 1 and 1.
         */
        DEEP(3, 2, 2_000_000, 1, 1, 3, 1, 1);

        private final int preemptions;
        private final int preemptionsWithInjection;
        private final int maxSchedules;
        private final int sharedListPreemptions;
        private final int sharedListPreemptionsWithInjection;
        private final int conditionPreemptions;
        private final int conditionPreemptionsWithInjection;
        private final int conditionTwoRoundsPreemptionsWithInjection;

        Depth(int preemptions, int preemptionsWithInjection, int maxSchedules, int sharedListPreemptions,
                int sharedListPreemptionsWithInjection, int conditionPreemptions,
                int conditionPreemptionsWithInjection, int conditionTwoRoundsPreemptionsWithInjection) {
            this.conditionPreemptions = conditionPreemptions;
            this.conditionPreemptionsWithInjection = conditionPreemptionsWithInjection;
            this.conditionTwoRoundsPreemptionsWithInjection = conditionTwoRoundsPreemptionsWithInjection;
            this.preemptions = preemptions;
            this.preemptionsWithInjection = preemptionsWithInjection;
            this.maxSchedules = maxSchedules;
            this.sharedListPreemptions = sharedListPreemptions;
            this.sharedListPreemptionsWithInjection = sharedListPreemptionsWithInjection;
        }

        /**
         * The bound on preemptions in the shared-list table's schedules without a death or fault: its scenarios
         * have three or four threads and a hundred or more steps, so its bounds are lower (1 by default).
         *
         * @return the bound
         */
        public int sharedListPreemptions() {
            return sharedListPreemptions;
        }

        /**
         * The bound on preemptions in the shared-list table's schedules with a death or an injected fault: 0 by
         * default (deaths at every step of the default schedules of both arrangements, where each thread waits
         * for the other), 1 with {@code --deep} (a row then explores about 20,000 schedules, or 450,000 with
         * four threads).
         *
         * @return the bound
         */
        public int sharedListPreemptionsWithInjection() {
            return sharedListPreemptionsWithInjection;
        }

        /**
         * The bound on preemptions in the conditions table's schedules without a death or fault: 2 by default, 3
         * with {@code --deep}.
         *
         * @return the bound
         */
        public int conditionPreemptions() {
            return conditionPreemptions;
        }

        /**
         * The bound on preemptions in the conditions table's schedules with a death or an injected fault: 1, also
         * with {@code --deep} (with 2, the first {@code signal} row had not finished after 8 minutes on two busy
         * cores).
         *
         * @return the bound
         */
        public int conditionPreemptionsWithInjection() {
            return conditionPreemptionsWithInjection;
        }

        /**
         * The bound on preemptions in the schedules with a death or an injected fault of the conditions scenario
         * whose signaller signals twice ({@code two-signals}): its schedules are twice as long, and at the bound of
         * the other rows it alone would take longer than the rest of the default table: 0 by default, 1 with
         * {@code --deep}.
         *
         * @return the bound
         */
        public int conditionTwoRoundsPreemptionsWithInjection() {
            return conditionTwoRoundsPreemptionsWithInjection;
        }

        /**
         * How many schedules a row explores at most before it stops, reported as cut short.
         *
         * @return the cap
         */
        public int maxSchedules() {
            return maxSchedules;
        }

        /**
         * The bound on preemptions in schedules without a death or fault.
         *
         * @return the bound
         */
        public int preemptions() {
            return preemptions;
        }

        /**
         * The bound on preemptions in schedules with a death or an injected fault.
         *
         * @return the bound
         */
        public int preemptionsWithInjection() {
            return preemptionsWithInjection;
        }
    }

    /**
     * What exploring one scenario under one configuration found.
     *
     * @param configuration the configuration
     * @param scenario the scenario's name
     * @param depth the bounds
     * @param schedules the schedules run
     * @param withDeath those with a thread killed (before a step, or asleep in the kernel)
     * @param withFault those with an injected kernel result
     * @param violating those that broke an invariant
     * @param healed those in which a waiter asleep on a free word was woken by a bounded re-check
     * @param truncated whether the exploration stopped at its schedule limit before the end
     * @param findings the first few violating schedules, described
     */
    public record ExplorationResult(ExplorationConfiguration configuration, String scenario, Depth depth,
            int schedules, int withDeath, int withFault, int violating, int healed, boolean truncated,
            List<String> findings) {
    }

    /**
     * The configurations whose schedules are explored: both kinds on the classic and syscall paths, and on
     * the vDSO path of each architecture; for NORMAL on the 7.2 paths, both behaviours of the robust wake.
     *
     * @param architectures the architecture descriptions; the first also stands for the paths where the
     *     architecture does not matter
     * @return the configurations, in table order
     */
    public static List<ExplorationConfiguration> explorationConfigurations(List<Architecture> architectures) {
        List<ExplorationConfiguration> all = new ArrayList<>();
        Architecture any = architectures.get(0);
        for (MutexKind kind : MutexKind.values()) {
            all.add(new ExplorationConfiguration(any, kind, UnlockPath.CLASSIC, false));
            all.add(new ExplorationConfiguration(any, kind, UnlockPath.SYSCALL, false));
            if (kind == MutexKind.NORMAL) {
                all.add(new ExplorationConfiguration(any, kind, UnlockPath.SYSCALL, true));
            }
            for (Architecture architecture : architectures) {
                all.add(new ExplorationConfiguration(architecture, kind, UnlockPath.VDSO, false));
                if (kind == MutexKind.NORMAL) {
                    all.add(new ExplorationConfiguration(architecture, kind, UnlockPath.VDSO, true));
                }
            }
        }
        return all;
    }

    /**
     * The names of the explored scenarios.
     *
     * @return the names, in table order
     */
    public static List<String> scenarios() {
        return List.of("hand-off", "contention", "vanished-owner", "stale-boot");
    }

    /**
     * Explores the schedules of one scenario under one configuration.
     *
     * @param configuration the configuration
     * @param scenario one of {@link #scenarios()}
     * @param depth the bounds
     * @return what was found
     */
    public static ExplorationResult explore(ExplorationConfiguration configuration, String scenario, Depth depth) {
        return explore(configuration, scenario, depth, depth.maxSchedules());
    }

    /**
     * Explores the schedules of one scenario under one configuration, up to a number of schedules.
     *
     * @param configuration the configuration
     * @param scenario one of {@link #scenarios()}
     * @param depth the preemption bounds
     * @param maxSchedules the most schedules to explore; the result says when there were more
     * @return what was found
     */
    public static ExplorationResult explore(ExplorationConfiguration configuration, String scenario, Depth depth,
            int maxSchedules) {
        ScheduleExplorer.Program program = InterleavingScenarios.all(configuration).get(scenario);
        if (program == null) {
            throw new IllegalArgumentException("scenario=" + scenario + " (expected one of " + scenarios() + ")");
        }
        ScheduleExplorer.Report report = ScheduleExplorer.explore(program,
                new ScheduleExplorer.Bounds(depth.preemptions(), depth.preemptionsWithInjection(), maxSchedules));
        return new ExplorationResult(configuration, scenario, depth, report.schedules(), report.withDeath(),
                report.withFault(), report.violating(), report.healed(), report.truncated(), report.findings());
    }

    /**
     * A row of the shared-list table: a scenario of {@link SharedListScenarios} (a thread that glibc started
     * holds glibc robust mutexes and the library's, all on the one robust list the library joined) under a
     * configuration (the kind of the library's mutex and its unlock path).
     *
     * @param scenario the scenario's name, one of {@link #sharedListScenarios()}
     * @param configuration the configuration
     */
    public record SharedListRow(String scenario, ExplorationConfiguration configuration) {

        /** Validates the fields. */
        public SharedListRow {
            Objects.requireNonNull(configuration, "configuration");
            if (!SharedListScenarios.scenarios().containsKey(scenario)) {
                throw new IllegalArgumentException("scenario=" + scenario + " (expected one of "
                        + sharedListScenarios() + ")");
            }
        }

        /**
         * The row's name: {@code shared list: <scenario>, <unlock path>}.
         *
         * @return the name
         */
        public String name() {
            return "shared list: " + scenario + ", " + configuration.unlockPath().id();
        }

        /**
         * Whether the row is expected to be safe: every row is, the library joining glibc's head as it does.
         *
         * @return true
         */
        public boolean expectedSafe() {
            return true;
        }
    }

    /**
     * The names of the shared-list scenarios.
     *
     * @return the names, in table order
     */
    public static List<String> sharedListScenarios() {
        return List.copyOf(SharedListScenarios.scenarios().keySet());
    }

    /**
     * The rows of the shared-list table: every scenario on each unlock path (the vDSO path of the first
     * architecture), with the library's mutex of the other kind than the glibc mutexes around it where the
     * scenario has one of a single kind (so that PI bits of both kinds meet on the list), and of both kinds in
     * the scenario with both glibc kinds.
     *
     * @param architectures the architecture descriptions; the first is the vDSO path's
     * @return the rows, in table order
     */
    public static List<SharedListRow> sharedListRows(List<Architecture> architectures) {
        Architecture any = architectures.get(0);
        List<SharedListRow> rows = new ArrayList<>();
        for (Map.Entry<String, SharedListScenarios.Scenario> entry : SharedListScenarios.scenarios().entrySet()) {
            List<MutexKind> kinds = SharedListScenarios.oursKinds(entry.getValue());
            for (UnlockPath path : new UnlockPath[] {UnlockPath.CLASSIC, UnlockPath.SYSCALL, UnlockPath.VDSO}) {
                for (MutexKind kind : kinds) {
                    rows.add(new SharedListRow(entry.getKey(), new ExplorationConfiguration(any, kind, path, false)));
                }
            }
        }
        return rows;
    }

    /**
     * Explores the schedules of one shared-list row.
     *
     * @param row the row
     * @param depth the preemption bounds
     * @param maxSchedules the most schedules to explore; the result says when there were more
     * @return what was found; its scenario is the row's {@link SharedListRow#name() name}
     */
    public static ExplorationResult exploreSharedList(SharedListRow row, Depth depth, int maxSchedules) {
        ScheduleExplorer.Report report = exploreSharedList(row, SharedListScenarios.Variant.AS_IS,
                depth.sharedListPreemptions(), depth.sharedListPreemptionsWithInjection(), maxSchedules);
        return new ExplorationResult(row.configuration(), row.name(), depth, report.schedules(), report.withDeath(),
                report.withFault(), report.violating(), report.healed(), report.truncated(), report.findings());
    }

    static ScheduleExplorer.Report exploreSharedList(SharedListRow row, SharedListScenarios.Variant variant,
            int preemptions, int preemptionsWithInjection, int maxSchedules) {
        return SharedListScenarios.explore(SharedListScenarios.scenarios().get(row.scenario()), row.configuration(),
                variant, preemptions, preemptionsWithInjection, maxSchedules);
    }

    /**
     * A row of the conditions table: a scenario of {@link ConditionScenarios} (waiters and a signaller using a
     * condition of one mutex) under a configuration (the mutex's kind and its unlock path).
     *
     * @param scenario the scenario's name, one of {@link #conditionScenarios()}
     * @param configuration the configuration
     */
    public record ConditionRow(String scenario, ExplorationConfiguration configuration) {

        /** Validates the fields. */
        public ConditionRow {
            Objects.requireNonNull(configuration, "configuration");
            if (!ConditionScenarios.scenarios().containsKey(scenario)) {
                throw new IllegalArgumentException("scenario=" + scenario + " (expected one of "
                        + conditionScenarios() + ")");
            }
        }

        /**
         * The row's name: {@code condition: <scenario>}.
         *
         * @return the name
         */
        public String name() {
            return "condition: " + scenario;
        }
    }

    /**
     * What exploring one conditions row found.
     *
     * @param exploration the explorer's counts; its scenario is the row's {@link ConditionRow#name() name}
     * @param conditionHealed schedules in which a waiter slept on after a signal had moved the sequence (the
     *     signaller or the woken waiter died) until its bounded re-check woke it
     * @param maxLatencyRechecks the longest a wait took to return after the signal that moved its sequence, in
     *     re-check intervals of model time
     */
    public record ConditionResult(ExplorationResult exploration, int conditionHealed, double maxLatencyRechecks) {
    }

    /**
     * The bound of the conditions table on how long a wait may take to return after the signal that moved its
     * sequence.
     *
     * @return the bound, in re-check intervals of model time
     */
    public static int conditionWakeBound() {
        return ConditionScenarios.LATENCY_BOUND_RECHECKS;
    }

    /**
     * The names of the condition scenarios.
     *
     * @return the names, in table order
     */
    public static List<String> conditionScenarios() {
        return List.copyOf(ConditionScenarios.scenarios().keySet());
    }

    /**
     * The rows of the conditions table: every scenario with each kind, on the classic unlock path (the one every
     * kernel has; the condition protocol adds no unlock path of its own, and the schedules table covers the
     * others).
     *
     * @param architectures the architecture descriptions; the first stands for the path
     * @return the rows, in table order
     */
    public static List<ConditionRow> conditionRows(List<Architecture> architectures) {
        Architecture any = architectures.get(0);
        List<ConditionRow> rows = new ArrayList<>();
        for (String scenario : conditionScenarios()) {
            for (MutexKind kind : MutexKind.values()) {
                rows.add(new ConditionRow(scenario, new ExplorationConfiguration(any, kind, UnlockPath.CLASSIC,
                        false)));
            }
        }
        return rows;
    }

    /**
     * Explores the schedules of one conditions row.
     *
     * @param row the row
     * @param depth the preemption bounds
     * @param maxSchedules the most schedules to explore; the result says when there were more
     * @return what was found
     */
    public static ConditionResult exploreCondition(ConditionRow row, Depth depth, int maxSchedules) {
        ConditionScenarios.Result result = exploreCondition(row, ConditionScenarios.Variant.AS_IS,
                conditionBounds(row, depth, maxSchedules));
        ScheduleExplorer.Report report = result.report();
        return new ConditionResult(new ExplorationResult(row.configuration(), row.name(), depth, report.schedules(),
                report.withDeath(), report.withFault(), report.violating(), report.healed(), report.truncated(),
                report.findings()), result.conditionHealed(),
                (double) result.maxLatencyNanos() / result.recheckNanos());
    }

    /**
     * Explores one conditions row with the protocol's re-check taken away (a re-check interval longer than every
     * deadline of the scenarios), to show what the re-check heals: a waiter whose signaller died between moving
     * the sequence and waking, or whose wake-up went to a waiter that then died, sleeps until its deadline. With
     * the re-check it is a schedule counted in {@link ConditionResult#conditionHealed()}; without it, a violating
     * one.
     *
     * @param row the row
     * @param depth the preemption bounds
     * @param maxSchedules the most schedules to explore
     * @return what was found: violating schedules are the wake-ups lost without the re-check
     */
    public static ConditionResult exploreConditionWithoutRecheck(ConditionRow row, Depth depth, int maxSchedules) {
        ConditionScenarios.Result result = exploreCondition(row, ConditionScenarios.Variant.NO_RECHECK,
                conditionBounds(row, depth, maxSchedules));
        ScheduleExplorer.Report report = result.report();
        return new ConditionResult(new ExplorationResult(row.configuration(), row.name() + ", no re-check", depth,
                report.schedules(), report.withDeath(), report.withFault(), report.violating(), report.healed(),
                report.truncated(), report.findings()), result.conditionHealed(),
                (double) result.maxLatencyNanos() / result.recheckNanos());
    }

    /**
     * The bounds of a conditions row: the depth's, with {@link Depth#conditionTwoRoundsPreemptionsWithInjection()}
     * for the scenario whose signaller signals twice.
     *
     * @param row the row
     * @param depth the depth
     * @param maxSchedules the cap
     * @return the bounds
     */
    static ScheduleExplorer.Bounds conditionBounds(ConditionRow row, Depth depth, int maxSchedules) {
        int withInjection = ConditionScenarios.scenarios().get(row.scenario()).rounds() > 1
                ? depth.conditionTwoRoundsPreemptionsWithInjection() : depth.conditionPreemptionsWithInjection();
        return new ScheduleExplorer.Bounds(depth.conditionPreemptions(), withInjection, maxSchedules);
    }

    /**
     * The preemption bounds of a conditions row, as the table prints them.
     *
     * @param row the row
     * @param depth the depth
     * @return {@code preemptions/with a death or fault}
     */
    public static String conditionBoundsLabel(ConditionRow row, Depth depth) {
        ScheduleExplorer.Bounds bounds = conditionBounds(row, depth, 1);
        return bounds.preemptions() + "/" + bounds.preemptionsWithInjection();
    }

    static ConditionScenarios.Result exploreCondition(ConditionRow row, ConditionScenarios.Variant variant,
            ScheduleExplorer.Bounds bounds) {
        return ConditionScenarios.explore(ConditionScenarios.scenarios().get(row.scenario()), row.configuration(),
                variant, bounds);
    }

    /**
     * The outcome of checking one configuration.
     *
     * @param configuration what was checked
     * @param scenarios the scenarios run
     * @param deathPoints the kill points among them
     * @param violations scenarios that broke an invariant other than corruption
     * @param corruptions scenarios in which the kernel wrote into memory that no longer held the lock
     * @param findings the first few findings, described
     */
    public record Result(Configuration configuration, int scenarios, int deathPoints, int violations,
            int corruptions, List<String> findings) {

        /**
         * Whether no scenario broke an invariant.
         *
         * @return true when safe
         */
        public boolean safe() {
            return violations == 0 && corruptions == 0;
        }

        /**
         * Whether the outcome is the one expected for the configuration.
         *
         * @return true when safe exactly if expected safe
         */
        public boolean asExpected() {
            return safe() == configuration.expectedSafe();
        }
    }

    /**
     * Every configuration for the given architectures: both kinds; the vDSO path with and without fixup,
     * the syscall path and the classic path; each with and without the lifetime rule.
     *
     * @param architectures the architecture descriptions
     * @return the configurations, in table order
     */
    public static List<Configuration> configurations(List<Architecture> architectures) {
        List<Configuration> all = new ArrayList<>();
        for (Architecture architecture : architectures) {
            for (MutexKind kind : MutexKind.values()) {
                for (boolean lifetime : new boolean[] {false, true}) {
                    all.add(new Configuration(architecture, kind, UnlockPath.VDSO, lifetime, true));
                    all.add(new Configuration(architecture, kind, UnlockPath.VDSO, lifetime, false));
                    all.add(new Configuration(architecture, kind, UnlockPath.SYSCALL, lifetime, true));
                    all.add(new Configuration(architecture, kind, UnlockPath.CLASSIC, lifetime, true));
                }
            }
        }
        return all;
    }

    /**
     * Runs every scenario of a configuration.
     *
     * @param configuration the configuration
     * @return the result
     */
    public static Result check(Configuration configuration) {
        Tally tally = new Tally();
        for (boolean waiter : new boolean[] {false, true}) {
            for (boolean peer : new boolean[] {false, true}) {
                int steps = new Scenario(configuration, waiter, peer).unlockSteps();
                for (int k = 0; k <= steps; k++) {
                    tally.add(new Scenario(configuration, waiter, peer).killDuringUnlock(k), true);
                }
                if (configuration.unlockPath() == UnlockPath.VDSO) {
                    for (int j : new Scenario(configuration, waiter, peer).vdsoStepIndexes()) {
                        tally.add(new Scenario(configuration, waiter, peer).interruptDuringUnlock(j), false);
                    }
                }
            }
            for (boolean contended : new boolean[] {false, true}) {
                int steps = new Scenario(configuration, waiter, false).lockSteps(contended);
                for (int k = 0; k <= steps; k++) {
                    tally.add(new Scenario(configuration, waiter, false).killDuringLock(k, contended), true);
                }
            }
            tally.add(new Scenario(configuration, waiter, false).killWhileBlocked(), true);
        }
        return new Result(configuration, tally.scenarios, tally.deathPoints, tally.violations, tally.corruptions,
                List.copyOf(tally.findings));
    }

    /** Counts outcomes. */
    private static final class Tally {
        int scenarios;
        int deathPoints;
        int violations;
        int corruptions;
        final List<String> findings = new ArrayList<>();

        void add(Outcome outcome, boolean deathPoint) {
            scenarios++;
            if (deathPoint) {
                deathPoints++;
            }
            if (outcome.corrupted) {
                corruptions++;
            }
            if (!outcome.violations.isEmpty()) {
                violations++;
            }
            if ((outcome.corrupted || !outcome.violations.isEmpty()) && findings.size() < 5) {
                findings.add(outcome.describe());
            }
        }
    }

    /** What one scenario found. */
    private static final class Outcome {
        final String scenario;
        final List<String> violations = new ArrayList<>();
        boolean corrupted;
        Step stoppedAt;

        Outcome(String scenario) {
            this.scenario = scenario;
        }

        String describe() {
            List<String> all = new ArrayList<>(violations);
            if (corrupted) {
                all.add(0, "corruption: the kernel wrote into the data mapped over the released lock");
            }
            String where = stoppedAt == null ? "" : " (before " + stoppedAt.operation()
                    + (stoppedAt.target().isEmpty() ? "" : " " + stoppedAt.target()) + ")";
            return scenario + where + ": " + String.join("; ", all);
        }
    }

    /**
     * One scenario: process A (victim V and peer P) and process B (waiter W and a final checker C) share one
     * object holding the mutex record at offset 0.
     */
    private static final class Scenario {
        private final Configuration configuration;
        private final boolean withWaiter;
        private final boolean withPeer;
        private final KernelModel model;
        private final ModelProcess a;
        private final ModelProcess b;
        private final SharedObject shm;
        private final ModelRegion regionA;
        private final RobustMutex mutexA;
        private final RobustMutex mutexB;
        private final ModelThread victim;
        private final ModelThread peer;
        private final ModelThread waiter;
        private final ModelThread checker;
        private final Map<ModelThread, Acquisition> held = new HashMap<>();
        private ModelThread ghost;
        private boolean ownerDeathPending;
        private SharedObject remapped;
        private byte[] remappedBefore;
        private Outcome outcome;

        Scenario(Configuration configuration, boolean withWaiter, boolean withPeer) {
            this.configuration = configuration;
            this.withWaiter = withWaiter;
            this.withPeer = withPeer;
            this.model = configuration.newModel();
            this.a = model.newProcess();
            this.b = model.newProcess();
            this.shm = model.newSharedObject("shm", 4096);
            this.regionA = a.map(shm);
            this.mutexA = regionA.mutex(0, configuration.kind());
            this.mutexB = b.map(shm).mutex(0, configuration.kind());
            this.victim = a.newThread("V");
            this.peer = a.newThread("P");
            this.waiter = b.newThread("W");
            this.checker = b.newThread("C");
        }

        // -------------------------------------------------------------- harnessed operations (in carriers)

        private boolean acquire(ModelThread thread, RobustMutex mutex, boolean wait) {
            Optional<Acquisition> acquisition = wait ? Optional.of(mutex.acquire()) : mutex.tryAcquire();
            if (acquisition.isEmpty()) {
                return false;
            }
            Acquisition got = acquisition.get();
            if (ghost != null) {
                violation("double owner: " + thread.name() + " acquired while " + ghost.name() + " holds");
            }
            if (got.ownerDied() != ownerDeathPending) {
                violation(got.ownerDied() ? thread.name() + " was told of an owner death that did not happen"
                        : thread.name() + " was not told that the previous owner died holding the lock");
            }
            ownerDeathPending = false;
            ghost = thread;
            if (got.ownerDied()) {
                got.markConsistent();
            }
            held.put(thread, got);
            return true;
        }

        private void release(ModelThread thread) {
            if (ghost == thread) {
                ghost = null;
            }
            held.remove(thread).close();
        }

        private void violation(String text) {
            outcome.violations.add(text);
        }

        // -------------------------------------------------------------- driver helpers

        private void kill(ModelThread thread) {
            boolean holding = FutexWord.owner(shm.view.getInt(0)) == thread.tid();
            model.deliverDeath(thread);
            if (holding) {
                ownerDeathPending = true;
            }
            if (ghost == thread) {
                ghost = null;
            }
        }

        private void checkPendingClear(ModelThread thread) {
            if (thread.robustHead == 0 || thread.isDead() || thread.state() == ModelThread.State.BLOCKED) {
                return;
            }
            KernelModel.Location slot = thread.process.resolve(
                    thread.robustHead + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 8);
            if (slot != null && model.load64(slot) != 0) {
                violation(thread.name() + "'s list_op_pending was left set after its operation");
            }
        }

        private <T> ModelTask<T> runTask(ModelThread thread, java.util.concurrent.Callable<T> body) {
            ModelTask<T> task = thread.start(body);
            model.run(thread);
            return task;
        }

        private void expectCompleted(ModelTask<?> task) {
            if (task.outcome() == ModelTask.Outcome.FAILED) {
                violation(task.thread().name() + " failed: " + task.failure());
            }
        }

        /** The ending shared by every scenario: run everything, then check nothing is stuck or broken. */
        private Outcome finish(List<ModelTask<?>> tasks) {
            model.runUntilQuiet();
            for (ModelThread thread : List.of(peer, waiter, victim)) {
                if (thread.state() == ModelThread.State.BLOCKED) {
                    violation("lost wake-up: " + thread.name() + " is still asleep; word "
                            + FutexWord.describe(shm.view.getInt(0)));
                }
            }
            for (ModelTask<?> task : tasks) {
                expectCompleted(task);
            }
            checkPendingClear(peer);
            checkPendingClear(waiter);
            ModelTask<Boolean> last = checker.start(() -> {
                boolean got = acquire(checker, mutexB, false);
                if (got) {
                    release(checker);
                }
                return got;
            });
            model.runUntilQuiet();
            if (last.outcome() != ModelTask.Outcome.COMPLETED || !last.result()) {
                violation("lost lock: a fresh thread cannot acquire; word " + FutexWord.describe(shm.view.getInt(0))
                        + (last.failure() == null ? "" : " (" + last.failure() + ")"));
            }
            checkPendingClear(checker);
            if (remapped != null && !Arrays.equals(remappedBefore, remapped.snapshot())) {
                outcome.corrupted = true;
            }
            model.close();
            return outcome;
        }

        // -------------------------------------------------------------- unlock deaths

        private ModelTask<?> setUpHolderAndWaiter() {
            ModelTask<Boolean> acquired = runTask(victim, () -> acquire(victim, mutexA, true));
            expectCompleted(acquired);
            if (!withWaiter) {
                return null;
            }
            return runTask(waiter, () -> {
                acquire(waiter, mutexB, true);
                release(waiter);
                return null;
            });
        }

        int unlockSteps() {
            outcome = new Outcome("dry run");
            setUpHolderAndWaiter();
            ModelTask<?> unlock = runTask(victim, () -> {
                release(victim);
                return null;
            });
            int steps = victim.steps().size();
            expectCompleted(unlock);
            model.close();
            if (!outcome.violations.isEmpty()) {
                throw new IllegalStateException(configuration + ": the undisturbed unlock broke an invariant: "
                        + outcome.describe());
            }
            return steps;
        }

        List<Integer> vdsoStepIndexes() {
            outcome = new Outcome("dry run");
            setUpHolderAndWaiter();
            runTask(victim, () -> {
                release(victim);
                return null;
            });
            List<Integer> indexes = new ArrayList<>();
            for (Step step : victim.steps()) {
                if (step.isVdsoInstruction()) {
                    indexes.add(step.index());
                }
            }
            model.close();
            return indexes;
        }

        Outcome killDuringUnlock(int k) {
            outcome = new Outcome(String.format("%s: unlock killed at step %d%s%s", configuration, k,
                    withWaiter ? ", waiter" : "", withPeer ? ", peer remaps" : ""));
            List<ModelTask<?>> tasks = new ArrayList<>();
            ModelTask<?> waiting = setUpHolderAndWaiter();
            if (waiting != null) {
                tasks.add(waiting);
            }
            victim.killAt(KillPoint.beforeStep(k));
            ModelTask<?> unlock = runTask(victim, () -> {
                release(victim);
                return null;
            });
            if (victim.state() != ModelThread.State.STOPPED) {
                expectCompleted(unlock);
                checkPendingClear(victim);
            } else {
                outcome.stoppedAt = victim.stoppedAt();
            }
            if (withPeer) {
                tasks.add(runTask(peer, this::peerTakesReleasesAndRemaps));
            }
            kill(victim);
            return finish(tasks);
        }

        Outcome interruptDuringUnlock(int j) {
            outcome = new Outcome(String.format("%s: unlock interrupted before step %d%s%s", configuration, j,
                    withWaiter ? ", waiter" : "", withPeer ? ", peer remaps" : ""));
            List<ModelTask<?>> tasks = new ArrayList<>();
            ModelTask<?> waiting = setUpHolderAndWaiter();
            if (waiting != null) {
                tasks.add(waiting);
            }
            victim.interruptBeforeStep(j);
            ModelTask<?> unlock = runTask(victim, () -> {
                release(victim);
                return null;
            });
            tasks.add(unlock);
            checkPendingClear(victim);
            if (withPeer) {
                tasks.add(runTask(peer, this::peerTakesReleasesAndRemaps));
            }
            kill(victim);
            return finish(tasks);
        }

        /** The seed's peer: take the lock, release it, and, as its last user, unmap and map other data there. */
        private Void peerTakesReleasesAndRemaps() {
            if (!acquire(peer, mutexA, false)) {
                return null;
            }
            release(peer);
            SharedObject other = model.newSharedObject("other", shm.size());
            for (int i = 0; i < other.size(); i += 4) {
                other.view.putInt(i, 0x5a5a5a5a);
            }
            other.view.putInt(0, victim.tid());
            remapped = other;
            remappedBefore = other.snapshot();
            long address = regionA.address();
            if (configuration.lifetimeRule()) {
                regionA.unmapWhenUnreferenced(() -> a.map(other, address));
            } else {
                regionA.unmap();
                a.map(other, address);
            }
            return null;
        }

        // -------------------------------------------------------------- lock deaths

        private ModelTask<?> holder(boolean contended) {
            if (!contended) {
                return null;
            }
            ModelTask<Boolean> task = runTask(peer, () -> acquire(peer, mutexA, true));
            expectCompleted(task);
            return task;
        }

        private void releaseHolder(boolean contended) {
            if (contended) {
                expectCompleted(runTask(peer, () -> {
                    release(peer);
                    return null;
                }));
                if (victim.state() == ModelThread.State.RUNNABLE) {
                    model.run(victim);
                }
            }
        }

        int lockSteps(boolean contended) {
            outcome = new Outcome("dry run");
            holder(contended);
            ModelTask<Boolean> lock = victim.start(() -> acquire(victim, mutexA, true));
            model.run(victim);
            releaseHolder(contended);
            expectCompleted(lock);
            int steps = victim.steps().size();
            model.close();
            if (!outcome.violations.isEmpty()) {
                throw new IllegalStateException(configuration + ": the undisturbed lock broke an invariant: "
                        + outcome.describe());
            }
            return steps;
        }

        Outcome killDuringLock(int k, boolean contended) {
            outcome = new Outcome(String.format("%s: %s lock killed at step %d%s", configuration,
                    contended ? "contended" : "uncontended", k, withWaiter ? ", waiter" : ""));
            List<ModelTask<?>> tasks = new ArrayList<>();
            holder(contended);
            victim.killAt(KillPoint.beforeStep(k));
            ModelTask<Boolean> lock = victim.start(() -> acquire(victim, mutexA, true));
            model.run(victim);
            releaseHolder(contended);
            if (victim.state() != ModelThread.State.STOPPED) {
                expectCompleted(lock);
            } else {
                outcome.stoppedAt = victim.stoppedAt();
            }
            if (withWaiter) {
                tasks.add(runTask(waiter, () -> {
                    acquire(waiter, mutexB, true);
                    release(waiter);
                    return null;
                }));
            }
            kill(victim);
            return finish(tasks);
        }

        Outcome killWhileBlocked() {
            outcome = new Outcome(String.format("%s: waiter killed asleep in the kernel%s", configuration,
                    withWaiter ? ", second waiter" : ""));
            List<ModelTask<?>> tasks = new ArrayList<>();
            holder(true);
            victim.start(() -> acquire(victim, mutexA, true));
            model.run(victim);
            if (victim.state() != ModelThread.State.BLOCKED) {
                violation("the victim did not block behind the holder");
            }
            if (withWaiter) {
                tasks.add(runTask(waiter, () -> {
                    acquire(waiter, mutexB, true);
                    release(waiter);
                    return null;
                }));
            }
            kill(victim);
            expectCompleted(runTask(peer, () -> {
                release(peer);
                return null;
            }));
            return finish(tasks);
        }
    }
}
