package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.aarch64.Aarch64Architecture;
import io.robustmutex.spi.Architecture;
import io.robustmutex.x86_64.X86_64Architecture;
import java.util.List;
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
}
