package io.robustmutex.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.testing.ChildProcess;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo, the examples and inspect run as documented. */
class ExamplesTest {

    @TempDir
    Path dir;

    /** Output and exit code of one command. */
    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = RobustMutexTool.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** The demo kills the holder JVM and the successor repairs the ledger after being told the owner died. */
    @Test
    void demoShowsRecovery() {
        Run demo = run("demo");
        assertEquals(0, demo.exit(), demo.out() + demo.err());
        assertTrue(demo.out().contains("unlock path "), demo.out());
        assertTrue(demo.out().contains("successor: acquired, ownerDied=true"), demo.out());
        assertTrue(demo.out().contains("marked consistent: A=40 B=60 (sum 100)"), demo.out());
        assertTrue(demo.out().contains("mutex state CONSISTENT, owner deaths detected 1"), demo.out());
    }

    /**
     * torture, briefly: worker JVMs killed while holding and waiting, every half-done update rolled back, no
     * violation; and a bad option is refused.
     */
    @Test
    void tortureFindsNoViolation() {
        Run storm = run("torture", "--kills", "6", "--processes", "3", "--dir", dir.toString(), "--seed", "7");
        assertEquals(0, storm.exit(), storm.out() + storm.err());
        assertTrue(storm.out().contains("OK: no update lost or doubled"), storm.out());
        assertTrue(storm.out().lines().anyMatch(l -> l.startsWith("PI ") && l.endsWith(" ok")), storm.out());
        assertTrue(storm.out().lines().anyMatch(l -> l.startsWith("NORMAL ") && l.endsWith(" ok")), storm.out());
        Run bad = run("torture", "--kills", "0");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--kills 0"), bad.err());
    }

