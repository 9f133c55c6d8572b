package io.robustmutex.examples;

import io.robustmutex.KernelSupport;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.UnlockPath;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * One child JVM of {@code unlock-cost}, on the unlock path its {@code -Dio.robustmutex.unlockPath} names: it
 * warms up on a PI and a NORMAL mutex, each in its own mutex file, fixes the number of pairs in a slice of each
 * kind, prints {@code READY piPairs normalPairs}, then times one slice of uncontended {@code lock()}+{@code
 * unlock()} pairs of each kind per {@code SLICE} line it reads, answering {@code SLICE pi normal} (nanoseconds
 * per pair), until it reads {@code END} or its input ends. The parent takes turns between the children of all
 * paths slice by slice, so that what the machine does meanwhile falls on every path alike; it prints ratios of
 * these figures, never the figures.
 *
 * <p>The warm-up alternates the kinds in short batches, so that the compiled timing loop has seen both; the
 * parent runs this JVM with {@code -Xbatch}, so what the warm-up compiles is compiled before the timing. Unless
 * the parent gives the number of pairs in a slice, the worker picks the number that lasts about the slice time
 * it is given, from a timing after the warm-up: the paths differ more than tenfold under emulation, and a
 * slice of a fixed number of pairs would be too short on the fast path for a preemption of the emulator or a
 * timer tick of the guest to average out, or too long on the slow one.
 */
public final class UnlockCostWorker {

    /** What the worker prints when it has warmed up. */
    static final String READY = "READY";
    /** The parent's request for one slice, and how the answer starts. */
    static final String SLICE = "SLICE";
    /** The parent's request to stop. */
    static final String END = "END";
    /** Pairs per warm-up batch: many short calls, so the timing loop is compiled through its calls. */
    private static final int WARMUP_BATCH = 10;

    private UnlockCostWorker() {
    }

    /**
     * Entry point: {@code DIRECTORY PATH SLICE_PAIRS WARMUP SLICE_MILLIS}: where the mutex files go, the unlock path
     * this JVM must be on, the pairs per kind in a slice (0: as many as last about {@code SLICE_MILLIS}), and the
     * warm-up pairs per kind.
     *
     * @param args the arguments
     * @throws Exception on failure (the parent reports the exit status and what this JVM printed)
     */
    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            throw new IllegalArgumentException("expected DIRECTORY PATH SLICE_PAIRS WARMUP SLICE_MILLIS, got "
                    + Arrays.toString(args));
        }
        Path dir = Path.of(args[0]);
        UnlockPath wanted = UnlockPath.parse(args[1]);
        long slicePairs = Long.parseLong(args[2]);
        long warmup = Long.parseLong(args[3]);
        long sliceNanos = TimeUnit.MILLISECONDS.toNanos(Long.parseLong(args[4]));
        KernelSupport.ensureAvailability();
        UnlockPath actual = KernelSupport.capabilities().unlockPath();
        if (actual != wanted) {
            System.err.println("this JVM was to use the " + wanted.id() + " unlock path but uses " + actual.id()
                    + " (the best this kernel offers is " + KernelSupport.capabilities().bestUnlockPath().id() + ")");
            System.exit(1);
        }
        long pid = ProcessHandle.current().pid();
        Path piPath = dir.resolve("pi-" + pid + ".mutex");
        Path normalPath = dir.resolve("normal-" + pid + ".mutex");
        try (MutexFile piFile = MutexFile.open(piPath, 1, MutexKind.PI);
                MutexFile normalFile = MutexFile.open(normalPath, 1, MutexKind.NORMAL)) {
            RobustMutex pi = piFile.mutex(0);
            RobustMutex normal = normalFile.mutex(0);
            for (long done = 0; done < warmup; done += WARMUP_BATCH) {
                time(pi, WARMUP_BATCH);
                time(normal, WARMUP_BATCH);
            }
            long piPairs = slicePairs > 0 ? slicePairs : calibrate(pi, sliceNanos);
            long normalPairs = slicePairs > 0 ? slicePairs : calibrate(normal, sliceNanos);
            System.out.println(READY + " " + piPairs + " " + normalPairs);
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            for (String line = in.readLine(); line != null && !line.equals(END); line = in.readLine()) {
                if (!line.equals(SLICE)) {
                    throw new IllegalArgumentException("expected " + SLICE + " or " + END + ", got " + line);
                }
                double piNanos = time(pi, piPairs) / (double) piPairs;
                double normalNanos = time(normal, normalPairs) / (double) normalPairs;
                System.out.println(SLICE + " " + piNanos + " " + normalNanos);
            }
        } finally {
            Files.deleteIfExists(piPath);
            Files.deleteIfExists(normalPath);
        }
    }

    /** The number of pairs that takes about {@code nanos}: doubled until a run takes a quarter of it, then scaled. */
    private static long calibrate(RobustMutex mutex, long nanos) {
        for (long pairs = 16; ; pairs *= 2) {
            long took = time(mutex, pairs);
            if (took >= nanos / 4 || pairs >= 1L << 40) {
                return Math.max(1, Math.round(pairs * (double) nanos / Math.max(1, took)));
            }
        }
    }

    /** Takes and releases the mutex {@code pairs} times; returns the nanoseconds it took. */
    private static long time(RobustMutex mutex, long pairs) {
        long start = System.nanoTime();
        for (long i = 0; i < pairs; i++) {
            mutex.lock();
            mutex.unlock();
        }
        return System.nanoTime() - start;
    }
}
