package io.robustmutex.moduletest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.robustmutex.KernelSupport;
import io.robustmutex.LibraryVersion;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs {@link ModulePathApp} as {@code java --module-path ... -m io.robustmutex.moduletest/...}: no class path,
 * so the library, its architecture provider and JNR-FFI are found through the module descriptors alone. The
 * module path comes from the build (system properties {@value #CLASSES} and {@value #DEPENDENCIES}); the child
 * runs on this JVM's java, so the build on JDK 25 checks JDK 25's native-access warnings.
 */
class ModulePathTest {

    /** The application's classes (target/classes), set by the build. */
    static final String CLASSES = "robustmutex.moduletest.classes";

    /** Its dependencies' jars, as a path, set by the build. */
    static final String DEPENDENCIES = "robustmutex.moduletest.dependencies";

    /**
     * The module that calls restricted methods, which JDK 22 and later want native access enabled for: the
     * library itself, whose foreign function and memory classes (the multi-release jar's) those JDKs use.
     */
    static final String NATIVE_ACCESS_MODULE = "io.robustmutex";

    /** How the JDK's warning about a restricted method begins. */
    static final String RESTRICTED_WARNING = "WARNING: A restricted method";

    @TempDir
    Path dir;

    /** What a child JVM printed and how it ended. */
    record Run(int exitCode, List<String> out, List<String> err) {
        String describe() {
            return "exit " + exitCode + "\nstdout:\n" + String.join("\n", out) + "\nstderr:\n" + String.join("\n", err);
        }

        boolean printed(String line) {
            return out.contains(line);
        }
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        assertNotNull(value, "system property " + name + " (set by the build)");
        return value;
    }

    private Run run(List<String> jvmOptions) throws IOException, InterruptedException {
        String modulePath = property(CLASSES) + File.pathSeparator + property(DEPENDENCIES);
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xss1m");
        command.addAll(jvmOptions);
        command.addAll(List.of("--module-path", modulePath,
                "-m", "io.robustmutex.moduletest/" + ModulePathApp.class.getName(), dir.toString()));
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .start();
        if (!process.waitFor(2, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError("the application did not finish within 2 minutes: " + command);
        }
        Run run = new Run(process.exitValue(), Files.readAllLines(out), Files.readAllLines(err));
        System.out.println(String.join(" ", command) + "\n" + run.describe() + "\n");
        return run;
    }

    private static List<String> nativeAccess() {
        return Runtime.version().feature() >= 22 ? List.of("--enable-native-access=" + NATIVE_ACCESS_MODULE)
                : List.of();
    }

    /**
     * The application runs with the library as the named module io.robustmutex, whose ServiceLoader found this
     * machine's architecture module as a provider, and locks and unlocks a mutex. On JDK 22 and later it uses
     * the foreign function API from the multi-release jar, and with native access enabled for the library's
     * module the JDK prints nothing on standard error.
     */
    @Test
    void runsOnTheModulePath() throws Exception {
        Run run = run(nativeAccess());
        assertEquals(0, run.exitCode(), run.describe());
        String arch = KernelSupport.architecture();
        assertTrue(run.printed("library_module: io.robustmutex@" + LibraryVersion.current()), run.describe());
        assertTrue(run.printed("library_version: " + LibraryVersion.current()), run.describe());
        assertTrue(run.out().stream().anyMatch(line -> line.startsWith("provider: io.robustmutex." + arch + ".")
                && line.endsWith(" in module io.robustmutex." + arch)), run.describe());
        assertTrue(run.printed("architecture: " + arch), "the provider in use, " + run.describe());
        assertTrue(run.out().stream().anyMatch(line -> line.startsWith("unlocked: ")), run.describe());
        boolean foreign = Runtime.version().feature() >= 22;
        assertTrue(run.printed("native_access: " + (foreign ? "ffm" : "jnr")), run.describe());
        assertTrue(run.printed("memory_access: " + (foreign ? "segment" : "unsafe")), run.describe());
        if (foreign) {
            assertEquals(List.of(), run.err(), run.describe());
        }
    }

    /**
     * The control for the check above: without the option, JDK 22 and later warn of the library's restricted
     * calls, and name the module to enable, which is the one {@link #runsOnTheModulePath} enables.
     */
    @Test
    void withoutNativeAccessTheJdkNamesTheModuleToEnable() throws Exception {
        assumeTrue(Runtime.version().feature() >= 22, "the foreign function API's restricted methods: JDK 22");
        Run run = run(List.of());
        assertEquals(0, run.exitCode(), run.describe());
        assertTrue(run.err().stream().anyMatch(line -> line.startsWith(RESTRICTED_WARNING)), run.describe());
        assertTrue(run.err().stream().anyMatch(line -> line.contains("--enable-native-access=" + NATIVE_ACCESS_MODULE
                + " ")), run.describe());
    }

    /**
     * An application set up for the older jar, which enabled native access for jffi's module only: where the
     * JVM then refuses the library's module its restricted calls (JDK 22 and 23 with that option; JDK 24 and
     * later also under {@code --illegal-native-access=deny}), the library says so, naming the option, and
     * falls back on JNR-FFI and on memory access without segments, and the application works.
     */
    @Test
    void refusedNativeAccessFallsBackOnJnr() throws Exception {
        int feature = Runtime.version().feature();
        assumeTrue(feature >= 22, "the foreign function API's restricted methods: JDK 22");
        List<String> options = new ArrayList<>(List.of("--enable-native-access=org.jnrproject.jffi"));
        if (feature >= 24) {
            options.add("--illegal-native-access=deny");
        }
        Run run = run(options);
        assertEquals(0, run.exitCode(), run.describe());
        assertTrue(run.printed("native_access: jnr"), run.describe());
        assertTrue(run.printed("memory_access: " + (feature >= 24 ? "varhandle" : "unsafe")), run.describe());
        assertTrue(run.out().stream().anyMatch(line -> line.startsWith("unlocked: ")), run.describe());
        assertTrue(run.err().stream().anyMatch(line -> line.contains("refuses native access to module io.robustmutex")
                && line.contains("--enable-native-access=io.robustmutex")), run.describe());
    }
}
