package io.robustmutex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.UnlockPath;
import io.robustmutex.internal.LinuxBackend;
import io.robustmutex.internal.LinuxKernel;
import io.robustmutex.internal.MappedMemory;
import io.robustmutex.internal.NativeAccess;
import io.robustmutex.testing.ChildProcess;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tool knows every {@code io.robustmutex.*} property the library reads, with the library's defaults, and
 * docs/configuration.md documents exactly those; a bad value gets the documented rule.
 */
class LibraryPropertiesTest {

    @TempDir
    Path dir;

    private static Path root() {
        Path dir = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(dir.resolve("core/src/main/java"))) {
            dir = dir.getParent();
        }
        return dir;
    }

    private static Set<String> names() {
        return LibraryProperties.PROPERTIES.stream().map(LibraryProperties.Property::name)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** The names and defaults are core's. */
    @Test
    void propertiesAreTheLibrarys() {
        assertEquals(new TreeSet<>(List.of(UnlockPath.PROPERTY, MappedMemory.PROPERTY, NativeAccess.PROPERTY,
                LinuxKernel.ROBUST_LIST_PROPERTY, LinuxBackend.SLICE_PROPERTY, LinuxBackend.RECHECK_PROPERTY)),
                names());
        for (LibraryProperties.Property property : LibraryProperties.PROPERTIES) {
            if (property.name().equals(LinuxBackend.SLICE_PROPERTY)) {
                assertEquals(Long.toString(LinuxBackend.DEFAULT_SLICE_MILLIS), property.defaultValue());
            }
            if (property.name().equals(LinuxBackend.RECHECK_PROPERTY)) {
                assertEquals(Long.toString(LinuxBackend.DEFAULT_RECHECK_MILLIS), property.defaultValue());
            }
        }
    }

    /** No property name appears in core's sources that the tool and the documentation do not know. */
    @Test
    void coreReadsNoOtherProperty() throws IOException {
        Pattern literal = Pattern.compile("\"(io\\.robustmutex\\.[a-z][A-Za-z]*)\"");
        Set<String> found = new TreeSet<>();
        try (Stream<Path> sources = Files.walk(root().resolve("core/src/main/java"))) {
            for (Path source : sources.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher name = literal.matcher(Files.readString(source));
                while (name.find()) {
                    found.add(name.group(1));
                }
            }
        }
        assertEquals(names(), found);
    }

    /** docs/configuration.md has one table row per property. */
    @Test
    void configurationDocumentsEveryProperty() throws IOException {
        String doc = Files.readString(root().resolve("docs/configuration.md"));
        Set<String> rows = doc.lines().filter(l -> l.startsWith("| `io.robustmutex."))
                .map(l -> l.substring(3, l.indexOf('`', 3))).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(names(), rows);
        for (LibraryProperties.Property property : LibraryProperties.PROPERTIES) {
            String row = doc.lines().filter(l -> l.startsWith("| `" + property.name() + "`")).findFirst().orElseThrow();
            if (property.defaultValue().matches("\\d+")) {
                assertTrue(row.contains("| " + property.defaultValue() + " |"), row);
            }
        }
    }

    /** A good value is kept and passed to child JVMs; a bad one is reported, removed and not passed on. */
    @Test
    void badValuesAreRemovedAndGoodOnesPassedOn() {
        String recheck = LinuxBackend.RECHECK_PROPERTY;
        String slice = LinuxBackend.SLICE_PROPERTY;
        // This JVM's library has read its properties already; changing them now affects only this test.
        System.setProperty(recheck, "0x20");
        System.setProperty(slice, "-5");
        try {
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            List<String> warnings = LibraryProperties.apply(new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(List.of("warning: -D" + slice + "=-5 is not a whole number of milliseconds, at least 1;"
                    + " using the default (20)"), warnings);
            assertEquals(warnings.get(0) + "\n", err.toString(StandardCharsets.UTF_8));
            assertEquals(null, System.getProperty(slice));
            assertEquals("0x20", System.getProperty(recheck), "Long.decode syntax, as the library reads it");
            List<String> command = ChildJvm.javaCommand(FileLockWorker.class, "x");
            assertTrue(command.contains("-D" + recheck + "=0x20"), command.toString());
            assertTrue(command.stream().noneMatch(a -> a.startsWith("-D" + slice)), command.toString());
            assertTrue(command.indexOf("-D" + recheck + "=0x20") < command.indexOf(FileLockWorker.class.getName()),
                    "a JVM option, before the main class");
        } finally {
            System.clearProperty(recheck);
            System.clearProperty(slice);
        }
    }

    /**
     * Bad {@code -Dio.robustmutex.*} values get a warning naming the property and the default, and the command
     * works; an unknown property is named with the one probably meant.
     */
    @Test
    void badPropertyValuesAreReportedAndTheDefaultUsed() {
        Path region = dir.resolve("prices");
        try (ChildProcess child = ChildProcess.start(RobustMutexTool.class, List.of("-Dio.robustmutex.recheckMillis=0",
                "-Dio.robustmutex.interruptSliceMillis=soon", "-Dio.robustmutex.unlockPath=clasic",
                "-Dio.robustmutex.memoryAccess=fast", "-Dio.robustmutex.unlockpath=classic"), "example-embedded",
                region.toString())) {
            assertEquals(0, child.waitFor(Duration.ofSeconds(120)), child.lines() + "\n" + child.errorLines());
            Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> child.lines().size() >= 1
                    && child.errorLines().size() >= 5);
            List<String> warnings = child.errorLines();
            assertTrue(warnings.contains("warning: -Dio.robustmutex.recheckMillis=0 is not a whole number of"
                    + " milliseconds, at least 1; using the default (100)"), warnings.toString());
            assertTrue(warnings.contains("warning: -Dio.robustmutex.interruptSliceMillis=soon is not a whole number"
                    + " of milliseconds, at least 1; using the default (20)"), warnings.toString());
            assertTrue(warnings.stream().anyMatch(w -> w.startsWith("warning: -Dio.robustmutex.unlockPath=clasic is"
                    + " not classic, syscall or vdso; using the default")), warnings.toString());
            assertTrue(warnings.stream().anyMatch(w -> w.startsWith("warning: -Dio.robustmutex.memoryAccess=fast is"
                    + " not segment, unsafe or varhandle; using the default")), warnings.toString());
            assertTrue(warnings.contains("warning: -Dio.robustmutex.unlockpath is not a property of the library and"
                    + " is ignored (did you mean -Dio.robustmutex.unlockPath?)"), warnings.toString());
            assertTrue(child.lines().get(0).contains("saw 0 torn updates"), child.lines().toString());
        }
    }
}
