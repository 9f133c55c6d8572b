package io.robustmutex.model;

import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The platform threads that carry simulated threads, kept for reuse: an exploration of schedules builds a
 * fresh model, with fresh simulated threads, thousands of times, and starting an OS thread for each one costs
 * more than running its steps. A carrier runs one simulated thread's loop at a time and returns to the pool
 * when that loop ends; idle carriers end after a minute.
 */
final class CarrierPool {

    private static final long IDLE_SECONDS = 60;
    private static final AtomicInteger NAMES = new AtomicInteger();
    private static final SynchronousQueue<Runnable> HANDOFF = new SynchronousQueue<>();

    private CarrierPool() {
    }

    /**
     * Runs a carrier loop on an idle pooled thread, or on a new one.
     *
     * @param loop the simulated thread's carrier loop
     * @param name a name for the carrier while it runs the loop
     */
    static void start(Runnable loop, String name) {
        Runnable named = () -> {
            Thread current = Thread.currentThread();
            String idleName = current.getName();
            current.setName(name);
            try {
                loop.run();
            } finally {
                KernelModel.CURRENT.remove();
                // The simulated thread's interrupt status must not leak into the next one.
                Thread.interrupted();
                current.setName(idleName);
            }
        };
        if (!HANDOFF.offer(named)) {
            Thread carrier = new Thread(() -> serve(named), "model-carrier-" + NAMES.incrementAndGet());
            carrier.setDaemon(true);
            carrier.start();
        }
    }

    private static void serve(Runnable first) {
        Runnable next = first;
        while (next != null) {
            next.run();
            try {
                next = HANDOFF.poll(IDLE_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
