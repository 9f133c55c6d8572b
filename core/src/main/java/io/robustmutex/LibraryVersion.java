package io.robustmutex;

import java.io.IOException;
import java.io.InputStream;
import java.lang.module.ModuleDescriptor;
import java.util.Optional;
import java.util.Properties;

/**
 * The version of this library, as built: from {@code io/robustmutex/version.properties}, which the build
 * writes, else from the jar manifest's {@code Implementation-Version}, else from the module descriptor's
 * version (the build records the project version there too), else {@code "unknown"} (classes run from a
 * directory that was not built by Maven).
 */
public final class LibraryVersion {

    private static final String VERSION = pick(fromProperties(),
            LibraryVersion.class.getPackage().getImplementationVersion(), LibraryVersion.class.getModule());

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

    /**
     * The first version found.
     *
     * @param fromProperties the version in {@code version.properties}, or null
     * @param fromManifest the manifest's {@code Implementation-Version}, or null
     * @param module the module of the library's classes: the unnamed module on the class path
     * @return the version, or {@code "unknown"}
     */
    static String pick(String fromProperties, String fromManifest, Module module) {
        if (fromProperties != null) {
            return fromProperties;
        }
        if (fromManifest != null) {
            return fromManifest;
        }
        return Optional.ofNullable(module.getDescriptor()).flatMap(ModuleDescriptor::rawVersion).orElse("unknown");
    }

    private static String fromProperties() {
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
        return null;
    }
}
