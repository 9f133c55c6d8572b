package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
                if (r.violating() > 0 || r.truncated()) {
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
