package io.robustmutex.examples;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the parent and the workers of a kill storm ({@code torture}, {@code queue}) share in the region besides
 * the data under test: longs read and written with volatile reads and release stores, a count of violations and
 * the text of the first, and the kill log, in which the parent writes each pid before killing it and a worker
 * marks the death it was told of, so that every reported death is that of a killed process, reported once.
 *
 * <pre>
 *   violations     a count        message     the first violation, as UTF-8 text (up to messageSize bytes)
 *   killLog        a count, then (pid, reported) pairs up to the end of the region
 * </pre>
 */
final class StormLog {

    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class,
            ByteOrder.LITTLE_ENDIAN);

    private final ByteBuffer data;
    private final int violations;
    private final int message;
    private final int messageSize;
    private final int killLog;

    StormLog(ByteBuffer data, int violations, int message, int messageSize, int killLog) {
        this.data = data;
        this.violations = violations;
        this.message = message;
        this.messageSize = messageSize;
        this.killLog = killLog;
    }

    /** How many kills a log from {@code killLog} to the end of a region of {@code size} bytes holds. */
    static int capacity(int size, int killLog) {
        return (size - killLog - 8) / 16;
    }

    static long get(ByteBuffer data, int offset) {
        return (long) LONGS.getVolatile(data, offset);
    }

    static void put(ByteBuffer data, int offset, long value) {
        LONGS.setRelease(data, offset, value);
    }

    /** The parent, before it kills {@code pid}. */
    void logKill(long pid) {
        long count = get(data, killLog);
        int entry = killLog + 8 + 16 * (int) count;
        put(data, entry, pid);
        put(data, entry + 8, 0);
        put(data, killLog, count + 1);
    }

    /** Whether the parent logged a kill of {@code pid}. */
    boolean killed(long pid) {
        return entry(pid) >= 0;
    }

    private int entry(long pid) {
        for (int i = (int) get(data, killLog) - 1; i >= 0; i--) {
            int entry = killLog + 8 + 16 * i;
            if (get(data, entry) == pid) {
                return entry;
            }
        }
        return -1;
    }

    /**
     * A worker told of the death of {@code pid}: it must be a process the parent killed, reported once (the newest
     * kill of the pid counts: the kernel reuses pids, and over thousands of JVMs a pid comes back).
     */
    void attribute(long pid, long me) {
        int entry = entry(pid);
        if (entry < 0) {
            violation(me, "told that process " + pid + " died, but nobody killed it");
        } else {
            if (get(data, entry + 8) != 0) {
                violation(me, "the death of process " + pid + " was reported twice");
            }
            put(data, entry + 8, 1);
        }
    }

    /** A worker records a violation (the first one's text is kept) and prints it. */
    void violation(long me, String text) {
        if (get(data, violations) == 0) {
            byte[] bytes = ("pid " + me + ": " + text).getBytes(StandardCharsets.UTF_8);
            ByteBuffer into = data.duplicate().position(message);
            into.put(bytes, 0, Math.min(bytes.length, messageSize - 1));
        }
        put(data, violations, get(data, violations) + 1);
        System.out.println("VIOLATION " + text);
        System.out.flush();
    }

    /**
     * The parent: adds the workers' first violation, or a worker's failure, to {@code violations} when it holds
     * none yet (the first is the one that explains the rest).
     */
    void collect(List<WorkerProcess> workers, List<String> violations) {
        String first = firstViolation();
        if (first != null && violations.isEmpty()) {
            violations.add(first);
        }
        for (WorkerProcess worker : workers) {
            if (!worker.process.isAlive() && worker.process.exitValue() != 0 && violations.isEmpty()) {
                violations.add("worker " + worker.process.pid() + " failed (exit " + worker.process.exitValue()
                        + "): " + worker.errors);
            }
        }
    }

    /** The parent: waits for the workers, asked to stop, to exit within 30 s; a worker that does not is killed. */
    static void awaitStopped(List<WorkerProcess> workers, List<String> violations)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (WorkerProcess worker : workers) {
            long left = deadline - System.nanoTime();
            if (!worker.process.waitFor(Math.max(left, 0), TimeUnit.NANOSECONDS)) {
                violations.add("worker " + worker.process.pid() + " did not stop within 30 s: asleep for ever?");
                worker.process.destroyForcibly();
            }
        }
    }

    /** The parent: the first violation's text, or null when there was none. */
    String firstViolation() {
        if (get(data, violations) == 0) {
            return null;
        }
        byte[] text = new byte[messageSize];
        data.get(message, text);
        int length = 0;
        while (length < text.length && text[length] != 0) {
            length++;
        }
        return new String(text, 0, length, StandardCharsets.UTF_8);
    }
}
