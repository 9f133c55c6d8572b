package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.MutexKind;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The held list of {@link RobustThread}: its owner changes it, and a thread closing a mapping asks, from
 * outside, whether it holds a record of that mapping ({@link RobustThread#holdsIn}). The answer must never be
 * "no" while the owner holds one, whatever the owner is doing to the list at that moment; a wrong "no" lets a
 * held record be unmapped.
 */
class RobustThreadTest {

    private static MappedMemory memory(int size) {
        return MappedMemory.of(NativeMemory.allocateAligned(size, 64));
    }

    @Test
    void holdsInFollowsTheHeldList() {
        MappedMemory first = memory(256);
        MappedMemory second = memory(256);
        RobustThread thread = new RobustThread(1, memory(64), 8, false);
        MutexRecord a = new MutexRecord(first, 0, MutexKind.NORMAL);
        MutexRecord b = new MutexRecord(second, 64, MutexKind.NORMAL);
        assertFalse(thread.holdsIn(first));
        thread.ensureCapacity();
        thread.push(a);
        thread.ensureCapacity();
        thread.push(b);
        assertTrue(thread.holdsIn(first));
        assertTrue(thread.holdsIn(second));
        thread.remove(0);
        assertFalse(thread.holdsIn(first));
        assertTrue(thread.holdsIn(second));
        thread.remove(0);
        assertFalse(thread.holdsIn(second));
    }

    /**
     * The owner cycles through held lists that always contain a record of {@code watched} (B1 or B2) while it
     * removes entries below them, which moves them along the list; another thread asks {@code holdsIn(watched)}
     * all the while and must never be told no.
     */
    @Test
    void aRecordMovingAlongTheListIsNeverMissed() throws Exception {
        MappedMemory other = memory(256);
        MappedMemory watched = memory(256);
        MutexRecord a = new MutexRecord(other, 0, MutexKind.NORMAL);
        MutexRecord b1 = new MutexRecord(watched, 0, MutexKind.NORMAL);
        MutexRecord b2 = new MutexRecord(watched, 64, MutexKind.NORMAL);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong cycles = new AtomicLong();
        RobustThread[] owner = new RobustThread[1];
        Thread writer = new Thread(() -> {
            RobustThread thread = new RobustThread(1, memory(64), 8, false);
            push(thread, a);
            push(thread, b1);
            synchronized (owner) {
                owner[0] = thread;
                owner.notifyAll();
            }
            // [A, B1] -> [B1] -> [B1, B2] -> [B2] -> [B2, A] -> [B2, A, B1] -> [A, B1]: B1 or B2 at every step.
            while (!stop.get()) {
                thread.remove(0);
                push(thread, b2);
                thread.remove(0);
                push(thread, a);
                push(thread, b1);
                thread.remove(0);
                cycles.incrementAndGet();
            }
        }, "held-list-writer");
        writer.start();
        RobustThread thread;
        synchronized (owner) {
            while (owner[0] == null) {
                owner.wait();
            }
            thread = owner[0];
        }
        long misses = 0;
        long asked = 0;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        try {
            while (System.nanoTime() - end < 0) {
                for (int i = 0; i < 1000; i++) {
                    if (!thread.holdsIn(watched)) {
                        misses++;
                    }
                }
                asked += 1000;
            }
        } finally {
            stop.set(true);
            writer.join();
        }
        assertTrue(cycles.get() > 1000, "the owner ran " + cycles.get() + " cycles");
        assertEquals(0, misses, "holdsIn said no " + misses + " times in " + asked + " while a record of the"
                + " memory was held (" + cycles.get() + " cycles of the owner)");
    }

    private static void push(RobustThread thread, MutexRecord record) {
        thread.ensureCapacity();
        thread.push(record);
    }
}
