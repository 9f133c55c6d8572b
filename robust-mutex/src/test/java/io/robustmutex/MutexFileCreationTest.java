package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.testing.ChildProcess;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A mutex file appears under its name only complete: created under a temporary name and linked into place.
 * A creation in progress is waited for by openExisting, an abandoned one blocks nothing, creators racing for
 * one name end with one file, and a creation that fails names the file and leaves nothing behind.
 */
class MutexFileCreationTest {

    @TempDir
    Path dir;

    private static long deadPid() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        return gone.pid();
    }

    private List<Path> leftovers() throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().contains(".creating.")).toList();
        }
    }

    /** openExisting waits while a live process is creating the file, and opens it once it is complete. */
    @Test
    void openExistingWaitsForACreationInProgress() throws Exception {
        Path path = dir.resolve("late.mutex");
        Path marker = Files.createFile(dir.resolve(".late.mutex.creating." + ProcessHandle.current().pid() + ".1"));
        CompletableFuture<Integer> opener = Threads.start("opener", () -> {
            try (MutexFile file = MutexFile.openExisting(path)) {
                return file.mutexCount();
            }
        });
        Awaitility.await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(5)).until(() -> !opener.isDone());
        MutexFile.open(path, 3).close();
        assertEquals(3, Threads.get(opener));
        Files.delete(marker);
        long start = System.nanoTime();
        assertThrows(NoSuchFileException.class, () -> MutexFile.openExisting(dir.resolve("never.mutex")));
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "nothing was being created: no wait");
    }

    /** A creator that died part way left its temporary file: it blocks nothing and is removed. */
    @Test
    void anAbandonedCreationBlocksNothing() throws Exception {
        Path path = dir.resolve("abandoned.mutex");
        Path leftover = Files.write(dir.resolve(".abandoned.mutex.creating." + deadPid() + ".7"), new byte[100]);
        long start = System.nanoTime();
        assertThrows(NoSuchFileException.class, () -> MutexFile.openExisting(path));
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "a dead creator was waited for");
        try (MutexFile file = MutexFile.open(path, 2)) {
            assertEquals(2, file.mutexCount());
        }
        assertFalse(Files.exists(leftover), "the abandoned temporary file was not removed");
    }

    /**
     * A file name may hold any character a file name may: those that mean something in a glob pattern too
     * ({@code { [ * ? \\}) are only characters of the name, when the name is created, opened, and looked for
     * among the creations of other processes.
     */
    @Test
    void aNameWithGlobCharactersIsJustAName() throws Exception {
        for (String name : List.of("a{b.mutex", "c[d.mutex", "e*f?.mutex", "g\\h.mutex", "i{j,k}.mutex")) {
            Path path = dir.resolve(name);
            Path leftover = Files.write(dir.resolve("." + name + ".creating." + deadPid() + ".7"), new byte[100]);
            assertThrows(NoSuchFileException.class, () -> MutexFile.openExisting(path), name);
            try (MutexFile file = MutexFile.open(path, 1)) {
                assertEquals(1, file.mutexCount(), name);
            }
            try (MutexFile file = MutexFile.openExisting(path)) {
                file.mutex(0).lock();
                file.mutex(0).unlock();
            }
            assertFalse(Files.exists(leftover), name + ": the abandoned temporary file was not removed");
        }
    }

    /**
     * A long name of multi-byte characters, legal on its own (236 bytes of UTF-8), still leaves room for the
     * temporary name of its creation, which is cut in bytes, not characters.
     */
    @Test
    void aLongMultiByteNameCanBeCreated() throws Exception {
        String name = "\u00e9".repeat(115) + ".mutex";
        Assumptions.assumeTrue(java.nio.charset.Charset.forName(System.getProperty("sun.jnu.encoding"))
                .newEncoder().canEncode(name), "needs a UTF-8 file-name encoding (sun.jnu.encoding, from the locale)");
        assertEquals(236, name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        Path path = dir.resolve(name);
        try (MutexFile file = MutexFile.open(path, 1)) {
            file.mutex(0).lock();
            file.mutex(0).unlock();
        }
        try (Stream<Path> left = Files.list(dir)) {
            assertEquals(List.of(path), left.toList(), "the file, and no temporary name left behind");
        }
    }

    /** A creator killed at any moment leaves a state from which the next open succeeds. */
    @Test
    void aCreatorKilledAtAnyMomentBlocksNothing() throws Exception {
        for (int round = 0; round < 6; round++) {
            Path path = dir.resolve("killed-" + round + ".mutex");
            try (ChildProcess child = ChildProcess.start(MutexWorker.class, "open", path.toString(), "200000", "PI")) {
                Thread.sleep(100L * round);
                child.kill();
                child.process().waitFor();
            }
            try (MutexFile file = MutexFile.open(path, 200000)) {
                assertEquals(200000, file.mutexCount());
            }
        }
    }

    /** Processes creating one file at once end with one complete file, all of them using it. */
    @Test
    void concurrentCreatorsAgree() throws Exception {
        for (int round = 0; round < 4; round++) {
            Path path = dir.resolve("race-" + round + ".mutex");
            List<ChildProcess> children = new ArrayList<>();
            try {
                for (int i = 0; i < 4; i++) {
                    children.add(ChildProcess.start(MutexWorker.class, "open", path.toString(), "3", "NORMAL"));
                }
                for (ChildProcess child : children) {
                    assertEquals(0, child.waitFor(Duration.ofSeconds(60)), child.errorLines().toString());
                    assertEquals(List.of("OPENED count=3"), child.lines());
                }
            } finally {
                children.forEach(ChildProcess::close);
            }
            assertEquals(3, MutexFile.inspect(path).mutexes().size());
        }
        assertEquals(List.of(), leftovers());
    }

    /** A full file system fails the creation with an error naming the file, and leaves nothing behind. */
    @Test
    void noSpaceFailsNamingTheFileAndLeavesNothing() throws Exception {
        Path small = Files.createDirectory(dir.resolve("small"));
        Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", small.toString())
                .redirectErrorStream(true).start();
        String said = new String(mount.getInputStream().readAllBytes()).trim();
        Assumptions.assumeTrue(mount.waitFor() == 0, "needs to mount a 64 KiB tmpfs (root): " + said);
        try {
            Path path = small.resolve("big.mutex");
            FileSystemException e = assertThrows(FileSystemException.class, () -> MutexFile.open(path, 5000));
            assertTrue(e.getMessage().contains("no space") && e.getMessage().contains("big.mutex"), e.getMessage());
            try (Stream<Path> files = Files.list(small)) {
                assertEquals(List.of(), files.toList(), "the failed creation left something");
            }
        } finally {
            new ProcessBuilder("umount", small.toString()).start().waitFor();
        }
    }
}
