package io.robustmutex.model;

import io.robustmutex.internal.Errno;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Explores the schedules of a few simulated threads, with the death of any one thread at any step and an
 * injected kernel result at any futex call, within a preemption bound (iterative context bounding, as in
 * CHESS: most concurrency defects need only a few preemptions).
 *
 * <h2>Overview</h2>
 *
 * <p>Exploration is stateless: every schedule is run from scratch on a fresh {@link World}, which the
 * {@link Program} builds (a new model, processes, threads and their tasks, and whatever set-up the scenario
 * needs before the explored part). A schedule is a list of {@link Event}s: runs of consecutive steps of one
 * actor, deaths, timeouts fired by the model's virtual clock, kills of threads asleep in the kernel. The
 * first schedule is the default one: the current actor runs until it blocks, finishes or dies, then the next
 * runnable actor in round-robin order takes over; when none is runnable the clock advances to the earliest
 * timeout. Every other schedule shares a prefix with one already run and diverges at one point of it:
 * <ul>
 * <li>a <b>preemption</b>: before a visible step of the running actor (one that touches a mutex record or
 *     calls the kernel: the steps another thread can observe), another runnable actor runs instead; each
 *     costs one unit of the preemption bound;</li>
 * <li>a <b>free choice</b>: where the running actor could not continue, another runnable actor than the
 *     round-robin one runs; free;</li>
 * <li>a <b>death</b>: the running actor is killed before its step, or an actor asleep in the kernel is
 *     killed; at most one per schedule;</li>
 * <li>a <b>fault</b>: the futex call the running actor is about to make returns a result the kernel may
 *     give for it without doing anything (a spurious wake-up or {@code EINTR} from a wait, {@code EAGAIN}
 *     from {@code FUTEX_UNLOCK_PI}); at most one per schedule.</li>
 * </ul>
 * Deaths and faults are explored only in schedules with at most {@link Bounds#preemptionsWithInjection()}
 * preemptions. Each schedule ends with the world's checks; a schedule that breaks an invariant is reported and
 * not extended.
 */
final class ScheduleExplorer {

    /** Non-negative limits of an exploration. */
    record Bounds(int preemptions, int preemptionsWithInjection, int maxSchedules) {

        /** Validates the limits. */
        Bounds {
            if (preemptions < 0 || preemptionsWithInjection < 0 || maxSchedules < 1) {
                throw new IllegalArgumentException("bounds: " + preemptions + ", " + preemptionsWithInjection + ", "
                        + maxSchedules);
            }
        }

        @Override
        public String toString() {
            return "preemptions<=" + preemptions + ", with a death or fault<=" + preemptionsWithInjection;
        }
    }

    /**
     * One run's world: built fresh for each schedule by a {@link Program}. As a {@link KernelModel.Observer} it
     * sees the kernel's writes (its step callback is not used).
     */
    interface World extends KernelModel.Observer {
        /**
         * The model the world runs on.
         *
         * @return the model
         */
        KernelModel model();

        /**
         * The threads whose steps are scheduled, in default order; their tasks are started.
         *
         * @return the actors
         */
        List<ModelThread> actors();

        /**
         * Called just before the death of an actor is delivered to the kernel.
         *
         * @param actor the dying actor
         */
        void beforeDeath(ModelThread actor);

        /**
         * Called just after the kernel took the death of an actor (its exit walk and PI hand-offs are done).
         *
         * @param actor the dead actor
         */
        default void afterDeath(ModelThread actor) {
        }

        /** Called when no actor can run and the clock is about to advance (or nothing more can happen). */
        void atQuiescence();

        /** Called at the end of the schedule: the world's final checks. */
        void finish();

        /**
         * What broke an invariant, if anything.
         *
         * @return the violations, empty when none
         */
        List<String> violations();

        /**
         * Whether the schedule met a waiter asleep on a free word that a bounded re-check then woke.
         *
         * @return true when a lost wake-up was healed
         */
        boolean healedLostWakeUp();
    }

    /** Builds worlds. */
    interface Program {
        /**
         * Builds a fresh world, with its set-up done.
         *
         * @return the world
         */
        World start();
    }

    /** What the schedule did at one point. */
    sealed interface Event permits StepEvent, DeathEvent, TimeoutEvent, KillBlockedEvent {
    }

    /**
     * An actor took a step.
     *
     * @param actor the actor's index
     * @param local the step's index in the actor's task
     * @param visible whether another thread can observe it (a preemption point)
     * @param runnable the other actors runnable just before it, as a bit set
     * @param blocked the actors asleep in the kernel just before it, as a bit set
     * @param freeChoice whether the actor was picked because the previous one could not continue
     * @param faults the results that may be injected into this step (a futex call), or none
     */
    record StepEvent(int actor, int local, boolean visible, int runnable, int blocked, boolean freeChoice,
            int[] faults) implements Event {
    }

    /**
     * The death of a stopped actor was delivered.
     *
     * @param actor the actor's index
     */
    record DeathEvent(int actor) implements Event {
    }

    /** The clock advanced to the earliest timeout. */
    record TimeoutEvent() implements Event {
    }

    /**
     * An actor asleep in the kernel was killed.
     *
     * @param actor the actor's index
     */
    record KillBlockedEvent(int actor) implements Event {
    }

    /** A schedule to run: a prefix to replay and where it diverges. */
    private record Plan(List<Event> prefix, int switchTo, Map<Integer, Integer> kills,
            Map<Integer, int[]> injections, int preemptions, int injected) {
    }

    /** The outcome of an exploration. */
    record Report(Bounds bounds, int schedules, int withDeath, int withFault, int violating, int healed,
            boolean truncated, List<String> findings) {
    }

    /** A schedule in which the clock advances this often without an end is a livelock. */
    private static final int MAX_TIMEOUTS = 1000;
    private static final int[] NO_FAULTS = new int[0];
    private static final int[] WAIT_FAULTS = {0, -Errno.EINTR};
    private static final int[] UNLOCK_PI_FAULTS = {-Errno.EAGAIN};

    private final Program program;
    private final Bounds bounds;
    private int schedules;
    private int withDeath;
    private int withFault;
    private int violating;
    private int healed;
    private boolean truncated;
    private final List<String> findings = new ArrayList<>();

    private ScheduleExplorer(Program program, Bounds bounds) {
        this.program = program;
        this.bounds = bounds;
    }

    /**
     * Explores a program's schedules.
     *
     * @param program the program
     * @param bounds the limits
     * @return what was found
     */
    static Report explore(Program program, Bounds bounds) {
        ScheduleExplorer explorer = new ScheduleExplorer(program, bounds);
        explorer.search(new Plan(List.of(), -1, Map.of(), Map.of(), 0, 0));
        return new Report(bounds, explorer.schedules, explorer.withDeath, explorer.withFault, explorer.violating,
                explorer.healed, explorer.truncated, List.copyOf(explorer.findings));
    }

    /** Runs a plan, then every plan that diverges from it after its prefix. */
    private void search(Plan plan) {
        if (schedules >= bounds.maxSchedules()) {
            truncated = true;
            return;
        }
        Execution execution = run(plan);
        schedules++;
        if (!plan.kills().isEmpty()) {
            withDeath++;
        }
        if (!plan.injections().isEmpty()) {
            withFault++;
        }
        if (execution.healed) {
            healed++;
        }
        if (!execution.violations.isEmpty()) {
            violating++;
            // The first five, and the first of each kind of violation after them (a race seen only in later
            // schedules is named even when deaths were found first), at most ten.
            String kind = kindOf(execution.violations.get(0));
            boolean newKind = findings.stream().noneMatch(f -> kindOf(f).equals(kind));
            if (findings.size() < 5 || findings.size() < 10 && newKind) {
                findings.add(execution.describe(plan));
            }
            return;
        }
        List<Event> events = execution.events;
        for (int j = plan.prefix().size(); j < events.size(); j++) {
            if (!(events.get(j) instanceof StepEvent step)) {
                continue;
            }
            List<Event> before = events.subList(0, j);
            boolean injectable = plan.injected() == 0 && plan.preemptions() <= bounds.preemptionsWithInjection();
            // Another actor instead of this step: a preemption, or free where the last actor could not go on.
            for (int other = 0; other < 32; other++) {
                if ((step.runnable() & (1 << other)) == 0 || other == step.actor()) {
                    continue;
                }
                int cost = step.freeChoice() ? 0 : 1;
                if (!step.freeChoice() && !step.visible()) {
                    continue;
                }
                int preemptions = plan.preemptions() + cost;
                int limit = plan.injected() == 0 ? bounds.preemptions() : bounds.preemptionsWithInjection();
                if (preemptions <= limit) {
                    search(new Plan(List.copyOf(before), other, plan.kills(), plan.injections(), preemptions,
                            plan.injected()));
                }
            }
            if (!injectable) {
                continue;
            }
            // The running actor dies before this step.
            Map<Integer, Integer> kills = new HashMap<>(plan.kills());
            kills.put(step.actor(), step.local());
            search(new Plan(List.copyOf(before), step.actor(), kills, plan.injections(), plan.preemptions(), 1));
            // An actor asleep in the kernel dies here.
            for (int sleeper = 0; sleeper < 32; sleeper++) {
                if ((step.blocked() & (1 << sleeper)) != 0) {
                    List<Event> withKill = new ArrayList<>(before);
                    withKill.add(new KillBlockedEvent(sleeper));
                    search(new Plan(withKill, step.actor(), Map.of(sleeper, -1), plan.injections(),
                            plan.preemptions(), 1));
                }
            }
            // The futex call of this step returns something else.
            for (int fault : step.faults()) {
                Map<Integer, int[]> injections = new HashMap<>(plan.injections());
                injections.put(step.actor(), new int[] {step.local(), fault});
                search(new Plan(List.copyOf(before), step.actor(), plan.kills(), injections, plan.preemptions(), 1));
            }
        }
    }

    /** One run of a plan, recording its events. */
    private final class Execution implements KernelModel.Observer {
        final World world;
        final KernelModel model;
        final List<ModelThread> actors;
        final Map<ModelThread, Integer> index = new IdentityHashMap<>();
        final List<Event> events = new ArrayList<>();
        List<String> violations = List.of();
        boolean healed;
        boolean recording;
        boolean nextIsFreeChoice;
        int timeouts;
        String extraViolation;

        Execution(World world) {
            this.world = world;
            this.model = world.model();
            this.actors = world.actors();
            for (int i = 0; i < actors.size(); i++) {
                index.put(actors.get(i), i);
            }
        }

        @Override
        public void step(ModelThread thread, Step step) {
            Integer actor = index.get(thread);
            if (!recording || actor == null) {
                return;
            }
            int runnable = 0;
            int blocked = 0;
            for (int i = 0; i < actors.size(); i++) {
                ModelThread.State state = actors.get(i).state;
                if (state == ModelThread.State.RUNNABLE) {
                    runnable |= 1 << i;
                } else if (state == ModelThread.State.BLOCKED) {
                    blocked |= 1 << i;
                }
            }
            events.add(new StepEvent(actor, step.index(), visible(step), runnable, blocked, nextIsFreeChoice,
                    faults(step)));
            nextIsFreeChoice = false;
        }

        @Override
        public void exitWalkMarks(ModelThread dying, KernelModel.Location at, int word) {
            world.exitWalkMarks(dying, at, word);
        }

        @Override
        public void robustWakeStores(ModelThread caller, KernelModel.Location at, int word) {
            world.robustWakeStores(caller, at, word);
        }

        String describe(Plan plan) {
            StringBuilder text = new StringBuilder();
            ModelThread last = null;
            int run = 0;
            for (Event event : events) {
                if (event instanceof StepEvent step) {
                    ModelThread actor = actors.get(step.actor());
                    if (actor != last && last != null) {
                        text.append(last.name()).append('x').append(run).append(' ');
                        run = 0;
                    }
                    last = actor;
                    run++;
                } else {
                    if (last != null) {
                        text.append(last.name()).append('x').append(run).append(' ');
                        last = null;
                        run = 0;
                    }
                    if (event instanceof DeathEvent death) {
                        text.append("death(").append(actors.get(death.actor()).name()).append(") ");
                    } else if (event instanceof KillBlockedEvent kill) {
                        text.append("kill-asleep(").append(actors.get(kill.actor()).name()).append(") ");
                    } else {
                        text.append("timeout ");
                    }
                }
            }
            if (last != null) {
                text.append(last.name()).append('x').append(run);
            }
            StringBuilder injected = new StringBuilder();
            plan.kills().forEach((actor, local) -> {
                if (local >= 0) {
                    injected.append(", ").append(actors.get(actor).name()).append(" killed before its step ")
                            .append(local);
                }
            });
            plan.injections().forEach((actor, fault) -> injected.append(", ").append(actors.get(actor).name())
                    .append("'s step ").append(fault[0]).append(" returns ")
                    .append(fault[1] == 0 ? "0" : "-" + Errno.name(-fault[1])));
            return String.join("; ", violations) + " [schedule: " + text.toString().trim() + injected + "]";
        }
    }

    /** The kind of a violation or finding: its text before the first colon ("two owners", "lost lock"). */
    private static String kindOf(String text) {
        int colon = text.indexOf(':');
        return colon < 0 ? text : text.substring(0, colon);
    }

    private Execution run(Plan plan) {
        World world = program.start();
        Execution execution = new Execution(world);
        KernelModel model = execution.model;
        try {
            plan.kills().forEach((actor, local) -> {
                if (local >= 0) {
                    execution.actors.get(actor).killAt(KillPoint.beforeStep(local));
                }
            });
            plan.injections().forEach((actor, fault) ->
                    execution.actors.get(actor).injectResultAtStep(fault[0], fault[1]));
            model.observer = execution;
            execution.recording = true;
            int current = replay(execution, plan.prefix());
            if (plan.switchTo() >= 0) {
                current = plan.switchTo();
                execution.nextIsFreeChoice = false;
            }
            continueByDefault(execution, current);
            execution.recording = false;
            if (execution.extraViolation != null) {
                execution.violations = List.of(execution.extraViolation);
            } else {
                world.finish();
                execution.violations = world.violations();
            }
            execution.healed = world.healedLostWakeUp();
        } catch (RuntimeException | Error failure) {
            execution.violations = List.of("the model failed: " + failure);
        } finally {
            model.observer = KernelModel.Observer.NONE;
            model.close();
        }
        return execution;
    }

    /** Replays a prefix exactly; returns the index of the actor that ran last. */
    private static int replay(Execution execution, List<Event> prefix) {
        KernelModel model = execution.model;
        int current = 0;
        int i = 0;
        while (i < prefix.size()) {
            Event event = prefix.get(i);
            if (event instanceof StepEvent step) {
                int n = 1;
                while (i + n < prefix.size() && prefix.get(i + n) instanceof StepEvent next
                        && next.actor() == step.actor()) {
                    n++;
                }
                current = step.actor();
                execution.nextIsFreeChoice = step.freeChoice();
                model.runSteps(execution.actors.get(current), n);
                i += n;
                continue;
            }
            if (event instanceof DeathEvent death) {
                deliver(execution, death.actor(), false);
            } else if (event instanceof KillBlockedEvent kill) {
                deliver(execution, kill.actor(), true);
            } else {
                execution.world.atQuiescence();
                execution.events.add(event);
                model.fireTimeout();
            }
            i++;
        }
        return current;
    }

    private static void deliver(Execution execution, int actor, boolean asleep) {
        ModelThread thread = execution.actors.get(actor);
        execution.world.beforeDeath(thread);
        execution.events.add(asleep ? new KillBlockedEvent(actor) : new DeathEvent(actor));
        execution.model.deliverDeath(thread);
        execution.world.afterDeath(thread);
    }

    /** The default schedule from an actor on: run it while it can, then the next runnable one, round robin. */
    private static void continueByDefault(Execution execution, int start) {
        KernelModel model = execution.model;
        List<ModelThread> actors = execution.actors;
        int current = start;
        while (true) {
            boolean delivered = false;
            for (int i = 0; i < actors.size(); i++) {
                if (actors.get(i).state == ModelThread.State.STOPPED) {
                    deliver(execution, i, false);
                    delivered = true;
                }
            }
            if (delivered) {
                continue;
            }
            if (actors.get(current).state == ModelThread.State.RUNNABLE) {
                model.runSteps(actors.get(current), Integer.MAX_VALUE);
                continue;
            }
            int next = -1;
            for (int k = 1; k <= actors.size(); k++) {
                int candidate = (current + k) % actors.size();
                if (actors.get(candidate).state == ModelThread.State.RUNNABLE) {
                    next = candidate;
                    break;
                }
            }
            if (next >= 0) {
                current = next;
                execution.nextIsFreeChoice = true;
                continue;
            }
            execution.world.atQuiescence();
            if (++execution.timeouts > MAX_TIMEOUTS) {
                execution.extraViolation = "no progress: " + MAX_TIMEOUTS + " timeouts fired and every actor"
                        + " went back to sleep";
                return;
            }
            if (!model.fireTimeout()) {
                return;
            }
            execution.events.add(new TimeoutEvent());
        }
    }

    /**
     * Steps another thread can observe: everything but the thread's own head, a record's (or a glibc mutex's) list
     * links, and the thread asking for its own registered head.
     */
    static boolean visible(Step step) {
        String target = step.target();
        if (step.operation().equals("get_robust_list") && target.isEmpty()) {
            return false;
        }
        return !(target.contains(".head.") || target.endsWith(".prev") || target.endsWith(".next"));
    }

    private static int[] faults(Step step) {
        String operation = step.operation();
        if (operation.startsWith("glibc futex(FUTEX_WAIT")) {
            // glibc reads the word again after any return; its PI calls get nothing: it does not look at
            // FUTEX_UNLOCK_PI's result, and EAGAIN there needs user space writing a word the kernel owns.
            return WAIT_FAULTS;
        }
        if (!operation.startsWith("futex(")) {
            return NO_FAULTS;
        }
        if (operation.startsWith("futex(FUTEX_WAIT")) {
            return WAIT_FAULTS;
        }
        if (operation.startsWith("futex(FUTEX_UNLOCK_PI")) {
            return UNLOCK_PI_FAULTS;
        }
        return NO_FAULTS;
    }
}
