package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.testing.ChildProcess;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.lmdbjava.Dbi;
import org.lmdbjava.DbiFlags;
import org.lmdbjava.Env;
import org.lmdbjava.Txn;

/**
 * A RobustMutex and native code that takes a glibc robust mutex in the same thread: LMDB (through lmdbjava), whose
 * writer lock is a process-shared robust pthread mutex in its lock.mdb file. A child JVM takes a RobustMutex and
 * then, in the same thread, begins an LMDB write transaction; it is killed with SIGKILL. The kernel must release
 * both: the next RobustMutex acquirer is told of the owner's death, and the next LMDB writer, in another process,
 * gets the writer lock (LMDB sees {@code EOWNERDEAD} and recovers) and commits. If the library had replaced the
 * robust list glibc registered for the thread with its own, the kernel would not release LMDB's writer lock and
 * every later writer would wait forever. A control kills the same LMDB writer without a RobustMutex in its thread.
 *
 * <p>The second writer opens the environment before the first dies: LMDB re-initializes its lock file, mutexes
 * included, when it opens an environment no other process has open, which would hide a lock left held.
 */
class LmdbInteropTest {

    private static final Duration COMMIT_BOUND = Duration.ofSeconds(20);
    /** lmdbjava reaches the addresses of direct buffers through JDK internals. */
    private static final List<String> LMDBJAVA_OPTIONS = List.of("--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-exports=java.base/sun.nio.ch=ALL-UNNAMED");

    @TempDir
    Path dir;

