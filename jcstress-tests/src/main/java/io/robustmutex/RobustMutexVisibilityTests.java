/*
 * How to run (after `mvn -B -q install -DskipTests` and `mvn -B -q package -pl jcstress-tests`):
 *
 *   java -jar jcstress-tests/target/jcstress.jar -t RobustMutexVisibilityTests
 *
 * What it checks, on the real kernel, for both kinds: the memory effects of RobustMutex ("a successful
 * acquisition has the memory effects of a volatile read of the futex word, and a release those of a volatile
 * write"). A writer takes the mutex with acquire() (try-with-resources) and writes two longs of mapped shared
 * memory (the SharedMemory buffer the mutex protects) and two plain fields, interleaved; a reader takes it with
 * lock() and reads them back in the opposite order. The reader sees all four writes or none: a half update means
 * it was inside with the writer, or the writes were not published by the release.
 *
 *   W_R   writer acquire() / reader lock()
 */
package io.robustmutex;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import io.robustmutex.jcstress.MutexPool;
import java.nio.ByteBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.JCStressMeta;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/** Visibility of writes made under a {@link RobustMutex}, to mapped memory and to plain fields. */
public class RobustMutexVisibilityTests {

    /** Results: (mapped x, mapped y, plain a, plain b) as read by the reader. */
    @Outcome(id = "0, 0, 0, 0", expect = ACCEPTABLE, desc = "the reader went first")
    @Outcome(id = "1, 1, 1, 1", expect = ACCEPTABLE, desc = "the writer went first; all its writes are visible")
    @Outcome(expect = FORBIDDEN, desc = "a half update: the reader overlapped the writer, or missed some writes")
    public static class AllOrNothing {
    }

    /** A mutex no other live state uses, the two mapped longs it protects, and two plain fields. */
    public static class DataState {
        final RobustMutex mutex;
        final ByteBuffer data;
        final int x;
        final int y;
        int a;
        int b;

        DataState(MutexKind kind) {
            MutexPool.Slot slot = MutexPool.shared(kind).next();
            mutex = slot.mutex();
            data = slot.buffer();
            x = slot.offset();
            y = slot.offset() + 8;
        }

        void write() {
            try (Acquisition held = mutex.acquire()) {
                if (held.ownerDied()) {
                    throw new IllegalStateException("acquire() reported an owner death, yet nobody died");
                }
                data.putLong(x, 1);
                a = 1;
                data.putLong(y, 1);
                b = 1;
            }
        }

        void read(IIII_Result r) {
            mutex.lock();
            try {
                r.r4 = b;
                r.r2 = (int) data.getLong(y);
                r.r3 = a;
                r.r1 = (int) data.getLong(x);
            } finally {
                mutex.unlock();
            }
        }
    }

    /** A PI mutex. */
    @State
    public static class PiState extends DataState {
        public PiState() {
            super(MutexKind.PI);
        }
    }

    /** A NORMAL mutex. */
    @State
    public static class NormalState extends DataState {
        public NormalState() {
            super(MutexKind.NORMAL);
        }
    }

    /** PI: writer acquire() against reader lock(). */
    @JCStressTest
    @JCStressMeta(AllOrNothing.class)
    public static class PI_W_R {
        @Actor
        public void writer(PiState s) {
            s.write();
        }

        @Actor
        public void reader(PiState s, IIII_Result r) {
            s.read(r);
        }
    }

    /** NORMAL: writer acquire() against reader lock(). */
    @JCStressTest
    @JCStressMeta(AllOrNothing.class)
    public static class NORMAL_W_R {
        @Actor
        public void writer(NormalState s) {
            s.write();
        }

        @Actor
        public void reader(NormalState s, IIII_Result r) {
            s.read(r);
        }
    }
}
