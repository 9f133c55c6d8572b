package io.robustmutex.model;

import io.robustmutex.Acquisition;
import io.robustmutex.RobustMutex;
import io.robustmutex.internal.ConditionProtocol;
import io.robustmutex.internal.ConditionRecord;
import io.robustmutex.internal.ConditionRecordDescriptor;
import io.robustmutex.internal.MutexRecord;
import io.robustmutex.internal.RobustMutexProtocol;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The condition scenarios whose schedules {@link ModelCheck} explores (its conditions table): waiters and a
 * signaller, each in its own process, sharing one mutex (offset 0), one condition record ({@link #CONDITION}) and
 * one word of data ({@link #DATA}) that the signaller changes with the mutex held, through the library's
 * condition protocol ({@link ConditionProtocol}) on the model's kernel.
 *
 * <ul>
 * <li>{@code signal}: W waits until the flag is set; S sets it and signals.</li>
 * <li>{@code signal-all}: W1 and W2 wait until the flag is set; S sets it and signals all.</li>
 * <li>{@code two-signals}: W1 and W2 each wait for a token and take it; S twice adds a token and signals
 *     one.</li>
 * </ul>
 *
 * <p>A waiter locks the mutex and, while the data says it must wait, waits on the condition with a deadline
 * {@link #GIVE_UP_RECHECKS} re-check intervals after the start (so that a waiter whose signaller died before it
 * signalled gives up instead of re-checking for ever), then takes what it waited for and unlocks. Every step
 * of the waits and signals is one memory access or one futex call, so the explorer interleaves them and kills
 * any actor before any of them, or while it sleeps in the kernel.
 *
 * <p>Checked, besides the monitor of {@link InterleavingScenarios.MutexWorld} (one owner at a time, the word
 * naming it; every death of a holder reported once, by the mutex or by the wait that re-acquires it, to the next
 * acquirer and no other; no waiter asleep for ever on a free mutex; a fresh thread takes the mutex at the end):
 * <ul>
 * <li>a wait returns holding the mutex (the word names the waiter, nobody else owns it);</li>
 * <li>bounded wake-up: a wait whose sequence moved (a signal was made after it counted itself) returns within
 *     {@link #LATENCY_BOUND_RECHECKS} re-check intervals of model time after that signal, whatever died;</li>
 * <li>the waiters hint is never below the number of threads asleep on the sequence (checked whenever nothing
 *     can run, after every death, at every signal and every return of a wait), and at the end it is at most
 *     the number of waiters killed inside a wait;</li>
 * <li>when the signaller survived, every surviving waiter got what it waited for;</li>
 * <li>at the end the record still works: a fresh waiter and a fresh signaller in new processes make one
 *     await/signal pair on it, and the wait returns signalled, woken by the signal itself (no model time
 *     passes).</li>
 * </ul>
 * A waiter found asleep on the sequence after it moved, when nothing else can run, is a lost wake-up that
 * only the bounded re-check heals: such schedules are counted as healed.
 */
final class ConditionScenarios {

    /** The condition record's offset in the shared object (the mutex record is at 0). */
    static final int CONDITION = ConditionRecordDescriptor.SIZE;
    /** The offset of the data the waiters wait for: the flag, or the number of tokens. */
    static final int DATA = 2 * ConditionRecordDescriptor.SIZE;
    /** A waiter gives up this many re-check intervals of model time after the start. */
    static final int GIVE_UP_RECHECKS = 3;
    /** The longest a wait may take to return after a signal moved its sequence, in re-check intervals. */
    static final int LATENCY_BOUND_RECHECKS = 2;
    /**
     * The re-check interval of {@link Variant#NO_RECHECK}: longer than any deadline of the scenarios, so that a
     * waiter looks at the sequence again only when a wake-up or its deadline ends its sleep.
     */
    static final long NO_RECHECK_NANOS = Long.MAX_VALUE / 4;

    /**
     * A scenario.
     *
     * @param waiters how many waiters
     * @param all whether the signaller signals all
     * @param rounds how many times the signaller adds to the data and signals
     * @param tokens whether each waiter takes one (tokens) or only looks (a flag)
     */
    record Scenario(int waiters, boolean all, int rounds, boolean tokens) {
    }

    /** The protocol as the library has it, or without the re-check, to show what the re-check heals. */
    enum Variant {
        /** The library's protocol. */
        AS_IS,
        /**
         * The waits of the condition (and the re-acquisitions of its mutex) with a re-check interval longer than
         * any deadline: a wake-up lost to a death is then lost until the waiter's deadline.
         */
        NO_RECHECK,
        /**
         * The signaller stores 0 into the waiters hint after each signal (a damaged record, or a protocol that
         * took a waiter off the hint for it): a positive control of the hint check.
         */
        HINT_CLEARED
    }

    private ConditionScenarios() {
    }

    /**
     * The scenarios, by name, in table order.
     *
     * @return the scenarios
     */
    static Map<String, Scenario> scenarios() {
        Map<String, Scenario> all = new LinkedHashMap<>();
        all.put("signal", new Scenario(1, false, 1, false));
        all.put("signal-all", new Scenario(2, true, 1, false));
        all.put("two-signals", new Scenario(2, false, 2, true));
        return all;
    }

    /** What the schedules of one row found, besides the explorer's report. */
    static final class Stats {
        /** Schedules in which a waiter slept on after its sequence moved, until a re-check woke it. */
        int conditionHealed;
        /** The longest a wait took to return after the signal that moved its sequence, in nanoseconds. */
        long maxLatency;
        /** Schedules in which a wait re-acquired the mutex from an owner that died holding it, and was told. */
        int waitToldOfDeath;
    }

    /**
     * The explorer's report and this table's own counts.
     *
     * @param report the explorer's report
     * @param conditionHealed schedules in which a waiter slept on after its sequence moved until a re-check woke it
     * @param maxLatencyNanos the longest a wait took to return after the signal that moved its sequence
     * @param recheckNanos the model's re-check interval, the unit of the bounds
     * @param waitToldOfDeath schedules in which a wait re-acquired the mutex from an owner that died holding it
     */
    record Result(ScheduleExplorer.Report report, int conditionHealed, long maxLatencyNanos, long recheckNanos,
            int waitToldOfDeath) {
    }

    /**
     * Explores a scenario's schedules.
     *
     * @param scenario the scenario
     * @param configuration the kind and the unlock path
     * @param variant the protocol's variant
     * @param bounds the bounds
     * @return what was found
     */
    static Result explore(Scenario scenario, ModelCheck.ExplorationConfiguration configuration, Variant variant,
            ScheduleExplorer.Bounds bounds) {
        Stats stats = new Stats();
        long[] recheck = new long[1];
        ScheduleExplorer.Report report = ScheduleExplorer.explore(() -> {
            ConditionWorld world = new ConditionWorld(scenario, configuration, variant, stats);
            recheck[0] = world.model().recheckNanos();
            return world;
        }, bounds);
        return new Result(report, stats.conditionHealed, stats.maxLatency, recheck[0], stats.waitToldOfDeath);
    }

    /** A world of waiters and a signaller sharing a mutex, a condition and a data word, and its monitor. */
    static final class ConditionWorld extends InterleavingScenarios.MutexWorld {
        private final Scenario scenario;
        private final Stats stats;
        private final Map<ModelThread, ConditionProtocol> protocols = new HashMap<>();
        private final Map<ModelThread, ConditionRecord> conditions = new HashMap<>();
        private final Map<ModelThread, MutexRecord> records = new HashMap<>();
        private final List<ModelThread> waiters = new ArrayList<>();
        private final ModelThread signaller;
        /** The sequence each waiter read when its current wait began; absent outside a wait. */
        private final Map<ModelThread, Integer> readSequence = new HashMap<>();
        /** When a signal that made the sequence this value began (model time). */
        private final Map<Integer, Long> signalTimes = new HashMap<>();
        private final Set<ModelThread> satisfied = new HashSet<>();
        private int killedWaiting;
        private boolean signallerDone;
        private boolean conditionHealed;
        private boolean waitToldOfDeath;
        private long maxLatency;

        ConditionWorld(Scenario scenario, ModelCheck.ExplorationConfiguration configuration, Variant variant,
                Stats stats) {
            super(configuration);
            this.scenario = scenario;
            this.stats = stats;
            for (int i = 1; i <= scenario.waiters(); i++) {
                waiters.add(actor(scenario.waiters() == 1 ? "W" : "W" + i));
            }
            signaller = actor("S");
            for (ModelThread actor : actors()) {
                ModelProcess process = actor.process();
                ModelRegion region = regionOf(process);
                RobustMutexProtocol mutexes = variant == Variant.NO_RECHECK
                        ? new RobustMutexProtocol(new ModelKernel(model, process), model.interruptSliceNanos(),
                                NO_RECHECK_NANOS)
                        : process.protocol();
                protocols.put(actor, new ConditionProtocol(mutexes));
                conditions.put(actor, region.condition(CONDITION));
                records.put(actor, region.mutexRecord(0));
            }
            long deadline = model.nanoTime() + GIVE_UP_RECHECKS * model.recheckNanos();
            for (ModelThread waiter : waiters) {
                begin(waiter, () -> waitFor(waiter, deadline));
            }
            begin(signaller, () -> {
                for (int round = 0; round < scenario.rounds(); round++) {
                    lock(signaller);
                    data(signaller, data(signaller) + 1);
                    signal(signaller);
                    if (variant == Variant.HINT_CLEARED) {
                        regionOf(signaller.process()).putInt(CONDITION + ConditionRecordDescriptor.WAITERS_OFFSET, 0);
                    }
                    unlock(signaller);
                }
                signallerDone = true;
            });
        }

        private int data(ModelThread self) {
            return regionOf(self.process()).getInt(DATA);
        }

        private void data(ModelThread self, int value) {
            regionOf(self.process()).putInt(DATA, value);
        }

        private int sequence() {
            return shm.view.getInt(CONDITION + ConditionRecordDescriptor.SEQUENCE_OFFSET);
        }

        private int hint() {
            return shm.view.getInt(CONDITION + ConditionRecordDescriptor.WAITERS_OFFSET);
        }

        /** The waiter's work: lock, wait while there is nothing for it (giving up at the deadline), unlock. */
        private void waitFor(ModelThread self, long deadline) {
            lock(self);
            while (true) {
                int data = data(self);
                if (data > 0) {
                    if (scenario.tokens()) {
                        data(self, data - 1);
                    }
                    satisfied.add(self);
                    break;
                }
                if (await(self, deadline) == ConditionProtocol.TIMED_OUT && data(self) == 0) {
                    break;
                }
            }
            unlock(self);
        }

        /** One wait, with the monitor's checks around it; returns its outcome. */
        private int await(ModelThread self, long deadline) {
            int read = sequence();
            readSequence.put(self, read);
            releasing(self);
            int result = protocols.get(self).await(conditions.get(self), records.get(self), deadline, false);
            readSequence.remove(self);
            boolean ownerDied = (result & ConditionProtocol.OWNER_DIED) != 0;
            acquired(self, ownerDied);
            if (ownerDied) {
                waitToldOfDeath = true;
                protocols.get(self).mutexes().markConsistent(records.get(self));
            }
            int now = sequence();
            if (now != read) {
                Long signalled = signalTimes.get(read + 1);
                if (signalled == null) {
                    violation("the sequence moved from " + read + " while " + self.name() + " waited, but no signal"
                            + " made it " + (read + 1));
                } else {
                    long latency = model.nanoTime() - signalled;
                    maxLatency = Math.max(maxLatency, latency);
                    if (latency > LATENCY_BOUND_RECHECKS * model.recheckNanos()) {
                        violation("slept through a signal: " + self.name() + "'s wait returned "
                                + latency / 1_000_000 + " ms after the signal that moved the sequence it read ("
                                + read + "), more than " + LATENCY_BOUND_RECHECKS + " re-check intervals");
                    }
                }
            }
            checkHint("when " + self.name() + "'s wait returned");
            return result & ConditionProtocol.OUTCOME_MASK;
        }

        private void signal(ModelThread self) {
            checkHint("when " + self.name() + " signalled");
            signalTimes.put(sequence() + 1, model.nanoTime());
            protocols.get(self).signal(conditions.get(self), records.get(self), scenario.all());
        }

        private int asleepOnCondition() {
            int asleep = 0;
            for (ModelThread actor : actors()) {
                if (onCondition(actor)) {
                    asleep++;
                }
            }
            return asleep;
        }

        private boolean onCondition(ModelThread actor) {
            KernelModel.Waiter waiter = actor.waiting;
            return actor.state() == ModelThread.State.BLOCKED && waiter != null && waiter.key.object() == shm
                    && waiter.key.offset() == CONDITION + ConditionRecordDescriptor.SEQUENCE_OFFSET;
        }

        private void checkHint(String when) {
            int asleep = asleepOnCondition();
            int hint = hint();
            if (hint < asleep) {
                violation("waiters hint too low: " + when + ", the hint is " + hint + " with " + asleep
                        + " thread(s) asleep on the sequence");
            }
        }

        @Override
        public void beforeDeath(ModelThread actor) {
            super.beforeDeath(actor);
            if (readSequence.remove(actor) != null) {
                killedWaiting++;
            }
        }

        @Override
        public void afterDeath(ModelThread actor) {
            checkHint("after " + actor.name() + "'s death");
        }

        @Override
        public void atQuiescence() {
            super.atQuiescence();
            checkHint("when nothing could run");
            int sequence = sequence();
            for (ModelThread actor : actors()) {
                Integer read = readSequence.get(actor);
                if (read != null && read != sequence && onCondition(actor)) {
                    if (actor.waiting.deadline == Long.MAX_VALUE) {
                        violation("lost wake-up: " + actor.name() + " is asleep without a timeout on a sequence"
                                + " that moved from " + read + " to " + sequence);
                    } else {
                        conditionHealed = true;
                    }
                }
            }
        }

        @Override
        public boolean healedLostWakeUp() {
            return super.healedLostWakeUp() || conditionHealed;
        }

        @Override
        public void finish() {
            if (conditionHealed) {
                stats.conditionHealed++;
            }
            if (waitToldOfDeath) {
                stats.waitToldOfDeath++;
            }
            stats.maxLatency = Math.max(stats.maxLatency, maxLatency);
            if (signallerDone) {
                for (ModelThread waiter : waiters) {
                    if (!waiter.isDead() && !satisfied.contains(waiter)) {
                        violation(waiter.name() + " gave up although the signaller made every signal");
                    }
                }
            }
            if (hint() > killedWaiting) {
                violation("waiters hint left at " + hint() + " with " + killedWaiting + " waiter(s) killed waiting");
            }
            super.finish();
            if (violations().isEmpty()) {
                laterPair();
            }
        }

        /** A fresh waiter and signaller, in new processes, make one await/signal pair on the record. */
        private void laterPair() {
            ModelThread waiter = model.newProcess().newThread("later-W");
            ModelThread signalling = model.newProcess().newThread("later-S");
            ConditionOps w = new ConditionOps(waiter);
            ConditionOps s = new ConditionOps(signalling);
            long deadline = model.nanoTime() + GIVE_UP_RECHECKS * model.recheckNanos();
            ModelTask<Integer> waited = waiter.start(() -> {
                Acquisition held = w.mutex.acquire();
                int result = w.protocol.await(w.condition, w.record, deadline, false);
                held.close();
                return result;
            });
            model.run(waiter);
            long signalled = model.nanoTime();
            ModelTask<?> signal = signalling.start(() -> {
                Acquisition held = s.mutex.acquire();
                s.protocol.signal(s.condition, s.record, false);
                held.close();
                return null;
            });
            model.runUntilQuiet();
            if (waited.outcome() != ModelTask.Outcome.COMPLETED || signal.outcome() != ModelTask.Outcome.COMPLETED) {
                violation("the condition is not usable afterwards: a later wait "
                        + describe(waited) + ", the signal " + describe(signal));
            } else if (waited.result() != ConditionProtocol.SIGNALLED || model.nanoTime() != signalled) {
                violation("the condition is not usable afterwards: a later wait returned " + waited.result()
                        + " " + (model.nanoTime() - signalled) / 1_000_000 + " ms after its signal (hint "
                        + hint() + ")");
            }
        }

        private static String describe(ModelTask<?> task) {
            return task.outcome() + (task.failure() == null ? "" : " (" + task.failure() + ")");
        }

        /** A thread's handles on the mutex and the condition. */
        private final class ConditionOps {
            final RobustMutex mutex;
            final MutexRecord record;
            final ConditionRecord condition;
            final ConditionProtocol protocol;

            ConditionOps(ModelThread thread) {
                ModelRegion region = regionOf(thread.process());
                this.mutex = region.mutex(0, configuration.kind());
                this.record = region.mutexRecord(0);
                this.condition = region.condition(CONDITION);
                this.protocol = new ConditionProtocol(thread.process().protocol());
            }
        }
    }
}
