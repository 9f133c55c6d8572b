package io.robustmutex.model;

import io.robustmutex.Acquisition;
import io.robustmutex.RobustMutex;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.MutexRecordDescriptor;
import io.robustmutex.internal.RobustListHeadDescriptor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The scenarios whose schedules {@link ModelCheck} explores: a few threads, each in its own process, taking
 * and releasing one mutex, with a monitor that checks the invariants after every step that matters.
 *
 * <ul>
 * <li>{@link #handOff}: H holds the mutex while W1 and W2 sleep in the kernel; H releases it, takes it again
 *     and releases it (a barger racing the waiter it woke); W1 and W2 then take and release it.</li>
 * <li>{@link #contention}: A and B (two threads of one process) and C (another process) each take and
 *     release the free mutex once.</li>
 * <li>{@link #vanishedOwner}: the word holds the TID of a thread that is gone without a robust-list entry for
 *     it (as after the exit walk's 2048-entry limit, or a damaged list); C1 and C2 each take and release
 *     it.</li>
 * <li>{@link #staleBoot}: the record of a region that keeps boot stamps was left held in an earlier boot, by a
 *     TID that in this boot names a live thread that never touched the mutex; C1 and C2 each take and release
 *     it (the first to look takes it over as an owner death).</li>
 * </ul>
 *
 * <p>The monitor checks: at most one owner at any time (an acquisition returns only while no other thread
 * holds, and the word then carries the acquirer's TID); every death of a holder reported, once, to the next
 * acquirer, and no other death reported; no kernel write into a word held by a live thread other than the
 * one the kernel acts for; no waiter asleep without a timeout on a free word when nothing else can run (a
 * waiter asleep there with a timeout is a lost wake-up that a re-check heals, counted apart); at the end,
 * every actor finished or was killed, nobody failed, every survivor's pending slot is clear, and a fresh
 * thread takes the mutex at once, told of a death exactly when one is still unreported.
 */
final class InterleavingScenarios {

    private InterleavingScenarios() {
    }

    /** The scenarios, by name, for a configuration. */
    static Map<String, ScheduleExplorer.Program> all(ModelCheck.ExplorationConfiguration configuration) {
        Map<String, ScheduleExplorer.Program> all = new java.util.LinkedHashMap<>();
        all.put("hand-off", () -> handOff(configuration));
        all.put("contention", () -> contention(configuration));
        all.put("vanished-owner", () -> vanishedOwner(configuration));
        all.put("stale-boot", () -> staleBoot(configuration));
        return all;
    }

    static ScheduleExplorer.World handOff(ModelCheck.ExplorationConfiguration configuration) {
        MutexWorld world = new MutexWorld(configuration);
        ModelThread h = world.actor("H");
        ModelThread w1 = world.actor("W1");
        ModelThread w2 = world.actor("W2");
        world.setUp(h, () -> world.lock(h));
        world.setUp(w1, () -> {
            world.lock(w1);
            world.unlock(w1);
        });
        world.setUp(w2, () -> {
            world.lock(w2);
            world.unlock(w2);
        });
        world.begin(h, () -> {
            world.unlock(h);
            world.lock(h);
            world.unlock(h);
        });
        return world;
    }

    static ScheduleExplorer.World contention(ModelCheck.ExplorationConfiguration configuration) {
        MutexWorld world = new MutexWorld(configuration);
        ModelThread a = world.actor("A");
        ModelThread b = world.actorBeside(a, "B");
        ModelThread c = world.actor("C");
        for (ModelThread thread : List.of(a, b, c)) {
            world.begin(thread, () -> {
                world.lock(thread);
                world.unlock(thread);
            });
        }
        return world;
    }

    static ScheduleExplorer.World vanishedOwner(ModelCheck.ExplorationConfiguration configuration) {
        MutexWorld world = new MutexWorld(configuration);
        ModelProcess ghostProcess = world.model.newProcess();
        ModelRegion ghostRegion = ghostProcess.map(world.shm);
        ghostRegion.mutex(0, configuration.kind());
        ModelThread ghost = ghostProcess.newThread("G");
        // G writes its TID into the word without a robust-list entry for it, then dies: nothing releases it.
        ghost.start(() -> {
            ghostRegion.putInt(0, ghost.tid());
            return null;
        });
        world.model.run(ghost);
        world.model.deliverDeath(ghost);
        world.deathPending = true;
        ModelThread c1 = world.actor("C1");
        ModelThread c2 = world.actor("C2");
        for (ModelThread thread : List.of(c1, c2)) {
            world.begin(thread, () -> {
                world.lock(thread);
                world.unlock(thread);
            });
        }
        return world;
    }

    /** This boot's stamp in {@link #staleBoot}, and the earlier boot's. */
    private static final int THIS_BOOT = 0x7a11;
    private static final int EARLIER_BOOT = 0x1d1e;

    static ScheduleExplorer.World staleBoot(ModelCheck.ExplorationConfiguration configuration) {
        MutexWorld world = new MutexWorld(configuration, configuration.modelBuilder().bootStamp(THIS_BOOT).build());
        // A live thread of this boot that has nothing to do with the mutex; an earlier boot's holder had its TID.
        ModelThread bystander = world.model.newProcess().newThread("bystander");
        ModelRegion region = world.regionOf(bystander.process());
        region.mutex(0, configuration.kind());
        region.putInt(MutexRecordDescriptor.FUTEX_WORD_OFFSET, bystander.tid());
        region.putInt(MutexRecordDescriptor.BOOT_STAMP_OFFSET, EARLIER_BOOT);
        world.deathPending = true;
        ModelThread c1 = world.actor("C1");
        ModelThread c2 = world.actor("C2");
        for (ModelThread thread : List.of(c1, c2)) {
            world.begin(thread, () -> {
                world.lock(thread);
                world.unlock(thread);
            });
        }
        return world;
    }

    /** A world of threads sharing one mutex at offset 0 of one shared object, and its monitor. */
    static class MutexWorld implements ScheduleExplorer.World {
        final ModelCheck.ExplorationConfiguration configuration;
        final KernelModel model;
        final SharedObject shm;
        private final List<ModelThread> actors = new ArrayList<>();
        private final Map<ModelThread, RobustMutex> mutexes = new HashMap<>();
        private final Map<ModelThread, Acquisition> held = new HashMap<>();
        private final Map<ModelThread, ModelTask<?>> tasks = new HashMap<>();
        private final List<String> violations = new ArrayList<>();
        /** The thread whose acquisition returned and whose release has not begun. */
        private ModelThread owner;
        /** Whether a holder died (or the word names a dead thread) and no acquirer was told yet. */
        boolean deathPending;
        private boolean healed;

        MutexWorld(ModelCheck.ExplorationConfiguration configuration) {
            this(configuration, configuration.newModel());
        }

        MutexWorld(ModelCheck.ExplorationConfiguration configuration, KernelModel model) {
            this.configuration = configuration;
            this.model = model;
            this.shm = model.newSharedObject("shm", 4096);
        }

        ModelThread actor(String name) {
            return actorIn(model.newProcess(), name);
        }

        ModelThread actorBeside(ModelThread sibling, String name) {
            return actorIn(sibling.process(), name);
        }

        private ModelThread actorIn(ModelProcess process, String name) {
            ModelThread thread = process.newThread(name);
            RobustMutex mutex = regionOf(process).mutex(0, configuration.kind());
            mutexes.put(thread, mutex);
            actors.add(thread);
            return thread;
        }

        private final Map<ModelProcess, ModelRegion> regions = new HashMap<>();

        ModelRegion regionOf(ModelProcess process) {
            return regions.computeIfAbsent(process, p -> p.map(shm));
        }

        /** Runs part of an actor's work before the exploration, undisturbed, until it blocks or finishes. */
        void setUp(ModelThread thread, Runnable body) {
            ModelTask<?> task = thread.start(() -> {
                body.run();
                return null;
            });
            tasks.put(thread, task);
            model.run(thread);
        }

        /** Gives an actor the work whose schedules are explored. */
        void begin(ModelThread thread, Runnable body) {
            if (thread.state() == ModelThread.State.IDLE) {
                tasks.put(thread, thread.start(() -> {
                    body.run();
                    return null;
                }));
            } else {
                throw new IllegalStateException(thread + " is still busy with its set-up");
            }
        }

        int word() {
            return shm.view.getInt(0);
        }

        void violation(String text) {
            violations.add(text);
        }

        void lock(ModelThread self) {
            Acquisition acquisition = mutexes.get(self).acquire();
            acquired(self, acquisition.ownerDied());
            held.put(self, acquisition);
            if (acquisition.ownerDied()) {
                acquisition.markConsistent();
            }
        }

        /** The mutex as an actor's process sees it. */
        RobustMutex mutexOf(ModelThread self) {
            return mutexes.get(self);
        }

        /** An actor is about to release the mutex by other means than {@link #unlock} (a condition's wait). */
        void releasing(ModelThread self) {
            if (owner == self) {
                owner = null;
            }
        }

        /**
         * An acquisition by an actor returned: checks that nobody else holds, that the word names it and that it
         * was told of an owner death exactly when one is unreported, and makes it the owner.
         */
        void acquired(ModelThread self, boolean ownerDied) {
            int word = word();
            if (FutexWord.owner(word) != self.tid()) {
                violation("two owners: " + self.name() + "'s acquisition returned, but the word is "
                        + FutexWord.describe(word) + ": another thread took the mutex from it");
            }
            if (owner != null) {
                violation("two owners: " + self.name() + " acquired while " + owner.name() + " holds");
            }
            if (ownerDied != deathPending) {
                violation(ownerDied ? self.name() + " was told of an owner death that did not happen"
                        : self.name() + " was not told that the previous owner died holding the mutex");
            }
            deathPending = false;
            owner = self;
        }

        void unlock(ModelThread self) {
            if (owner == self) {
                owner = null;
            }
            held.remove(self).close();
        }

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
            int word = word();
            if (FutexWord.owner(word) == actor.tid()) {
                deathPending = true;
            }
            if (owner == actor) {
                owner = null;
                if (FutexWord.owner(word) != actor.tid()) {
                    violation(actor.name() + " held the mutex but the word is " + FutexWord.describe(word));
                }
            }
        }

        @Override
        public void exitWalkMarks(ModelThread dying, KernelModel.Location at, int word) {
            if (at.object() == shm && at.offset() == 0 && owner != null && owner != dying) {
                violation("when " + dying.name() + " died, the kernel marked the word held by " + owner.name()
                        + " (" + FutexWord.describe(word) + ")");
            }
        }

        @Override
        public void robustWakeStores(ModelThread caller, KernelModel.Location at, int word) {
            if (at.object() == shm && at.offset() == 0 && owner != null && owner != caller) {
                violation(caller.name() + "'s FUTEX_WAKE|FUTEX_ROBUST_UNLOCK stored 0 over the word held by "
                        + owner.name());
            }
        }

        @Override
        public void atQuiescence() {
            int word = word();
            if (FutexWord.owner(word) != 0) {
                return;
            }
            for (ModelThread actor : actors) {
                KernelModel.Waiter waiter = actor.waiting;
                if (actor.state() != ModelThread.State.BLOCKED || waiter == null || waiter.pi
                        || waiter.key.object() != shm || waiter.key.offset() != 0) {
                    continue;
                }
                if (waiter.deadline == Long.MAX_VALUE) {
                    violation("lost wake-up: " + actor.name() + " is asleep without a timeout on the free word "
                            + FutexWord.describe(word));
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
                    violation(actor.name() + " is asleep for ever; word " + FutexWord.describe(word()));
                } else if (task != null && task.outcome() == ModelTask.Outcome.FAILED) {
                    violation(actor.name() + " failed: " + task.failure());
                } else if (!actor.isDead()) {
                    checkPendingClear(actor);
                }
            }
            if (!violations.isEmpty()) {
                return;
            }
            ModelThread checker = model.newProcess().newThread("check");
            RobustMutex mutex = regionOf(checker.process()).mutex(0, configuration.kind());
            boolean expectDeath = deathPending;
            ModelTask<Optional<Boolean>> last = checker.start(() -> {
                Optional<Acquisition> got = mutex.tryAcquire();
                got.ifPresent(a -> {
                    if (a.ownerDied()) {
                        a.markConsistent();
                    }
                    a.close();
                });
                return got.map(Acquisition::ownerDied);
            });
            model.runUntilQuiet();
            if (last.outcome() != ModelTask.Outcome.COMPLETED || last.result().isEmpty()) {
                violation("lost lock: a fresh thread cannot take the mutex; word " + FutexWord.describe(word())
                        + (last.failure() == null ? "" : " (" + last.failure() + ")"));
            } else if (last.result().get() != expectDeath) {
                violation(expectDeath ? "an owner death was never reported" : "a fresh thread was told of a death");
            }
        }

        private void checkPendingClear(ModelThread thread) {
            if (thread.robustHead == 0) {
                return;
            }
            KernelModel.Location slot = thread.process.resolve(
                    thread.robustHead + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 8);
            if (slot != null && model.load64(slot) != 0) {
                violation(thread.name() + "'s list_op_pending was left set");
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
