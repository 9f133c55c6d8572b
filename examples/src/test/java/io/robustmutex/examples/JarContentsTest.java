package io.robustmutex.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.robustmutex.LibraryVersion;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command-line jar ({@code target/robust-mutex.jar}) carries the project's licence, a NOTICE, the list of the
 * third-party software it bundles, and the version in its manifest, and its {@code doctor} runs without a JDK
 * native-access warning. Runs after {@code package} (the build binds it to {@code integration-test}), with the
 * paths as system properties; every other jar's META-INF/LICENSE and NOTICE are checked by the build's
 * {@code licence-in-every-jar} rule.
 */
class JarContentsTest {

    /** How the JDK's warning about a restricted method (JNI's System.load from JDK 24) begins. */
    private static final String RESTRICTED_WARNING = "WARNING: A restricted method";

    @TempDir
    Path dir;

    /** An artifact line of THIRD-PARTY.txt: {@code groupId:artifactId:version}, maybe {@code (classifier c)}. */
    private static final Pattern LISTED =
            Pattern.compile("^([\\w.-]+:[\\w.-]+:[\\w.-]+)( \\(classifier [\\w.-]+\\))?$");

    /** A line of {@code mvn dependency:list}: {@code groupId:artifactId:type[:classifier]:version:scope}. */
    private static final Pattern RESOLVED =
            Pattern.compile("^\\s+([\\w.-]+):([\\w.-]+):[\\w.-]+(?::([\\w.-]+))?:([\\w.-]+):(?:compile|runtime)\\b.*");

    private static Path property(String name) {
        String value = System.getProperty(name);
        assertNotNull(value, "system property " + name + " (set by the build)");
        return Path.of(value);
    }

    private static Path cliJar() {
        Path jar = property("robustmutex.cliJar");
        assertTrue(Files.isRegularFile(jar), jar + " exists");
        return jar;
    }

    private static String version() {
        String version = System.getProperty("robustmutex.version");
        assertNotNull(version, "system property robustmutex.version (set by the build)");
        return version;
    }

    private static byte[] entry(JarFile jar, String name) throws IOException {
        ZipEntry entry = jar.getEntry(name);
        assertNotNull(entry, jar.getName() + " has " + name);
        try (InputStream in = jar.getInputStream(entry)) {
            return in.readAllBytes();
        }
    }

    @Test
    void carriesTheLicenceTheNoticeAndTheThirdPartyList() throws IOException {
        Path root = property("robustmutex.rootDir");
        try (JarFile jar = new JarFile(cliJar().toFile())) {
            assertArrayEquals(Files.readAllBytes(root.resolve("LICENSE")), entry(jar, "META-INF/LICENSE"),
                    "META-INF/LICENSE is the Apache License 2.0 of LICENSE");
            String notice = new String(entry(jar, "META-INF/NOTICE"), StandardCharsets.UTF_8);
            assertEquals(Files.readString(root.resolve("config/third-party/NOTICE")), notice);
            assertTrue(notice.startsWith(Files.readString(root.resolve("NOTICE"))),
                    "the jar's NOTICE begins with the project's NOTICE");
            assertEquals(Files.readString(root.resolve("config/third-party/THIRD-PARTY.txt")),
                    new String(entry(jar, "META-INF/THIRD-PARTY.txt"), StandardCharsets.UTF_8));
        }
    }

    /** Every artifact bundled is listed in THIRD-PARTY.txt with its version, and nothing else is. */
    @Test
    void listsExactlyTheBundledArtifacts() throws IOException {
        Set<String> bundled = new TreeSet<>();
        for (String line : Files.readAllLines(property("robustmutex.bundledArtifacts"))) {
            Matcher m = RESOLVED.matcher(line);
            if (m.matches()) {
                bundled.add(m.group(1) + ":" + m.group(2) + ":" + m.group(4)
                        + (m.group(3) == null ? "" : " (classifier " + m.group(3) + ")"));
            }
        }
        assertTrue(bundled.stream().anyMatch(a -> a.startsWith("com.github.jnr:jnr-ffi:")),
                "the list was read: " + bundled);
        Set<String> listed = new TreeSet<>();
        try (JarFile jar = new JarFile(cliJar().toFile())) {
            String text = new String(entry(jar, "META-INF/THIRD-PARTY.txt"), StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                Matcher m = LISTED.matcher(line);
                if (m.matches()) {
                    listed.add(line);
                }
            }
        }
        assertEquals(bundled, listed, "META-INF/THIRD-PARTY.txt against mvn dependency:list (runtime scope)");
    }

