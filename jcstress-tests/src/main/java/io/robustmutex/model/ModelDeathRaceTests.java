/*
 * How to run (after `mvn -B -q install -DskipTests` and `mvn -B -q package -pl jcstress-tests`):
 *
 *   java -jar jcstress-tests/target/jcstress.jar -t ModelDeathRaceTests
 *
 * What it checks, on the reference model of the kernel (KernelModel): a holder killed in the middle of its
 * unlock, racing a thread of another process that takes the mutex.
 *
 * Each state builds a small model: processes A and B map one shared object with the mutex at offset 0; thread V
 * of A takes it (in the constructor, with model.run), then is given its unlock with a kill point before step k.
 * Two JCStress actors then drive the model concurrently, one step at a time (KernelModel.runSteps lets several
 * Java threads drive one model; their calls take turns at step boundaries, so JCStress picks the interleaving):
 *
 *   V_L  actor1 steps V's unlock until V stops at its kill point (or finishes), then delivers V's death (the
 *        kernel walks V's robust list and pending slot); actor2 steps thread L of B through acquire() or
 *        tryAcquire(), two reads of the lock word and a write of the data while it holds, then its release.
 *
 * The arbiter runs the model until nothing can move, lets a fresh thread C of B try the mutex, and checks:
 *   - nobody holds the mutex at the end, nobody is left asleep in the kernel, and C can take it;
 *   - no double owner: while L held the mutex the word named L;
 *   - L's acquisition reports ownerDied exactly when V died with its TID still in the word, and C's exactly when
 *     V did so and L did not take the mutex after it (a death is reported once);
 *   - fencing tokens grow: V < L < C; V's unlock, L and C never fail; the mutex ends CONSISTENT.
 * A broken invariant gives a "VIOLATION ..." result naming the kind, unlock path, k, the step V stopped before
 * and the locker's operation; the other results name the kind and the unlock path.
 *
 * The states cycle through a fixed, bounded plan: both kinds (PI: the FUTEX_UNLOCK_PI paths; NORMAL: the
 * FUTEX_WAKE paths); for each, every unlock path the model offers (classic on a pre-7.2 kernel, like the
 * Linux 6.18 machine this was written on; the 7.2 syscall; the 7.2 vDSO try-unlock of the x86_64 description,
 * with its fixup); every kill point k from before the first step of the unlock to after its last (the step
 * counts come from undisturbed dry runs, with and without L asleep on the word); and both acquire() and
 * tryAcquire() for L. One test class covers the whole plan: each JCStress test costs a few dozen JVM forks in
 * -m quick, whatever it does. Every state closes its model in the arbiter, which ends its carrier threads.
 */
package io.robustmutex.model;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.MutexState;
import io.robustmutex.RobustMutex;
import io.robustmutex.UnlockPath;
import io.robustmutex.spi.Architecture;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.JCStressMeta;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.L_Result;

/** An unlock killed at every step, racing a locker of another process, on the reference model. */
public class ModelDeathRaceTests {

    /** The TID bits of a futex word (the kernel's FUTEX_TID_MASK). */
    static final int TID_MASK = 0x3fffffff;
    /** Where the locker writes its data, after the 64-byte mutex record. */
    static final int DATA_OFFSET = 64;
    /** The unlock paths each kind is run with. */
    static final List<UnlockPath> PATHS = List.of(UnlockPath.CLASSIC, UnlockPath.SYSCALL, UnlockPath.VDSO);
    /** The longest an actor waits for the other to arrive at a state. */
    static final long MEET_PATIENCE_NANOS = 10_000_000;

    /** Results: "kind path V=... L.operation=... C=...", or "VIOLATION ...". */
    @Outcome(id = "\\w+ \\w+ V=released L\\.(acquire|tryAcquire)=acquired C=acquired", expect = ACCEPTABLE,
            desc = "V's unlock released the mutex before V died; L (then C) took it, told of no death")
    @Outcome(id = "\\w+ \\w+ V=released L\\.tryAcquire=busy C=acquired", expect = ACCEPTABLE,
            desc = "L tried while V still held it; V released it; C took it, told of no death")
    @Outcome(id = "\\w+ \\w+ V=died-holding L\\.(acquire|tryAcquire)=owner-died C=acquired", expect = ACCEPTABLE,
            desc = "V died before its release took effect; L took it and was told the owner died, C was not")
    @Outcome(id = "\\w+ \\w+ V=died-holding L\\.tryAcquire=busy C=owner-died", expect = ACCEPTABLE,
            desc = "L tried while V held it; V died holding it; C took it and was told the owner died")
    @Outcome(id = "VIOLATION.*", expect = FORBIDDEN, desc = "an invariant was broken (the result says which)")
    @Outcome(expect = FORBIDDEN, desc = "anything else")
    public static class Verdicts {
    }

