package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import io.robustmutex.testing.ChildProcess;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing a mapping: between the store of its control word and the end of the process-wide barrier, a
 * thread about to lock may have stored its pending slot without that store being visible yet, so nothing may
 * unmap the region in that time, on any thread; and if the barrier fails, never. Each case runs in a child JVM
 * (the {@link #main} below), which replaces the barrier with one it can stop or make fail, so that the
 * library's process-wide state of this JVM is left alone.
 */
class MappedRegionClosingTest {

    @TempDir
    Path dir;

    /** Another thread retrying closing regions while the closer is inside the barrier unmaps nothing. */
    @Test
    void nothingIsUnmappedBeforeTheBarrierHasPassed() {
        assertEquals(List.of("DURING unmapped=0 mapped=1", "AFTER mapped=0"), run("block"));
    }

    /** A failed barrier leaves the mapping for good; the handle's close still succeeds. */
    @Test
    void aFailedBarrierLeavesTheMapping() {
        assertEquals(List.of("CLOSED", "RETRY unmapped=0 mapped=1"), run("fail"));
    }

    /**
     * A lock that stored its pending slot before the close, and so kept the region mapped when the closer tried
     * to unmap it, and is then refused because the region is closing, lets the region go: it may have been the
     * last thing naming it, and nothing else may ever try again.
     */
    @Test
    void aLockRefusedByAClosingRegionLetsItGo() {
        assertEquals(List.of("CLOSED mapped=1", "REFUSED", "AFTER mapped=0"), run("refused"));
    }

    private List<String> run(String mode) {
        Path path = dir.resolve(mode + ".region");
        try (ChildProcess child = ChildProcess.start(MappedRegionClosingTest.class, mode, path.toString())) {
            int exit = child.waitFor(Duration.ofSeconds(60));
            assertEquals(0, exit, () -> "child exited with " + exit + "; stdout=" + child.lines() + ", stderr="
                    + child.errorLines());
            return child.lines();
        }
    }

    /**
     * The child's side.
     *
     * @param args the mode ({@code block} or {@code fail}) and the region's path
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[1]);
        if (args[0].equals("block")) {
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch proceed = new CountDownLatch(1);
            Membarrier[] real = new Membarrier[1];
            real[0] = MappedRegion.useMembarrier(new Membarrier(() -> {
                entered.countDown();
                try {
                    if (!proceed.await(60, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("never told to proceed");
                    }
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                real[0].all();
            }));
            SharedMemory region = SharedMemory.map(path, 4096);
            Thread closer = new Thread(region::close, "closer");
            closer.start();
            if (!entered.await(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the closer never reached the barrier");
            }
            int unmapped = MappedRegion.retryClosing();
            System.out.println("DURING unmapped=" + unmapped + " mapped=" + MappedRegion.mapped());
            proceed.countDown();
            closer.join(TimeUnit.SECONDS.toMillis(60));
            System.out.println("AFTER mapped=" + MappedRegion.mapped());
        } else if (args[0].equals("refused")) {
            SharedMemory region = SharedMemory.map(path, 4096);
            RobustMutex mutex = region.mutex(0, MutexKind.NORMAL);
            mutex.lock();
            mutex.unlock();
            MutexRecord record = (MutexRecord) field(mutex, "record");
            RobustMutexProtocol protocol = (RobustMutexProtocol) field(mutex, "protocol");
            RobustThread thread = protocol.kernel().currentThreadIfRegistered();
            // The first step of a lock, taken before the close: the pending slot names the record.
            thread.head.putLongRelease(thread.pendingOffset, record.entryPointer);
            Thread closer = new Thread(region::close, "closer");
            closer.start();
            closer.join(TimeUnit.SECONDS.toMillis(60));
            System.out.println("CLOSED mapped=" + MappedRegion.mapped());
            // The rest of that lock (it passed the handle's open check before the close): refused.
            try {
                protocol.lockFast(record, RobustMutexProtocol.WAIT_FOREVER);
                System.out.println("LOCKED");
            } catch (IllegalStateException e) {
                System.out.println("REFUSED");
            }
            System.out.println("AFTER mapped=" + MappedRegion.mapped());
        } else {
            MappedRegion.useMembarrier(new Membarrier(() -> {
                throw new IllegalStateException("membarrier refused");
            }));
            SharedMemory region = SharedMemory.map(path, 4096);
            try {
                region.close();
                System.out.println("CLOSED");
            } catch (RuntimeException e) {
                System.out.println("THREW " + e);
            }
            int unmapped = MappedRegion.retryClosing();
            System.out.println("RETRY unmapped=" + unmapped + " mapped=" + MappedRegion.mapped());
        }
    }

    private static Object field(Object owner, String name) throws ReflectiveOperationException {
        Field field = owner.getClass().getDeclaredField(name);
        field.setAccessible(true);
        return field.get(owner);
    }
}
