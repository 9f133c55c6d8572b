package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.testing.ChildProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The rule for a bad {@code io.robustmutex.*} value (docs/configuration.md): it is reported once, naming the
 * property and the value, and the library works as if it were not set. Each case is a child JVM started with
 * the bad value, which takes and releases a mutex.
 */
class PropertyRuleTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({
        "io.robustmutex.unlockPath, clasic",
        "io.robustmutex.memoryAccess, fast",
        "io.robustmutex.robustList, mine",
        "io.robustmutex.interruptSliceMillis, 0",
        "io.robustmutex.interruptSliceMillis, twenty",
        "io.robustmutex.recheckMillis, -1",
        "io.robustmutex.recheckMillis, 1s",
    })
    void aBadValueIsReportedAndTheLibraryWorks(String property, String value) {
        Path region = dir.resolve("region");
        try (ChildProcess child = ChildProcess.start(MutexWorker.class, List.of("-D" + property + "=" + value),
                "acquire-region", region.toString(), "PI")) {
            int exit = child.waitFor(Duration.ofSeconds(60));
            assertEquals(0, exit, () -> "stdout=" + child.lines() + ", stderr=" + child.errorLines());
            assertEquals(List.of("ACQUIRED ownerDied=false"), child.lines());
            long warnings = child.errorLines().stream().filter(l -> l.contains(property + "=" + value)).count();
            assertEquals(1, warnings, () -> "one warning naming " + property + "=" + value + "; stderr="
                    + child.errorLines());
            assertTrue(child.errorLines().stream().anyMatch(l -> l.startsWith("WARNING")), () -> "stderr="
                    + child.errorLines());
        }
    }
}
