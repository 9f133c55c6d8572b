package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** The build writes the project version where the library finds it. */
class LibraryVersionTest {

    /** The version is the project's, not a placeholder. */
    @Test
    void versionIsTheProjects() {
        String version = LibraryVersion.current();
        assertTrue(version.matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), version);
    }
}