    /** One scenario of the plan. */
    record Case(MutexKind kind, UnlockPath path, int killBeforeStep, boolean tryOnly) {
        /** No kill point: the dry runs. */
        static final int NEVER = -1;
    }

    /** What a thread's acquisition saw. */
    record Held(boolean acquired, boolean ownerDied, long token, boolean soleOwner) {
        static final Held NOT_ACQUIRED = new Held(false, false, 0, true);
    }

    /** The bounded cycle of scenarios, taken round-robin by the states; made on first use. */
    static final class Plan {
        static final Plan PLAN = new Plan();

        private final List<Case> cases = new ArrayList<>();
        private final AtomicInteger next = new AtomicInteger();

        private Plan() {
            for (MutexKind kind : MutexKind.values()) {
                for (UnlockPath path : PATHS) {
                    int steps = Math.max(unlockSteps(kind, path, false), unlockSteps(kind, path, true));
                    for (int k = 0; k <= steps; k++) {
                        cases.add(new Case(kind, path, k, false));
                        cases.add(new Case(kind, path, k, true));
                    }
                }
            }
        }


        Case next() {
            return cases.get(Math.floorMod(next.getAndIncrement(), cases.size()));
        }

        /** The steps of an undisturbed unlock by V, with L asleep on the word or not. */
        private static int unlockSteps(MutexKind kind, UnlockPath path, boolean contended) {
            DeathRace dry = new DeathRace(new Case(kind, path, Case.NEVER, false));
            try {
                if (contended && dry.model.run(dry.locker) != ModelThread.State.BLOCKED) {
                    throw new IllegalStateException("dry run " + path + ": L did not wait for V");
                }
                dry.model.run(dry.victim);
                if (dry.unlock.outcome() != ModelTask.Outcome.COMPLETED) {
                    throw new IllegalStateException("dry run " + path + ": V's unlock " + dry.unlock.outcome(),
                            dry.unlock.failure());
                }
                return dry.victim.steps().size();
            } finally {
                dry.model.close();
            }
        }
    }

    /** The x86_64 description, whose vDSO try-unlock the model runs (on any machine). */
    private static final class X86 {
        static final Architecture ARCHITECTURE = find();

        private static Architecture find() {
            for (Architecture architecture : ServiceLoader.load(Architecture.class,
                    Architecture.class.getClassLoader())) {
                if (architecture.name().equals("x86_64")) {
                    return architecture;
                }
            }
            throw new IllegalStateException("no x86_64 architecture module on the class path");
        }
    }

    static KernelModel newModel(UnlockPath path) {
        KernelModel.Builder builder = KernelModel.builder();
        switch (path) {
            case CLASSIC -> builder.release(KernelModel.Release.PRE_7_2);
            case SYSCALL -> builder.release(KernelModel.Release.LINUX_7_2);
            case VDSO -> builder.architecture(X86.ARCHITECTURE).vdsoTryUnlock(true);
            default -> throw new IllegalArgumentException("unknown unlock path " + path);
        }
        KernelModel model = builder.build();
        if (model.unlockPath() != path) {
            model.close();
            throw new IllegalStateException(model + " unlocks by " + model.unlockPath() + ", not " + path);
        }
        return model;
    }

    /** One scenario: V (process A) holds the mutex and is about to unlock; L (process B) is about to lock. */
    public static class DeathRace {
        final Case scenario;
        final KernelModel model;
        final ModelRegion regionA;
        final ModelRegion regionB;
        final RobustMutex mutexB;
        final ModelThread victim;
        final ModelThread locker;
        final ModelThread checker;
        final long victimToken;
        final ModelTask<Void> unlock;
        final ModelTask<Held> lock;
        /** Set by actor1 once V is dead; actor2 stops waiting for a wake-up then. */
        volatile boolean victimDone;
        volatile String driverFailure;
        /** Whether V died with its TID in the word; written by actor1, read by the arbiter. */
        boolean diedHolding;
        /** How many actors have arrived at this state (see {@link #meet()}). */
        private final AtomicInteger arrived = new AtomicInteger();

