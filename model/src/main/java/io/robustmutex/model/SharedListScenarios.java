package io.robustmutex.model;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.RobustListHeadDescriptor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The scenarios of the shared robust list: a thread V that glibc started (its head registered at creation,
 * {@link KernelModel.Builder#glibcHeads}) holds glibc robust mutexes of native code ({@link ModelNativeMutex},
 * NORMAL and PI) and the library's, taken and released in a given order, so that both link their entries into
 * the one list the kernel walks when V dies; a peer contends for each mutex (a thread of V's process for the
 * library's, a process of its own for each glibc one), so that every release, and every death, is seen by
 * someone. {@link ScheduleExplorer} runs every schedule of V and the peers within its bounds, with a death
 * before any step.
 *
 * <p>The world's checks, besides those of {@link InterleavingScenarios}' monitor (one owner at a time, the
 * word naming it; every owner death reported once to the next acquirer, and no other; no kernel write into a
 * word a live thread other than the one the kernel acts for holds; no waiter asleep for ever; survivors'
 * pending slots clear; a fresh thread takes every mutex at the end):
 * <ul>
 * <li><b>the list</b>: whenever a thread's lock or unlock returns, and at the end, the list from the head the
 *     kernel has registered for it, followed through {@code next} (bounded), holds exactly the entries of the
 *     mutexes the thread holds, both kinds, most recent first, each pointer's PI bit saying whether the entry it
 *     names is PI; each entry's {@code prev} names its predecessor's {@code next} field (the head for the first)
 *     (the slot before the head, glibc's {@code robust_prev}, is not checked: glibc writes it, nothing reads it,
 *     and the library leaves it alone);</li>
 * <li><b>deaths</b>: right after the kernel took a thread's death, no mutex, the library's or glibc's, still
 *     holds the dead thread's TID (each it held was released with OWNER_DIED, or handed to a PI waiter), and
 *     the exit walk marked no word but a mutex's; the next acquirer is told (the library's
 *     {@code ownerDied()}, glibc's {@code EOWNERDEAD}).</li>
 * </ul>
 */
final class SharedListScenarios {

    private SharedListScenarios() {
    }

    /**
     * A mutex of a scenario.
     *
     * @param name its name in reports
     * @param ours the library's ({@code kind} of the configuration), or glibc's of {@code type}
     * @param type for glibc's: NORMAL or PI
     */
    record Spec(String name, boolean ours, ModelNativeMutex.Type type) {
        static Spec library() {
            return new Spec("ours", true, null);
        }

        static Spec glibc(ModelNativeMutex.Type type) {
            return new Spec("native " + type, false, type);
        }
    }

    /**
     * A step of V's program: lock or unlock mutex {@code mutex}.
     *
     * @param lock lock, else unlock
     * @param mutex the mutex's index
     */
    record Op(boolean lock, int mutex) {
        static Op lock(int mutex) {
            return new Op(true, mutex);
        }

        static Op unlock(int mutex) {
            return new Op(false, mutex);
        }
    }

    /**
     * A scenario: its mutexes and V's program.
     *
     * @param name the row name
     * @param mutexes the mutexes
     * @param program V's operations, in order
     */
    record Scenario(String name, List<Spec> mutexes, List<Op> program) {
    }

    /**
     * How the world deviates from the library and glibc as they are, for tests that the checks catch a broken
     * list: the library's choice of head, and a flaw of the native library.
     *
     * @param robustList the library's choice ({@code OWN}: it registers its own head, dropping glibc's list)
     * @param flaw the native library's defect, or {@code NONE}
     * @param listChecked whether the list is checked between operations (off: only deaths and owners are, to
     *     show what a broken list leads to)
     */
    record Variant(KernelModel.RobustListChoice robustList, ModelNativeMutex.Flaw flaw, boolean listChecked) {
        static final Variant AS_IS = new Variant(KernelModel.RobustListChoice.JOIN, ModelNativeMutex.Flaw.NONE,
                true);

        Variant {
            Objects.requireNonNull(robustList, "robustList");
            Objects.requireNonNull(flaw, "flaw");
        }
    }

    /** The scenarios, by name, in table order. */
    static Map<String, Scenario> scenarios() {
        Map<String, Scenario> all = new LinkedHashMap<>();
        Spec ours = Spec.library();
        for (ModelNativeMutex.Type type : ModelNativeMutex.Type.values()) {
            Spec n = Spec.glibc(type);
            String native_ = "native " + type;
            // 0 is the glibc mutex, 1 the library's.
            add(all, native_ + " around ours", List.of(n, ours),
                    Op.lock(0), Op.lock(1), Op.unlock(1), Op.unlock(0));
            add(all, "ours around " + native_, List.of(n, ours),
                    Op.lock(1), Op.lock(0), Op.unlock(0), Op.unlock(1));
            add(all, native_ + " then ours, released out of order", List.of(n, ours),
                    Op.lock(0), Op.lock(1), Op.unlock(0), Op.unlock(1));
            add(all, "ours then " + native_ + ", released out of order", List.of(n, ours),
                    Op.lock(1), Op.lock(0), Op.unlock(1), Op.unlock(0));
        }
        // Ours between a glibc NORMAL and a glibc PI entry, released from the middle of the list.
        add(all, "ours between native NORMAL and PI", List.of(Spec.glibc(ModelNativeMutex.Type.NORMAL), ours,
                Spec.glibc(ModelNativeMutex.Type.PI)),
                Op.lock(0), Op.lock(1), Op.lock(2), Op.unlock(1), Op.unlock(2), Op.unlock(0));
        return all;
    }

    /**
     * The kinds of the library's mutex a scenario is run with: the other kind than its glibc mutexes, where they
     * are of one kind (so that a pointer to each kind follows one to the other), else both.
     */
    static List<MutexKind> oursKinds(Scenario scenario) {
        boolean normal = false;
        boolean pi = false;
        for (Spec spec : scenario.mutexes()) {
            if (!spec.ours()) {
                normal |= spec.type() == ModelNativeMutex.Type.NORMAL;
                pi |= spec.type() == ModelNativeMutex.Type.PI;
            }
        }
        if (normal && pi) {
            return List.of(MutexKind.NORMAL, MutexKind.PI);
        }
        return List.of(normal ? MutexKind.PI : MutexKind.NORMAL);
    }

    private static void add(Map<String, Scenario> all, String name, List<Spec> mutexes, Op... program) {
        all.put(name, new Scenario(name, mutexes, List.of(program)));
    }

    /**
     * Who holds while whom waits in the default schedule, which is the one where deaths are explored at the
     * default bound (a schedule with a death may have no preemption): each row explores both.
     */
    enum Arrangement {
        /**
         * V runs first: it takes its mutexes, then sleeps holding them all, so that every peer comes to wait for
         * its mutex (asleep in the kernel); then V releases them with the peers waiting. Deaths: V at every step of
         * its uncontended locks and of its unlocks with a waiter, a peer at every step of its contended lock.
         */
        PEERS_WAIT,
        /**
         * The peers run first: each takes its mutex and sleeps holding it (the one V takes first the shortest),
         * so that V waits for each mutex it takes; then V releases them uncontended. Deaths: V at every step of its
         * contended locks and uncontended unlocks, a peer at every step while V waits for it (V then takes the
         * mutex over an owner death and links it after the owner-died report).
         */
        V_WAITS
    }

    /** How long a thread sleeps holding mutexes in the default schedule: less than the re-check interval. */
    private static final long SLEEP_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(30);

    /** A program that builds the world of a scenario for each schedule. */
    static ScheduleExplorer.Program program(Scenario scenario, ModelCheck.ExplorationConfiguration configuration,
            Variant variant, Arrangement arrangement) {
        return () -> new SharedListWorld(scenario, configuration, variant, arrangement);
    }

    /**
     * Explores one scenario under one configuration: both arrangements, their counts added.
     *
     * @param maxSchedules the most schedules to explore in all
     */
    static ScheduleExplorer.Report explore(Scenario scenario, ModelCheck.ExplorationConfiguration configuration,
            Variant variant, int preemptions, int preemptionsWithInjection, int maxSchedules) {
        int schedules = 0;
        int withDeath = 0;
        int withFault = 0;
        int violating = 0;
        int healed = 0;
        boolean truncated = false;
        List<String> findings = new ArrayList<>();
        ScheduleExplorer.Bounds first = null;
        for (Arrangement arrangement : Arrangement.values()) {
            if (schedules >= maxSchedules) {
                truncated = true;
                break;
            }
            ScheduleExplorer.Bounds bounds = new ScheduleExplorer.Bounds(preemptions, preemptionsWithInjection,
                    maxSchedules - schedules);
            first = first == null ? bounds : first;
            ScheduleExplorer.Report report = ScheduleExplorer.explore(program(scenario, configuration, variant,
                    arrangement), bounds);
            schedules += report.schedules();
            withDeath += report.withDeath();
            withFault += report.withFault();
            violating += report.violating();
            healed += report.healed();
            truncated |= report.truncated();
            for (String finding : report.findings()) {
                findings.add(arrangement.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + ": " + finding);
            }
        }
        return new ScheduleExplorer.Report(first, schedules, withDeath, withFault, violating, healed, truncated,
                List.copyOf(findings));
    }

    /** One mutex of a world: its handles in each process, who holds it, and whether a death awaits reporting. */
    private static final class Mutex {
        final Spec spec;
        final String name;
        final int offset;
        final Map<ModelProcess, RobustMutex> ours = new HashMap<>();
        final Map<ModelProcess, ModelNativeMutex> natives = new HashMap<>();
        final Map<ModelThread, Acquisition> acquisitions = new HashMap<>();
        ModelThread owner;
        boolean deathPending;

        Mutex(Spec spec, String name, int offset) {
            this.spec = spec;
            this.name = name;
            this.offset = offset;
        }

        boolean pi(MutexKind oursKind) {
            return spec.ours() ? oursKind == MutexKind.PI : spec.type() == ModelNativeMutex.Type.PI;
        }
    }

    /** A world of V, the peers and the mutexes of one scenario, and its monitor. */
    static final class SharedListWorld implements ScheduleExplorer.World {
        private static final int SLOT = 64;

        private final KernelModel model;
        private final ModelCheck.ExplorationConfiguration configuration;
        private final Variant variant;
        private final SharedObject shm;
        private final List<Mutex> mutexes = new ArrayList<>();
        private final List<ModelThread> actors = new ArrayList<>();
        private final Map<ModelThread, ModelTask<?>> tasks = new HashMap<>();
        private final Map<ModelProcess, ModelRegion> regions = new HashMap<>();
        /** What each thread holds, most recent first. */
        private final Map<ModelThread, Deque<Mutex>> held = new HashMap<>();
        private final List<String> violations = new ArrayList<>();
        private boolean healed;

        SharedListWorld(Scenario scenario, ModelCheck.ExplorationConfiguration configuration, Variant variant,
                Arrangement arrangement) {
            this.configuration = configuration;
            this.variant = variant;
            this.model = configuration.modelBuilder().glibcHeads(true).robustList(variant.robustList()).build();
            this.shm = model.newSharedObject("shm", 4096);
            for (int i = 0; i < scenario.mutexes().size(); i++) {
                Spec spec = scenario.mutexes().get(i);
                String name = spec.ours() ? "ours(" + configuration.kind() + ")" : spec.name();
                mutexes.add(new Mutex(spec, name, i * SLOT));
            }
            ModelProcess home = model.newProcess();
            ModelThread v = thread(home, "V");
            List<ModelThread> peers = new ArrayList<>();
            for (Mutex mutex : mutexes) {
                ModelProcess process = mutex.spec.ours() ? home : model.newProcess();
                peers.add(thread(process, "P" + (peers.size() + 1)));
            }
            List<Op> program = scenario.program();
            int lastLock = 0;
            List<Integer> lockOrder = new ArrayList<>();
            for (int i = 0; i < program.size(); i++) {
                if (program.get(i).lock()) {
                    lastLock = i;
                    lockOrder.add(program.get(i).mutex());
                }
            }
            boolean peersWait = arrangement == Arrangement.PEERS_WAIT;
            if (peersWait) {
                actors.add(v);
            }
            actors.addAll(peers);
            if (!peersWait) {
                actors.add(v);
            }
            int sleepAfter = peersWait ? lastLock : -1;
            begin(v, () -> {
                for (int i = 0; i < program.size(); i++) {
                    Op op = program.get(i);
                    Mutex mutex = mutexes.get(op.mutex());
                    if (op.lock()) {
                        lock(v, mutex);
                    } else {
                        unlock(v, mutex);
                    }
                    if (i == sleepAfter) {
                        model.sleep(SLEEP_NANOS);
                    }
                }
            });
            for (int i = 0; i < mutexes.size(); i++) {
                ModelThread peer = peers.get(i);
                Mutex mutex = mutexes.get(i);
                // The peer of the mutex V takes k-th releases it k+1 sleeps after taking it.
                long sleep = peersWait ? 0 : (lockOrder.indexOf(i) + 1) * SLEEP_NANOS;
                begin(peer, () -> {
                    lock(peer, mutex);
                    if (sleep > 0) {
                        model.sleep(sleep);
                    }
                    unlock(peer, mutex);
                });
            }
        }

        private ModelThread thread(ModelProcess process, String name) {
            ModelThread thread = process.newThread(name);
            held.put(thread, new ArrayDeque<>());
            ModelRegion region = regions.computeIfAbsent(process, p -> p.map(shm));
            for (Mutex mutex : mutexes) {
                if (mutex.spec.ours()) {
                    mutex.ours.computeIfAbsent(process, p -> region.mutex(mutex.offset, configuration.kind()));
                } else {
                    mutex.natives.computeIfAbsent(process,
                            p -> region.nativeMutex(mutex.offset, mutex.spec.type(), variant.flaw()));
                }
            }
            return thread;
        }

        private void begin(ModelThread thread, Runnable body) {
            tasks.put(thread, thread.start(() -> {
                body.run();
                return null;
            }));
        }

        private int word(Mutex mutex) {
            return shm.view.getInt(mutex.offset);
        }

        private void violation(String text) {
            violations.add(text);
        }

        // -------------------------------------------------------------- operations (in the actors' carriers)

        private void lock(ModelThread self, Mutex mutex) {
            boolean died;
            Acquisition acquisition = null;
            ModelNativeMutex glibc = mutex.natives.get(self.process());
            if (mutex.spec.ours()) {
                acquisition = mutex.ours.get(self.process()).acquire();
                died = acquisition.ownerDied();
            } else {
                int result = glibc.lock();
                if (result != 0 && result != ModelNativeMutex.EOWNERDEAD) {
                    violation(self.name() + "'s pthread_mutex_lock of " + mutex.name + " returned " + result);
                    return;
                }
                died = result == ModelNativeMutex.EOWNERDEAD;
            }
            int word = word(mutex);
            if (FutexWord.owner(word) != self.tid()) {
                violation("two owners: " + self.name() + " acquired " + mutex.name + " but the word is "
                        + FutexWord.describe(word));
            }
            if (mutex.owner != null) {
                violation("two owners: " + self.name() + " acquired " + mutex.name + " while " + mutex.owner.name()
                        + " holds it");
            }
            if (died != mutex.deathPending) {
                violation(died ? self.name() + " was told " + mutex.name + "'s owner died, which did not happen"
                        : self.name() + " was not told that " + mutex.name + "'s previous owner died holding it");
            }
            mutex.deathPending = false;
            mutex.owner = self;
            held.get(self).push(mutex);
            if (acquisition != null) {
                mutex.acquisitions.put(self, acquisition);
            }
            checkThread(self, "after " + self.name() + " locked " + mutex.name);
            if (died) {
                if (acquisition != null) {
                    acquisition.markConsistent();
                } else if (glibc.consistent() != 0) {
                    violation(self.name() + ": pthread_mutex_consistent of " + mutex.name + " failed");
                }
            }
        }

        private void unlock(ModelThread self, Mutex mutex) {
            if (mutex.owner == self) {
                mutex.owner = null;
            }
            held.get(self).remove(mutex);
            if (mutex.spec.ours()) {
                mutex.acquisitions.remove(self).close();
            } else {
                int result = mutex.natives.get(self.process()).unlock();
                if (result != 0) {
                    violation(self.name() + "'s pthread_mutex_unlock of " + mutex.name + " returned " + result);
                }
            }
            checkThread(self, "after " + self.name() + " unlocked " + mutex.name);
        }

        // -------------------------------------------------------------- the list

        /** The list and the pending slots of a thread between its operations. */
        private void checkThread(ModelThread thread, String when) {
            String list = variant.listChecked() ? listProblem(thread) : null;
            if (list != null) {
                violation("broken list: " + when + ", " + list);
            }
            for (long head : new long[] {thread.robustHead, thread.descriptorHead}) {
                Long pending = head == 0 ? null : load(thread.process(),
                        head + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET);
                if (pending != null && pending != 0) {
                    violation("pending left set: " + when + ", " + thread.process().describe(
                            head + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET) + " names "
                            + name(thread, pending));
                }
            }
        }

        /** What is wrong with the thread's registered list, or null. */
        String listProblem(ModelThread thread) {
            List<Mutex> expected = new ArrayList<>(held.get(thread));
            long head = thread.robustHead;
            ModelProcess process = thread.process();
            if (head == 0) {
                return expected.isEmpty() ? null : thread.name() + " holds " + expected.get(0).name
                        + " but has no robust list registered";
            }
            long predecessor = head;
            Long link = load(process, head + RobustListHeadDescriptor.LIST_NEXT_OFFSET);
            int index = 0;
            while (true) {
                if (link == null) {
                    return "the list of " + thread.name() + " leads to unmapped memory after "
                            + name(thread, predecessor);
                }
                long entry = link & ~RobustListHeadDescriptor.PI_BIT;
                if (entry == head) {
                    break;
                }
                if (index >= expected.size() || index >= RobustListHeadDescriptor.ROBUST_LIST_LIMIT) {
                    return "the list of " + thread.name() + " holds " + name(thread, entry) + " after the "
                            + expected.size() + " mutex(es) it holds " + names(expected);
                }
                Mutex want = expected.get(index);
                if (entry != entryAddress(want, process)) {
                    return "entry " + index + " of " + thread.name() + "'s list is " + name(thread, entry)
                            + ", not " + want.name + " (it holds " + names(expected) + ", most recent first)";
                }
                if (((link & RobustListHeadDescriptor.PI_BIT) != 0) != want.pi(configuration.kind())) {
                    return "the pointer to " + want.name + " in " + name(thread, predecessor) + " has the PI bit "
                            + ((link & RobustListHeadDescriptor.PI_BIT) != 0 ? "set" : "clear");
                }
                Long prev = load(process, entry - RobustListHeadDescriptor.PREV_SLOT_SIZE);
                if (prev == null || prev != predecessor) {
                    return want.name + "'s prev is " + (prev == null ? "unmapped" : name(thread, prev)) + ", not "
                            + name(thread, predecessor) + " before it";
                }
                predecessor = entry;
                link = load(process, entry);
                index++;
            }
            if (index < expected.size()) {
                return "the list of " + thread.name() + " misses " + expected.get(index).name + " (it holds "
                        + names(expected) + ", most recent first; the list has " + index + ")";
            }
            return null;
        }

        private long entryAddress(Mutex mutex, ModelProcess process) {
            return regions.get(process).address() + mutex.offset + ModelNativeMutex.NEXT;
        }

        /** A list address as the report names it: a mutex, or a head, or whatever the process has there. */
        private String name(ModelThread thread, long address) {
            long entry = address & ~RobustListHeadDescriptor.PI_BIT;
            ModelRegion region = regions.get(thread.process());
            for (Mutex mutex : mutexes) {
                if (region != null && entry == entryAddress(mutex, thread.process())) {
                    return mutex.name;
                }
            }
            return thread.process().describe(entry);
        }

        private static String names(List<Mutex> list) {
            List<String> names = new ArrayList<>();
            for (Mutex mutex : list) {
                names.add(mutex.name);
            }
            return names.toString();
        }

        private Long load(ModelProcess process, long address) {
            KernelModel.Location at = process.resolve(address, 8);
            return at == null ? null : model.load64(at);
        }

        // -------------------------------------------------------------- the world's hooks

        @Override
        public KernelModel model() {
            return model;
        }

        @Override
        public List<ModelThread> actors() {
            return actors;
        }

        @Override
        public void beforeDeath(ModelThread actor) {
            for (Mutex mutex : mutexes) {
                int word = word(mutex);
                if (FutexWord.owner(word) == actor.tid()) {
                    mutex.deathPending = true;
                }
                if (mutex.owner == actor) {
                    mutex.owner = null;
                    if (FutexWord.owner(word) != actor.tid()) {
                        violation(actor.name() + " held " + mutex.name + " but the word is "
                                + FutexWord.describe(word));
                    }
                }
            }
            held.get(actor).clear();
        }

        @Override
        public void afterDeath(ModelThread actor) {
            for (Mutex mutex : mutexes) {
                int word = word(mutex);
                if (FutexWord.owner(word) == actor.tid()) {
                    violation("left held by a dead thread: when " + actor.name() + " died, the kernel did not"
                            + " release " + mutex.name + " (word " + FutexWord.describe(word) + ")");
                }
            }
        }

        private Mutex at(KernelModel.Location at) {
            for (Mutex mutex : mutexes) {
                if (at.object() == shm && at.offset() == mutex.offset) {
                    return mutex;
                }
            }
            return null;
        }

        @Override
        public void exitWalkMarks(ModelThread dying, KernelModel.Location at, int word) {
            Mutex mutex = at(at);
            if (mutex == null) {
                violation("when " + dying.name() + " died, the exit walk marked " + at.object().name() + "+"
                        + at.offset() + ", which is no mutex's word");
            } else if (mutex.owner != null && mutex.owner != dying) {
                violation("when " + dying.name() + " died, the kernel marked " + mutex.name + ", held by "
                        + mutex.owner.name() + " (" + FutexWord.describe(word) + ")");
            }
        }

        @Override
        public void robustWakeStores(ModelThread caller, KernelModel.Location at, int word) {
            Mutex mutex = at(at);
            if (mutex != null && mutex.owner != null && mutex.owner != caller) {
                violation(caller.name() + "'s FUTEX_WAKE|FUTEX_ROBUST_UNLOCK stored 0 over " + mutex.name
                        + ", held by " + mutex.owner.name());
            }
        }

        @Override
        public void atQuiescence() {
            for (ModelThread actor : actors) {
                KernelModel.Waiter waiter = actor.waiting;
                if (actor.state() != ModelThread.State.BLOCKED || waiter == null || waiter.pi) {
                    continue;
                }
                Mutex mutex = at(new KernelModel.Location(waiter.key.object(), waiter.key.offset()));
                if (mutex == null || FutexWord.owner(word(mutex)) != 0) {
                    continue;
                }
                if (waiter.deadline == Long.MAX_VALUE) {
                    violation("lost wake-up: " + actor.name() + " is asleep without a timeout on " + mutex.name
                            + ", which is free (" + FutexWord.describe(word(mutex)) + ")");
                } else {
                    healed = true;
                }
            }
        }

        @Override
        public void finish() {
            for (ModelThread actor : actors) {
                ModelTask<?> task = tasks.get(actor);
                if (actor.state() == ModelThread.State.BLOCKED) {
                    violation(actor.name() + " is asleep for ever");
                } else if (task.outcome() == ModelTask.Outcome.FAILED) {
                    violation(actor.name() + " failed: " + task.failure());
                } else if (!actor.isDead()) {
                    checkThread(actor, "at the end");
                }
            }
            for (Mutex mutex : mutexes) {
                int owner = FutexWord.owner(word(mutex));
                for (ModelThread actor : actors) {
                    if (actor.isDead() && owner == actor.tid()) {
                        violation("left held by a dead thread: " + mutex.name + " still names " + actor.name()
                                + " (" + FutexWord.describe(word(mutex)) + ")");
                    }
                }
            }
            if (!violations.isEmpty()) {
                return;
            }
            ModelThread checker = thread(model.newProcess(), "check");
            Map<Mutex, Boolean> told = new LinkedHashMap<>();
            ModelTask<?> last = checker.start(() -> {
                for (Mutex mutex : mutexes) {
                    if (mutex.spec.ours()) {
                        Acquisition got = mutex.ours.get(checker.process()).tryAcquire().orElse(null);
                        if (got == null) {
                            continue;
                        }
                        told.put(mutex, got.ownerDied());
                        if (got.ownerDied()) {
                            got.markConsistent();
                        }
                        got.close();
                    } else {
                        ModelNativeMutex glibc = mutex.natives.get(checker.process());
                        int result = glibc.lock();
                        if (result != 0 && result != ModelNativeMutex.EOWNERDEAD) {
                            continue;
                        }
                        told.put(mutex, result == ModelNativeMutex.EOWNERDEAD);
                        if (result == ModelNativeMutex.EOWNERDEAD) {
                            glibc.consistent();
                        }
                        glibc.unlock();
                    }
                }
                return null;
            });
            model.runUntilQuiet();
            for (Mutex mutex : mutexes) {
                Boolean died = told.get(mutex);
                if (died == null) {
                    violation("lost lock: a fresh thread cannot take " + mutex.name + "; word "
                            + FutexWord.describe(word(mutex)) + (last.failure() == null ? "" : " (" + last.failure()
                            + ")"));
                    return;
                }
                if (died != mutex.deathPending) {
                    violation(mutex.deathPending ? "an owner death of " + mutex.name + " was never reported"
                            : "a fresh thread was told of a death of " + mutex.name);
                }
            }
        }

        @Override
        public List<String> violations() {
            return violations;
        }

        @Override
        public boolean healedLostWakeUp() {
            return healed;
        }
    }
}
