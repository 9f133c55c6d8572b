package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URL;
import java.net.URLClassLoader;
import org.junit.jupiter.api.Test;

/** The build writes the project version where the library finds it. */
class LibraryVersionTest {

    /** The version is the project's, not a placeholder. */
    @Test
    void versionIsTheProjects() {
        String version = LibraryVersion.current();
        assertTrue(version.matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), version);
    }

    /** version.properties first, then the manifest, then the module descriptor's version, then "unknown". */
    @Test
    void fallsBackInOrder() throws Exception {
        Module javaBase = Object.class.getModule();
        String javaBaseVersion = javaBase.getDescriptor().rawVersion().orElseThrow();
        assertEquals("1.2.3", LibraryVersion.pick("1.2.3", "4.5.6", javaBase));
        assertEquals("4.5.6", LibraryVersion.pick(null, "4.5.6", javaBase));
        assertEquals(javaBaseVersion, LibraryVersion.pick(null, null, javaBase), "a named module's version");
        try (URLClassLoader loader = new URLClassLoader(new URL[0])) {
            assertEquals("unknown", LibraryVersion.pick(null, null, loader.getUnnamedModule()));
        }
    }
}