        DeathRace(Case scenario) {
            this.scenario = scenario;
            this.model = newModel(scenario.path());
            boolean built = false;
            try {
                SharedObject shm = model.newSharedObject("shm", 4096);
                ModelProcess a = model.newProcess();
                ModelProcess b = model.newProcess();
                regionA = a.map(shm);
                regionB = b.map(shm);
                RobustMutex mutexA = regionA.mutex(0, scenario.kind());
                mutexB = regionB.mutex(0, scenario.kind());
                victim = a.newThread("V");
                locker = b.newThread("L");
                checker = b.newThread("C");
                ModelTask<Acquisition> taken = victim.start(mutexA::acquire);
                model.run(victim);
                Acquisition held = taken.result();
                victimToken = held.fencingToken();
                if (scenario.killBeforeStep() != Case.NEVER) {
                    victim.killAt(KillPoint.beforeStep(scenario.killBeforeStep()));
                }
                unlock = victim.start(() -> {
                    held.close();
                    return null;
                });
                lock = locker.start(this::lockerBody);
                built = true;
            } finally {
                if (!built) {
                    model.close();
                }
            }
        }

        /** L's task: take the mutex, look at the word twice and write the data while holding it, release. */
        private Held lockerBody() {
            Optional<Acquisition> got = scenario.tryOnly() ? mutexB.tryAcquire() : Optional.of(mutexB.acquire());
            if (got.isEmpty()) {
                return Held.NOT_ACQUIRED;
            }
            try (Acquisition held = got.get()) {
                int first = regionB.getInt(0);
                regionB.putLong(DATA_OFFSET, regionB.getLong(DATA_OFFSET) + 1);
                int second = regionB.getInt(0);
                boolean sole = (first & TID_MASK) == locker.tid() && (second & TID_MASK) == locker.tid();
                if (held.ownerDied()) {
                    held.markConsistent();
                }
                return new Held(true, held.ownerDied(), held.fencingToken(), sole);
            }
        }

        /** C's task: try the mutex once everything else is over. */
        private Held checkerBody() {
            Optional<Acquisition> got = mutexB.tryAcquire();
            if (got.isEmpty()) {
                return Held.NOT_ACQUIRED;
            }
            try (Acquisition held = got.get()) {
                boolean sole = (regionB.getInt(0) & TID_MASK) == checker.tid();
                if (held.ownerDied()) {
                    held.markConsistent();
                }
                return new Held(true, held.ownerDied(), held.fencingToken(), sole);
            }
        }

        /**
         * Waits (briefly) for the other actor, so that both start stepping this state together. Each actor of a
         * JCStress test runs through its own sequence of states without waiting for the other, and a state here
         * takes both of them hundreds of microseconds, so without this the two would rarely drive the same state
         * at once. Both go through the states in the same order, so the wait is short; it is bounded anyway.
         */
        private void meet() {
            if (arrived.incrementAndGet() >= 2) {
                return;
            }
            long deadline = System.nanoTime() + MEET_PATIENCE_NANOS;
            while (arrived.get() < 2 && System.nanoTime() - deadline < 0) {
                Thread.onSpinWait();
            }
        }

        /** actor1: step V's unlock to its kill point (or its end), then deliver V's death. */
        void driveVictim() {
            meet();
            try {
                while (victim.state() == ModelThread.State.RUNNABLE) {
                    model.runSteps(victim, 1);
                }
                // V is stopped or idle: only the kernel can take its TID out of the word now (L can only add bits).
                diedHolding = (regionA.getInt(0) & TID_MASK) == victim.tid();
                model.deliverDeath(victim);
            } catch (RuntimeException e) {
                driverFailure = "V's driver failed: " + e;
            } finally {
                victimDone = true;
            }
        }

        /** actor2: step L while it can run; while it sleeps in the kernel, wait for actor1 to wake it or finish. */
        void driveLocker() {
            meet();
            try {
                while (true) {
                    ModelThread.State state = locker.state();
                    if (state == ModelThread.State.RUNNABLE) {
                        model.runSteps(locker, 1);
                    } else if (state == ModelThread.State.BLOCKED && !victimDone) {
                        Thread.yield();
                    } else {
                        return;
                    }
                }
            } catch (RuntimeException e) {
                driverFailure = "L's driver failed: " + e;
            }
        }

        /** The arbiter: finish the run, check the invariants, close the model. */
        void arbiter(L_Result r) {
            try {
                r.r1 = verdict();
            } catch (RuntimeException e) {
                r.r1 = "VIOLATION " + describeCase() + ": the arbiter failed: " + e;
            } finally {
                model.close();
            }
        }

