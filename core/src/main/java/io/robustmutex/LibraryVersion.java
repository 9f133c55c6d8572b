package io.robustmutex;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/**
 * The version of this library, as built: from {@code io/robustmutex/version.properties}, which the build
 * writes, else from the jar manifest's {@code Implementation-Version}, else {@code "unknown"} (classes run
 * from a directory that was not built by Maven).
 */
public final class LibraryVersion {

    private static final String VERSION = find();

    private LibraryVersion() {
    }

    /**
     * The library's version, e.g. {@code 0.1.0-SNAPSHOT}.
     *
     * @return the version, or {@code "unknown"}
     */
    public static String current() {
        return VERSION;
    }

    private static String find() {
        try (InputStream in = LibraryVersion.class.getResourceAsStream("version.properties")) {
            if (in != null) {
                Properties properties = new Properties();
                properties.load(in);
                String version = properties.getProperty("version", "").trim();
                if (!version.isEmpty() && !version.startsWith("${")) {
                    return version;
                }
            }
        } catch (IOException e) {
            // Fall back to the manifest.
        }
        String manifest = LibraryVersion.class.getPackage().getImplementationVersion();
        return manifest != null ? manifest : "unknown";
    }
}
