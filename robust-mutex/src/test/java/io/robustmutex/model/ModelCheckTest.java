package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.MutexKind;
import io.robustmutex.UnlockPath;
import io.robustmutex.aarch64.Aarch64Architecture;
import io.robustmutex.spi.Architecture;
import io.robustmutex.x86_64.X86_64Architecture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** The exhaustive death-injection check: safe configurations are safe, and the seed's race is found. */
class ModelCheckTest {

    /** The fewest schedules a row of the exploration table may have explored (every row explores hundreds). */
    private static final int MIN_SCHEDULES = 100;

    /**
     * Positive control of the exploration: beside an actor that uses the library's lock, a racer takes the word
     * with a check-then-act (it reads the word, and if free stores its TID with a plain store), a seeded
     * defect. Only some interleavings break mutual exclusion, so the explorer must reach them, and the monitor
     * must report the second owner.
     */
    @Test
    void theExplorationFindsASeededRace() {
        ModelCheck.ExplorationConfiguration configuration = new ModelCheck.ExplorationConfiguration(
                new X86_64Architecture(), MutexKind.NORMAL, UnlockPath.CLASSIC, false);
        ScheduleExplorer.Report report = ScheduleExplorer.explore(() -> {
            InterleavingScenarios.MutexWorld world = new InterleavingScenarios.MutexWorld(configuration);
            ModelThread racer = world.actor("R");
            ModelThread a = world.actor("A");
            ModelRegion region = world.regionOf(racer.process());
            // The racer runs first: racer, A, racer, A is then reachable with two preemptions.
            world.begin(racer, () -> {
                if (region.getInt(0) == 0) {
                    region.putInt(0, racer.tid());
                    region.putInt(0, 0);
                }
            });
            world.begin(a, () -> {
                world.lock(a);
                world.unlock(a);
            });
            return world;
        }, new ScheduleExplorer.Bounds(2, 0, 200_000));
        assertTrue(report.schedules() >= 10, "explored " + report.schedules());
        assertTrue(report.violating() > 0, "the seeded race was not found in " + report.schedules() + " schedules");
        assertTrue(report.findings().stream().anyMatch(f -> f.contains("two owners")), report.toString());
    }

    /** Every configuration behaves as expected: corruption exactly where the unmap race is left open. */
    @Test
    void everyConfigurationBehavesAsExpected() {
        List<Architecture> architectures = List.of(new X86_64Architecture(), new Aarch64Architecture());
        List<ModelCheck.Configuration> configurations = ModelCheck.configurations(architectures);
        assertEquals(32, configurations.size());
        StringBuilder table = new StringBuilder();
        boolean allAsExpected = true;
        for (ModelCheck.Configuration configuration : configurations) {
            long start = System.nanoTime();
            ModelCheck.Result result = ModelCheck.check(configuration);
            table.append(String.format("%-55s scenarios=%4d deaths=%4d violations=%3d corruptions=%3d %s %d ms%n",
                    configuration, result.scenarios(), result.deathPoints(), result.violations(),
                    result.corruptions(), result.asExpected() ? "ok" : "UNEXPECTED",
                    (System.nanoTime() - start) / 1_000_000));
            if (!result.asExpected()) {
                allAsExpected = false;
                result.findings().forEach(f -> table.append("    ").append(f).append('\n'));
            }
        }
        System.out.println(table);
        assertTrue(allAsExpected, table.toString());
    }

    /**
     * No explored schedule of any scenario breaks an invariant, under any configuration, within the default
     * bounds (the table {@code model-check} prints). Configurations run two at a time.
     */
    @Test
    void noExploredScheduleBreaksAnInvariant() throws Exception {
        List<Architecture> architectures = List.of(new X86_64Architecture(), new Aarch64Architecture());
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<ModelCheck.ExplorationResult>> results = new ArrayList<>();
            for (ModelCheck.ExplorationConfiguration configuration
                    : ModelCheck.explorationConfigurations(architectures)) {
                for (String scenario : ModelCheck.scenarios()) {
                    results.add(pool.submit(() -> ModelCheck.explore(configuration, scenario,
                            ModelCheck.Depth.DEFAULT)));
                }
            }
            StringBuilder table = new StringBuilder();
            boolean clean = true;
            for (Future<ModelCheck.ExplorationResult> future : results) {
                ModelCheck.ExplorationResult r = future.get();
                table.append(String.format(
                        "%-15s %-45s schedules=%6d deaths=%6d faults=%4d violating=%4d healed=%4d%s%n", r.scenario(),
                        r.configuration(), r.schedules(), r.withDeath(), r.withFault(), r.violating(), r.healed(),
                        r.truncated() ? " CUT" : ""));
                // A row that explored only a handful of schedules would prove nothing.
                if (r.violating() > 0 || r.truncated() || r.schedules() < MIN_SCHEDULES) {
                    clean = false;
                    r.findings().forEach(f -> table.append("    ").append(f).append('\n'));
                }
            }
            System.out.println(table);
            assertTrue(clean, table.toString());
        } finally {
            pool.shutdownNow();
        }
    }
}
