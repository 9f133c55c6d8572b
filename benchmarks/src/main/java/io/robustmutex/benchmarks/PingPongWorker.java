package io.robustmutex.benchmarks;

import io.robustmutex.MutexKind;
import io.robustmutex.RobustCondition;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Locale;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;

/**
 * One of the two processes of the condition ping-pong: they hand a turn back and forth through two conditions of
 * one mutex, as {@code glibc_robust_bench pingpong} does with {@code pthread_cond_t}. The driver ({@code A})
 * sets the turn to the other, signals it and waits on its own condition until the turn comes back: one round
 * trip. The mutex is held throughout, except inside the waits. The echo ({@code B}) is the mirror, until the
 * driver sets the stop flag.
 *
 * <p>{@code PingPongWorker A|B REGION KIND [ROUND_TRIPS ROUNDS]}: the mutex is at offset 0 of the region, the
 * driver's condition at 64, the echo's at 128, the turn at 192 and the stop flag at 196; the records are
 * initialized before either process starts. The driver warms up for two seconds and at least 20,000 round
 * trips, then prints {@code NS} and the
 * nanoseconds per round trip of each round of {@code ROUND_TRIPS} round trips.
 */
public final class PingPongWorker {

    static final int MUTEX = 0;
    static final int TO_DRIVER = 64;
    static final int TO_ECHO = 128;
    static final int SIZE = 4096;
    private static final int TURN = 192;
    private static final int STOP = 196;
    private static final int DRIVER = 0;
    private static final int ECHO = 1;
    private static final int WARM_UP_SECONDS = 2;
    private static final int WARM_UP_ROUND_TRIPS = 20_000;

    private PingPongWorker() {
    }

    /**
     * Entry point.
     *
     * @param args role, region path, kind, and for the driver the round trips per round and the rounds
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        boolean driver = args[0].equals("A");
        try (SharedMemory region = SharedMemory.map(Path.of(args[1]), SIZE)) {
            RobustMutex mutex = region.mutex(MUTEX, MutexKind.valueOf(args[2]));
            RobustCondition toDriver = region.condition(TO_DRIVER, mutex);
            RobustCondition toEcho = region.condition(TO_ECHO, mutex);
            ByteBuffer data = region.buffer();
            if (driver) {
                System.out.println("NS " + drive(mutex, toDriver, toEcho, data, Integer.parseInt(args[3]),
                        Integer.parseInt(args[4])));
            } else {
                echo(mutex, toDriver, toEcho, data);
                System.out.println("DONE");
            }
        }
    }

    private static String drive(RobustMutex mutex, RobustCondition toDriver, RobustCondition toEcho,
            ByteBuffer data, int roundTrips, int rounds) throws InterruptedException {
        StringJoiner results = new StringJoiner(" ");
        mutex.lock();
        try {
            // Warm-up, not counted: long enough for the JIT to compile both sides' paths on a busy machine.
            long warmUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(WARM_UP_SECONDS);
            for (int done = 0; done < WARM_UP_ROUND_TRIPS || System.nanoTime() - warmUntil < 0; done += 1000) {
                roundTrips(toDriver, toEcho, data, 1000);
            }
            for (int round = 0; round < rounds; round++) {
                long start = System.nanoTime();
                roundTrips(toDriver, toEcho, data, roundTrips);
                results.add(String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / (double) roundTrips));
            }
            data.putInt(STOP, 1);
            data.putInt(TURN, ECHO);
            toEcho.signal();
        } finally {
            mutex.unlock();
        }
        return results.toString();
    }

    private static void roundTrips(RobustCondition toDriver, RobustCondition toEcho, ByteBuffer data, int count)
            throws InterruptedException {
        for (int i = 0; i < count; i++) {
            data.putInt(TURN, ECHO);
            toEcho.signal();
            while (data.getInt(TURN) != DRIVER) {
                toDriver.await();
            }
        }
    }

    private static void echo(RobustMutex mutex, RobustCondition toDriver, RobustCondition toEcho, ByteBuffer data)
            throws InterruptedException {
        mutex.lock();
        try {
            while (true) {
                while (data.getInt(TURN) != ECHO) {
                    toEcho.await();
                }
                if (data.getInt(STOP) != 0) {
                    return;
                }
                data.putInt(TURN, DRIVER);
                toDriver.signal();
            }
        } finally {
            mutex.unlock();
        }
    }
}
