package io.robustmutex.benchmarks;

import io.robustmutex.Acquisition;
import io.robustmutex.KernelSupport;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import io.robustmutex.internal.LinuxBackend;
import io.robustmutex.internal.MappedMemory;
import io.robustmutex.internal.NativeAccess;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs every benchmark side by side on this machine and prints one table with ratios to glibc's robust PI
 * mutex measured in the same run: the JMH benchmarks, the C baseline ({@code glibc_robust_bench}), contended
 * throughput of two processes, the round trip of a condition ping-pong between two processes (against
 * glibc's process-shared {@code pthread_cond_t}), and owner-death recovery latency.
 * {@code benchmarks/run.sh} builds and runs it.
 *
 * <p>{@code java -jar benchmarks/target/benchmarks.jar --glibc-bench PATH [--quick] [--out FILE]}
 */
public final class BenchmarkSuite {

    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    /** The lock()/unlock() benchmarks, run again with each other memory access and on the other JDK. */
    private static final String LOCK_BENCHMARKS = UncontendedBenchmark.class.getName() + ".robust(Pi|Normal)Lock$";
    /** The native call benchmarks, run again with the other native access and on the other JDK. */
    private static final String CALL_BENCHMARKS = VdsoCallBenchmark.class.getName() + ".*";

    private final Path glibcBench;
    private final boolean quick;
    private final Path otherJava;
    private final PrintStream log = System.err;

    private BenchmarkSuite(Path glibcBench, boolean quick, Path otherJava) {
        this.glibcBench = glibcBench;
        this.quick = quick;
        this.otherJava = otherJava;
    }

    /**
     * Entry point.
     *
     * @param args {@code --glibc-bench PATH [--quick] [--out FILE]}
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path glibc = null;
        Path out = null;
        Path otherJdk = null;
        boolean quick = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--glibc-bench" -> glibc = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--quick" -> quick = true;
                case "--other-jdk" -> otherJdk = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (usage: --glibc-bench PATH [--quick] [--out FILE] [--other-jdk JAVA_HOME])");
            }
        }
        if (glibc == null || !Files.isExecutable(glibc)) {
            throw new IllegalArgumentException("--glibc-bench must name the compiled glibc_robust_bench: " + glibc);
        }
        Path otherJava = otherJdk == null ? null : otherJdk.resolve("bin").resolve("java");
        if (otherJava != null && !Files.isExecutable(otherJava)) {
            throw new IllegalArgumentException("--other-jdk must name a JDK's home (with bin/java): " + otherJdk);
        }
        KernelSupport.ensureAvailability();
        String table = new BenchmarkSuite(glibc, quick, otherJava).run();
        System.out.print(table);
        if (out != null) {
            Files.writeString(out, table);
        }
    }

    private String run() throws Exception {
        Map<String, Double> jmh = runJmh();
        runGlibcSyscalls();
        Map<String, Map<String, Double>> otherAccess = new LinkedHashMap<>();
        for (String access : List.of("segment", "unsafe", "varhandle")) {
            if (!access.equals(MappedMemory.ACCESS) && (!access.equals("segment") || foreignApi())) {
                otherAccess.put(access, runJmhWith("jmh-" + access + ".log", accessOptions(access), JAVA,
                        LOCK_BENCHMARKS));
            }
        }
        String nativeAccess = KernelSupport.nativeAccess();
        String otherNative = nativeAccess.equals("ffm") ? "jnr" : null;
        Map<String, Double> otherNativeJmh = otherNative == null ? Map.of() : runJmhWith("jmh-" + otherNative
                + ".log", List.of("-D" + NativeAccess.PROPERTY + "=" + otherNative), JAVA, CALL_BENCHMARKS);
        runGlibcSyscalls();
        Map<String, Double> otherJdkJmh = otherJava == null ? Map.of() : runJmhWith("jmh-other-jdk.log",
                List.of(), otherJava.toString(), LOCK_BENCHMARKS, CALL_BENCHMARKS);
        runGlibcSyscalls();
        String thisJdk = "JDK " + Runtime.version().feature();
        String otherJdk = otherJava == null ? null : "JDK " + otherJdkFeature;
        Map<String, Double> glibc = runGlibcUncontended();
        double glibcPi = glibc.get("robust_pi_ns");
        Map<String, Double> contended = new LinkedHashMap<>();
        for (String kind : List.of("pi", "normal")) {
            // Interleaved, so that the machine's drift (two vCPUs on separate cores, or on one core's two
            // hardware threads, which changes the cost of moving a cache line several times over) hits each alike.
            List<Double> sameLine = new ArrayList<>();
            List<Double> apart = new ArrayList<>();
            List<Double> ours = new ArrayList<>();
            List<Double> oursOther = new ArrayList<>();
            MutexKind mutexKind = MutexKind.valueOf(kind.toUpperCase(Locale.ROOT));
            for (int run = 0; run < contendedRuns(); run++) {
                sameLine.add(runGlibcContended(kind, false));
                apart.add(runGlibcContended(kind, true));
                ours.add(runJavaContended(mutexKind));
                if (otherJava != null) {
                    oursOther.add(runJavaContended(mutexKind, otherChildJava()));
                }
            }
            contended.put("glibc " + kind, median(sameLine));
            contended.put("glibc apart " + kind, median(apart));
            contended.put("RobustMutex " + kind, median(ours));
            if (otherJava != null) {
                contended.put("RobustMutex other " + kind, median(oursOther));
            }
        }
        Map<String, Double> pingPong = new LinkedHashMap<>();
        for (String kind : List.of("pi", "normal")) {
            List<Double> glibcRounds = new ArrayList<>();
            List<Double> ourRounds = new ArrayList<>();
            for (int run = 0; run < runs(); run++) {
                glibcRounds.addAll(runGlibcPingPong(kind));
                ourRounds.addAll(runJavaPingPong(MutexKind.valueOf(kind.toUpperCase(Locale.ROOT))));
            }
            pingPong.put("glibc " + kind, median(glibcRounds));
            pingPong.put("RobustMutex " + kind, median(ourRounds));
        }
        Map<MutexKind, List<Double>> recovery = new LinkedHashMap<>();
        Map<MutexKind, List<Double>> takeOver = new LinkedHashMap<>();
        for (MutexKind kind : MutexKind.values()) {
            recovery.put(kind, recoveryLatencies(kind, quick ? 20 : 50));
            takeOver.put(kind, takeOverLatencies(kind, quick ? 5 : 20));
        }

        StringBuilder t = new StringBuilder();
        t.append(String.format("robust-mutex benchmarks, %s%n", ZonedDateTime.now().format(
                DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm z"))));
        t.append(String.format("machine: %s, %d CPUs, Linux %s; JDK %s; memory access: %s; unlock path: %s%n",
                cpuModel(), Runtime.getRuntime().availableProcessors(), System.getProperty("os.version"),
                System.getProperty("java.version"), MappedMemory.ACCESS,
                KernelSupport.capabilities().unlockPath().id()));
        t.append(String.format("Uncontended lock+unlock, one thread (JMH avgt; C: median of 5 rounds):%n"));
        String row = "  %-60s %10s %12s%n";
        t.append(String.format(row, "what", "ns/op", "vs glibc PI"));
        uncontended(t, row, "glibc robust PI mutex (C)", glibcPi, glibcPi);
        uncontended(t, row, "glibc robust non-PI mutex (C)", glibc.get("robust_normal_ns"), glibcPi);
        String defaults = thisJdk + " " + MappedMemory.ACCESS + "/" + nativeAccess + " (default): ";
        uncontended(t, row, defaults + "PI acquire()/close()", jmh.get("robustPiAcquire"), glibcPi);
        uncontended(t, row, defaults + "PI lock()/unlock()", jmh.get("robustPiLock"), glibcPi);
        uncontended(t, row, defaults + "NORMAL acquire()/close()", jmh.get("robustNormalAcquire"), glibcPi);
        uncontended(t, row, defaults + "NORMAL lock()/unlock()", jmh.get("robustNormalLock"), glibcPi);
        for (Map.Entry<String, Map<String, Double>> entry : otherAccess.entrySet()) {
            String label = thisJdk + " " + entry.getKey() + " memory access: ";
            uncontended(t, row, label + "PI lock()/unlock()", entry.getValue().get("robustPiLock"), glibcPi);
            uncontended(t, row, label + "NORMAL lock()/unlock()", entry.getValue().get("robustNormalLock"), glibcPi);
        }
        if (otherJdk != null) {
            String label = otherJdk + " (default): ";
            uncontended(t, row, label + "PI lock()/unlock()", otherJdkJmh.get("robustPiLock"), glibcPi);
            uncontended(t, row, label + "NORMAL lock()/unlock()", otherJdkJmh.get("robustNormalLock"), glibcPi);
        }
        uncontended(t, row, "ReentrantLock (one JVM only, not robust)", jmh.get("reentrantLock"), glibcPi);
        uncontended(t, row, "CAS spin lock on the mapping (not robust, spins)", jmh.get("casSpinLock"), glibcPi);
        uncontended(t, row, "FileChannel.lock()+release()", jmh.get("fileChannelLock"), glibcPi);
        t.append(String.format("  FileChannel.lock is %.0fx slower than RobustMutex PI lock()/unlock().%n",
                jmh.get("fileChannelLock") / jmh.get("robustPiLock")));
        Map<String, Double> unsafe = otherAccess.get("unsafe");
        if (MappedMemory.ACCESS.equals("segment") && unsafe != null) {
            t.append(String.format("  %s default over %s unsafe: PI %.2f, NORMAL %.2f (lock()/unlock()).%n",
                    thisJdk, thisJdk, jmh.get("robustPiLock") / unsafe.get("robustPiLock"),
                    jmh.get("robustNormalLock") / unsafe.get("robustNormalLock")));
        }
        t.append(String.format("Native calls (JMH; vs glibc PI is only a scale):%n"));
        calls(t, row, thisJdk + " " + nativeAccess + " (default)", jmh, glibcPi);
        if (otherNative != null) {
            calls(t, row, thisJdk + " " + otherNative, otherNativeJmh, glibcPi);
        }
        if (otherJdk != null) {
            calls(t, row, otherJdk + " (default)", otherJdkJmh, glibcPi);
        }
        double cGettid = median(glibcSyscalls.get("syscall_gettid_ns"));
        double cFutex = median(glibcSyscalls.get("syscall_futex_eagain_ns"));
        t.append(String.format("Syscalls (JMH; C: glibc's syscall() in a loop, median of %d rounds run between the"
                + " JMH runs):%n", glibcSyscalls.get("syscall_gettid_ns").size()));
        t.append(String.format(row, "what", "ns/call", "vs C"));
        for (boolean futex : new boolean[] {false, true}) {
            double c = futex ? cFutex : cGettid;
            uncontended(t, row, futex ? "C: syscall(SYS_futex) FUTEX_WAIT, stale value (EAGAIN)"
                    : "C: syscall(SYS_gettid)", c, c);
            syscalls(t, row, thisJdk + " " + nativeAccess + " (default)", jmh, c, futex);
            if (otherNative != null) {
                syscalls(t, row, thisJdk + " " + otherNative, otherNativeJmh, c, futex);
            }
            if (otherJdk != null) {
                syscalls(t, row, otherJdk + " (default)", otherJdkJmh, c, futex);
            }
        }
        t.append(String.format("Contended, two processes, lock+counter+unlock (median of %d interleaved runs of %.0f s;"
                + " C: the counter in the mutex's cache line, or apart, in a line of its own as in the Java run):%n",
                contendedRuns(), seconds()));
        String crow = "  %-60s %10s %12s%n";
        String crow3 = "  %-60s %10s %12s %12s%n";
        t.append(String.format(crow3, "what", "Mops/s", "vs glibc", "vs apart"));
        for (String kind : List.of("pi", "normal")) {
            double base = contended.get("glibc " + kind);
            double apart = contended.get("glibc apart " + kind);
            t.append(String.format(crow3, "glibc robust " + kind + " (C)", mops(base), "1.00",
                    String.format("%.2f", base / apart)));
            t.append(String.format(crow3, "glibc robust " + kind + " (C), counter apart", mops(apart),
                    String.format("%.2f", apart / base), "1.00"));
            double ours = contended.get("RobustMutex " + kind);
            t.append(String.format(crow3, "RobustMutex " + kind.toUpperCase(Locale.ROOT) + ", " + thisJdk, mops(ours),
                    String.format("%.2f", ours / base), String.format("%.2f", ours / apart)));
            Double other = contended.get("RobustMutex other " + kind);
            if (other != null) {
                t.append(String.format(crow3, "RobustMutex " + kind.toUpperCase(Locale.ROOT) + ", " + otherJdk,
                        mops(other), String.format("%.2f", other / base), String.format("%.2f", other / apart)));
            }
        }
        t.append(String.format("Condition ping-pong round trip, two processes, one mutex and two conditions (median of"
                + " %d rounds of %d round trips):%n", runs() * pingPongRounds(), pingPongRoundTrips()));
        t.append(String.format(crow, "what", "ns", "vs glibc"));
        for (String kind : List.of("pi", "normal")) {
            double base = pingPong.get("glibc " + kind);
            t.append(String.format(crow, "glibc robust " + kind + " mutex + pthread_cond_t (C)",
                    String.format("%.0f", base), "1.00"));
            double ours = pingPong.get("RobustMutex " + kind);
            t.append(String.format(crow, "RobustCondition, RobustMutex " + kind.toUpperCase(Locale.ROOT),
                    String.format("%.0f", ours), String.format("%.2f", ours / base)));
        }
        t.append(String.format("Owner-death recovery: SIGKILL of a holder JVM to acquisition by a waiter asleep in"
                + " the kernel:%n"));
        for (Map.Entry<MutexKind, List<Double>> entry : recovery.entrySet()) {
            List<Double> ms = entry.getValue();
            t.append(String.format("  RobustMutex %-6s median %.2f ms, p99 %.2f ms, max %.2f ms (%d runs)%n",
                    entry.getKey(), percentile(ms, 50), percentile(ms, 99), Collections.max(ms), ms.size()));
        }
        t.append(String.format("Take-over of a vanished owner (the word names a TID no thread has; the kernel never"
                + " releases it), acquire() to acquisition; NORMAL waits for its re-check (%d ms):%n",
                TimeUnit.NANOSECONDS.toMillis(LinuxBackend.protocol().recheckNanos())));
        for (Map.Entry<MutexKind, List<Double>> entry : takeOver.entrySet()) {
            List<Double> ms = entry.getValue();
            t.append(String.format("  RobustMutex %-6s median %.2f ms, max %.2f ms (%d runs)%n", entry.getKey(),
                    percentile(ms, 50), Collections.max(ms), ms.size()));
        }
        return t.toString();
    }

    /**
     * The cost of the bounded re-check where it shows: an owner gone without the kernel releasing its word. PI
     * learns it from the kernel at once (ESRCH); a NORMAL waiter finds it when it looks again.
     */
    private List<Double> takeOverLatencies(MutexKind kind, int runs) throws Exception {
        log.println("measuring take-over of a vanished owner (" + kind + ", " + runs + " runs)...");
        Path dir = Files.createTempDirectory(tempRoot(), "takeover");
        List<Double> millis = new ArrayList<>();
        try (SharedMemory region = SharedMemory.map(dir.resolve("region"), 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            for (int run = 0; run < runs; run++) {
                // A TID above any pid_max, within the word's 30 TID bits: no thread has it.
                region.buffer().putInt(0, 0x3ffffff0 - run);
                long start = System.nanoTime();
                try (Acquisition held = mutex.acquire()) {
                    millis.add((System.nanoTime() - start) / 1e6);
                    if (!held.ownerDied()) {
                        throw new IllegalStateException("the vanished owner's death was not reported");
                    }
                    held.markConsistent();
                }
            }
        } finally {
            deleteTree(dir);
        }
        return millis;
    }

    private static void calls(StringBuilder t, String row, String who, Map<String, Double> jmh, double glibcPi) {
        uncontended(t, row, who + ": vDSO call by address (__vdso_getcpu for 7.2's)", jmh.get("vdsoGetcpuByAddress"),
                glibcPi);
        uncontended(t, row, who + ": PI lock()/unlock() + that vDSO call", jmh.get("robustPiLockPlusVdsoCall"),
                glibcPi);
    }

    /** The syscall rows of one JVM configuration, as ratios to the same syscall from C. */
    private static void syscalls(StringBuilder t, String row, String who, Map<String, Double> jmh, double c,
            boolean futex) {
        if (futex) {
            uncontended(t, row, who + ": the same through the binding", jmh.get("futexWaitStaleSyscall"), c);
            return;
        }
        uncontended(t, row, who + ": gettid through the binding", jmh.get("gettidSyscall"), c);
        uncontended(t, row, who + ": gettid, glibc syscall() by jffi, 6 parameters", jmh.get("gettidLibcSyscall"),
                c);
        uncontended(t, row, who + ": gettid, 7 parameters", jmh.get("gettidSevenParameterSyscall"), c);
    }

    private static void uncontended(StringBuilder t, String row, String what, Double ns, double glibcPi) {
        t.append(String.format(row, what, String.format("%.1f", ns), String.format("%.2f", ns / glibcPi)));
    }

    private int contendedRuns() {
        return quick ? 1 : 5;
    }

    private int runs() {
        return quick ? 1 : 3;
    }

    private double seconds() {
        return quick ? 1 : 2;
    }

    private int pingPongRoundTrips() {
        return quick ? 5000 : 10000;
    }

    private int pingPongRounds() {
        return quick ? 5 : 9;
    }

    private static String mops(double opsPerSecond) {
        return String.format("%.2f", opsPerSecond / 1e6);
    }

    // ------------------------------------------------------------------ JMH

    private Map<String, Double> runJmh() throws Exception {
        log.println("running JMH benchmarks (log: benchmarks/target/jmh.log)...");
        ChainedOptionsBuilder options = jmhOptions("jmh.log", new ArrayList<>(), Runtime.version().feature())
                .include(UncontendedBenchmark.class.getName())
                .include(VdsoCallBenchmark.class.getName());
        return scores(new Runner(options.build()).run());
    }

    /** The JVM options that choose a memory access (and allow Unsafe's from JDK 23). */
    private static List<String> accessOptions(String access) {
        List<String> options = new ArrayList<>(List.of("-D" + MappedMemory.PROPERTY + "=" + access));
        if (access.equals("unsafe") && Runtime.version().feature() >= 23) {
            options.add("--sun-misc-unsafe-memory-access=allow");
        }
        return options;
    }

    private static boolean foreignApi() {
        return Runtime.version().feature() >= 22 && KernelSupport.nativeAccess().equals("ffm");
    }

    /** The feature release of the other JDK, learnt when it runs. */
    private int otherJdkFeature;

    /**
     * Some benchmarks again, in forks of {@code java} (this JDK's or the other's) with extra options.
     *
     * @param logName the JMH log's name in benchmarks/target
     * @param extra the extra JVM options
     * @param java the {@code java} launcher of the forks
     * @param patterns the benchmarks, as JMH include patterns
     * @return the scores by benchmark method
     */
    private Map<String, Double> runJmhWith(String logName, List<String> extra, String java, String... patterns)
            throws Exception {
        log.println("running " + String.join(", ", patterns) + " with " + java + " " + extra + "...");
        boolean other = !java.equals(JAVA);
        List<String> jvmArgs = new ArrayList<>(extra);
        if (other) {
            otherJdkFeature = feature(java);
        }
        ChainedOptionsBuilder options = jmhOptions(logName, jvmArgs, other ? otherJdkFeature
                : Runtime.version().feature()).jvm(java);
        for (String pattern : patterns) {
            options.include(pattern);
        }
        return scores(new Runner(options.build()).run());
    }

    /** The feature release of the JDK of a {@code java} launcher. */
    private static int feature(String java) throws Exception {
        Process process = new ProcessBuilder(java, "-XshowSettings:properties", "-version").redirectErrorStream(true)
                .start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(1, TimeUnit.MINUTES) || process.exitValue() != 0) {
            throw new IllegalStateException(java + " -version failed: " + output);
        }
        Matcher m = Pattern.compile("java\\.specification\\.version = (\\d+)")
                .matcher(output);
        if (!m.find()) {
            throw new IllegalStateException("no java.specification.version from " + java + ": " + output);
        }
        return Integer.parseInt(m.group(1));
    }

    /** The common options; {@code jvmArgs} gets the flags every fork needs and is appended once. */
    private ChainedOptionsBuilder jmhOptions(String logName, List<String> jvmArgs, int feature) {
        ChainedOptionsBuilder options = new OptionsBuilder()
                .forks(quick ? 1 : 2)
                .warmupIterations(quick ? 2 : 3)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(quick ? 3 : 5)
                .measurementTime(TimeValue.seconds(1))
                .output(Path.of("benchmarks", "target", logName).toAbsolutePath().toString());
        if (feature >= 22) {
            jvmArgs.add("--enable-native-access=ALL-UNNAMED");
        }
        return options.jvmArgsAppend(jvmArgs.toArray(String[]::new));
    }

    private static Map<String, Double> scores(Collection<RunResult> results) {
        Map<String, Double> scores = new LinkedHashMap<>();
        for (RunResult result : results) {
            String label = result.getParams().getBenchmark();
            scores.put(label.substring(label.lastIndexOf('.') + 1), result.getPrimaryResult().getScore());
        }
        return scores;
    }

    // ------------------------------------------------------------------ C baseline

    private Map<String, Double> runGlibcUncontended() throws Exception {
        log.println("running the glibc baseline...");
        Map<String, Double> values = new LinkedHashMap<>();
        for (String line : exec(List.of(glibcBench.toString(), "uncontended", quick ? "5000000" : "20000000", "5"))) {
            String[] parts = line.trim().split(" ");
            values.put(parts[0], Double.parseDouble(parts[1]));
        }
        return values;
    }

    /** The C syscall rounds, by key, gathered between the JMH runs so that drift in the machine hits both. */
    private final Map<String, List<Double>> glibcSyscalls = new LinkedHashMap<>();

    private void runGlibcSyscalls() throws Exception {
        log.println("running the C syscall loop...");
        for (String line : exec(List.of(glibcBench.toString(), "syscall", quick ? "1000000" : "2000000", "5"))) {
            String[] parts = line.trim().split(" ");
            glibcSyscalls.computeIfAbsent(parts[0], k -> new ArrayList<>()).add(Double.parseDouble(parts[1]));
        }
    }

    private double runGlibcContended(String kind, boolean apart) throws Exception {
        List<String> command = new ArrayList<>(List.of(glibcBench.toString(), "contended",
                String.valueOf((long) seconds()), kind));
        if (apart) {
            command.add("apart");
        }
        List<String> lines = exec(command);
        return Double.parseDouble(lines.get(0).trim().split(" ")[1]);
    }

    /** Nanoseconds per round trip of each measured round of glibc's ping-pong. */
    private List<Double> runGlibcPingPong(String kind) throws Exception {
        log.println("measuring the glibc condition ping-pong (" + kind + ")...");
        List<String> lines = exec(List.of(glibcBench.toString(), "pingpong", String.valueOf(pingPongRoundTrips()),
                String.valueOf(pingPongRounds()), kind));
        return rounds(lines.get(0), "pingpong_" + kind + "_ns ");
    }

    private static List<Double> rounds(String line, String prefix) {
        if (!line.startsWith(prefix)) {
            throw new IllegalStateException("expected " + prefix + "..., got " + line);
        }
        List<Double> values = new ArrayList<>();
        for (String value : line.substring(prefix.length()).trim().split(" ")) {
            values.add(Double.parseDouble(value));
        }
        return values;
    }

    // ------------------------------------------------------------------ condition ping-pong

    /** Nanoseconds per round trip of each measured round of the ping-pong between two child JVMs. */
    private List<Double> runJavaPingPong(MutexKind kind) throws Exception {
        log.println("measuring the RobustCondition ping-pong (" + kind + ")...");
        Path dir = Files.createTempDirectory(tempRoot(), "pingpong");
        Path path = dir.resolve("region");
        try (SharedMemory region = SharedMemory.map(path, PingPongWorker.SIZE)) {
            RobustMutex mutex = region.mutex(PingPongWorker.MUTEX, kind);
            region.condition(PingPongWorker.TO_DRIVER, mutex);
            region.condition(PingPongWorker.TO_ECHO, mutex);
            String classPath = System.getProperty("java.class.path");
            Child echo = Child.start(childJava("-cp", classPath, PingPongWorker.class.getName(), "B",
                    path.toString(), kind.name()));
            Child driver = Child.start(childJava("-cp", classPath, PingPongWorker.class.getName(), "A",
                    path.toString(), kind.name(), String.valueOf(pingPongRoundTrips()),
                    String.valueOf(pingPongRounds())));
            List<Double> rounds = rounds(driver.await("NS "), "NS ");
            echo.await("DONE");
            for (Child child : List.of(driver, echo)) {
                if (!child.process.waitFor(60, TimeUnit.SECONDS) || child.process.exitValue() != 0) {
                    throw new IllegalStateException("a ping-pong process did not exit cleanly: " + child.lines);
                }
            }
            return rounds;
        } finally {
            deleteTree(dir);
        }
    }

    // ------------------------------------------------------------------ contended RobustMutex

    private double runJavaContended(MutexKind kind) throws Exception {
        return runJavaContended(kind, childJava());
    }

    /** The contended run in child JVMs started with a given launcher and its options. */
    private double runJavaContended(MutexKind kind, List<String> java) throws Exception {
        Path dir = Files.createTempDirectory(tempRoot(), "contended");
        Path path = dir.resolve("region");
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            region.mutex(0, kind);
            List<Child> children = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                List<String> command = new ArrayList<>(java);
                command.addAll(List.of("-cp", System.getProperty("java.class.path"), ContendedWorker.class.getName(),
                        path.toString(), kind.name(), String.valueOf(seconds())));
                children.add(Child.start(command));
            }
            for (Child child : children) {
                child.await("READY");
            }
            long start = System.nanoTime();
            region.buffer().putLong(ContendedWorker.START, 1);
            long total = 0;
            for (Child child : children) {
                total += Long.parseLong(child.await("COUNT").substring("COUNT ".length()));
                child.process.waitFor(60, TimeUnit.SECONDS);
            }
            double elapsed = (System.nanoTime() - start) / 1e9;
            long counter = region.buffer().getLong(ContendedWorker.COUNTER);
            if (counter != total) {
                throw new IllegalStateException("lost updates: counter " + counter + ", increments " + total);
            }
            return total / elapsed;
        } finally {
            deleteTree(dir);
        }
    }

    // ------------------------------------------------------------------ recovery latency

    private List<Double> recoveryLatencies(MutexKind kind, int runs) throws Exception {
        log.println("measuring recovery latency (" + kind + ", " + runs + " runs)...");
        Path dir = Files.createTempDirectory(tempRoot(), "recovery");
        List<Double> millis = new ArrayList<>();
        try (MutexFile file = MutexFile.open(dir.resolve("recovery.mutex"), 1, kind)) {
            RobustMutex mutex = file.mutex(0);
            for (int run = 0; run < runs; run++) {
                Child holder = Child.start(childJava("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m",
                        "-cp", System.getProperty("java.class.path"), HolderWorker.class.getName(),
                        dir.resolve("recovery.mutex").toString()));
                holder.await("HELD");
                CompletableFuture<Long> acquired = new CompletableFuture<>();
                Thread waiter = new Thread(() -> {
                    try (Acquisition held = mutex.acquire()) {
                        long at = System.nanoTime();
                        if (!held.ownerDied()) {
                            throw new IllegalStateException("the holder's death was not reported");
                        }
                        held.markConsistent();
                        acquired.complete(at);
                    } catch (Throwable t) {
                        acquired.completeExceptionally(t);
                    }
                });
                waiter.start();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (!mutex.snapshot().waiters()) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the waiter did not block");
                    }
                    Thread.onSpinWait();
                }
                long killed = System.nanoTime();
                holder.process.destroyForcibly();
                long at = acquired.get(30, TimeUnit.SECONDS);
                millis.add((at - killed) / 1e6);
                holder.process.waitFor(30, TimeUnit.SECONDS);
                waiter.join();
            }
        } finally {
            deleteTree(dir);
        }
        return millis;
    }

    // ------------------------------------------------------------------ helpers

    /** A child process whose output lines are read on a thread. */
    private static final class Child {
        final Process process;
        final List<String> lines = Collections.synchronizedList(new ArrayList<>());

        private Child(Process process) {
            this.process = process;
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line = in.readLine(); line != null; line = in.readLine()) {
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // The process was killed.
                }
            });
            reader.setDaemon(true);
            reader.start();
        }

        static Child start(List<String> command) throws IOException {
            return new Child(new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start());
        }

        String await(String prefix) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline) {
                synchronized (lines) {
                    for (String line : lines) {
                        if (line.startsWith(prefix)) {
                            return line;
                        }
                    }
                }
                if (!process.isAlive() && lines.stream().noneMatch(l -> l.startsWith(prefix))) {
                    throw new IllegalStateException("child exited with " + process.exitValue() + " before printing "
                            + prefix + ": " + lines);
                }
                Thread.sleep(1);
            }
            throw new IllegalStateException("no " + prefix + " from child within 120 s: " + lines);
        }
    }

    /** The other JDK's launcher, with native access enabled where it is JDK 22 or later. */
    private List<String> otherChildJava() {
        List<String> command = new ArrayList<>(List.of(otherJava.toString()));
        if (otherJdkFeature >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        return command;
    }

    /** A command line for a child JVM of this JDK, which may call native code (JDK 22+) without a warning. */
    private static List<String> childJava(String... args) {
        List<String> command = new ArrayList<>(List.of(JAVA));
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(List.of(args));
        return command;
    }

    private static List<String> exec(List<String> command) throws Exception {
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<String> lines;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                StandardCharsets.UTF_8))) {
            lines = in.lines().toList();
        }
        if (!process.waitFor(10, TimeUnit.MINUTES) || process.exitValue() != 0) {
            throw new IllegalStateException(command + " failed: " + lines);
        }
        return lines;
    }

    /** A measurement that can fail. */
    private interface Measurement {
        double take() throws Exception;
    }

    private static List<Double> repeat(int times, Measurement measurement) throws Exception {
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < times; i++) {
            values.add(measurement.take());
        }
        return values;
    }

    private static double median(List<Double> values) {
        return percentile(values, 50);
    }

    private static double percentile(List<Double> values, double p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    private static Path tempRoot() {
        return Files.isDirectory(Path.of("/dev/shm")) ? Path.of("/dev/shm")
                : Path.of(System.getProperty("java.io.tmpdir"));
    }

    private static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // Fall through to the JDK's name.
        }
        return System.getProperty("os.arch");
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.sorted(java.util.Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }
}