    /**
     * queue, briefly: producer and consumer JVMs waiting on robust conditions, killed at random; every item
     * taken once and in order, the queue never stalled.
     */
    @Test
    void queueStormFindsNoViolation() {
        Run storm = run("queue", "--kills", "4", "--dir", dir.toString(), "--seed", "7");
        assertEquals(0, storm.exit(), storm.out() + storm.err());
        assertTrue(storm.out().contains("OK: every item taken once and in order"), storm.out());
        assertTrue(storm.out().lines().anyMatch(l -> l.startsWith("PI ") && l.endsWith(" ok")), storm.out());
        assertTrue(storm.out().lines().anyMatch(l -> l.startsWith("NORMAL ") && l.endsWith(" ok")), storm.out());
        Run bad = run("queue", "--producers", "0");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("--producers 0"), bad.err());
    }

    /** example-queue: a producer and a consumer thread hand 10,000 items through the queue, in order. */
    @Test
    void queueExample() {
        Run example = run("example-queue", dir.resolve("jobs").toString());
        assertEquals(0, example.exit(), example.out() + example.err());
        assertTrue(example.out().contains("10000 items produced and taken, 0 out of order"), example.out());
        Run bad = run("example-queue", dir.resolve("jobs").toString(), "steal");
        assertEquals(2, bad.exit());
        assertTrue(bad.err().contains("steal"), bad.err());
    }

    /**
     * Before: with FileChannel.lock, a writer killed mid-transfer leaves the ledger short and the survivor is
     * not told. After: with a robust mutex, the survivor is told, rolls back from the journal, marks the mutex
     * consistent, and the ledger adds up.
     */
    @Test
    void fileLockExample() {
        Run example = run("example-file-lock");
        assertEquals(0, example.exit(), example.out() + example.err());
        String out = example.out();
        List<String> kills = out.lines().filter(l -> l.startsWith("parent: ") && l.contains("kill -9 the writer (pid "))
                .toList();
        assertEquals(2, kills.size(), "a writer is killed in each version: " + out);
        assertTrue(out.contains("survivor: got the file lock; nothing says its holder died: [100, 250, 250, 100]"
                + " total 700"), out);
        assertTrue(out.contains("before: the ledger totals 700, not 1000"), out);
        assertTrue(out.contains("parent: the survivor is asleep in the kernel; kill -9 the writer"), out);
        assertTrue(out.contains("survivor: acquired, ownerDied=true, token 2: [100, 250, 250, 100] total 700;"
                + " journal: a transfer from account 0 to account 1 in flight"), out);
        assertTrue(out.contains("survivor: rolled back from the journal and marked consistent: [400, 250, 250, 100]"
                + " total 1000"), out);
        assertTrue(out.contains("survivor: moved 50 from account 2 to account 3: [400, 250, 200, 150] total 1000"),
                out);
        assertTrue(out.contains("after: mutex CONSISTENT, owner deaths detected 1; the ledger totals 1000 and its"
                + " journal is empty: the invariant holds"), out);
        assertTrue(out.indexOf("before: FileChannel.lock()") < out.indexOf("after: a RobustMutex"), out);
    }

    /** The embedded mutex keeps a reader from ever seeing a torn update. */
    @Test
    void embeddedExample() {
        Run example = run("example-embedded", dir.resolve("prices").toString());
        assertEquals(0, example.exit(), example.out() + example.err());
        assertTrue(example.out().contains("saw 0 torn updates"), example.out());
    }

    /** inspect shows a killed holder: owner died, its pid no longer alive; a live holder is shown alive. */
    @Test
    void inspectShowsAKilledHolder() throws Exception {
        Path path = dir.resolve("inspect.mutex");
        MutexFile.open(path, 2, MutexKind.NORMAL).close();
        long killedPid;
        try (ChildProcess holder = ChildProcess.start(HoldMutex.class, path.toString(), "0")) {
            holder.awaitLine("HELD", Duration.ofSeconds(60));
            killedPid = holder.pid();
            holder.kill();
        }
        try (ChildProcess live = ChildProcess.start(HoldMutex.class, path.toString(), "1")) {
            live.awaitLine("HELD", Duration.ofSeconds(60));
            byte[] before = Files.readAllBytes(path);
            Run inspect = run("inspect", path.toString());
            assertEquals(0, inspect.exit(), inspect.err());
            assertArrayEquals(before, Files.readAllBytes(path), "inspect does not modify the file");
            List<String> lines = List.of(inspect.out().split("\n"));
            String dead = lines.stream().filter(l -> l.startsWith("0 ")).findFirst().orElseThrow();
            String held = lines.stream().filter(l -> l.startsWith("1 ")).findFirst().orElseThrow();
            String[] d = dead.trim().split("\\s+");
            assertEquals(List.of("0", "NORMAL", "CONSISTENT", "0", Long.toString(killedPid), "no", "no", "yes", "1",
                    "0"), List.of(d));
            String[] h = held.trim().split("\\s+");
            assertEquals(Long.toString(live.pid()), h[4]);
            assertEquals("yes", h[5], held);
            assertTrue(!h[3].equals("0"), held);
        }
    }

    /**
     * inspect refuses a file that is not a mutex file, saying it may hold user data, and exits non-zero; a
     * damaged mutex file with the library's reason; a FIFO at once.
     */
    @Test
    void inspectRefusesABadFile() throws Exception {
        Path bad = Files.write(dir.resolve("bad"), new byte[5000]);
        Run inspect = run("inspect", bad.toString());
        assertEquals(1, inspect.exit());
        assertTrue(inspect.err().contains(bad + " is not a mutex file") && inspect.err().contains("may hold user data"),
                inspect.err());
        Path newer = dir.resolve("newer.mutex");
        MutexFile.open(newer, 1).close();
        byte[] bytes = Files.readAllBytes(newer);
        bytes[8] = 3;  // the format version (design.md section 3): 1 and 2 are read
        Files.write(newer, bytes);
        Run damaged = run("inspect", newer.toString());
        assertEquals(1, damaged.exit());
        assertTrue(damaged.err().contains(newer + ": format version=3"), damaged.err());
        assertEquals(1, run("inspect", dir.resolve("absent").toString()).exit());
        assertEquals(2, run("inspect").exit());
        Path fifo = dir.resolve("fifo");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        Run onFifo = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20),
                () -> run("inspect", fifo.toString()));
        assertEquals(1, onFifo.exit());
        assertTrue(onFifo.err().contains("not a regular file"), onFifo.err());
    }

    /** inspect warns about a process that still maps a deleted mutex file of the same name. */
    @Test
    void inspectShowsADeletedFileStillMapped() throws Exception {
        Path path = dir.resolve("deleted.mutex");
        try (MutexFile file = MutexFile.open(path, 1)) {
            file.mutex(0).lock();
            file.mutex(0).unlock();
            Files.delete(path);
            Run gone = run("inspect", path.toString());
            assertEquals(1, gone.exit());
            assertTrue(gone.err().contains("process " + ProcessHandle.current().pid())
                    && gone.err().contains("still maps a deleted mutex file"), gone.err());
            MutexFile.open(path, 1).close();
            Run replaced = run("inspect", path.toString());
            assertEquals(0, replaced.exit(), replaced.err());
            assertTrue(replaced.out().contains("still maps a deleted mutex file"), replaced.out());
        }
    }

    /** Takes one mutex of a file and waits to be killed (a child JVM of the inspect test). */
    public static final class HoldMutex {
        private HoldMutex() {
        }

        /**
         * Entry point.
         *
         * @param args the file and the index
         * @throws Exception on failure
         */
        public static void main(String[] args) throws Exception {
            MutexFile file = MutexFile.openExisting(Path.of(args[0]));
            Acquisition held = file.mutex(Integer.parseInt(args[1])).acquire();
            System.out.println(held.ownerDied() ? "HELD after an owner death" : "HELD");
            new java.util.concurrent.CountDownLatch(1).await();
        }
    }
}
