/*
 * An example of a JCStress test of your own code that uses robust-mutex, written as a user of the library would
 * write it (public API only, in a package of its own): the code under test is SharedCounter, a counter kept in
 * shared memory next to the robust mutex that guards it. Each JCStress state takes a mutex and its data from the
 * JVM's pool (MutexPool, in robust-mutex-jcstress-support), instead of creating a file per state.
 *
 * How to run (after `mvn -B -q package -DskipTests`):
 *
 *   java -jar jcstress-tests/target/jcstress.jar -t UserCounter
 *
 * Two actors increment the counter at once; then the arbiter reads it. 2 means both increments counted; 1 means
 * one was lost: both actors read the counter before either wrote it back, i.e. both were inside the mutex at once.
 */
package io.robustmutex.example;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.jcstress.MutexPool;
import java.nio.ByteBuffer;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.J_Result;

/** Two increments of a {@link SharedCounter} at once: neither is lost. */
@JCStressTest
@Description("An example of a JCStress test of user code: two increments of a counter guarded by a pooled mutex.")
@Outcome(id = "2", expect = ACCEPTABLE, desc = "both increments counted")
@Outcome(id = "1", expect = FORBIDDEN, desc = "an increment was lost: both actors were inside the mutex at once")
@Outcome(expect = FORBIDDEN, desc = "anything else: the counter did not start at zero, or was corrupted")
@State
public class UserCounterExampleTest {

    /**
     * The code under test, as it might appear in an application: a long in shared memory, guarded by a robust
     * mutex. It reads and writes the value in two steps, so only the mutex keeps two increments apart.
     */
    public static final class SharedCounter {
        private final RobustMutex mutex;
        private final ByteBuffer data;
        private final int offset;

        /**
         * A counter at {@code offset} in {@code data}, guarded by {@code mutex}.
         *
         * @param mutex the mutex
         * @param data the mapped shared memory holding the counter
         * @param offset where the counter's 8 bytes start
         */
        public SharedCounter(RobustMutex mutex, ByteBuffer data, int offset) {
            this.mutex = mutex;
            this.data = data;
            this.offset = offset;
        }

        /**
         * Adds one.
         *
         * @return the new value
         */
        public long increment() {
            try (Acquisition held = mutex.acquire()) {
                if (held.ownerDied()) {
                    // A process died mid-increment: the counter is still a whole long, so it is usable as it is.
                    held.markConsistent();
                }
                long value = data.getLong(offset) + 1;
                data.putLong(offset, value);
                return value;
            }
        }

        /**
         * The current value.
         *
         * @return the value
         */
        public long get() {
            try (Acquisition held = mutex.acquire()) {
                if (held.ownerDied()) {
                    held.markConsistent();
                }
                return data.getLong(offset);
            }
        }
    }

    // The state: a mutex that no other live state uses, and its data, zeroed.
    private final MutexPool.Slot slot = MutexPool.shared(MutexKind.PI).next();
    private final SharedCounter counter = new SharedCounter(slot.mutex(), slot.data(), 0);

    @Actor
    public void actor1() {
        counter.increment();
    }

    @Actor
    public void actor2() {
        counter.increment();
    }

    @Arbiter
    public void arbiter(J_Result r) {
        r.r1 = counter.get();
    }
}
