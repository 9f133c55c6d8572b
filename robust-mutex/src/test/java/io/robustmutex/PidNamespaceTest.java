package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.testing.ChildProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * No robust lock, PI or NORMAL, is safe between PID namespaces: the kernel's exit walk compares a word with
 * the dying thread's TID in its own namespace, so a thread of another namespace with the owner's number,
 * dying with the record in its pending slot, releases a lock that a live thread holds (kernel-abi.md section
 * 5). Mutex files and shared-memory records used from another PID namespace are therefore refused, for both
 * kinds, before anything is written. Child JVMs run in a new PID namespace made with
 * {@code unshare -p -f --mount-proc}.
 */
class PidNamespaceTest {

    private static final Duration CHILD_TIMEOUT = Duration.ofSeconds(60);

    @TempDir
    Path dir;

    @BeforeAll
    static void needPidNamespaces() throws Exception {
        String problem;
        try {
            Process probe = new ProcessBuilder("unshare", "-p", "-f", "--mount-proc", "true")
                    .redirectErrorStream(true).start();
            boolean ended = probe.waitFor(30, TimeUnit.SECONDS);
            String output = new String(probe.getInputStream().readAllBytes()).trim();
            problem = !ended ? "unshare did not finish" : probe.exitValue() == 0 ? null : output;
        } catch (java.io.IOException e) {
            problem = e.getMessage();
        }
        Assumptions.assumeTrue(problem == null, "needs a new PID namespace (CLONE_NEWPID: CAP_SYS_ADMIN or"
                + " unprivileged user namespaces) to run a child JVM in; unshare -p said: " + problem);
    }

    private static ChildProcess inNewPidNamespace(String... args) {
        List<String> command = new ArrayList<>(List.of("unshare", "-p", "-f", "--mount-proc"));
        // The JVM is process 1 of the new namespace; its perf-data file would clash with the host's process 1.
        command.addAll(ChildProcess.javaCommand(MutexWorker.class, List.of("-XX:-UsePerfData"), args));
        return ChildProcess.command(command);
    }

    private static void assertRefusedForNamespace(ChildProcess child) {
        int exit = child.waitFor(CHILD_TIMEOUT);
        assertNotEquals(0, exit, "the child in another PID namespace must be refused: " + child.lines());
        String errors = String.join("\n", child.errorLines());
        assertTrue(errors.contains("PID namespace"), errors);
    }

    /** A mutex file created here cannot be used from another PID namespace, and is left untouched. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void fileFromHereIsRefusedThere(MutexKind kind) throws Exception {
        Path path = dir.resolve("here-" + kind + ".mutex");
        MutexFile.open(path, 1, kind).close();
        byte[] before = Files.readAllBytes(path);
        try (ChildProcess child = inNewPidNamespace("open", path.toString(), "1", kind.name())) {
            assertRefusedForNamespace(child);
        }
        assertArrayEquals(before, Files.readAllBytes(path));
    }

    /** A mutex file created in another PID namespace is refused here, naming the file, and left untouched. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void fileFromThereIsRefusedHere(MutexKind kind) throws Exception {
        Path path = dir.resolve("there-" + kind + ".mutex");
        try (ChildProcess child = inNewPidNamespace("open", path.toString(), "1", kind.name())) {
            child.awaitLine("OPENED count=1", CHILD_TIMEOUT);
            child.waitFor(CHILD_TIMEOUT);
        }
        byte[] before = Files.readAllBytes(path);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> MutexFile.open(path, 1, kind));
        assertTrue(e.getMessage().contains("PID namespace") && e.getMessage().contains(path.toString()),
                e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(path));
    }

    /** A mutex record initialized in a shared-memory region here cannot be used from another namespace. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void regionRecordFromHereIsRefusedThere(MutexKind kind) throws Exception {
        Path path = dir.resolve("region-" + kind);
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            region.mutex(0, kind);
        }
        byte[] before = Files.readAllBytes(path);
        try (ChildProcess child = inNewPidNamespace("acquire-region", path.toString(), kind.name())) {
            assertRefusedForNamespace(child);
        }
        assertArrayEquals(before, Files.readAllBytes(path));
    }
}
