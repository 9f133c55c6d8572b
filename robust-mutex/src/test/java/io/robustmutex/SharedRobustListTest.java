package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.testing.ChildProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A thread that holds RobustMutexes and glibc robust pthread mutexes at once has one robust list that the kernel
 * walks when it dies, and both kinds are on it. Every JVM thread is a glibc pthread with a robust list head that
 * glibc registered ({@code set_robust_list}) and links the robust mutexes it locks into; the library must link its
 * records into that same registered list, not register a head of its own (which would unregister glibc's, so that
 * the kernel no longer releases glibc's mutexes when the thread dies).
 *
 * <p>The glibc side is process-shared robust pthread mutexes in a file (src/test/c/glibc_robust_helper.c, compiled
 * with gcc and bound through JNR-FFI), with and without priority inheritance; the library side is RobustMutexes of
 * both kinds. After each step of lock/unlock sequences mixing both, in every order, on one thread, the list the
 * kernel would walk ({@code get_robust_list}, then the {@code next} pointers) holds exactly the mutexes held, most
 * recently acquired first, under the head glibc registered for the thread, with the back links glibc unlinks its
 * mutexes through intact. Then a child JVM holding both kinds, in one thread or two, is killed with SIGKILL: every
 * mutex it held, of either kind, is reported to its next acquirer as an owner death, and no other is.
 *
 * <p>Names in sequences: {@code C0}..{@code C3} are glibc mutexes ({@code C1} and {@code C3} with
 * {@code PTHREAD_PRIO_INHERIT}); {@code J0}..{@code J2} are {@link MutexKind#PI} RobustMutexes, {@code J3}..{@code J5}
 * {@link MutexKind#NORMAL} ones; a trailing {@code '} is a release.
 */
class SharedRobustListTest {

    private static final int GLIBC_MUTEXES = 4;
    private static final int PER_KIND = 3;
    private static final int JAVA_MUTEXES = 2 * PER_KIND;
    private static final int MAX_ENTRIES = 64;

    private static Path library;
    private static GlibcRobustHelper glibc;

    @TempDir
    Path dir;

    @BeforeAll
    static void compileHelper() throws Exception {
        library = GlibcRobustHelper.Binding.compile();
        glibc = GlibcRobustHelper.Binding.load(library);
    }

    /** Named orders: nested, inverted, interleaved and released out of order, re-entrant, everything at once. */
    @ParameterizedTest
    @ValueSource(strings = {
        "J0 C0 C0' J0'",
        "J3 C1 C1' J3'",
        "C0 J0 C0' J0'",
        "C1 J3 C1' J3'",
        "C0 J0 J0' C0'",
        "J0 C0 J3 C1 J0' C1' J3' C0'",
        "C0 J0 C1 J3 C0' J3' C1' J0'",
        "J0 C0 J1 C1 J0' C1' J1' C0'",
        "C2 J4 C3 J1 C3' J4' C2' J1'",
        "J0 J0 C2 J0' C3 J0' C2' C3'",
        "C0 C1 C2 C3 J0 J1 J2 J3 J4 J5 C0' J0' C3' J5' C1' J1' C2' J2' J4' J3'",
        "J5 J4 J3 J2 J1 J0 C3 C2 C1 C0 J5' J4' J3' J2' J1' J0' C3' C2' C1' C0'",
    })
    void listHoldsExactlyTheHeldMutexesAfterEachStep(String sequence) throws Exception {
        try (Mutexes mutexes = Mutexes.create(dir)) {
            Threads.runToEnd("sequence", () -> {
                mutexes.run(Step.parse(sequence));
                return null;
            });
        }
    }

    /** Random orders (fixed seed): locks and releases of both kinds in any order, re-entrant holds included. */
    @Test
    void listHoldsExactlyTheHeldMutexesInRandomOrders() throws Exception {
        Random random = new Random(0x5EED_2026L);
        List<List<Step>> sequences = new ArrayList<>();
        for (int s = 0; s < 200; s++) {
            sequences.add(randomSequence(random, 4 + random.nextInt(30)));
        }
        try (Mutexes mutexes = Mutexes.create(dir)) {
            Threads.runToEnd("random-sequences", () -> {
                for (List<Step> sequence : sequences) {
                    mutexes.run(sequence);
                }
                return null;
            });
        }
    }

    /** One thread holding glibc mutexes and RobustMutexes of both kinds dies by SIGKILL: all are released. */
    @Test
    void killedThreadReleasesBothKinds() throws Exception {
        killAndCheck(List.of("C0 J0 C1 J3 J1 C2 J1' C2'"));
    }

    /** Two threads of a process each hold both kinds when it dies by SIGKILL: all are released. */
    @Test
    void killedThreadsReleaseBothKinds() throws Exception {
        killAndCheck(List.of("J0 C0 J3 C1 C0'", "C2 J1 C3 J4 J1' J1 J2 J2'"));
    }

    private void killAndCheck(List<String> threads) throws Exception {
        Map<String, Integer> held = new TreeMap<>();
        for (String thread : threads) {
            Model model = new Model();
            Step.parse(thread).forEach(model::apply);
            model.holds.forEach((name, count) -> held.merge(name, count, Integer::sum));
        }
        try (Mutexes mutexes = Mutexes.create(dir)) {
            List<String> args = new ArrayList<>(List.of(library.toString(), dir.toString()));
            args.addAll(threads);
            try (ChildProcess child = ChildProcess.start(Holder.class, args.toArray(String[]::new))) {
                child.awaitLine("READY", Duration.ofSeconds(60));
                child.kill();
            }
            Map<String, String> expected = new TreeMap<>();
            for (String name : Mutexes.names()) {
                expected.put(name, held.containsKey(name) ? "owner died" : "free");
            }
            Map<String, String> found = Threads.runToEnd("after-death", mutexes::acquireEach);
            assertEquals(expected, found, "after SIGKILL of a process that ran " + threads + " (held: "
                    + held.keySet() + ")");
        }
    }

    private static List<Step> randomSequence(Random random, int length) {
        Model model = new Model();
        List<Step> steps = new ArrayList<>();
        while (steps.size() < length) {
            List<Step> choices = new ArrayList<>();
            for (int i = 0; i < GLIBC_MUTEXES; i++) {
                choices.add(new Step('C', i, !model.holds.containsKey("C" + i)));
            }
            for (int j = 0; j < JAVA_MUTEXES; j++) {
                // A held RobustMutex may be taken again (re-entrant) or released.
                if (model.holds.containsKey("J" + j)) {
                    choices.add(new Step('J', j, false));
                }
                choices.add(new Step('J', j, true));
            }
            Step step = choices.get(random.nextInt(choices.size()));
            model.apply(step);
            steps.add(step);
        }
        // Release whatever is still held, in a random order.
        List<String> left = new ArrayList<>();
        model.holds.forEach((name, count) -> {
            for (int k = 0; k < count; k++) {
                left.add(name);
            }
        });
        Collections.shuffle(left, random);
        for (String name : left) {
            Step step = new Step(name.charAt(0), Integer.parseInt(name.substring(1)), false);
            model.apply(step);
            steps.add(step);
        }
        return steps;
    }

    /** One lock or release of a glibc mutex ({@code C}) or a RobustMutex ({@code J}). */
    record Step(char side, int index, boolean lock) {

        static List<Step> parse(String sequence) {
            return Arrays.stream(sequence.trim().split("\\s+"))
                    .map(s -> new Step(s.charAt(0), Integer.parseInt(s.substring(1).replace("'", "")),
                            !s.endsWith("'")))
                    .toList();
        }

        String name() {
            return side + Integer.toString(index);
        }

        @Override
        public String toString() {
            return name() + (lock ? "" : "'");
        }
    }

    /** Which mutexes a thread holds (with hold counts), most recently first acquired first. */
    static final class Model {
        final LinkedList<String> order = new LinkedList<>();
        final Map<String, Integer> holds = new LinkedHashMap<>();

        void apply(Step step) {
            String name = step.name();
            if (step.lock) {
                if (holds.merge(name, 1, Integer::sum) == 1) {
                    order.addFirst(name);
                }
            } else if (holds.merge(name, -1, Integer::sum) == 0) {
                holds.remove(name);
                order.remove(name);
            }
        }
    }

    /** The glibc mutexes and the RobustMutexes of a test, in files under its directory. */
    static final class Mutexes implements AutoCloseable {
        private final MutexFile pi;
        private final MutexFile normal;

        private Mutexes(MutexFile pi, MutexFile normal) {
            this.pi = pi;
            this.normal = normal;
        }

        /** Creates the files (the glibc one is mapped in this process, replacing any earlier mapping). */
        static Mutexes create(Path dir) throws Exception {
            assertEquals(GLIBC_MUTEXES, glibc.init(dir.resolve("glibc.mutexes").toString(), GLIBC_MUTEXES));
            return new Mutexes(MutexFile.open(dir.resolve("pi.mutex"), PER_KIND, MutexKind.PI),
                    MutexFile.open(dir.resolve("normal.mutex"), PER_KIND, MutexKind.NORMAL));
        }

        /** Opens the files another process created. */
        static Mutexes open(Path dir) throws Exception {
            assertEquals(GLIBC_MUTEXES, glibc.map(dir.resolve("glibc.mutexes").toString()));
            return new Mutexes(MutexFile.openExisting(dir.resolve("pi.mutex")),
                    MutexFile.openExisting(dir.resolve("normal.mutex")));
        }

        static List<String> names() {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < GLIBC_MUTEXES; i++) {
                names.add("C" + i);
            }
            for (int j = 0; j < JAVA_MUTEXES; j++) {
                names.add("J" + j);
            }
            return names;
        }

        RobustMutex java(int j) {
            return j < PER_KIND ? pi.mutex(j) : normal.mutex(j - PER_KIND);
        }

        long entry(String name) {
            int index = Integer.parseInt(name.substring(1));
            return name.charAt(0) == 'C' ? glibc.entry(index) : java(index).record().entryAddress();
        }

        String nameOf(long entry) {
            for (String name : names()) {
                if (entry(name) == entry) {
                    return name;
                }
            }
            return "0x" + Long.toHexString(entry);
        }

        void perform(Step step) {
            if (step.side == 'C') {
                int result = step.lock ? glibc.lock(step.index) : glibc.unlock(step.index);
                assertEquals(0, result, () -> step + " returned " + result);
            } else if (step.lock) {
                java(step.index).lock();
            } else {
                java(step.index).unlock();
            }
        }

        /** The registered head of the calling thread, as text: address and length. */
        static String head() {
            long[] length = new long[1];
            long address = glibc.head(length);
            return "0x" + Long.toHexString(address) + " (length " + length[0] + ")";
        }

        /** The entries of the calling thread's registered list, by name. */
        List<String> walk() {
            long[] entries = new long[MAX_ENTRIES];
            int count = glibc.walk(entries, MAX_ENTRIES);
            assertTrue(count >= 0, () -> count == -2 ? "no robust list registered"
                    : "the registered robust list does not come back to its head");
            return Arrays.stream(entries, 0, count).mapToObj(this::nameOf).toList();
        }

        /**
         * Runs the steps on the calling thread, which holds nothing of these, checking the registered list before
         * and after each; releases what is still held if a check fails.
         */
        void run(List<Step> steps) {
            Model model = new Model();
            String glibcHead = head();
            List<Step> done = new ArrayList<>();
            try {
                check(model, glibcHead, done);
                for (Step step : steps) {
                    perform(step);
                    model.apply(step);
                    done.add(step);
                    check(model, glibcHead, done);
                }
            } finally {
                releaseAll(model);
            }
        }

        private void check(Model model, String glibcHead, List<Step> done) {
            String after = done.stream().map(Step::toString).collect(Collectors.joining(" "));
            List<String> walked = walk();
            assertEquals(new TreeSet<>(model.order), new TreeSet<>(walked), () -> "after [" + after + "]: the"
                    + " entries on the registered robust list (the kernel releases these when the thread dies)");
            assertEquals(model.order, walked, () -> "after [" + after + "]: the order of the registered robust"
                    + " list (most recent acquisition first)");
            assertEquals(glibcHead, head(), () -> "after [" + after + "]: the registered robust list head is no"
                    + " longer the one glibc registered for the thread");
            int mismatch = glibc.prevMismatch();
            assertEquals(-1, mismatch, () -> "after [" + after + "]: glibc mutex C" + mismatch + " has a wrong"
                    + " __list.__prev, through which glibc unlinks it");
        }

        private void releaseAll(Model model) {
            for (String name : List.copyOf(model.order)) {
                int index = Integer.parseInt(name.substring(1));
                try {
                    if (name.charAt(0) == 'C') {
                        glibc.unlock(index);
                    } else {
                        RobustMutex mutex = java(index);
                        while (mutex.isHeldByCurrentThread()) {
                            mutex.unlock();
                        }
                    }
                } catch (RuntimeException e) {
                    // Already failing: release the rest.
                }
            }
        }

        /**
         * Acquires and releases each mutex once, with a bound, and says what the acquisition found: {@code free},
         * {@code owner died}, or that it was still held.
         */
        Map<String, String> acquireEach() throws InterruptedException {
            Map<String, String> found = new TreeMap<>();
            int millis = (int) ChildProcess.scaled(Duration.ofSeconds(5)).toMillis();
            for (int i = 0; i < GLIBC_MUTEXES; i++) {
                int word = glibc.word(i);
                int tid = word & GlibcRobustHelper.FUTEX_TID_MASK;
                if (tid != 0 && (word & GlibcRobustHelper.FUTEX_OWNER_DIED) == 0) {
                    // Not released by the kernel (and the process is gone): locking would wait forever, or abort
                    // in glibc for a PI mutex.
                    found.put("C" + i, "still held by thread " + tid + ", which is gone");
                    continue;
                }
                int result = glibc.lockTimed(i, millis);
                found.put("C" + i, switch (result) {
                    case 0 -> "free";
                    case GlibcRobustHelper.EOWNERDEAD -> "owner died";
                    case GlibcRobustHelper.ETIMEDOUT -> "still held after " + millis + " ms";
                    default -> "error " + result;
                });
                if (result == 0 || result == GlibcRobustHelper.EOWNERDEAD) {
                    assertEquals(0, glibc.unlock(i));
                }
            }
            for (int j = 0; j < JAVA_MUTEXES; j++) {
                // What the kernel's exit walk left, before anything else looks: a word it released holds no TID.
                // (The library's vanished-owner take-over would report a death too, so the acquisition alone
                // cannot tell that the kernel released it.)
                MutexSnapshot before = java(j).snapshot();
                if (before.ownerTid() != 0) {
                    found.put("J" + j, "still held by thread " + before.ownerTid() + ", which is gone");
                    continue;
                }
                Optional<Acquisition> acquired = java(j).tryAcquire(Duration.ofMillis(millis));
                if (acquired.isEmpty()) {
                    found.put("J" + j, "still held after " + millis + " ms");
                    continue;
                }
                try (Acquisition held = acquired.get()) {
                    found.put("J" + j, held.ownerDied() ? "owner died" : "free");
                    if (held.ownerDied()) {
                        held.markConsistent();
                    }
                }
            }
            return found;
        }

        @Override
        public void close() {
            pi.close();
            normal.close();
        }
    }

    /**
     * The child JVM: {@code LIBRARY DIR SEQUENCE...} runs each sequence on a thread of its own over the files in
     * DIR, prints {@code READY} once all have run, and hangs, the threads holding what they hold, until killed.
     */
    public static final class Holder {

        private Holder() {
        }

        /**
         * Entry point.
         *
         * @param args the helper library, the directory of the files, one sequence per thread
         * @throws Exception on failure, which exits non-zero
         */
        public static void main(String[] args) throws Exception {
            glibc = GlibcRobustHelper.Binding.load(Path.of(args[0]));
            Mutexes mutexes = Mutexes.open(Path.of(args[1]));
            List<String> sequences = List.of(args).subList(2, args.length);
            CountDownLatch done = new CountDownLatch(sequences.size());
            for (String sequence : sequences) {
                Threads.start("holder", () -> {
                    try {
                        for (Step step : Step.parse(sequence)) {
                            mutexes.perform(step);
                        }
                    } catch (Throwable t) {
                        t.printStackTrace();
                        System.exit(2);
                    }
                    done.countDown();
                    new CountDownLatch(1).await();
                    return null;
                });
            }
            if (!done.await(60, TimeUnit.SECONDS)) {
                throw new AssertionError("the holder threads did not finish within 60 s");
            }
            System.out.println("READY");
            new CountDownLatch(1).await();
        }
    }
}
