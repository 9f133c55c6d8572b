package io.robustmutex.examples;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;

/**
 * The processes of {@code example-file-lock}, before and after the migration from {@link FileChannel#lock()} to
 * a robust mutex. Copy from the {@code after} methods.
 *
 * <p>The shared data is a ledger of four accounts in a file, read and written with positional
 * {@link FileChannel} I/O, as a program using {@code FileChannel.lock} already does. Every transfer first
 * writes an undo journal (the two balances it is about to change), so that whoever finds a transfer half done
 * can put the balances back. The invariant: the balances add up to {@value #TOTAL}.
 *
 * <pre>
 *   offset 0   journal: 0 when empty, 1 while a transfer is in flight
 *   offset 8   journal: the account debited      offset 16  its balance before
 *   offset 24  journal: the account credited     offset 32  its balance before
 *   offset 64  the balances of accounts 0 to 3, 8 bytes each
 * </pre>
 *
 * <p><b>Before</b>: each process takes {@code FileChannel.lock()} on the ledger file itself. When the writer
 * is killed in the middle of a transfer, the kernel drops its lock like any other, and the next process gets
 * it with no sign that anything went wrong: it carries on with a ledger that is 300 short. (It could look at
 * the journal on every acquisition, but nothing tells it to; and {@code FileChannel.lock} has other limits:
 * one lock per JVM, and released when any channel of the JVM on the file is closed.)
 *
 * <p><b>After</b>: the processes share a {@link MutexFile} beside the ledger, whose mutex 0 guards it. The
 * ledger is read and written exactly as before. When the writer is killed holding the mutex, the kernel
 * releases it and marks it; the next acquisition reports {@link Acquisition#ownerDied()}, the survivor rolls
 * the half-done transfer back from the journal, calls {@link Acquisition#markConsistent()}, and goes on.
 */
public final class FileLockWorker {

    /** The sum of the balances. */
    static final long TOTAL = 1000;
    /** The balances the parent starts each version with. */
    static final long[] OPENING_BALANCES = {400, 250, 250, 100};

    private FileLockWorker() {
    }

    /**
     * {@code FileLockWorker before|after writer|survivor LEDGER [MUTEX_FILE]}.
     *
     * @param args the version, the role, the ledger file and, after, the mutex file
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path ledger = Path.of(args[2]);
        int status = switch (args[0] + " " + args[1]) {
            case "before writer" -> beforeWriter(ledger);
            case "before survivor" -> beforeSurvivor(ledger);
            case "after writer" -> afterWriter(ledger, Path.of(args[3]));
            case "after survivor" -> afterSurvivor(ledger, Path.of(args[3]));
            default -> throw new IllegalArgumentException(String.join(" ", args));
        };
        System.exit(status);
    }

    // ---- before: FileChannel.lock ----

    /** Takes the file lock and is killed half-way through a transfer. */
    private static int beforeWriter(Path file) throws Exception {
        try (Ledger ledger = Ledger.open(file)) {
            FileLock lock = ledger.channel.lock();      // one lock per JVM, on the data file itself
            ledger.journal(0, 1);
            ledger.add(0, -300);
            say("writer (pid " + pid() + "): holds the file lock; moved 300 out of account 0, not yet into"
                    + " account 1: " + ledger);
            new CountDownLatch(1).await();              // the parent kills this JVM here
            ledger.add(1, 300);
            ledger.commit();
            lock.release();
            return 0;
        }
    }

    /** Waits for the file lock, gets it when the writer dies, and carries on unaware. */
    private static int beforeSurvivor(Path file) throws Exception {
        try (Ledger ledger = Ledger.open(file)) {
            say("survivor (pid " + pid() + "): waiting for the file lock");
            FileLock lock = ledger.channel.lock();
            try {
                // The lock looks the same whether its holder released it or was killed: nothing to act on.
                say("survivor: got the file lock; nothing says its holder died: " + ledger);
                ledger.transfer(2, 3, 50);
                say("survivor: moved 50 from account 2 to account 3: " + ledger);
            } finally {
                lock.release();
            }
            return 0;
        }
    }

    // ---- after: RobustMutex ----

    /** Takes the robust mutex and is killed half-way through a transfer. */
    private static int afterWriter(Path file, Path mutexFile) throws Exception {
        try (MutexFile mutexes = MutexFile.openExisting(mutexFile); Ledger ledger = Ledger.open(file)) {
            Acquisition held = mutexes.mutex(0).acquire();   // any thread, any process; sleeps in the kernel
            ledger.journal(0, 1);
            ledger.add(0, -300);
            say("writer (pid " + pid() + "): holds the mutex (token " + held.fencingToken() + "); moved 300 out of"
                    + " account 0, not yet into account 1: " + ledger);
            new CountDownLatch(1).await();                   // the parent kills this JVM here
            ledger.add(1, 300);
            ledger.commit();
            held.close();
            return 0;
        }
    }

