package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.internal.MutexFileHeaderDescriptor;
import io.robustmutex.testing.ChildProcess;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A word naming a TID that no thread has: an owner that is gone without the kernel releasing the word (its
 * list was damaged, it held more than the exit walk's 2048 entries, or the word was copied). PI contenders
 * learn it from the kernel (ESRCH), NORMAL waiters by asking for the TID; both take the mutex over and report
 * the owner's death, in mutex files and in shared-memory regions, where every user is known to share our PID
 * namespace. An owner that has exited but whose TID is still taken (a zombie thread-group leader whose process
 * lives on) is gone too: the kernel finds the TID, but its robust list was cleared by its exit walk.
 */
class VanishedOwnerTest {

    /** A TID no thread has: above the default pid_max, within the 30 TID bits. */
    private static final int NO_SUCH_TID = 0x3ffffff0;
    /** Long enough for several re-checks; on failure the acquisition returns empty instead of hanging. */
    private static final Duration BOUND = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    /** In a mutex file, the word is taken with the owner's death reported. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void mutexFileTakesOverWithOwnerDied(MutexKind kind) throws Exception {
        Path path = dir.resolve("vanished-" + kind + ".mutex");
        MutexFile.open(path, 1, kind).close();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
            channel.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, NO_SUCH_TID),
                    MutexFileHeaderDescriptor.recordOffset(0));
        }
        try (MutexFile file = MutexFile.open(path, 1, kind)) {
            Optional<Acquisition> held = file.mutex(0).tryAcquire(BOUND);
            assertTrue(held.isPresent(), "the vanished owner's mutex was not taken over");
            assertTrue(held.get().ownerDied());
            held.get().markConsistent();
            held.get().close();
        }
    }

    /**
     * The word names a zombie: a thread-group leader that has exited while its process lives on
     * (src/test/c/zombie_leader.c). {@code FUTEX_LOCK_PI} answers ESRCH at once, yet the TID still names a
     * thread, so a contender that only asks whether the TID exists would never take it over (and a PI one
     * would ask the kernel again and again). The zombie's robust list is gone, which no holder of a robust
     * mutex can be without: it is taken over, well within the bound.
     */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void anOwnerThatIsAZombieIsTakenOver(MutexKind kind) throws Exception {
        Path program = compile("zombie_leader");
        Path path = dir.resolve("zombie-" + kind + ".mutex");
        MutexFile.open(path, 1, kind).close();
        try (ChildProcess zombie = ChildProcess.command(List.of(program.toString(), "60"))) {
            int tid = Integer.parseInt(zombie.awaitLine(line -> line.matches("[0-9]+"), Duration.ofSeconds(30)));
            Path status = Path.of("/proc/" + tid + "/task/" + tid + "/status");
            Awaitility.await("thread " + tid + " a zombie").atMost(Duration.ofSeconds(30))
                    .until(() -> Files.readAllLines(status).stream().anyMatch(l -> l.startsWith("State:\tZ")));
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.WRITE)) {
                channel.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, tid),
                        MutexFileHeaderDescriptor.recordOffset(0));
            }
            try (MutexFile file = MutexFile.open(path, 1, kind)) {
                // In a thread of its own: a contender that spins on ESRCH would never return.
                var attempt = Threads.start("contender", () -> {
                    Optional<Acquisition> held = file.mutex(0).tryAcquire(BOUND);
                    boolean ownerDied = held.isPresent() && held.get().ownerDied();
                    held.ifPresent(h -> {
                        h.markConsistent();
                        h.close();
                    });
                    return held.isPresent() + " ownerDied=" + ownerDied;
                });
                assertEquals("true ownerDied=true", attempt.get(BOUND.toSeconds() + 20, TimeUnit.SECONDS),
                        "the zombie's mutex was not taken over");
            }
        }
    }

    private static Path compile(String name) throws Exception {
        Path source = Path.of("src/test/c/" + name + ".c").toAbsolutePath();
        Path binary = Path.of("target/" + name).toAbsolutePath();
        Files.createDirectories(binary.getParent());
        try (ChildProcess gcc = ChildProcess.command(List.of("gcc", "-O2", "-Wall", "-Werror", "-pthread", "-o",
                binary.toString(), source.toString()))) {
            assertEquals(0, gcc.waitFor(Duration.ofMinutes(2)), () -> String.join("\n", gcc.errorLines()));
        }
        return binary;
    }

    /** In a shared-memory region, whose records carry their users' PID namespace, the same. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void sharedMemoryTakesOverWithOwnerDied(MutexKind kind) throws Exception {
        try (SharedMemory region = SharedMemory.map(dir.resolve("vanished-" + kind + ".region"), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            region.buffer().putInt(0, NO_SUCH_TID);
            Optional<Acquisition> held = mutex.tryAcquire(BOUND);
            assertTrue(held.isPresent(), "the vanished owner's mutex was not taken over");
            assertTrue(held.get().ownerDied());
            held.get().markConsistent();
            held.get().close();
        }
    }
}