    /** The thread held a RobustMutex and LMDB's writer lock when it died: both are released. */
    @Test
    void lmdbWriterLockTakenAfterARobustMutexIsReleasedWhenItsHolderDies() throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("lmdb.mutex"), 1)) {
            assertEquals("COMMITTED after=written", killWriterThenCommit(true, List.of(), COMMIT_BOUND));
            MutexSnapshot left = file.mutex(0).snapshot();
            assertEquals(0, left.ownerTid(), () -> "the kernel did not release the RobustMutex: " + left);
            assertTrue(left.ownerDied(), () -> "the kernel did not flag the death: " + left);
            try (Acquisition held = file.mutex(0).tryAcquire(Duration.ofSeconds(10)).orElseThrow()) {
                assertTrue(held.ownerDied(), "the RobustMutex the killed thread held reports its owner's death");
                held.markConsistent();
            }
        }
    }

    /** Control: the killed thread held LMDB's writer lock and no RobustMutex; LMDB recovers. */
    @Test
    void lmdbWriterLockIsReleasedWhenItsHolderDiesWithoutARobustMutex() throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("lmdb.mutex"), 1)) {
            assertEquals("COMMITTED after=written", killWriterThenCommit(false, List.of(), COMMIT_BOUND));
            try (Acquisition held = file.mutex(0).tryAcquire(Duration.ofSeconds(10)).orElseThrow()) {
                assertFalse(held.ownerDied(), "nobody held the RobustMutex");
            }
        }
    }

    /**
     * Control the other way: with the library's own head ({@code -Dio.robustmutex.robustList=own}, which unregisters
     * glibc's), the LMDB writer lock the killed thread held is not released, and the next writer waits: the
     * scenario above does see the difference.
     */
    @Test
    void lmdbWriterLockIsLostWhenTheThreadRegisteredItsOwnHead() throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("lmdb.mutex"), 1)) {
            assertEquals("no commit", killWriterThenCommit(true, List.of("-Dio.robustmutex.robustList=own"),
                    Duration.ofSeconds(3)));
            // The RobustMutex itself was on the registered (own) list: the kernel released it.
            assertEquals(0, file.mutex(0).snapshot().ownerTid());
        }
    }

    /**
     * Starts a child holding LMDB's writer lock (after the RobustMutex when {@code robust}) and a second child with
     * the environment open, kills the first, and has the second write and commit, within a bound.
     */
    private String killWriterThenCommit(boolean robust, List<String> holderOptions, Duration bound)
            throws Exception {
        Path env = Files.createDirectories(dir.resolve("env"));
        String mutexFile = dir.resolve("lmdb.mutex").toString();
        List<String> options = new java.util.ArrayList<>(LMDBJAVA_OPTIONS);
        options.addAll(holderOptions);
        try (ChildProcess holder = ChildProcess.start(Holder.class, options, "hold", env.toString(),
                mutexFile, Boolean.toString(robust))) {
            holder.awaitLine("READY", Duration.ofSeconds(60));
            try (ChildProcess writer = ChildProcess.start(Holder.class, LMDBJAVA_OPTIONS, "write", env.toString())) {
                writer.awaitLine("OPENED", Duration.ofSeconds(60));
                holder.kill();
                OutputStream go = writer.process().getOutputStream();
                go.write("GO\n".getBytes(StandardCharsets.UTF_8));
                go.flush();
                String committed;
                try {
                    committed = writer.awaitLine(line -> line.startsWith("COMMITTED"), bound);
                } catch (ConditionTimeoutException e) {
                    // The next LMDB writer did not get the writer lock within the bound: the kernel did not
                    // release the lock the killed thread held.
                    return "no commit";
                }
                assertEquals(0, writer.waitFor(Duration.ofSeconds(30)), () -> String.join("\n",
                        writer.errorLines()));
                return committed;
            }
        }
    }

    private static Env<ByteBuffer> openEnv(Path dir) {
        return Env.create().setMapSize(16L << 20).setMaxDbs(1).open(dir.toFile());
    }

    private static ByteBuffer utf8(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocateDirect(bytes.length).put(bytes).flip();
    }

    /**
     * The child JVMs.
     * <ul>
     * <li>{@code hold ENV MUTEX_FILE ROBUST}: open the environment (creating database {@code x}); when ROBUST, take
     *     mutex 0 of the file with {@code lock()}; then, in the same thread, begin a write transaction and put
     *     {@code held}; print {@code READY} and hang until killed.</li>
     * <li>{@code write ENV}: open the environment (which does not take the writer lock), print {@code OPENED},
     *     wait for a line on standard input, then open database {@code x} and put {@code key=written} in a write
     *     transaction, commit, read it back and print {@code COMMITTED after=VALUE}.</li>
     * </ul>
     */
    public static final class Holder {

        /** Kept reachable while the child hangs. */
        private static MutexFile mutexFile;

        private Holder() {
        }

        /**
         * Entry point.
         *
         * @param args the command and its arguments
         * @throws Exception on failure, which exits non-zero
         */
        public static void main(String[] args) throws Exception {
            Env<ByteBuffer> env = openEnv(Path.of(args[1]));
            switch (args[0]) {
                case "hold" -> {
                    Dbi<ByteBuffer> dbi = env.openDbi("x", DbiFlags.MDB_CREATE);
                    if (Boolean.parseBoolean(args[3])) {
                        mutexFile = MutexFile.openExisting(Path.of(args[2]));
                        mutexFile.mutex(0).lock();
                    }
                    Txn<ByteBuffer> txn = env.txnWrite();
                    dbi.put(txn, utf8("key"), utf8("held"));
                    System.out.println("READY");
                    new CountDownLatch(1).await();
                }
                case "write" -> {
                    System.out.println("OPENED");
                    new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                    // Opening the database takes the writer lock too (a write transaction of its own).
                    Dbi<ByteBuffer> dbi = env.openDbi("x", DbiFlags.MDB_CREATE);
                    try (Txn<ByteBuffer> txn = env.txnWrite()) {
                        dbi.put(txn, utf8("key"), utf8("written"));
                        txn.commit();
                    }
                    String after;
                    try (Txn<ByteBuffer> txn = env.txnRead()) {
                        after = StandardCharsets.UTF_8.decode(dbi.get(txn, utf8("key"))).toString();
                    }
                    System.out.println("COMMITTED after=" + after);
                    env.close();
                }
                default -> throw new IllegalArgumentException("unknown command " + args[0]);
            }
        }
    }
}
