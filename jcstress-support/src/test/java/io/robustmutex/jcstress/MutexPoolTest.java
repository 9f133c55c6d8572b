package io.robustmutex.jcstress;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.MutexSnapshot;
import io.robustmutex.MutexState;
import io.robustmutex.RobustMutex;
import io.robustmutex.jcstress.MutexPool.Placement;
import io.robustmutex.jcstress.MutexPool.Slot;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** The JCStress fixture on the real kernel: slots, their data, the files, and the mutexes between threads. */
class MutexPoolTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    static Stream<Arguments> kindsAndPlacements() {
        List<Arguments> all = new ArrayList<>();
        for (MutexKind kind : MutexKind.values()) {
            for (Placement placement : Placement.values()) {
                all.add(Arguments.of(kind, placement));
            }
        }
        return all.stream();
    }

    private MutexPool pool(MutexKind kind, Placement placement, int slots, int dataBytes) {
        return MutexPool.builder(kind).placement(placement).slots(slots).dataBytesPerSlot(dataBytes).directory(dir)
                .build();
    }

    /** Every slot once in each window of slots() calls, in turn, each with its own mutex and bytes. */
    @ParameterizedTest
    @MethodSource("kindsAndPlacements")
    void noSlotRepeatsWithinTheWindow(MutexKind kind, Placement placement) {
        int slots = 100;
        try (MutexPool pool = pool(kind, placement, slots, 24)) {
            for (int round = 0; round < 3; round++) {
                Set<Integer> indexes = new HashSet<>();
                Set<RobustMutex> mutexes = Collections.newSetFromMap(new IdentityHashMap<>());
                Set<Integer> offsets = new HashSet<>();
                for (int i = 0; i < slots; i++) {
                    Slot slot = pool.next();
                    assertEquals(i, slot.index(), "round-robin order");
                    indexes.add(slot.index());
                    mutexes.add(slot.mutex());
                    offsets.add(slot.offset());
                    assertEquals(kind, slot.mutex().kind());
                    assertEquals(0, slot.offset() % 64, "data starts on a cache line");
                }
                assertEquals(slots, indexes.size());
                assertEquals(slots, mutexes.size());
                assertEquals(slots, offsets.size());
            }
        }
    }

    /** Threads taking slots at once still get every slot once per window. */
    @Test
    void concurrentCallersShareOutTheWindow() throws Exception {
        int slots = 4000;
        int threads = 4;
        try (MutexPool pool = pool(MutexKind.PI, Placement.MUTEX_FILE, slots, 8)) {
            Set<Integer> taken = ConcurrentHashMap.newKeySet();
            AtomicInteger repeats = new AtomicInteger();
            CountDownLatch start = new CountDownLatch(1);
            List<CompletableFuture<Void>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                done.add(start(() -> {
                    start.await();
                    for (int i = 0; i < slots / threads; i++) {
                        if (!taken.add(pool.next().index())) {
                            repeats.incrementAndGet();
                        }
                    }
                    return null;
                }));
            }
            start.countDown();
            for (CompletableFuture<Void> future : done) {
                future.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            }
            assertEquals(0, repeats.get());
            assertEquals(slots, taken.size());
        }
    }

    /** A slot's data is its own, and zero when handed out again whatever the last user left there. */
    @ParameterizedTest
    @MethodSource("kindsAndPlacements")
    void dataIsZeroedAndSeparate(MutexKind kind, Placement placement) {
        int slots = 3;
        int bytes = 21; // not a multiple of 8: the tail is zeroed byte by byte
        try (MutexPool pool = pool(kind, placement, slots, bytes)) {
            List<Slot> first = new ArrayList<>();
            for (int i = 0; i < slots; i++) {
                Slot slot = pool.next();
                ByteBuffer data = slot.data();
                assertEquals(bytes, data.capacity());
                assertEquals(ByteOrder.LITTLE_ENDIAN, data.order());
                assertTrue(data.isDirect(), "mapped memory");
                assertAllZero(data);
                first.add(slot);
            }
            // Fill each slot's data with its own pattern, then check that nobody else's changed.
            for (Slot slot : first) {
                ByteBuffer data = slot.data();
                for (int b = 0; b < bytes; b++) {
                    data.put(b, (byte) (slot.index() + 1));
                }
            }
            for (Slot slot : first) {
                ByteBuffer data = slot.data();
                ByteBuffer whole = slot.buffer();
                for (int b = 0; b < bytes; b++) {
                    assertEquals((byte) (slot.index() + 1), data.get(b), "slot " + slot.index() + " byte " + b);
                    assertEquals(data.get(b), whole.get(slot.offset() + b), "data() is buffer() from offset()");
                }
            }
            for (int i = 0; i < slots; i++) {
                Slot again = pool.next();
                assertEquals(i, again.index());
                assertAllZero(again.data());
            }
        }
    }

    /** The shared pools' defaults. */
    @Test
    void sharedPoolsAreOnePerKind() throws Exception {
        for (MutexKind kind : MutexKind.values()) {
            MutexPool pool = MutexPool.shared(kind);
            assertSame(pool, MutexPool.shared(kind));
            assertEquals(kind, pool.kind());
            assertEquals(MutexPool.DEFAULT_SLOTS, pool.slots());
            assertEquals(MutexPool.DEFAULT_DATA_BYTES, pool.dataBytesPerSlot());
            assertEquals(Placement.MUTEX_FILE, pool.placement());
            assertThrows(UnsupportedOperationException.class, pool::close);
            Slot slot = pool.next();
            assertAllZero(slot.data());
            slot.mutex().lock();
            slot.mutex().unlock();
        }
        assertNotSame(MutexPool.shared(MutexKind.PI), MutexPool.shared(MutexKind.NORMAL));
        Path shm = Path.of("/dev/shm");
        if (Files.isDirectory(shm)) {
            String prefix = "robust-mutex-pool-" + ProcessHandle.current().pid() + "-";
            try (Stream<Path> entries = Files.list(shm)) {
                assertEquals(List.of(), entries.filter(p -> p.getFileName().toString().startsWith(prefix)).toList());
            }
        }
    }

    /** The files and the private directory are gone as soon as the pool is built. */
    @ParameterizedTest
    @EnumSource(Placement.class)
    void nothingIsLeftInTheDirectory(Placement placement) throws Exception {
        try (MutexPool pool = pool(MutexKind.PI, placement, 1000, 64)) {
            assertDirectoryEmpty();
            Slot slot = pool.next();
            try (Acquisition held = slot.mutex().acquire()) {
                slot.data().putLong(0, 7);
                assertFalse(held.ownerDied());
            }
            assertDirectoryEmpty();
        }
    }

    /** A build that fails leaves nothing behind either. */
    @Test
    void aFailedBuildLeavesNothing() throws Exception {
        // More mutexes than a mutex file holds: refused by the library once the private directory exists.
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class,
                () -> pool(MutexKind.PI, Placement.MUTEX_FILE, 40_000_000, 0));
        assertTrue(tooMany.getMessage().contains("40000000"), tooMany.getMessage());
        assertDirectoryEmpty();
        // Too much data for one region: refused before anything is made.
        assertThrows(IllegalArgumentException.class, () -> pool(MutexKind.PI, Placement.SHARED_MEMORY, 1 << 24, 4096));
        assertDirectoryEmpty();
    }

    /** Two threads contend for a pooled mutex, one blocks in the kernel meanwhile, and no increment is lost. */
    @ParameterizedTest
    @MethodSource("kindsAndPlacements")
    void mutexesWorkAcrossTwoThreads(MutexKind kind, Placement placement) throws Exception {
        try (MutexPool pool = pool(kind, placement, 8, 16)) {
            Slot slot = pool.next();
            RobustMutex mutex = slot.mutex();
            ByteBuffer data = slot.data();

            // Held here: the other thread blocks until it is released.
            mutex.lock();
            CompletableFuture<Boolean> blocked = start(() -> {
                boolean gotIt = mutex.tryLock(1, TimeUnit.MINUTES);
                if (gotIt) {
                    data.putLong(8, data.getLong(8) + 1);
                    mutex.unlock();
                }
                return gotIt;
            });
            await().atMost(PATIENCE).until(() -> mutex.snapshot().waiters());
            assertFalse(blocked.isDone());
            mutex.unlock();
            assertTrue(blocked.get(PATIENCE.toSeconds(), TimeUnit.SECONDS));

            int iterations = 20_000;
            Callable<Void> incrementer = () -> {
                for (int i = 0; i < iterations; i++) {
                    mutex.lock();
                    try {
                        data.putLong(0, data.getLong(0) + 1);
                    } finally {
                        mutex.unlock();
                    }
                }
                return null;
            };
            CompletableFuture<Void> one = start(incrementer);
            CompletableFuture<Void> two = start(incrementer);
            one.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            two.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            assertEquals(2L * iterations, data.getLong(0));
            assertEquals(1, data.getLong(8));
            assertFalse(mutex.snapshot().locked());
        }
    }

    /** A slot still held when it comes round again is refused, not handed to a second state. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void aHeldSlotIsNotHandedOutAgain(MutexKind kind) throws Exception {
        try (MutexPool pool = pool(kind, Placement.MUTEX_FILE, 2, 8)) {
            Slot slot = pool.next();
            CountDownLatch release = new CountDownLatch(1);
            CountDownLatch holding = new CountDownLatch(1);
            CompletableFuture<Void> holder = start(() -> {
                slot.mutex().lock();
                try {
                    holding.countDown();
                    release.await();
                } finally {
                    slot.mutex().unlock();
                }
                return null;
            });
            assertTrue(holding.await(PATIENCE.toSeconds(), TimeUnit.SECONDS));
            pool.next();
            IllegalStateException otherThread = assertThrows(IllegalStateException.class, pool::next);
            assertTrue(otherThread.getMessage().contains("slot 0"), otherThread.getMessage());
            release.countDown();
            holder.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);

            pool.next();
            Slot mine = pool.next();
            mine.mutex().lock();
            try {
                pool.next();
                IllegalStateException thisThread = assertThrows(IllegalStateException.class, pool::next);
                assertTrue(thisThread.getMessage().contains("this thread"), thisThread.getMessage());
            } finally {
                mine.mutex().unlock();
            }
            assertEquals(0, mine.mutex().getHoldCount());
        }
    }

    /** An owner death, or a mutex left not recoverable, is cleared before the slot is handed out again. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void anEarlierUsersDeathIsRepaired(MutexKind kind) throws Exception {
        try (MutexPool pool = pool(kind, Placement.SHARED_MEMORY, 1, 8)) {
            RobustMutex mutex = pool.next().mutex();
            mutex.setRecoveryHandler(m -> {
                throw new AssertionError("a recovery handler of an earlier state ran");
            });
            // The thread ends holding the mutex: the kernel releases it and marks the owner dead.
            start(() -> {
                mutex.acquire();
                return null;
            }).get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            await().atMost(PATIENCE).until(() -> mutex.snapshot().ownerDied());
            Slot afterDeath = pool.next();
            assertSame(mutex, afterDeath.mutex());
            assertUsable(afterDeath.mutex());
            afterDeath.mutex().lock(); // no handler, so an unrepaired death would throw here
            afterDeath.mutex().unlock();

            // Released after a death without being marked consistent: not recoverable.
            start(() -> {
                mutex.acquire();
                return null;
            }).get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
            await().atMost(PATIENCE).until(() -> mutex.snapshot().ownerDied());
            try (Acquisition held = mutex.acquire()) {
                assertTrue(held.ownerDied());
            }
            assertEquals(MutexState.NOT_RECOVERABLE, mutex.snapshot().state());
            assertUsable(pool.next().mutex());
        }
    }

    @Test
    void badSettingsAreRefused() {
        MutexPool.Builder builder = MutexPool.builder(MutexKind.PI);
        assertThrows(IllegalArgumentException.class, () -> builder.slots(0));
        assertThrows(IllegalArgumentException.class, () -> builder.dataBytesPerSlot(-1));
        assertThrows(NullPointerException.class, () -> builder.placement(null));
        assertThrows(NullPointerException.class, () -> builder.directory(null));
        assertThrows(NullPointerException.class, () -> MutexPool.builder(null));
        assertThrows(NullPointerException.class, () -> MutexPool.shared(null));
    }

    /** No data at all: the slots are mutexes alone. */
    @Test
    void slotsWithoutData() {
        try (MutexPool pool = pool(MutexKind.NORMAL, Placement.MUTEX_FILE, 4, 0)) {
            Slot slot = pool.next();
            assertEquals(0, slot.length());
            assertEquals(0, slot.data().capacity());
            slot.mutex().lock();
            slot.mutex().unlock();
        }
    }

    /** After close() the pool's mutexes are no longer usable. */
    @Test
    void closeEndsThePool() {
        MutexPool pool = pool(MutexKind.PI, Placement.MUTEX_FILE, 4, 8);
        RobustMutex mutex = pool.next().mutex();
        pool.close();
        assertThrows(IllegalStateException.class, mutex::lock);
        assertThrows(IllegalStateException.class, pool::next);
    }

    private static void assertUsable(RobustMutex mutex) {
        MutexSnapshot snapshot = mutex.snapshot();
        assertEquals(MutexState.CONSISTENT, snapshot.state(), snapshot.toString());
        assertFalse(snapshot.locked(), snapshot.toString());
        assertFalse(snapshot.ownerDied(), snapshot.toString());
    }

    private static void assertAllZero(ByteBuffer data) {
        for (int b = 0; b < data.capacity(); b++) {
            assertEquals(0, data.get(b), "byte " + b);
        }
    }

    private void assertDirectoryEmpty() throws Exception {
        try (Stream<Path> entries = Files.list(dir)) {
            assertEquals(List.of(), entries.toList());
        }
    }

    /** Runs {@code body} on a new platform thread, which ends after it. */
    private static <T> CompletableFuture<T> start(Callable<T> body) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                result.complete(body.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        }, "mutex-pool-test");
        thread.setDaemon(true);
        thread.start();
        return result;
    }
}
