package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** Which memory implementation a JVM uses, and that the choice never makes the JVM print a warning. */
class MemoryAccessChoiceTest {

    private static final BooleanSupplier UNSAFE = () -> true;
    private static final BooleanSupplier NO_UNSAFE = () -> false;
    /** Fails the test if the choice looks at Unsafe. */
    private static final BooleanSupplier UNTOUCHED = () -> {
        throw new AssertionError("the choice looked at sun.misc.Unsafe");
    };

    @Test
    void withoutMemorySegmentsUnsafeBeforeJdk24AndFromJdk24OnlyWhenTheJvmAllowsIt() {
        assertEquals("unsafe", MappedMemory.chooseAccess(null, 17, null, false, UNSAFE));
        assertEquals("unsafe", MappedMemory.chooseAccess(null, 21, "warn", false, UNSAFE));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 24, null, false, UNSAFE));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 25, "warn", false, UNSAFE));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 25, "deny", false, UNSAFE));
        assertEquals("unsafe", MappedMemory.chooseAccess(null, 25, "allow", false, UNSAFE));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 17, null, false, NO_UNSAFE));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 25, "allow", false, NO_UNSAFE));
    }

    @Test
    void withMemorySegmentsTheyAreChosenAndUnsafeIsNeverLookedAt() {
        assertEquals("segment", MappedMemory.chooseAccess(null, 22, null, true, UNTOUCHED));
        assertEquals("segment", MappedMemory.chooseAccess(null, 25, "allow", true, UNTOUCHED));
        assertEquals("segment", MappedMemory.chooseAccess(" Segment ", 25, null, true, UNTOUCHED));
        assertEquals("varhandle", MappedMemory.chooseAccess("varhandle", 25, null, true, UNTOUCHED));
        assertEquals("segment", MappedMemory.chooseAccess("bogus", 25, null, true, UNTOUCHED));
    }

    @Test
    void thePropertyOverridesWhereItCan() {
        assertEquals("varhandle", MappedMemory.chooseAccess("varhandle", 17, null, false, UNSAFE));
        assertEquals("unsafe", MappedMemory.chooseAccess(" UNSAFE ", 25, null, false, UNSAFE));
        assertEquals("unsafe", MappedMemory.chooseAccess("unsafe", 25, null, true, UNSAFE));
        assertEquals("varhandle", MappedMemory.chooseAccess("unsafe", 17, null, false, NO_UNSAFE));
        assertEquals("segment", MappedMemory.chooseAccess("unsafe", 25, null, true, NO_UNSAFE));
        // Segments need JDK 22: reported, and the choice made as if the property were absent.
        assertEquals("unsafe", MappedMemory.chooseAccess("segment", 17, null, false, UNSAFE));
        // An unknown value is reported and the choice made as if the property were absent.
        assertEquals("unsafe", MappedMemory.chooseAccess("bogus", 17, null, false, UNSAFE));
        assertEquals("varhandle", MappedMemory.chooseAccess("bogus", 25, null, false, UNSAFE));
    }

    /**
     * What a child JVM of this JDK on this class path chooses and loads. On JDK 22 and later with the
     * multi-release jar (the suite's JDK 25 run): segments and the foreign function API whatever the Unsafe
     * option says, with neither sun.misc.Unsafe nor jffi loaded and nothing printed on standard error; the
     * properties bring back the older implementations. On JDK 17: Unsafe and JNR.
     */
    @Test
    void eachJdkLoadsOnlyWhatItsImplementationsNeed() throws Exception {
        if (ForeignAccess.memorySegments()) {
            ChildResult plain = runProbe();
            assertEquals(0, plain.exitCode, plain.output);
            assertTrue(plain.output.contains("access=segment native=ffm value=7"), plain.output);
            assertEquals("", plain.errors, "standard error of the child");
            assertFalse(plain.loaded("sun.misc.Unsafe"), plain.output);
            assertFalse(plain.loaded("com.kenai.jffi."), plain.output);
            assertFalse(plain.loaded("jnr.ffi."), plain.output);
            // The JVM option exists from JDK 23.
            List<String> allow = Runtime.version().feature() >= 23 ? List.of("--sun-misc-unsafe-memory-access=allow")
                    : List.of();
            ChildResult allowed = runProbe(allow.toArray(String[]::new));
            assertTrue(allowed.output.contains("access=segment native=ffm value=7"), allowed.output);
            assertFalse(allowed.loaded("sun.misc.Unsafe"), allowed.output);
            List<String> olderOptions = new ArrayList<>(allow);
            olderOptions.add("-D" + MappedMemory.PROPERTY + "=unsafe");
            olderOptions.add("-D" + NativeAccess.PROPERTY + "=jnr");
            ChildResult older = runProbe(olderOptions.toArray(String[]::new));
            assertEquals(0, older.exitCode, older.output + older.errors);
            assertTrue(older.output.contains("access=unsafe native=jnr value=7"), older.output);
            assertTrue(older.loaded("com.kenai.jffi.Foreign"), older.output);
            assertEquals("", older.errors, "standard error of the child");
        } else {
            ChildResult plain = runProbe();
            assertEquals(0, plain.exitCode, plain.output + plain.errors);
            String expected = Runtime.version().feature() >= 24 ? "varhandle" : "unsafe";
            assertTrue(plain.output.contains("access=" + expected + " native=jnr value=7"), plain.output);
        }
    }

    /**
     * Without memory segments (JDK 17 to 21, or JDK 22 and later without the multi-release classes), from
     * JDK 24 on the JVM option chooses Unsafe, and neither choice prints the JVM's Unsafe warning.
     */
    @Test
    void withoutSegmentsOnJdk24AndLaterTheJvmOptionChoosesUnsafeWithoutAWarning() throws Exception {
        assumeTrue(Runtime.version().feature() >= 24,
                "needs JDK 24 or later, where sun.misc.Unsafe's memory access warns unless the JVM allows it");
        String base = "-D" + MappedMemory.PROPERTY + "=";
        ChildResult allowed = runProbe("--sun-misc-unsafe-memory-access=allow", base + "unsafe");
        assertEquals(0, allowed.exitCode, allowed.output);
        assertTrue(allowed.output.contains("access=unsafe"), allowed.output);
        ChildResult plain = runProbe(base + "varhandle");
        assertEquals(0, plain.exitCode, plain.output);
        assertTrue(plain.output.contains("access=varhandle"), plain.output);
        assertFalse(allowed.errors.contains("sun.misc.Unsafe") || plain.errors.contains("sun.misc.Unsafe"),
                allowed.errors + plain.errors);
    }

    private record ChildResult(int exitCode, String output, String errors) {
        /** Whether the JVM's class loading log names a class starting with {@code prefix}. */
        boolean loaded(String prefix) {
            return output.lines().anyMatch(line -> line.contains("[class,load] " + prefix));
        }
    }

    private static ChildResult runProbe(String... options) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xlog:class+load=info:stdout");
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of(options));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Probe.class.getName());
        Path errors = Files.createTempFile("probe", ".err");
        try {
            Process process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
            try {
                String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the probe JVM did not finish");
                return new ChildResult(process.exitValue(), output, Files.readString(errors));
            } finally {
                process.destroyForcibly();
            }
        } finally {
            Files.deleteIfExists(errors);
        }
    }

    /** The child: makes the choice, then uses the memory so that any warning would be printed. */
    public static final class Probe {
        private Probe() {
        }

        /**
         * Entry point.
         *
         * @param args none
         */
        public static void main(String[] args) {
            ByteBuffer buffer = NativeMemory.allocateAligned(64, 64);
            MappedMemory memory = MappedMemory.of(buffer);
            memory.putIntRelease(0, 6);
            memory.compareAndSetInt(0, 6, 7);
            // No syscall has number -1: the C library returns -1 with errno ENOSYS, which must come back.
            long result = NativeAccess.current().syscall(-1, 0, 0, 0, 0, 0, 0);
            if (result != -Errno.ENOSYS) {
                throw new AssertionError("syscall(-1) returned " + result);
            }
            System.out.println("access=" + MappedMemory.ACCESS + " native=" + NativeAccess.current().name()
                    + " value=" + memory.getIntVolatile(0));
        }
    }
}
