package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.MutexKind;
import io.robustmutex.x86_64.X86_64Architecture;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Conditions on the model: the rows of {@code model-check}'s conditions table, with smaller bounds, find no
 * violation and heal, by the waiters' re-check, the wake-ups a death loses; without the re-check the same
 * schedules leave a waiter asleep past its signal, and a hint taken below the sleepers is caught.
 */
class ConditionsOnModelTest {

    private static final Logger PROTOCOL_LOG = Logger.getLogger("io.robustmutex");
    private static Level savedLevel;

    /** The protocol logs every owner death it takes over: here hundreds are expected. */
    @BeforeAll
    static void quiet() {
        savedLevel = PROTOCOL_LOG.getLevel();
        PROTOCOL_LOG.setLevel(Level.OFF);
    }

    @AfterAll
    static void restore() {
        PROTOCOL_LOG.setLevel(savedLevel);
    }

    private static List<ModelCheck.ConditionRow> rows() {
        return ModelCheck.conditionRows(List.of(new X86_64Architecture()));
    }

    private static ConditionScenarios.Result explore(ModelCheck.ConditionRow row, ConditionScenarios.Variant variant,
            int preemptions, int preemptionsWithInjection) {
        ConditionScenarios.Result result = ModelCheck.exploreCondition(row, variant,
                new ScheduleExplorer.Bounds(preemptions, preemptionsWithInjection, 200_000));
        ScheduleExplorer.Report report = result.report();
        System.out.printf("%s %s %s (%d, %d): %d schedules, %d with a death, %d violating, %d healed, %d waits told"
                + " of a death; first: %s%n", row.name(), row.configuration().kind(), variant, preemptions,
                preemptionsWithInjection, report.schedules(), report.withDeath(), report.violating(),
                result.conditionHealed(), result.waitToldOfDeath(),
                report.findings().isEmpty() ? "-" : report.findings().get(0));
        return result;
    }

    /** Both kinds, each scenario: 3 scenarios, on the classic path. */
    @Test
    void theTableHasEveryScenarioWithBothKinds() {
        assertEquals(List.of("signal", "signal-all", "two-signals"), ModelCheck.conditionScenarios());
        assertEquals(6, rows().size());
        assertEquals(3, rows().stream().filter(r -> r.configuration().kind() == MutexKind.PI).count());
    }

    /**
     * Every row with 1 preemption and deaths in the schedules without one: no violation, never cut short; in
     * every row some schedule loses a wake-up to a death (the signaller killed between its increment and its
     * wake-up) that the re-check heals, within one re-check interval, and some wait re-acquires the mutex from a
     * holder that died (the signaller, after its signal) and is told so.
     */
    @Test
    void everyRowIsSafeAndHealsTheWakeUpsDeathsLose() {
        for (ModelCheck.ConditionRow row : rows()) {
            ConditionScenarios.Result result = explore(row, ConditionScenarios.Variant.AS_IS, 1, 0);
            ScheduleExplorer.Report report = result.report();
            assertEquals(0, report.violating(), row.name() + ": " + report.findings());
            assertFalse(report.truncated(), row.name());
            assertTrue(report.schedules() >= 100 && report.withDeath() >= 100, row.name() + ": " + report);
            assertTrue(result.conditionHealed() > 0, row.name() + ": no lost wake-up was healed");
            assertTrue(result.waitToldOfDeath() > 0, row.name() + ": no wait re-acquired from a dead holder");
            assertTrue(result.maxLatencyNanos() > 0 && result.maxLatencyNanos() <= result.recheckNanos(),
                    row.name() + ": the longest wake-up took " + result.maxLatencyNanos() + " ns");
        }
    }

    /** The signal rows as the default model-check runs them (2 preemptions, 1 with a death or fault). */
    @Test
    void theSignalRowsAreSafeAtTheDefaultDepth() {
        for (ModelCheck.ConditionRow row : rows()) {
            if (!row.scenario().equals("signal")) {
                continue;
            }
            ModelCheck.ConditionResult result = ModelCheck.exploreCondition(row, ModelCheck.Depth.DEFAULT,
                    ModelCheck.Depth.DEFAULT.maxSchedules());
            ModelCheck.ExplorationResult exploration = result.exploration();
            assertEquals(0, exploration.violating(), row.name() + ": " + exploration.findings());
            assertFalse(exploration.truncated(), row.name());
            assertTrue(exploration.schedules() > 1000, row.name() + ": " + exploration.schedules());
            assertTrue(result.conditionHealed() > 0, row.name());
            assertTrue(result.maxLatencyRechecks() <= 1.0, row.name() + ": " + result.maxLatencyRechecks());
        }
    }

    /**
     * Without the re-check, the schedules in which the re-check healed a lost wake-up are exactly those in which
     * a waiter sleeps past the signal until its deadline: the lost wake-up is real, and only the re-check saves
     * it.
     */
    @Test
    void withoutTheRecheckTheWakeUpIsLost() {
        for (ModelCheck.ConditionRow row : rows()) {
            ConditionScenarios.Result healed = explore(row, ConditionScenarios.Variant.AS_IS, 1, 0);
            ConditionScenarios.Result lost = explore(row, ConditionScenarios.Variant.NO_RECHECK, 1, 0);
            assertEquals(healed.conditionHealed(), lost.report().violating(), row.name());
            assertTrue(lost.report().findings().stream().allMatch(f -> f.startsWith("slept through a signal")),
                    row.name() + ": " + lost.report().findings());
        }
    }

    /** A signaller that clears the waiters hint after its signal leaves a sleeper uncounted, and is caught. */
    @Test
    void aHintBelowTheSleepersIsCaught() {
        for (ModelCheck.ConditionRow row : rows()) {
            if (!row.scenario().equals("two-signals")) {
                continue;
            }
            ConditionScenarios.Result result = explore(row, ConditionScenarios.Variant.HINT_CLEARED, 1, 0);
            assertTrue(result.report().violating() > 0, row.name());
            assertTrue(result.report().findings().stream().anyMatch(f -> f.startsWith("waiters hint too low")),
                    row.name() + ": " + result.report().findings());
        }
    }
}