    /** THIRD-PARTY.txt says that only the x86_64 and aarch64 Linux libraries of jffi are bundled. */
    @Test
    void bundlesTheNativeLibrariesOfTheSupportedPlatformsOnly() throws IOException {
        try (JarFile jar = new JarFile(cliJar().toFile())) {
            Set<String> natives = jar.stream().map(ZipEntry::getName)
                    .filter(n -> n.startsWith("jni/") && !n.endsWith("/"))
                    .collect(Collectors.toCollection(TreeSet::new));
            assertEquals(Set.of("jni/aarch64-Linux/libjffi-1.2.so", "jni/x86_64-Linux/libjffi-1.2.so"), natives);
        }
    }

    @Test
    void manifestCarriesTheVersion() throws IOException {
        try (JarFile jar = new JarFile(cliJar().toFile())) {
            Attributes main = jar.getManifest().getMainAttributes();
            assertEquals(RobustMutexTool.class.getName(), main.getValue("Main-Class"));
            assertEquals("ALL-UNNAMED", main.getValue("Enable-Native-Access"));
            assertEquals(version(), main.getValue("Implementation-Version"));
            assertEquals("robust-mutex command-line tool", main.getValue("Implementation-Title"));
            assertEquals("The robust-mutex authors", main.getValue("Implementation-Vendor"));
        }
    }

    /** The library inside the jar reports the project version, from its filtered resource and its manifest. */
    @Test
    void theLibraryInTheJarKnowsItsVersion() throws Exception {
        assertEquals(version(), LibraryVersion.current(), "the library on the test class path");
        URL[] path = {cliJar().toUri().toURL()};
        try (URLClassLoader loader = new URLClassLoader(path, ClassLoader.getPlatformClassLoader())) {
            Class<?> type = Class.forName(LibraryVersion.class.getName(), true, loader);
            assertEquals(loader, type.getClassLoader(), "loaded from the jar");
            Method current = type.getMethod("current");
            assertEquals(version(), current.invoke(null));
            assertEquals(version(), type.getPackage().getImplementationVersion());
        }
    }

    /** What a child JVM printed and how it ended. */
    private record Run(int exitCode, List<String> out, List<String> err) {
        String describe() {
            return "exit " + exitCode + "\nstdout:\n" + String.join("\n", out) + "\nstderr:\n" + String.join("\n", err);
        }

        boolean warnedOfARestrictedMethod() {
            return err.stream().anyMatch(line -> line.startsWith(RESTRICTED_WARNING));
        }

        /** Any of the JVM's warnings about native access or sun.misc.Unsafe, whatever their wording. */
        boolean jvmWarned() {
            return err.stream().anyMatch(line -> line.contains("restricted method") || line.contains("System::load")
                    || line.contains("sun.misc.Unsafe") || line.contains("enable-native-access")
                    || line.contains("terminally deprecated"));
        }
    }

    /** Runs this JVM's java with the arguments, the command-line jar's {@code doctor} among them. */
    private Run java(String... args) throws IOException, InterruptedException {
        return run(Path.of(System.getProperty("java.home"), "bin", "java"), args);
    }

    /** Runs a {@code java} launcher with the arguments. */
    private Run run(Path java, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(java.toString());
        command.addAll(List.of(args));
        Path out = dir.resolve("stdout.txt");
        Path err = dir.resolve("stderr.txt");
        Process process = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile())
                .start();
        if (!process.waitFor(2, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError("did not finish within 2 minutes: " + command);
        }
        Run run = new Run(process.exitValue(), Files.readAllLines(out), Files.readAllLines(err));
        System.out.println(String.join(" ", command) + "\n" + run.describe() + "\n");
        return run;
    }

    /**
     * {@code java -jar robust-mutex.jar doctor} and {@code demo} print no JVM warning, and say which native and
     * memory access they use: on JDK 22 and later the jar's foreign function and memory classes (the manifest
     * says {@code Multi-Release: true}), with native access enabled by its {@code Enable-Native-Access:
     * ALL-UNNAMED}, so nothing loads jffi's JNI library or touches {@code sun.misc.Unsafe}; on JDK 17, JNR-FFI.
     */
    @Test
    void doctorAndDemoPrintNoJvmWarning() throws Exception {
        Run run = java("-jar", cliJar().toString(), "doctor");
        assertEquals(0, run.exitCode(), run.describe());
        assertTrue(run.out().contains("available: yes"), "native access works: " + run.describe());
        boolean foreign = Runtime.version().feature() >= 22;
        assertTrue(run.out().contains(foreign ? "native_access: ffm (native access enabled)" : "native_access: jnr"),
                run.describe());
        assertTrue(run.out().contains("memory_access: " + (foreign ? "segment" : "unsafe")), run.describe());
        assertFalse(run.jvmWarned(), run.describe());
        if (foreign) {
            assertEquals(List.of(), run.err(), run.describe());
            // Nothing on the way (platform detection, the vDSO, the kernel probes, a mutex file) loads jffi or
            // JNR-FFI or touches sun.misc.Unsafe.
            Path classes = dir.resolve("classes.txt");
            Run logged = java("-Xlog:class+load=info:file=" + classes, "-jar", cliJar().toString(), "doctor");
            assertEquals(0, logged.exitCode(), logged.describe());
            List<String> loaded = Files.readAllLines(classes);
            assertTrue(loaded.stream().anyMatch(line -> line.contains(" io.robustmutex.internal.FfmAccess ")),
                    "the class loading log names the classes loaded");
            assertEquals(List.of(), loaded.stream().filter(line -> line.contains(" com.kenai.jffi.")
                    || line.contains(" jnr.ffi.") || line.contains(" sun.misc.Unsafe ")).toList());
        }
        Run demo = java("-jar", cliJar().toString(), "demo");
        assertEquals(0, demo.exitCode(), demo.describe());
        assertFalse(demo.jvmWarned(), demo.describe());
    }

