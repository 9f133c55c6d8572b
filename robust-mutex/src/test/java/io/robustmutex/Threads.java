package io.robustmutex;

import io.robustmutex.testing.ChildProcess;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Test helpers for running code on fresh platform threads, with bounded waits. */
final class Threads {

    private Threads() {
    }

    /** Starts {@code body} on a new platform thread; the future completes with its result. */
    static <T> CompletableFuture<T> start(String name, Callable<T> body) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                result.complete(body.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
        return result;
    }

    /** Runs {@code body} on a new platform thread that then exits, and returns its result. */
    static <T> T runToEnd(String name, Callable<T> body) throws Exception {
        return get(start(name, body));
    }

    /** The future's result, waiting at most 60 seconds (times the scale of {@link ChildProcess#scaled}). */
    static <T> T get(CompletableFuture<T> future) throws Exception {
        try {
            return future.get(ChildProcess.scaled(Duration.ofSeconds(60)).toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        } catch (TimeoutException e) {
            throw new AssertionError("a test thread did not finish within "
                    + ChildProcess.scaled(Duration.ofSeconds(60)).toSeconds() + " s", e);
        }
    }
}
