package io.robustmutex.model;

import io.robustmutex.internal.RobustThread;
import io.robustmutex.spi.UnlockCriticalSection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * A simulated thread of a {@link ModelProcess}: it has a TID, registers a robust list head with the model's
 * kernel on its first lock, runs tasks (Java code) one at a time, and can be killed before any step.
 *
 * <p>Each simulated thread is carried by a Java platform thread, but only one simulated thread runs at a
 * time and only between steps does control change hands, so a run is deterministic. The model's driver
 * ({@link KernelModel#runUntilQuiet()}, {@link KernelModel#run(ModelThread)}) decides who runs.
 */
public final class ModelThread {

    /** Where a simulated thread is in its life. */
    public enum State {
        /** Alive, with no task to run. */
        IDLE,
        /** Has a task to start or continue. */
        RUNNABLE,
        /** Running (holds the model's baton). */
        RUNNING,
        /** Asleep in the kernel (a futex wait or a PI lock). */
        BLOCKED,
        /** Stopped before a step with a fatal signal pending: the kernel has not handled its death yet. */
        STOPPED,
        /** Exited: the kernel walked its robust list. */
        DEAD
    }

    final KernelModel model;
    final ModelProcess process;
    final int tid;
    final String name;
    State state = State.IDLE;

    private Callable<?> task;
    private ModelTask<?> currentTask;
    private boolean carried;

    KillPoint killPoint;
    final Set<Integer> interruptBefore = new HashSet<>();
    /** Results to return, instead of doing anything, from the futex call made at a step index. */
    final Map<Integer, Integer> injected = new HashMap<>();
    int stepIndex;
    /** How many more steps the thread may take before pausing (see {@link KernelModel#runSteps}). */
    int stepBudget = Integer.MAX_VALUE;
    final List<Step> trace = new ArrayList<>();
    Step stoppedAt;

    /** Signalled when the driver hands this thread the baton (or the model closes). */
    final java.util.concurrent.locks.Condition baton;

    /** Kernel side: the registered robust list head (0 when none). */
    long robustHead;
    /**
     * C library side: the head in the thread's descriptor ({@code THREAD_SELF->robust_head}), which glibc
     * registers when it creates the thread and links its robust mutexes into whatever is registered since;
     * 0 when the C library registers none ({@link KernelModel.Builder#glibcHeads}).
     */
    long descriptorHead;
    /** The library's choice of head, once it registered the thread: {@code joined glibc} or {@code own (why)}. */
    String headChoice;
    /** User side: the protocol's per-thread state, created by the process's kernel binding. */
    RobustThread robust;

    /** Whether the thread's next futex wait is a periodic look at the word (see Kernel.futexWait). */
    boolean nextWaitPeriodic;

    /** When blocked: what it waits on. */
    KernelModel.Waiter waiting;
    int wakeResult;

    /** When inside the vDSO try-unlock: the machine state the kernel's fixup inspects. */
    VdsoFrame vdso;

    /** Set when the kernel has taken the thread's death; the carrier unwinds without further steps. */
    boolean killed;

    /** An interrupt asked for by the driver, delivered to the carrier when it next runs. */
    private boolean pendingInterrupt;

    ModelThread(KernelModel model, ModelProcess process, int tid, String name) {
        this.model = model;
        this.process = process;
        this.tid = tid;
        this.name = name;
        this.baton = model.lock.newCondition();
    }

    /** The registers, flags and instruction pointer of a thread inside the vDSO critical section. */
    static final class VdsoFrame {
        final UnlockCriticalSection section;
        final Map<String, Long> registers = new HashMap<>();
        int ip;
        boolean zero;
        KernelModel.Location monitor;
        long monitorSequence;

        VdsoFrame(UnlockCriticalSection section) {
            this.section = section;
        }
    }

    /**
     * The thread's TID.
     *
     * @return the TID
     */
    public int tid() {
        return tid;
    }

    /**
     * The thread's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * The process the thread belongs to.
     *
     * @return the process
     */
    public ModelProcess process() {
        return process;
    }

    /**
     * The robust list head the kernel has registered for the thread, which it walks when the thread dies.
     *
     * @return the head's address, or 0 when none is registered
     */
    public long registeredRobustList() {
        model.lock.lock();
        try {
            return robustHead;
        } finally {
            model.lock.unlock();
        }
    }

    /**
     * The robust list head glibc keeps in the thread's descriptor and registered when it created the thread
     * ({@link KernelModel.Builder#glibcHeads}); its robust mutexes go on that list whatever is registered since.
     *
     * @return the head's address, or 0 when the C library registers none
     */
    public long glibcRobustList() {
        return descriptorHead;
    }

    /**
     * Which robust list the library uses for the thread, once it has taken a robust mutex: {@code joined glibc}
     * when it links its records into the head glibc registered, or {@code own (why)} when it registered a head
     * of its own ({@code KernelSupport.robustList()} of the real library).
     *
     * @return the choice, or null before the thread's first lock
     */
    public String robustListChoice() {
        model.lock.lock();
        try {
            return headChoice;
        } finally {
            model.lock.unlock();
        }
    }

    /**
     * The thread's state.
     *
     * @return the state
     */
    public State state() {
        return state;
    }

    /**
     * Whether the thread has exited.
     *
     * @return true when dead
     */
    public boolean isDead() {
        return state == State.DEAD;
    }

    /**
     * The steps of the current (or last) task so far.
     *
     * @return the steps
     */
    public List<Step> steps() {
        return List.copyOf(trace);
    }

    /**
     * The step before which the thread was stopped by its kill point, if it was.
     *
     * @return the step, or null
     */
    public Step stoppedAt() {
        return stoppedAt;
    }

    /**
     * Kills the thread before the step of its next task that matches. Replaces an earlier kill point.
     *
     * @param where the kill point, or null for none
     * @return this thread
     */
    public ModelThread killAt(KillPoint where) {
        this.killPoint = where;
        return this;
    }

    /**
     * Interrupts (without a signal) the thread before the step with this index of its next task: the
     * thread continues, but an exclusive monitor armed by a load-exclusive is cleared, as on exception
     * return.
     *
     * @param index the step index
     * @return this thread
     */
    public ModelThread interruptBeforeStep(int index) {
        interruptBefore.add(index);
        return this;
    }

    /**
     * Makes the futex call that the thread makes as the step with this index of its next task return
     * {@code result} without doing anything: a spurious wake-up ({@code 0} from a wait), a signal
     * ({@code -EINTR}), or a concurrent change of the word ({@code -EAGAIN} from {@code FUTEX_UNLOCK_PI}).
     * Inject only what the kernel can return for that call.
     *
     * @param index the step index of a futex call
     * @param result the result, 0 or {@code -errno}
     * @return this thread
     */
    public ModelThread injectResultAtStep(int index, int result) {
        model.lock.lock();
        try {
            injected.put(index, result);
        } finally {
            model.lock.unlock();
        }
        return this;
    }

    /**
     * Kills the thread now, from the driver: as if its process received SIGKILL while this thread was idle,
     * asleep in the kernel, or stopped. The kernel walks its robust list.
     */
    public void kill() {
        model.deliverDeath(this);
    }

    /**
     * Interrupts the thread, as {@link Thread#interrupt()} would: the next time it runs, its Java interrupt
     * status is set. A thread asleep in the kernel is not woken by it (nor is a real one in a futex wait).
     */
    public void interrupt() {
        model.lock.lock();
        try {
            pendingInterrupt = true;
        } finally {
            model.lock.unlock();
        }
    }

    /**
     * Gives the thread a task; it runs when the driver runs the thread.
     *
     * @param body the code, which may use the model's mutexes and regions
     * @param <T> the result type
     * @return the task's handle
     * @throws IllegalStateException when the thread is dead or still busy with another task
     */
    public <T> ModelTask<T> start(Callable<T> body) {
        model.lock.lock();
        try {
            if (state != State.IDLE) {
                throw new IllegalStateException(name + " cannot start a task: it is " + state);
            }
            ModelTask<T> handle = new ModelTask<>(this);
            task = body;
            currentTask = handle;
            stepIndex = 0;
            trace.clear();
            stoppedAt = null;
            state = State.RUNNABLE;
            if (!carried) {
                carried = true;
                CarrierPool.start(this::carry, "model-" + process.pid() + "-" + name);
            }
            return handle;
        } finally {
            model.lock.unlock();
        }
    }

    boolean hasCarrier() {
        return carried;
    }

    /** The carrier's loop: wait for the baton, run the task, hand the baton back. */
    private void carry() {
        KernelModel.CURRENT.set(this);
        while (true) {
            Callable<?> body;
            ModelTask<?> handle;
            model.lock.lock();
            try {
                try {
                    awaitBaton();
                } catch (ThreadKilled e) {
                    return;
                }
                if (killed) {
                    if (currentTask != null) {
                        currentTask.killed();
                    }
                    model.releaseBaton(this);
                    return;
                }
                body = task;
                handle = currentTask;
            } finally {
                model.lock.unlock();
            }
            boolean died = false;
            try {
                Object result = body.call();
                handle.complete(result);
            } catch (ThreadKilled e) {
                handle.killed();
                died = true;
            } catch (KernelModel.SimulatedFault fault) {
                // SIGSEGV: the thread stops with a fatal signal pending and its whole process will die.
                handle.fail(fault);
                model.lock.lock();
                try {
                    process.faulted = true;
                    state = State.STOPPED;
                    try {
                        yieldAndAwait();
                    } catch (ThreadKilled ignored) {
                        // The model is closing.
                    }
                    model.releaseBaton(this);
                } finally {
                    model.lock.unlock();
                }
                return;
            } catch (Throwable t) {
                handle.fail(t);
            }
            model.lock.lock();
            try {
                task = null;
                currentTask = null;
                if (!died && !killed) {
                    state = State.IDLE;
                }
                model.releaseBaton(this);
                if (died || killed) {
                    return;
                }
            } finally {
                model.lock.unlock();
            }
        }
    }

    /** Waits, holding the model lock, until the driver hands this thread the baton. */
    void awaitBaton() {
        boolean interrupted = false;
        while (model.running != this) {
            if (model.closed) {
                throw new ThreadKilled(name);
            }
            try {
                baton.await();
            } catch (InterruptedException e) {
                // The code under test's own interrupt status; keep it for when the thread runs again.
                interrupted = true;
            }
        }
        if (interrupted || pendingInterrupt) {
            pendingInterrupt = false;
            Thread.currentThread().interrupt();
        }
    }

    /** Hands the baton back to the driver and waits to get it again; called with the model lock held. */
    void yieldAndAwait() {
        model.releaseBaton(this);
        awaitBaton();
    }

    @Override
    public String toString() {
        return name + "(tid " + tid + ", " + state + ")";
    }
}
