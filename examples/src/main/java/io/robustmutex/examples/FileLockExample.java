package io.robustmutex.examples;

import io.robustmutex.KernelSupport;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexSnapshot;
import io.robustmutex.MutexState;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code example-file-lock}: migrating from {@link FileChannel#lock()} to a robust mutex, on shared data, with
 * a process killed in the middle of an update. The processes are {@link FileLockWorker}, whose
 * {@code after} methods are the code to copy; this class only sets the stage and kills.
 *
 * <p>Both versions run the same story in two child JVMs: a writer takes the lock and moves 300 out of
 * account 0 of a four-account ledger file, and is killed with SIGKILL before it moves them into account 1;
 * a survivor, already waiting, gets the lock and makes its own transfer.
 * <ul>
 * <li>Before: with {@code FileChannel.lock()} the survivor gets the lock as if nothing happened, and the
 *     ledger stays 300 short.</li>
 * <li>After: with a {@link MutexFile} beside the ledger, the survivor is told that the owner died, rolls the
 *     transfer back from the ledger's undo journal, marks the mutex consistent, and the ledger adds up.</li>
 * </ul>
 * docs/migration-from-filechannel-lock.md is the guide that goes with it.
 */
final class FileLockExample implements RobustMutexTool.Command {

    @Override
    public String summary() {
        return "example: from FileChannel.lock to a robust mutex, with a writer JVM killed mid-update";
    }

    @Override
    public String help() {
        return """
                Two child JVMs share a ledger file of four accounts (total %d). The writer takes the lock and is
                killed with SIGKILL half-way through a transfer; the survivor, waiting for the lock, then gets it.
                First with FileChannel.lock() on the ledger (before: the survivor is not told, and the ledger stays
                short), then with a robust mutex in a mutex file beside the ledger (after: the survivor is told
                that the owner died, rolls the transfer back from the ledger's journal and marks the mutex
                consistent). The code to copy is FileLockWorker; docs/migration-from-filechannel-lock.md is the
                guide.

                Takes no arguments. Exit status: 0 when, after the migration, the ledger adds up again and the mutex
                is consistent; 1 otherwise.""".formatted(FileLockWorker.TOTAL);
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments.parse(args).noPositional();
        KernelSupport.ensureAvailability();
        Path dir = Files.createTempDirectory(Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm")
                : Path.of(System.getProperty("java.io.tmpdir")), "robust-mutex-file-lock");
        Path ledgerFile = dir.resolve("accounts.dat");
        Path mutexFile = dir.resolve("accounts.mutex");
        List<ChildJvm> children = new ArrayList<>();
        try {
            out.println("example-file-lock: two JVMs share a ledger of four accounts (total " + FileLockWorker.TOTAL
                    + ") in " + ledgerFile + "; the first is killed with SIGKILL in the middle of a transfer");
            out.println("before: FileChannel.lock() on the ledger file");
            long before = runVersion("before", ledgerFile, null, children, out);
            out.println("before: the ledger totals " + before + ", not " + FileLockWorker.TOTAL + ": the half-done"
                    + " transfer stayed in the file, and nobody was told");

            out.println("after: a RobustMutex from a MutexFile beside the ledger (" + mutexFile.getFileName() + ")");
            try (MutexFile mutexes = MutexFile.open(mutexFile, 1)) {
                long after = runVersion("after", ledgerFile, mutexes, children, out);
                MutexSnapshot mutex = mutexes.mutex(0).snapshot();
                boolean journalEmpty;
                try (FileLockWorker.Ledger ledger = FileLockWorker.Ledger.open(ledgerFile)) {
                    journalEmpty = ledger.journalEmpty();
                }
                boolean holds = after == FileLockWorker.TOTAL && journalEmpty && mutex.ownerDiedCount() == 1
                        && mutex.state() == MutexState.CONSISTENT && !mutex.locked();
                out.println("after: mutex " + mutex.state() + ", owner deaths detected " + mutex.ownerDiedCount()
                        + "; the ledger totals " + after + " and its journal is "
                        + (journalEmpty ? "empty" : "NOT empty")
                        + (holds ? ": the invariant holds" : ": THE INVARIANT IS BROKEN"));
                return holds ? 0 : 1;
            }
        } finally {
            for (ChildJvm child : children) {
                child.destroy();
            }
            try (var files = Files.list(dir)) {
                for (Path file : (Iterable<Path>) files::iterator) {
                    Files.deleteIfExists(file);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /**
     * One version of the story: opening balances, a writer that stops half-way, a survivor waiting, the
     * writer killed, the survivor's turn.
     *
     * @param mutexes the mutex file of the {@code after} version, null {@code before}
     * @return the ledger's total at the end
     */
    private static long runVersion(String version, Path ledgerFile, MutexFile mutexes, List<ChildJvm> children,
            PrintStream out) throws Exception {
        if (!Files.exists(ledgerFile)) {
            Files.write(ledgerFile, new byte[FileLockWorker.Ledger.SIZE]);
        }
        try (FileLockWorker.Ledger ledger = FileLockWorker.Ledger.open(ledgerFile)) {
            ledger.reset(FileLockWorker.OPENING_BALANCES);
        }
        String[] files = mutexes == null ? new String[] {ledgerFile.toString()}
                : new String[] {ledgerFile.toString(), mutexes.path().toString()};
        ChildJvm writer = ChildJvm.start(FileLockWorker.class, out, arguments(version, "writer", files));
        children.add(writer);
        writer.await("writer (pid");
        ChildJvm survivor = ChildJvm.start(FileLockWorker.class, out, arguments(version, "survivor", files));
        children.add(survivor);
        survivor.await("survivor (pid");
        if (mutexes != null) {
            awaitWaiter(mutexes);
            out.println("parent: the survivor is asleep in the kernel; kill -9 the writer (pid " + writer.pid() + ")");
        } else {
            out.println("parent: kill -9 the writer (pid " + writer.pid() + ")");
        }
        writer.kill();
        int status = survivor.finish();
        if (status != 0) {
            throw new IllegalStateException("the " + version + " survivor (pid " + survivor.pid()
                    + ") exited with status " + status);
        }
        try (FileLockWorker.Ledger ledger = FileLockWorker.Ledger.open(ledgerFile)) {
            return ledger.total();
        }
    }

    private static String[] arguments(String version, String role, String... files) {
        String[] arguments = new String[2 + files.length];
        arguments[0] = version;
        arguments[1] = role;
        System.arraycopy(files, 0, arguments, 2, files.length);
        return arguments;
    }

    /** Waits (bounded) until a thread sleeps in the kernel on mutex 0: the WAITERS bit is set. */
    private static void awaitWaiter(MutexFile mutexes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ChildJvm.WAIT_SECONDS);
        while (!mutexes.mutex(0).snapshot().waiters()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(mutexes.path() + ": the survivor did not start waiting within "
                        + ChildJvm.WAIT_SECONDS + " s");
            }
            Thread.sleep(1);
        }
    }
}