    /**
     * The same jar on JDK 17 runs its Java 17 classes: JNR-FFI and Unsafe, with nothing on standard error. On
     * a build run by JDK 22 or later (the jar then carries the JDK 22 classes) this needs a JDK 17 beside it,
     * {@code /usr/lib/jvm/java-17-openjdk-amd64} or the system property {@code robustmutex.jdk17}.
     */
    @Test
    void theJarRunsItsJava17ClassesOnJdk17() throws Exception {
        Path java17 = Runtime.version().feature() == 17 ? Path.of(System.getProperty("java.home"), "bin", "java")
                : Path.of(System.getProperty("robustmutex.jdk17", "/usr/lib/jvm/java-17-openjdk-amd64"), "bin",
                        "java");
        assumeTrue(Files.isExecutable(java17), "needs a JDK 17 at " + java17 + " (-Drobustmutex.jdk17=HOME)");
        Run run = run(java17, "-jar", cliJar().toString(), "doctor");
        assertEquals(0, run.exitCode(), run.describe());
        assertTrue(run.out().stream().anyMatch(line -> line.startsWith("java: 17")), run.describe());
        assertTrue(run.out().contains("native_access: jnr"), run.describe());
        assertTrue(run.out().contains("memory_access: unsafe"), run.describe());
        assertEquals(List.of(), run.err(), run.describe());
    }

    /**
     * A library user on JDK 22 and later who puts the jars on the class path and adds
     * {@code --enable-native-access=ALL-UNNAMED}, as the README says, sees no JVM warning either; without the
     * option the JVM warns once, naming the option (the control).
     */
    @Test
    void aLibraryUserWithNativeAccessEnabledSeesNoWarning() throws Exception {
        assumeTrue(Runtime.version().feature() >= 22, "the foreign function API is final from JDK 22");
        Run run = java("--enable-native-access=ALL-UNNAMED", "-cp", cliJar().toString(),
                RobustMutexTool.class.getName(), "demo");
        assertEquals(0, run.exitCode(), run.describe());
        assertFalse(run.jvmWarned(), run.describe());
        Run control = java("-cp", cliJar().toString(), RobustMutexTool.class.getName(), "doctor");
        assertEquals(0, control.exitCode(), control.describe());
        assertTrue(control.out().contains("native_access: ffm (native access not enabled: the JVM warns once; run"
                + " it with --enable-native-access=ALL-UNNAMED)"), control.describe());
        assertTrue(control.err().stream().anyMatch(line -> line.contains("--enable-native-access=ALL-UNNAMED")),
                control.describe());
    }

    /**
     * JNR-FFI, asked for on JDK 24 and later, loads jffi's JNI library: through the jar's manifest without a
     * warning, and on the class path ({@code -cp}, where the manifest's {@code Enable-Native-Access} does not
     * apply) with the JDK's warning, which names the value the manifest sets.
     */
    @Test
    void jnrAskedForOnJdk24LoadsJniWithoutAWarningOnlyThroughTheManifest() throws Exception {
        assumeTrue(Runtime.version().feature() >= 24, "JNI loading is a restricted method from JDK 24");
        Run jar = java("-Dio.robustmutex.nativeAccess=jnr", "-jar", cliJar().toString(), "doctor");
        assertEquals(0, jar.exitCode(), jar.describe());
        assertTrue(jar.out().contains("native_access: jnr"), jar.describe());
        assertFalse(jar.jvmWarned(), jar.describe());
        Run run = java("-Dio.robustmutex.nativeAccess=jnr", "-cp", cliJar().toString(),
                RobustMutexTool.class.getName(), "doctor");
        assertEquals(0, run.exitCode(), run.describe());
        assertTrue(run.warnedOfARestrictedMethod(), run.describe());
        assertTrue(run.err().stream().anyMatch(line -> line.contains("--enable-native-access=ALL-UNNAMED ")),
                run.describe());
    }
}
