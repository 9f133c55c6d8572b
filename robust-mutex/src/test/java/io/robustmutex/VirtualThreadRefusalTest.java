package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledForJreRange;
import org.junit.jupiter.api.condition.JRE;
import org.junit.jupiter.api.io.TempDir;

/** Virtual threads are refused: a robust mutex belongs to an OS thread. Runs on JDK 21+ (CI runs JDK 25). */
@EnabledForJreRange(min = JRE.JAVA_21, disabledReason = "virtual threads exist from JDK 21")
class VirtualThreadRefusalTest {

    @TempDir
    Path dir;

    private static Thread startVirtual(Runnable body) throws Exception {
        Method ofVirtual = Thread.class.getMethod("ofVirtual");
        Object builder = ofVirtual.invoke(null);
        // Thread.Builder is public; its implementation class is not.
        Method start = Class.forName("java.lang.Thread$Builder").getMethod("start", Runnable.class);
        return (Thread) start.invoke(builder, body);
    }

    /** Every acquisition entry point refuses a virtual thread with a message saying what to do. */
    @Test
    void virtualThreadsAreRefused() throws Exception {
        try (MutexFile file = MutexFile.open(dir.resolve("virtual.mutex"), 1)) {
            RobustMutex mutex = file.mutex(0);
            CompletableFuture<Throwable> failure = new CompletableFuture<>();
            Thread thread = startVirtual(() -> {
                try {
                    mutex.lock();
                    failure.complete(null);
                } catch (Throwable t) {
                    failure.complete(t);
                }
            });
            Throwable t = failure.get(60, TimeUnit.SECONDS);
            thread.join(60_000);
            assertTrue(t instanceof UnsupportedOperationException, String.valueOf(t));
            assertTrue(t.getMessage().contains("platform thread"), t.getMessage());
            assertEquals(false, mutex.snapshot().locked());
        }
    }
}
