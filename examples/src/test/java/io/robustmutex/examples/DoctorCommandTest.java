package io.robustmutex.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.KernelCapabilities;
import io.robustmutex.KernelSupport;
import io.robustmutex.LibraryVersion;
import io.robustmutex.testing.ChildProcess;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/** {@code doctor} reports what the kernel offers, as key: value lines. */
class DoctorCommandTest {

    static Map<String, String> keyValues(String text) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : text.split("\n")) {
            int colon = line.indexOf(": ");
            if (colon > 0) {
                values.put(line.substring(0, colon), line.substring(colon + 2));
            }
        }
        return values;
    }

    /** Every required key is printed, agreeing with the library's own detection, and the exit code is 0. */
    @Test
    void reportsTheKernelsFeatures() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        // A fresh thread: doctor reports the calling thread's robust list head and choice, which a thread that
        // took mutexes in other tests has already made.
        int[] exitCode = {-1};
        Thread doctor = new Thread(() -> exitCode[0] = RobustMutexTool.run(new String[] {"doctor"},
                new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)));
        doctor.start();
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> !doctor.isAlive());
        int exit = exitCode[0];
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, exit, text + err);
        Map<String, String> values = keyValues(text);
        KernelCapabilities caps = KernelSupport.capabilities();
        List<String> keys = List.copyOf(values.keySet());
        assertEquals("version", keys.get(0), "the version comes first, for bug reports");
        assertEquals(LibraryVersion.current(), values.get("version"));
        assertEquals("none", values.get("properties"), "the suite sets no -Dio.robustmutex.* property");
        assertEquals(KernelSupport.architecture(), values.get("arch"));
        assertEquals(System.getProperty("os.version"), values.get("kernel"));
        assertTrue(values.get("java").startsWith(System.getProperty("java.version")));
        assertEquals(caps.vdsoTryUnlock() ? "present" : "absent", values.get("vdso_try_unlock"));
        assertEquals(caps.futexRobustUnlock() ? "supported" : "unsupported", values.get("futex_robust_unlock"));
        assertEquals(caps.futexLockPi2() ? "supported" : "unsupported", values.get("futex_lock_pi2"));
        assertEquals("glibc (futex_offset=-32)", values.get("robust_list_head"));
        assertEquals("joined glibc", values.get("robust_list"), "the suite sets no io.robustmutex.robustList");
        assertEquals(caps.unlockPath().id(), values.get("unlock_path"));
        assertTrue(values.get("memory_access").startsWith(KernelSupport.memoryAccess()), values.get("memory_access"));
        assertEquals("on close (membarrier private-expedited)", values.get("mapping_release"),
                "this kernel (4.14 and later) releases closed files at once");
        // The suite runs the multi-release jar without -Dio.robustmutex.* properties: JDK 22 and later use the
        // foreign function and memory API, JDK 17 to 21 JNR-FFI and Unsafe.
        boolean foreign = Runtime.version().feature() >= 22;
        assertEquals(foreign ? "segment" : "unsafe", KernelSupport.memoryAccess());
        assertEquals(foreign ? "ffm" : "jnr", KernelSupport.nativeAccess());
        assertEquals(foreign ? "ffm (native access enabled)" : "jnr", values.get("native_access"),
                "the suite's JVMs run with --enable-native-access=ALL-UNNAMED on JDK 22 and later");
        List<String> lines = List.of(text.split("\n"));
        assertTrue(lines.get(lines.size() - 1).startsWith("meaning: "), "the last line explains the result");
    }

    /** Where the library cannot work, doctor says why and exits non-zero. */
    @Test
    void unusableMachineExitsNonZeroWithCause() {
        try (ChildProcess child = ChildProcess.start(RobustMutexTool.class, List.of("-Dos.arch=riscv64"), "doctor")) {
            assertNotEquals(0, child.waitFor(Duration.ofSeconds(60)));
            Map<String, String> values = keyValues(String.join("\n", child.lines()));
            assertEquals("riscv64", values.get("arch"));
            assertEquals("no", values.get("available"));
            assertTrue(values.get("cause").contains("os.arch=riscv64"), values.get("cause"));
        }
    }

    /** An unknown command prints usage and exits 2. */
    @Test
    void unknownCommandIsAUsageError() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(2, RobustMutexTool.run(new String[] {"frobnicate"}, System.out,
                new PrintStream(err, true, StandardCharsets.UTF_8)));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("doctor"));
    }
}
