package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Which memory implementation a JVM uses, and that the choice never makes the JVM print a warning. */
class MemoryAccessChoiceTest {

    @Test
    void unsafeBeforeJdk24AndFromJdk24OnlyWhenTheJvmAllowsIt() {
        assertEquals("unsafe", MappedMemory.chooseAccess(null, 17, null, true));
        assertEquals("unsafe", MappedMemory.chooseAccess(null, 23, "warn", true));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 24, null, true));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 25, "warn", true));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 25, "deny", true));
        assertEquals("unsafe", MappedMemory.chooseAccess(null, 25, "allow", true));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 17, null, false));
        assertEquals("varhandle", MappedMemory.chooseAccess(null, 25, "allow", false));
    }

    @Test
    void thePropertyOverridesWhereItCan() {
        assertEquals("varhandle", MappedMemory.chooseAccess("varhandle", 17, null, true));
        assertEquals("unsafe", MappedMemory.chooseAccess(" UNSAFE ", 25, null, true));
        assertEquals("varhandle", MappedMemory.chooseAccess("unsafe", 17, null, false));
        // An unknown value is reported and the choice made as if the property were absent.
        assertEquals("unsafe", MappedMemory.chooseAccess("bogus", 17, null, true));
        assertEquals("varhandle", MappedMemory.chooseAccess("bogus", 25, null, true));
    }

    /**
     * A child JVM of this JDK with and without {@code --sun-misc-unsafe-memory-access=allow}: with it, Unsafe
     * is used; without it, VarHandles; neither prints the JVM's Unsafe warning. The option exists from JDK 23;
     * the suite's JDK 25 run exercises this.
     */
    @Test
    void onJdk24AndLaterTheJvmOptionChoosesUnsafeWithoutAWarning() throws Exception {
        assumeTrue(Runtime.version().feature() >= 24,
                "needs JDK 24 or later, where sun.misc.Unsafe's memory access warns unless the JVM allows it");
        ChildResult allowed = runProbe("--sun-misc-unsafe-memory-access=allow");
        assertEquals(0, allowed.exitCode, allowed.output);
        assertTrue(allowed.output.contains("access=unsafe value=7"), allowed.output);
        ChildResult plain = runProbe(null);
        assertEquals(0, plain.exitCode, plain.output);
        assertTrue(plain.output.contains("access=varhandle value=7"), plain.output);
        assertFalse(allowed.output.contains("sun.misc.Unsafe") || plain.output.contains("sun.misc.Unsafe"),
                allowed.output + plain.output);
    }

    private record ChildResult(int exitCode, String output) {
    }

    private static ChildResult runProbe(String option) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        if (option != null) {
            command.add(option);
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Probe.class.getName());
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the probe JVM did not finish");
            return new ChildResult(process.exitValue(),
                    new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        } finally {
            process.destroyForcibly();
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
            System.out.println("access=" + MappedMemory.ACCESS + " value=" + memory.getIntVolatile(0));
        }
    }
}
