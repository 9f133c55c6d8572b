package io.robustmutex.examples;

import io.robustmutex.KernelSupport;
import io.robustmutex.UnlockPath;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * {@code unlock-cost}: what each unlock path this kernel offers costs an uncontended {@code lock()}+{@code unlock()}
 * pair, relative to the classic path, measured in the same run. The path is chosen once per JVM
 * ({@code -Dio.robustmutex.unlockPath}), so each path is measured in a child JVM ({@link UnlockCostWorker}). A
 * round starts one child per path, lets each warm up in turn, then has them time slices of pairs taking turns,
 * slice after slice (the order reversed every other slice and every other round), so that whatever the machine
 * does meanwhile falls on every path alike. A child fixes the number of pairs in its slices after its warm-up,
 * so that a slice lasts about {@link #SLICE_MILLIS} on every path, unless {@code --pairs} fixes it for all. A
 * slice's ratio is the path's cost over the classic path's in the adjacent slice; a round's ratio is the median
 * of its slices'; the command prints the median over the rounds and the smallest and largest round's.
 *
 * <p>It prints ratios only, never a time: the guests of kernels/run.sh, where Linux 7.2's paths run on this
 * project's machines, are emulated (QEMU TCG), and a time there says nothing about real hardware; a ratio of
 * two paths measured side by side in one guest at least compares like with like.
 */
final class UnlockCostCommand implements RobustMutexTool.Command {

    /** What starts every result line (and the line saying there is nothing to compare). */
    static final String PREFIX = "unlock-cost: ";
    static final int DEFAULT_ROUNDS = 5;
    static final long DEFAULT_WARMUP = 20_000;
    /** Slices per kind that each child times. */
    static final int SLICES = 20;
    /** How long a slice of one kind lasts, about, unless {@code --pairs} fixes the pairs in a slice. */
    static final long SLICE_MILLIS = 50;
    /** The longest a child JVM may take to answer: to start and warm up, or to time a slice. */
    static final long CHILD_SECONDS = 300;

    /**
     * The median, smallest and largest of some values.
     *
     * @param median the median (the mean of the middle two for an even count)
     * @param min the smallest
     * @param max the largest
     */
    record Spread(double median, double min, double max) {
    }

    /**
     * What a child JVM measured in one slice: nanoseconds per uncontended pair of each kind. Never printed.
     *
     * @param pi a PI mutex's pair
     * @param normal a NORMAL mutex's pair
     */
    record Cost(double pi, double normal) {
    }

    /**
     * A path's cost over the classic path's, per kind.
     *
     * @param pi for a PI mutex
     * @param normal for a NORMAL mutex
     */
    record Ratio(double pi, double normal) {
    }

    @Override
    public String summary() {
        return "the unlock paths' cost relative to the classic path, as ratios measured in child JVMs";
    }

    @Override
    public String arguments() {
        return "[--rounds N] [--pairs N] [--warmup N] [--dir DIRECTORY]";
    }

    @Override
    public String help() {
        return """
                Measures an uncontended lock()+unlock() pair of one RobustMutex (PI and NORMAL, each in a mutex
                file) on every unlock path this kernel offers (classic; syscall and, on x86_64, vdso on Linux 7.2),
                and prints each path's cost relative to the classic path measured in the same run, for example
                  unlock-cost: syscall/classic PI 1.93 (rounds 1.88-2.01), NORMAL 2.10 (rounds 2.05-2.20), 5 rounds
                the median ratio over the rounds, then the smallest and the largest round's. It never prints a time:
                the ratios are meant for emulated guests (kernels/run.sh), where a time means nothing.

                The path is chosen once per JVM, so each path is measured in a child JVM started with
                -Dio.robustmutex.unlockPath=PATH (and the other -Dio.robustmutex.* properties of this JVM). A round
                starts one child per path; each warms up in turn and fixes the number of pairs in its slices, then
                the children time 20 slices of each kind, taking turns slice by slice (the order reversed every
                other slice and every other round), so that whatever the machine does meanwhile falls on every path
                alike. A slice's ratio is the path's cost over the classic path's in the adjacent slice, a round's
                is the median of its slices'. With only the classic path, there is nothing to compare.

                options:
                  --rounds N            rounds (default 5)
                  --pairs N             pairs in a slice, for every path and kind (default: each child picks
                                        the number that lasts about 50 ms on its path, after its warm-up)
                  --warmup N            warm-up pairs per kind in each child (default 20000)
                  --dir DIRECTORY       where the mutex files go (default /dev/shm)

                Exit status: 0 when every child measured (or the kernel offers only the classic path), 1 when a
                child JVM failed (the message names its path and round and quotes what it printed), 2 for bad
                arguments.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments arguments = Arguments.parse(args, Set.of(), Set.of("--rounds", "--pairs", "--warmup", "--dir"));
        arguments.noPositional();
        int rounds = (int) arguments.number("--rounds", DEFAULT_ROUNDS, 1, 1000);
        long slicePairs = arguments.number("--pairs", 0, 1, 1_000_000_000L);
        long warmup = arguments.number("--warmup", DEFAULT_WARMUP, 0, 1_000_000_000L);
        Path dir = TortureCommand.directory(arguments);
        if (!KernelSupport.isAvailable()) {
            throw new IllegalStateException("robust mutexes are not available in this JVM: "
                    + KernelSupport.unavailabilityCause().map(Throwable::getMessage).orElse("?"));
        }
        String kernel = "Linux " + System.getProperty("os.version") + " (" + KernelSupport.architecture() + ")";
        List<UnlockPath> paths = offered(KernelSupport.capabilities().bestUnlockPath());
        if (paths.size() == 1) {
            out.println(PREFIX + "only the classic unlock path on " + kernel + "; nothing to compare");
            return 0;
        }
        out.printf("unlock-cost on %s: paths %s; %d rounds of one child JVM per path, each timing %d slices of %s"
                + " uncontended lock()+unlock() pairs per kind after %d warm-up pairs, the paths taking turns;"
                + " ratios to the classic path, no times%n", kernel, ids(paths), rounds, SLICES, slicePairs == 0
                        ? "about " + SLICE_MILLIS + " ms of" : Long.toString(slicePairs), warmup);
        Path work = Files.createTempDirectory(dir, "robust-mutex-unlock-cost");
        try {
            List<Map<UnlockPath, List<Cost>>> measured = measure(paths, rounds, slicePairs, warmup, work, out, err);
            for (UnlockPath path : paths.subList(1, paths.size())) {
                out.println(resultLine(path, measured.stream()
                        .map(round -> ratio(round.get(path), round.get(UnlockPath.CLASSIC))).toList()));
            }
        } finally {
            TortureCommand.deleteTree(work);
        }
        return 0;
    }

    /**
     * The paths a kernel whose best path is {@code best} offers, the classic path first.
     *
     * @param best the best path
     * @return classic and every stronger path up to {@code best}
     */
    static List<UnlockPath> offered(UnlockPath best) {
        return Arrays.stream(UnlockPath.values()).filter(p -> p.compareTo(best) <= 0).toList();
    }

    /**
     * The order of the children in a round, or in a slice of a round: as given for the first, reversed for the
     * second, and so on.
     *
     * @param paths the paths
     * @param index the round or slice, from 0
     * @return the paths in this round's or slice's order
     */
    static List<UnlockPath> order(List<UnlockPath> paths, int index) {
        List<UnlockPath> ordered = new ArrayList<>(paths);
        if (index % 2 == 1) {
            Collections.reverse(ordered);
        }
        return ordered;
    }

    /**
     * Runs the rounds: in each, one child JVM per path, warmed up in turn, then {@link #SLICES} slices from each,
     * the children taking turns. Prints each round's ratios to the classic path (when classic is among the paths
     * and another is too).
     *
     * @param paths the paths to measure
     * @param rounds the rounds
     * @param slicePairs pairs per kind in a slice, or 0 for as many as last about {@link #SLICE_MILLIS}
     * @param warmup warm-up pairs per kind in each child
     * @param work where the children's mutex files and standard error go
     * @param out where the rounds' ratios go
     * @param err where the children's standard error goes
     * @return per round, per path, the slices' costs (nanoseconds per pair, for ratios only)
     * @throws IllegalStateException naming the path and round of a child that failed
     * @throws IOException when a child cannot be started
     * @throws InterruptedException when interrupted
     */
    static List<Map<UnlockPath, List<Cost>>> measure(List<UnlockPath> paths, int rounds, long slicePairs,
            long warmup, Path work, PrintStream out, PrintStream err) throws IOException, InterruptedException {
        List<Map<UnlockPath, List<Cost>>> measured = new ArrayList<>();
        for (int r = 0; r < rounds; r++) {
            List<UnlockPath> order = order(paths, r);
            Map<UnlockPath, Child> children = new LinkedHashMap<>();
            Map<UnlockPath, List<Cost>> slices = new LinkedHashMap<>();
            try {
                for (UnlockPath path : order) {
                    Child child = new Child(path, "the child JVM on the " + path.id() + " path (round " + (r + 1)
                            + " of " + rounds + ")", work, slicePairs, warmup);
                    children.put(path, child);
                    child.await(UnlockCostWorker.READY);
                    slices.put(path, new ArrayList<>());
                }
                for (int s = 0; s < SLICES; s++) {
                    for (UnlockPath path : order(order, s)) {
                        slices.get(path).add(children.get(path).slice());
                    }
                }
                for (Child child : children.values()) {
                    child.finish(err);
                }
            } finally {
                children.values().forEach(Child::destroy);
            }
            Map<UnlockPath, List<Cost>> round = new LinkedHashMap<>();
            paths.forEach(path -> round.put(path, List.copyOf(slices.get(path))));
            measured.add(round);
            List<String> ratios = new ArrayList<>();
            if (round.containsKey(UnlockPath.CLASSIC)) {
                for (UnlockPath path : paths) {
                    if (path != UnlockPath.CLASSIC) {
                        ratios.add(sliceLine(path, round.get(path), round.get(UnlockPath.CLASSIC)));
                    }
                }
            }
            out.printf("  round %d of %d (%s)%s%n", r + 1, rounds, ids(order),
                    ratios.isEmpty() ? "" : ": " + String.join("; ", ratios));
            out.flush();
        }
        return measured;
    }

    /**
     * A child JVM of one round on one path: its standard output read line by line, its standard error kept in a
     * file for the messages. Every wait is bounded by {@link #CHILD_SECONDS}.
     */
    private static final class Child {
        private final UnlockPath path;
        private final String what;
        private final Process process;
        private final Path stderr;
        private final Writer in;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        /** What it printed on standard output besides the protocol's lines, for the messages. */
        private final List<String> other = new ArrayList<>();
        private volatile boolean ended;

        Child(UnlockPath path, String what, Path work, long slicePairs, long warmup) throws IOException {
            this.path = path;
            this.what = what;
            this.stderr = Files.createTempFile(work, "child-" + path.id() + "-", ".err");
            this.process = new ProcessBuilder(childCommand(path, work.toString(), path.id(), Long.toString(slicePairs),
                    Long.toString(warmup), Long.toString(SLICE_MILLIS))).redirectError(stderr.toFile()).start();
            this.in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader output = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = output.readLine(); line != null; line = output.readLine()) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // The child is gone; its output ends here.
                } finally {
                    ended = true;
                }
            }, "unlock-cost-" + process.pid());
            reader.setDaemon(true);
            reader.start();
        }

        /** Waits for the line that starts with {@code prefix}, keeping any other. */
        String await(String prefix) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(CHILD_SECONDS);
            while (true) {
                String line = lines.poll(100, TimeUnit.MILLISECONDS);
                if (line != null) {
                    if (line.startsWith(prefix)) {
                        return line;
                    }
                    other.add(line);
                } else if (ended && lines.isEmpty()) {
                    process.waitFor(10, TimeUnit.SECONDS);
                    throw failure(" before it printed " + prefix);
                } else if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(what + " printed no " + prefix + " line within " + CHILD_SECONDS
                            + " s" + quote());
                }
            }
        }

        /** Has the child time one slice of each kind. */
        Cost slice() throws IOException, InterruptedException {
            send(UnlockCostWorker.SLICE);
            String line = await(UnlockCostWorker.SLICE + " ");
            try {
                return parse(line);
            } catch (IllegalStateException e) {
                throw new IllegalStateException(what + " answered a slice wrongly: " + e.getMessage(), e);
            }
        }

        /** Tells the child to stop, waits for it, and relays what it printed on standard error. */
        void finish(PrintStream err) throws IOException, InterruptedException {
            send(UnlockCostWorker.END);
            in.close();
            if (!process.waitFor(CHILD_SECONDS, TimeUnit.SECONDS)) {
                throw new IllegalStateException(what + " did not exit within " + CHILD_SECONDS + " s" + quote());
            }
            if (process.exitValue() != 0) {
                throw failure("");
            }
            Files.readAllLines(stderr, StandardCharsets.UTF_8).forEach(l -> err.println("  " + path.id() + " child: "
                    + l));
        }

        private void send(String request) throws IOException, InterruptedException {
            try {
                in.write(request + "\n");
                in.flush();
            } catch (IOException e) {
                process.waitFor(10, TimeUnit.SECONDS);
                throw failure(" (it stopped reading requests: " + e.getMessage() + ")");
            }
        }

        private IllegalStateException failure(String when) throws IOException {
            return new IllegalStateException(what + (process.isAlive() ? " failed" : " failed with exit status "
                    + process.exitValue()) + when + quote());
        }

        /** The last lines the child printed, for a message. */
        private String quote() throws IOException {
            List<String> printed = new ArrayList<>(other);
            printed.addAll(Files.readAllLines(stderr, StandardCharsets.UTF_8));
            printed = printed.subList(Math.max(0, printed.size() - 10), printed.size());
            return printed.isEmpty() ? " (it printed nothing)" : "; it printed: " + String.join(" | ", printed);
        }

        void destroy() {
            process.destroyForcibly();
        }
    }

    /**
     * The command line of a child JVM on {@code path}: this JVM's java and class path, the library's properties
     * of this JVM with the unlock path replaced, and {@code -Xbatch} so that the warm-up's compilations finish before
     * the timing starts. The JIT compilers are the defaults, as in the JVMs of an application.
     *
     * @param path the unlock path
     * @param args the worker's arguments
     * @return the command line
     */
    static List<String> childCommand(UnlockPath path, String... args) {
        // The full JIT (the figures are the compiled code's), and this path whatever this JVM was told.
        return ChildJvm.javaCommand(List.of("-XX:+UseSerialGC", "-Xmx64m", "-Xbatch",
                "-D" + UnlockPath.PROPERTY + "=" + path.id()), UnlockCostWorker.class, args);
    }

    /**
     * Reads a child's answer to a slice, {@code SLICE pi normal} (nanoseconds per pair).
     *
     * @param line the line
     * @return the costs
     * @throws IllegalStateException when the line is not such a line
     */
    static Cost parse(String line) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length != 3 || !fields[0].equals(UnlockCostWorker.SLICE)) {
            throw new IllegalStateException("not a slice's line: " + line);
        }
        try {
            double pi = Double.parseDouble(fields[1]);
            double normal = Double.parseDouble(fields[2]);
            if (!(pi > 0) || !(normal > 0) || Double.isInfinite(pi) || Double.isInfinite(normal)) {
                throw new IllegalStateException("a cost that is not a positive number: " + line);
            }
            return new Cost(pi, normal);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("not a slice's line: " + line, e);
        }
    }

    /**
     * A round's ratio of a path to the classic path: per kind, the median over the slices of the path's cost
     * over the classic path's in the same slice (the two were timed one right after the other).
     *
     * @param costs the path's slices
     * @param classic the classic path's slices of the same round
     * @return the ratios
     */
    static Ratio ratio(List<Cost> costs, List<Cost> classic) {
        double[][] ratios = sliceRatios(costs, classic);
        return new Ratio(spread(ratios[0]).median(), spread(ratios[1]).median());
    }

    /** Per slice, the path's cost over the classic path's: PI in [0], NORMAL in [1]. */
    private static double[][] sliceRatios(List<Cost> costs, List<Cost> classic) {
        if (costs.size() != classic.size() || costs.isEmpty()) {
            throw new IllegalArgumentException(costs.size() + " slices against " + classic.size());
        }
        double[][] ratios = new double[2][costs.size()];
        for (int i = 0; i < costs.size(); i++) {
            ratios[0][i] = costs.get(i).pi() / classic.get(i).pi();
            ratios[1][i] = costs.get(i).normal() / classic.get(i).normal();
        }
        return ratios;
    }

    /** A round's ratios for its line: the median over the slices, then the smallest and largest slice's. */
    private static String sliceLine(UnlockPath path, List<Cost> costs, List<Cost> classic) {
        double[][] ratios = sliceRatios(costs, classic);
        return path.id() + "/classic PI " + spread(spread(ratios[0]), "slices") + ", NORMAL "
                + spread(spread(ratios[1]), "slices");
    }

    /**
     * The median, smallest and largest of the values.
     *
     * @param values at least one value
     * @return their spread
     */
    static Spread spread(double... values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        double median = sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
        return new Spread(median, sorted[0], sorted[sorted.length - 1]);
    }

    /**
     * The result line of one path: the median of the rounds' ratios, and the smallest and largest round's.
     *
     * @param path the path compared with the classic one
     * @param rounds the rounds' ratios
     * @return the line
     */
    static String resultLine(UnlockPath path, List<Ratio> rounds) {
        if (rounds.isEmpty()) {
            throw new IllegalArgumentException("no rounds");
        }
        return line(path, spread(rounds.stream().mapToDouble(Ratio::pi).toArray()),
                spread(rounds.stream().mapToDouble(Ratio::normal).toArray()), rounds.size());
    }

    /**
     * The result line of one path, for example
     * {@code unlock-cost: syscall/classic PI 1.93 (rounds 1.88-2.01), NORMAL 2.10 (rounds 2.05-2.20), 5 rounds}.
     *
     * @param path the path compared with the classic one
     * @param pi the PI ratios' spread over the rounds
     * @param normal the NORMAL ratios' spread
     * @param rounds how many rounds
     * @return the line
     */
    static String line(UnlockPath path, Spread pi, Spread normal, int rounds) {
        return PREFIX + path.id() + "/classic PI " + spread(pi, "rounds") + ", NORMAL " + spread(normal, "rounds")
                + ", " + rounds + (rounds == 1 ? " round" : " rounds");
    }

    private static String spread(Spread spread, String of) {
        return ratio(spread.median()) + " (" + of + " " + ratio(spread.min()) + "-" + ratio(spread.max()) + ")";
    }

    /**
     * A ratio as printed: two decimals.
     *
     * @param ratio the ratio
     * @return for example {@code "1.93"}
     */
    static String ratio(double ratio) {
        return String.format(Locale.ROOT, "%.2f", ratio);
    }

    private static String ids(List<UnlockPath> paths) {
        return paths.stream().map(UnlockPath::id).collect(Collectors.joining(", "));
    }
}
