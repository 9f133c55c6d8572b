package io.robustmutex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexFile;
import io.robustmutex.RobustMutex;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What docs/design.md (section 4), the migration guide and the README say about fencing tokens: every new
 * holder gets a larger token, and a re-entrant acquisition returns the outer acquisition's token.
 */
class DocumentedTokensTest {

    @TempDir
    Path dir;

    /** The outer and the re-entrant acquisition share a token; the next holder's is one larger. */
    @Test
    void reentrantAcquisitionReturnsTheOuterToken() throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("tokens.mutex"), 1)) {
            RobustMutex mutex = file.mutex(0);
            long outerToken;
            try (Acquisition outer = mutex.acquire()) {
                outerToken = outer.fencingToken();
                try (Acquisition inner = mutex.acquire()) {
                    assertEquals(2, mutex.getHoldCount());
                    assertEquals(outerToken, inner.fencingToken());
                    assertEquals(outerToken, mutex.fencingToken());
                }
                assertEquals(outerToken, mutex.fencingToken(), "still the same period of ownership");
            }
            try (Acquisition next = mutex.acquire()) {
                assertEquals(outerToken + 1, next.fencingToken());
            }
        }
    }
}