    /** Waits for the mutex, is told the writer died, repairs the ledger from the journal, and carries on. */
    private static int afterSurvivor(Path file, Path mutexFile) throws Exception {
        try (MutexFile mutexes = MutexFile.openExisting(mutexFile); Ledger ledger = Ledger.open(file)) {
            say("survivor (pid " + pid() + "): waiting for the mutex");
            try (Acquisition held = mutexes.mutex(0).acquire()) {
                say("survivor: acquired, ownerDied=" + held.ownerDied() + ", token " + held.fencingToken() + ": "
                        + ledger + "; journal: " + ledger.describeJournal());
                if (held.ownerDied()) {
                    // The previous holder died inside its critical section: undo what it left half done,
                    // then say the ledger is whole again. Releasing without markConsistent() would make
                    // the mutex NOT_RECOVERABLE, so that nobody could work on a ledger nobody repaired.
                    ledger.rollBack();
                    held.markConsistent();
                    say("survivor: rolled back from the journal and marked consistent: " + ledger);
                }
                ledger.transfer(2, 3, 50);
                say("survivor: moved 50 from account 2 to account 3: " + ledger);
                return ledger.total() == TOTAL ? 0 : 3;
            }
        }
    }

    private static long pid() {
        return ProcessHandle.current().pid();
    }

    private static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    /** The ledger file: balances and an undo journal, read and written at fixed offsets. */
    static final class Ledger implements AutoCloseable {
        static final int JOURNAL_STATE = 0;
        static final int JOURNAL_FROM = 8;
        static final int JOURNAL_FROM_BEFORE = 16;
        static final int JOURNAL_TO = 24;
        static final int JOURNAL_TO_BEFORE = 32;
        static final int BALANCES = 64;
        static final int ACCOUNTS = 4;
        static final int SIZE = BALANCES + 8 * ACCOUNTS;

        final FileChannel channel;

        private Ledger(FileChannel channel) {
            this.channel = channel;
        }

        static Ledger open(Path file) throws IOException {
            return new Ledger(FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE));
        }

        /** Writes the opening balances and an empty journal. */
        void reset(long... balances) throws IOException {
            put(JOURNAL_STATE, 0);
            for (int account = 0; account < ACCOUNTS; account++) {
                put(BALANCES + 8L * account, balances[account]);
            }
        }

        long balance(int account) throws IOException {
            return get(BALANCES + 8L * account);
        }

        void add(int account, long amount) throws IOException {
            put(BALANCES + 8L * account, balance(account) + amount);
        }

        /** Records the two balances a transfer will change, then marks the transfer in flight. */
        void journal(int from, int to) throws IOException {
            put(JOURNAL_FROM, from);
            put(JOURNAL_FROM_BEFORE, balance(from));
            put(JOURNAL_TO, to);
            put(JOURNAL_TO_BEFORE, balance(to));
            put(JOURNAL_STATE, 1);      // written last: a journal without it is not in effect
        }

        /** The transfer is complete: the journal no longer applies. */
        void commit() throws IOException {
            put(JOURNAL_STATE, 0);
        }

        void transfer(int from, int to, long amount) throws IOException {
            journal(from, to);
            add(from, -amount);
            add(to, amount);
            commit();
        }

        /** Puts back the balances a transfer in flight was changing, if one was. */
        void rollBack() throws IOException {
            if (get(JOURNAL_STATE) == 1) {
                put(BALANCES + 8 * get(JOURNAL_FROM), get(JOURNAL_FROM_BEFORE));
                put(BALANCES + 8 * get(JOURNAL_TO), get(JOURNAL_TO_BEFORE));
                commit();
            }
        }

        boolean journalEmpty() throws IOException {
            return get(JOURNAL_STATE) == 0;
        }

        String describeJournal() throws IOException {
            return journalEmpty() ? "empty" : "a transfer from account " + get(JOURNAL_FROM) + " to account "
                    + get(JOURNAL_TO) + " in flight";
        }

        long total() throws IOException {
            long total = 0;
            for (int account = 0; account < ACCOUNTS; account++) {
                total += balance(account);
            }
            return total;
        }

        long[] balances() throws IOException {
            long[] balances = new long[ACCOUNTS];
            for (int account = 0; account < ACCOUNTS; account++) {
                balances[account] = balance(account);
            }
            return balances;
        }

        private long get(long offset) throws IOException {
            ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (bytes.hasRemaining()) {
                if (channel.read(bytes, offset + bytes.position()) < 0) {
                    throw new IOException("the ledger is shorter than " + (offset + 8) + " bytes");
                }
            }
            return bytes.getLong(0);
        }

        private void put(long offset, long value) throws IOException {
            ByteBuffer bytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
            while (bytes.hasRemaining()) {
                channel.write(bytes, offset + bytes.position());
            }
        }

        @Override
        public String toString() {
            try {
                return Arrays.toString(balances()) + " total " + total();
            } catch (IOException e) {
                return "(unreadable: " + e.getMessage() + ")";
            }
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