        private String verdict() {
            List<String> violations = new ArrayList<>();
            if (driverFailure != null) {
                violations.add(driverFailure);
            }
            model.runUntilQuiet();
            if (!victim.isDead()) {
                violations.add("V is " + victim.state() + ", not dead");
            }
            if (unlock.outcome() == ModelTask.Outcome.FAILED) {
                violations.add("V's unlock failed: " + unlock.failure());
            }
            if (locker.state() == ModelThread.State.BLOCKED) {
                violations.add("lost wake-up: L is still asleep in the kernel; word " + word());
            }
            Held l = Held.NOT_ACQUIRED;
            if (lock.outcome() == ModelTask.Outcome.COMPLETED) {
                l = lock.result();
            } else {
                violations.add("L's task " + lock.outcome() + (lock.failure() == null ? "" : ": " + lock.failure()));
            }
            if (l.acquired()) {
                if (!l.soleOwner()) {
                    violations.add("double owner: the word did not name L while L held the mutex");
                }
                if (l.ownerDied() != diedHolding) {
                    violations.add(diedHolding ? "L was not told that V died holding the mutex"
                            : "L was told of an owner death that did not happen");
                }
                if (l.token() <= victimToken) {
                    violations.add("L's fencing token " + l.token() + " is not above V's " + victimToken);
                }
            }
            if ((regionB.getInt(0) & TID_MASK) != 0) {
                violations.add("the mutex is still held when everyone is done; word " + word());
            }

            ModelTask<Held> check = checker.start(this::checkerBody);
            model.runUntilQuiet();
            Held c = check.outcome() == ModelTask.Outcome.COMPLETED ? check.result() : Held.NOT_ACQUIRED;
            if (!c.acquired()) {
                violations.add("lost lock: a fresh thread cannot take the mutex; word " + word()
                        + (check.failure() == null ? "" : " (" + check.failure() + ")"));
            } else {
                boolean unreported = diedHolding && !l.acquired();
                if (c.ownerDied() != unreported) {
                    violations.add(unreported ? "C was not told that V died holding the mutex"
                            : "C was told of an owner death that was not pending");
                }
                if (!c.soleOwner()) {
                    violations.add("double owner: the word did not name C while C held the mutex");
                }
                if (c.token() <= Math.max(victimToken, l.token())) {
                    violations.add("C's fencing token " + c.token() + " did not grow");
                }
            }
            if (regionB.getInt(0) != 0) {
                violations.add("the word is not free at the end: " + word());
            }
            MutexState state = mutexB.snapshot().state();
            if (state != MutexState.CONSISTENT) {
                violations.add("the mutex ends " + state);
            }

            if (!violations.isEmpty()) {
                return "VIOLATION " + describeCase() + ": " + String.join("; ", violations);
            }
            return scenario.kind() + " " + scenario.path().id()
                    + " V=" + (diedHolding ? "died-holding" : "released")
                    + " L." + operation() + "=" + (l.acquired() ? l.ownerDied() ? "owner-died" : "acquired" : "busy")
                    + " C=" + (c.ownerDied() ? "owner-died" : "acquired");
        }

        private String operation() {
            return scenario.tryOnly() ? "tryAcquire" : "acquire";
        }

        private String describeCase() {
            Step stop = victim.stoppedAt();
            return scenario.kind() + " " + scenario.path().id() + " unlock killed before step "
                    + scenario.killBeforeStep() + ", L " + operation()
                    + (stop == null ? "" : " (V stopped before " + stop.describe() + ")");
        }

        private String word() {
            return String.format("0x%08x", regionB.getInt(0));
        }
    }

    /** The next scenario of the plan. */
    @State
    public static class PlannedState extends DeathRace {
        public PlannedState() {
            super(Plan.PLAN.next());
        }
    }

    /**
     * Both kinds (PI: the FUTEX_UNLOCK_PI paths; NORMAL: the FUTEX_WAKE paths): an unlock killed before step k
     * against acquire() or tryAcquire() in another process.
     */
    @JCStressTest
    @JCStressMeta(Verdicts.class)
    public static class V_L {
        @Actor
        public void victim(PlannedState s) {
            s.driveVictim();
        }

        @Actor
        public void locker(PlannedState s) {
            s.driveLocker();
        }

        @Arbiter
        public void arbiter(PlannedState s, L_Result r) {
            s.arbiter(r);
        }
    }
}
