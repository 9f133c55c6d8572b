package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.MutexFileHeaderDescriptor;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.testing.ChildProcess;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The trust boundary of the file layer, tried as an attacker and an unlucky operator would: links, files of
 * other users, files more open than asked, files that are not regular files, and a hostile writer of a shared
 * file. Whatever is refused is left exactly as it was.
 */
class FileTrustTest {

    private static final int NOBODY = 65534;
    private static final int NOGROUP = 65534;

    @TempDir
    Path dir;

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path, LinkOption.NOFOLLOW_LINKS));
    }

    /** Refused with this type and text, naming the file, and the file (and its mode) left as it was. */
    private static <T extends Throwable> T assertRefusedUntouched(Path path, Class<T> type, String text,
            Executable open) throws IOException {
        boolean exists = Files.exists(path, LinkOption.NOFOLLOW_LINKS);
        byte[] before = exists && Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS) ? Files.readAllBytes(path)
                : null;
        String modeBefore = exists ? mode(path) : null;
        T e = assertThrows(type, open);
        assertTrue(e.getMessage().contains(text) && e.getMessage().contains(path.toString()), e.getMessage());
        if (before != null) {
            assertArrayEquals(before, Files.readAllBytes(path), "the refused file was written");
            assertEquals(modeBefore, mode(path), "the refused file's mode was changed");
        }
        return e;
    }

    private static void assumeRoot() throws IOException {
        Assumptions.assumeTrue("0".equals(new String(new ProcessBuilder("id", "-u").start().getInputStream()
                .readAllBytes()).trim()), "needs root to give files to other users and to run a child as nobody");
    }

    private static UserPrincipalLookupService users() {
        return java.nio.file.FileSystems.getDefault().getUserPrincipalLookupService();
    }

    /** A directory every user can create files in, with the sticky bit (like /dev/shm). */
    private Path sharedDirectory() throws IOException {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path shared = Files.createDirectory(dir.resolve("shared"));
        try {
            // The sticky bit cannot be set through PosixFilePermissions.
            assertEquals(0, new ProcessBuilder("chmod", "1777", shared.toString()).start().waitFor());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return shared;
    }

    /** A symbolic link to an existing file is refused; the file it names is neither written nor chmod'ed. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aLinkToAnExistingFileIsRefused(MutexKind kind) throws Exception {
        Path victim = Files.writeString(dir.resolve("victim.txt"), "precious data, not a mutex file");
        Files.setPosixFilePermissions(victim, PosixFilePermissions.fromString("rw-r--r--"));
        Path link = Files.createSymbolicLink(dir.resolve("linked.mutex"), victim);
        byte[] before = Files.readAllBytes(victim);
        for (Executable open : new Executable[] {() -> MutexFile.open(link, 2, kind),
                () -> MutexFile.openExisting(link), () -> SharedMemory.map(link, 4096)}) {
            FileSystemException e = assertThrows(FileSystemException.class, open);
            assertTrue(e.getMessage().contains("symbolic link") && e.getMessage().contains(link.toString()),
                    e.getMessage());
        }
        assertRefusedUntouched(link, MutexFileFormatException.class, "symbolic link", () -> MutexFile.inspect(link));
        assertArrayEquals(before, Files.readAllBytes(victim));
        assertEquals("rw-r--r--", mode(victim));
    }

    /** A dangling symbolic link makes nothing anywhere: the file it names is not created. */
    @Test
    void aDanglingLinkCreatesNothing() throws Exception {
        Path elsewhere = Files.createDirectory(dir.resolve("elsewhere")).resolve("planted");
        Path link = Files.createSymbolicLink(dir.resolve("dangling.mutex"), elsewhere);
        assertThrows(FileSystemException.class, () -> MutexFile.open(link, 2));
        assertThrows(FileSystemException.class, () -> SharedMemory.map(link, 4096));
        assertFalse(Files.exists(elsewhere), "a file was created through the link");
    }

    /** A file more open than the access asked for is refused, naming owner and mode; GROUP accepts 0660. */
    @Test
    void aFileMoreOpenThanAskedIsRefused() throws Exception {
        Path path = dir.resolve("open.mutex");
        MutexFile.open(path, 2).close();
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-r--r--"));
        UntrustedFileException e = assertRefusedUntouched(path, UntrustedFileException.class, "mode 0644",
                () -> MutexFile.open(path, 2));
        assertTrue(e.getMessage().contains("owner uid"), e.getMessage());
        assertRefusedUntouched(path, UntrustedFileException.class, "mode 0644",
                () -> SharedMemory.map(path, 8192));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw-rw-"));
        assertRefusedUntouched(path, UntrustedFileException.class, "every user",
                () -> MutexFile.open(path, 2, MutexKind.PI, FileAccess.GROUP));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw----"));
        assertRefusedUntouched(path, UntrustedFileException.class, "FileAccess.OWNER was asked for",
                () -> MutexFile.open(path, 2));
        try (MutexFile group = MutexFile.open(path, 2, MutexKind.PI, FileAccess.GROUP)) {
            assertEquals(2, group.mutexCount());
        }
        Path created = dir.resolve("group.mutex");
        MutexFile.open(created, 1, MutexKind.PI, FileAccess.GROUP).close();
        assertEquals("rw-rw----", mode(created), "GROUP creates rw-rw---- whatever the umask");
    }

    /** A FIFO or a directory is refused as not a regular file; a FIFO without blocking. */
    @Test
    void filesThatAreNotRegularAreRefused() throws Exception {
        Path fifo = dir.resolve("fifo.mutex");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            assertRefusedUntouched(fifo, UntrustedFileException.class, "a FIFO", () -> MutexFile.open(fifo, 1));
            assertRefusedUntouched(fifo, UntrustedFileException.class, "a FIFO", () -> MutexFile.openExisting(fifo));
            assertRefusedUntouched(fifo, UntrustedFileException.class, "a FIFO", () -> SharedMemory.map(fifo, 4096));
            assertRefusedUntouched(fifo, MutexFileFormatException.class, "not a regular file",
                    () -> MutexFile.inspect(fifo));
        });
        Path directory = Files.createDirectory(dir.resolve("directory.mutex"));
        assertThrows(FileSystemException.class, () -> MutexFile.open(directory, 1));
        assertRefusedUntouched(directory, MutexFileFormatException.class, "a directory",
                () -> MutexFile.inspect(directory));
    }

    /**
     * A file that belongs to another user is refused even by root; with GROUP, a file of another user is
     * accepted when its group is one of ours and refused when it is not.
     */
    @Test
    void anotherUsersFileIsRefused() throws Exception {
        assumeRoot();
        Path path = dir.resolve("nobodys.mutex");
        MutexFile.open(path, 1).close();
        PosixFileAttributeView view = Files.getFileAttributeView(path, PosixFileAttributeView.class);
        UserPrincipal nobody = users().lookupPrincipalByName("nobody");
        view.setOwner(nobody);
        UntrustedFileException e = assertRefusedUntouched(path, UntrustedFileException.class,
                "belongs to another user", () -> MutexFile.open(path, 1));
        assertTrue(e.getMessage().contains("uid " + NOBODY), e.getMessage());
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw----"));
        GroupPrincipal root = users().lookupPrincipalByGroupName("root");
        view.setGroup(root);
        try (MutexFile shared = MutexFile.open(path, 1, MutexKind.PI, FileAccess.GROUP)) {
            assertEquals(1, shared.mutexCount(), "a member of the file's group may use it");
        }
        view.setGroup(users().lookupPrincipalByGroupName("nogroup"));
        assertRefusedUntouched(path, UntrustedFileException.class, "group this process is not in",
                () -> MutexFile.open(path, 1, MutexKind.PI, FileAccess.GROUP));
    }

    /** A mutex file another user created is refused by root; the file is left as it was. */
    @Test
    void aFileCreatedByAnotherUserIsNotTrusted() throws Exception {
        assumeRoot();
        Path path = sharedDirectory().resolve("theirs.mutex");
        try (ChildProcess child = ChildProcess.command(ChildProcess.javaCommandAs(NOBODY, NOGROUP, MutexWorker.class,
                "open", path.toString(), "1", "PI"))) {
            assertEquals(0, child.waitFor(Duration.ofSeconds(60)), child.errorLines().toString());
        }
        assertEquals(NOBODY, (int) Files.getAttribute(path, "unix:uid"));
        assertEquals("rw-------", mode(path));
        assertRefusedUntouched(path, UntrustedFileException.class, "belongs to another user",
                () -> MutexFile.open(path, 1));
    }

    /** An empty world-writable file planted by root is not turned into a mutex file by another user. */
    @Test
    void aPlantedFileIsNotAdopted() throws Exception {
        assumeRoot();
        Path path = sharedDirectory().resolve("planted.mutex");
        Files.createFile(path);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw-rw-"));
        try (ChildProcess child = ChildProcess.command(ChildProcess.javaCommandAs(NOBODY, NOGROUP, MutexWorker.class,
                "open", path.toString(), "1", "PI"))) {
            assertNotEquals(0, child.waitFor(Duration.ofSeconds(60)));
            String errors = String.join("\n", child.errorLines());
            assertTrue(errors.contains("belongs to another user") && errors.contains(path.toString()), errors);
        }
        assertEquals(0, Files.size(path), "the planted file was written");
        assertEquals("rw-rw-rw-", mode(path));
        assertEquals(0, (int) Files.getAttribute(path, "unix:uid"));
    }

    /**
     * A trusted but hostile writer of a shared file can keep the kernel from releasing a thread's other
     * mutexes: zeroing the shared record's list pointer stops the exit walk there, so a private mutex the dead
     * thread held stays held by its dead TID. The next contender for it finds the owner gone, takes it over and
     * is told the owner died.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aDamagedListIsHealedByTheNextContender(MutexKind kind) throws Exception {
        Path own = dir.resolve("private-" + kind + ".mutex");
        Path shared = dir.resolve("shared-" + kind + ".mutex");
        try (ChildProcess child = ChildProcess.start(MutexWorker.class, "hold-two", own.toString(), shared.toString(),
                kind.name())) {
            child.awaitLine("HELD", Duration.ofSeconds(60));
            try (FileChannel channel = FileChannel.open(shared, StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.allocate(8), MutexFileHeaderDescriptor.recordOffset(0)
                        + MutexRecordDescriptor.LIST_NEXT_OFFSET);
            }
            child.kill();
            child.process().waitFor(30, TimeUnit.SECONDS);
        }
        try (MutexFile file = MutexFile.open(own, 1, kind)) {
            assertTrue(file.mutex(0).snapshot().locked(), "the kernel's walk stopped before the private mutex");
            Optional<Acquisition> taken = file.mutex(0).tryAcquire(Duration.ofSeconds(10));
            assertTrue(taken.isPresent(), "nobody took the private mutex over");
            assertTrue(taken.get().ownerDied());
            taken.get().markConsistent();
            taken.get().close();
        }
    }
}
