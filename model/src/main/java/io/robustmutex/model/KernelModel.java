package io.robustmutex.model;

import io.robustmutex.UnlockPath;
import io.robustmutex.internal.Errno;
import io.robustmutex.internal.FutexOp;
import io.robustmutex.internal.FutexWord;
import io.robustmutex.internal.RobustListHeadDescriptor;
import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.FixupRule;
import io.robustmutex.spi.PendingSlotWidth;
import io.robustmutex.spi.UnlockCriticalSection;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * An executable model of the kernel side of robust futexes, in plain Java and deterministic: the futex
 * operations the library uses, simulated processes and threads with TIDs and robust list heads, the exit
 * walk, PI hand-off, the 7.2 robust unlock flags, and the vDSO try-unlock run instruction by instruction
 * with the return-to-user fixup (design.md section 6; kernel-abi.md sections 1 to 4).
 *
 * <h2>Overview</h2>
 *
 * <p>Memory is a set of {@link SharedObject}s mapped by {@link ModelProcess}es at addresses of their own;
 * every access resolves the address through the process's mappings, so unmapping and mapping other data at
 * the same address is visible to everything that still holds the address, including the kernel's exit walk.
 * Futex keys are (object, offset), like the kernel's shared keys.
 *
 * <p>Simulated threads run the library's real protocol code ({@code RobustMutexProtocol}) through the
 * {@code Kernel} and {@code AtomicMemory} interfaces. Every memory access, system call and vDSO instruction
 * is a {@link Step}; a thread can be killed before any step ({@link ModelThread#killAt}). Only one simulated
 * thread runs at a time, and only the driver ({@link #run}, {@link #runUntilQuiet}) passes control, so
 * every run is reproducible. Time is virtual: it advances only when every thread is asleep with a timeout.
 *
 * <p>What each kernel operation does is written next to it, citing kernel-abi.md; where kernel-abi.md and
 * the kernel sources word a rule differently, this model follows kernel-abi.md and says so.
 */
public final class KernelModel implements AutoCloseable {

    /** Which kernel the model behaves as. */
    public enum Release {
        /** Before Linux 7.2: every {@code op | FUTEX_ROBUST_UNLOCK} is {@code ENOSYS}; no vDSO try-unlock. */
        PRE_7_2,
        /** Linux 7.2: {@code FUTEX_ROBUST_UNLOCK}, {@code FUTEX_ROBUST_LIST32}, and (with an architecture
         *  description) the vDSO try-unlock with its fixup. */
        LINUX_7_2
    }

    /**
     * Which robust list head the library's threads use, as the system property
     * {@code io.robustmutex.robustList} sets it for the real library.
     */
    public enum RobustListChoice {
        /**
         * The library's default: a thread's first lock joins the head the C library registered for it when
         * {@code get_robust_list} gives one of 24 bytes whose {@code futex_offset} is -32, and shares its list
         * with the thread's native code ({@code LinuxKernel.chooseHead}); otherwise it registers a head of its own.
         */
        JOIN,
        /**
         * {@code -Dio.robustmutex.robustList=own}: the library registers a head of its own without asking, which
         * replaces (unregisters) a head the C library registered.
         */
        OWN
    }

    /** What an explorer of schedules sees of a run; called with the model lock held. */
    interface Observer {
        /** Sees nothing. */
        Observer NONE = new Observer() {
        };

        /**
         * A simulated thread is about to take a step (after its kill point, if any, let it).
         *
         * @param thread the thread
         * @param step the step
         */
        default void step(ModelThread thread, Step step) {
        }

        /**
         * The exit walk of a dying thread is about to mark a word it found holding the thread's TID.
         *
         * @param dying the dying thread
         * @param at the word
         * @param word the word's value
         */
        default void exitWalkMarks(ModelThread dying, Location at, int word) {
        }

        /**
         * {@code FUTEX_WAKE | FUTEX_ROBUST_UNLOCK} of a thread is about to store into a word without checking
         * who owns it.
         *
         * @param caller the calling thread
         * @param at the word
         * @param word the word's value
         */
        default void robustWakeStores(ModelThread caller, Location at, int word) {
        }
    }

    static final ThreadLocal<ModelThread> CURRENT = new ThreadLocal<>();
    private static final long DRIVER_WAIT_MILLIS = TimeUnit.SECONDS.toMillis(60);

    /** Guards every field of the model and of its processes and threads. */
    final java.util.concurrent.locks.ReentrantLock lock = new java.util.concurrent.locks.ReentrantLock();
    /** Signalled when the running simulated thread hands the baton back to the driver. */
    private final java.util.concurrent.locks.Condition driverTurn = lock.newCondition();
    /**
     * Held by whoever drives the model ({@link #run}, {@link #runSteps}, {@link #runUntilQuiet},
     * {@link #deliverDeath}), so that several Java threads may drive one model (a JCStress test's actors,
     * for instance): their calls interleave, one at a time, at step boundaries.
     */
    private final java.util.concurrent.locks.ReentrantLock driver = new java.util.concurrent.locks.ReentrantLock();
    ModelThread running;
    boolean closed;

    private final Architecture architecture;
    private final Release release;
    private final boolean vdsoTryUnlock;
    private final boolean userIrqRecorded;
    private final UnlockPath unlockPath;
    private final long interruptSliceNanos;
    private final boolean robustWakeStoresWaiters;
    private final long recheckNanos;
    private final int bootStamp;
    private final boolean glibcHeads;
    private final RobustListChoice robustList;
    /** Who watches the run: a schedule explorer records steps and checks the kernel's writes. */
    Observer observer = Observer.NONE;

    private long clock = TimeUnit.SECONDS.toNanos(1000);
    /** No timeout later than this fires (see {@link #runFor}). */
    private long timeLimit = Long.MAX_VALUE;
    private int nextPid = 100;
    /** Namespace identities look like the inode numbers of /proc/self/ns/pid. */
    private long nextNamespaceId = 4026531836L;
    private final ModelPidNamespace initialNamespace = new ModelPidNamespace(nextNamespaceId++);
    private int nextObject;
    private long writeSequence;
    private final List<ModelProcess> processes = new ArrayList<>();
    private final List<ModelThread> threads = new ArrayList<>();
    private final Map<FutexKey, Deque<Waiter>> queues = new HashMap<>();
    private final Map<FutexKey, PiState> piStates = new LinkedHashMap<>();
    private final Map<FutexKey, Long> lastWrite = new HashMap<>();
    private final List<Deferred> deferred = new ArrayList<>();

    private KernelModel(Builder builder) {
        this.architecture = builder.architecture;
        this.release = builder.release;
        this.vdsoTryUnlock = builder.vdsoTryUnlock != null ? builder.vdsoTryUnlock
                : architecture != null && release == Release.LINUX_7_2
                        && architecture.vdsoRobustUnlockSymbols().isPresent();
        if (vdsoTryUnlock && (architecture == null || release != Release.LINUX_7_2)) {
            throw new IllegalArgumentException("a vDSO try-unlock needs an architecture description and Linux 7.2");
        }
        this.userIrqRecorded = builder.userIrqRecorded;
        UnlockPath best = vdsoTryUnlock ? UnlockPath.VDSO
                : release == Release.LINUX_7_2 ? UnlockPath.SYSCALL : UnlockPath.CLASSIC;
        this.unlockPath = builder.unlockPath == null ? best : builder.unlockPath;
        if (unlockPath.compareTo(best) > 0) {
            throw new IllegalArgumentException("unlock path " + unlockPath.id() + " is not offered by this model"
                    + " (best: " + best.id() + ")");
        }
        this.interruptSliceNanos = builder.interruptSliceNanos;
        this.robustWakeStoresWaiters = builder.robustWakeStoresWaiters;
        this.recheckNanos = builder.recheckNanos;
        this.bootStamp = builder.bootStamp;
        this.glibcHeads = builder.glibcHeads;
        this.robustList = builder.robustList != null ? builder.robustList
                : glibcHeads ? RobustListChoice.JOIN : RobustListChoice.OWN;
    }

    /**
     * A builder with the defaults: Linux 7.2, no architecture description (so no vDSO try-unlock: the
     * {@code syscall} unlock path), the fixup's {@code user_irq} recorded.
     *
     * @return the builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Settings of a model. */
    public static final class Builder {
        private Architecture architecture;
        private Release release = Release.LINUX_7_2;
        private Boolean vdsoTryUnlock;
        private boolean userIrqRecorded = true;
        private UnlockPath unlockPath;
        private long interruptSliceNanos = TimeUnit.MILLISECONDS.toNanos(20);
        private boolean robustWakeStoresWaiters;
        private long recheckNanos = TimeUnit.MILLISECONDS.toNanos(100);
        private int bootStamp;
        private boolean glibcHeads;
        private RobustListChoice robustList;

        private Builder() {
        }

        /**
         * Whether the C library of every process is glibc on x86_64 or aarch64, which registers a robust list head
         * for each thread it creates: in the thread's descriptor (a 32-byte slot of the process's heap), the
         * 8-byte {@code robust_prev} slot first, initialised to the head, then the head with {@code list.next}
         * = the head, {@code futex_offset} -32 and {@code list_op_pending} 0, registered with
         * {@code set_robust_list(head, 24)}. This happens when the thread is created, before it runs any code,
         * and is not made of steps. Such threads can also lock glibc robust mutexes ({@link ModelNativeMutex}).
         * False (the default) models a C library that registers nothing: a thread has no head until the
         * library registers one.
         *
         * @param value true for glibc's threads
         * @return this builder
         */
        public Builder glibcHeads(boolean value) {
            this.glibcHeads = value;
            return this;
        }

        /**
         * Which head the library's threads use ({@code -Dio.robustmutex.robustList}). The default is
         * {@link RobustListChoice#JOIN} with {@link #glibcHeads(boolean) glibc's heads}, as in the library, and
         * {@link RobustListChoice#OWN} without: there, joining would ask {@code get_robust_list}, find no head and
         * register one of its own all the same, one system call later; the models written before the library
         * joined glibc's head keep their steps.
         *
         * @param value the choice
         * @return this builder
         */
        public Builder robustList(RobustListChoice value) {
            this.robustList = Objects.requireNonNull(value);
            return this;
        }

        /**
         * The longest a NORMAL waiter of the protocol sleeps before it looks at the word again, in model time.
         *
         * @param nanos the interval
         * @return this builder
         */
        public Builder recheckNanos(long nanos) {
            this.recheckNanos = nanos;
            return this;
        }

        /**
         * This boot's stamp, which the records of mapped regions carry as a {@code SharedMemory} region's do:
         * each acquirer stamps the record, and a held word whose stamp is another boot's is taken over as an
         * owner death. 0 (the default) models records without stamps.
         *
         * @param value the stamp, or 0
         * @return this builder
         */
        public Builder bootStamp(int value) {
            this.bootStamp = value;
            return this;
        }

        /**
         * Whether {@code FUTEX_WAKE | FUTEX_ROBUST_UNLOCK} leaves {@code FUTEX_WAITERS} in the word, instead of
         * 0, when waiters stay queued after the wake. Linux 7.2 stores 0; an out-of-tree proposal stores
         * WAITERS; code must be correct with either (kernel-abi.md section 4.1).
         *
         * @param value true for the proposal's behaviour
         * @return this builder
         */
        public Builder robustWakeStoresWaiters(boolean value) {
            this.robustWakeStoresWaiters = value;
            return this;
        }

        /**
         * The architecture whose vDSO try-unlock (register model and fixup rule) the model runs.
         *
         * @param value an architecture module's description, or null for none
         * @return this builder
         */
        public Builder architecture(Architecture value) {
            this.architecture = value;
            return this;
        }

        /**
         * Which kernel to behave as.
         *
         * @param value the release
         * @return this builder
         */
        public Builder release(Release value) {
            this.release = Objects.requireNonNull(value);
            return this;
        }

        /**
         * Whether the vDSO exports the try-unlock. Defaults to true on Linux 7.2 for an architecture whose
         * module exports its symbols (x86_64); set it to run a proposed sequence (aarch64).
         *
         * @param value whether the vDSO function exists
         * @return this builder
         */
        public Builder vdsoTryUnlock(boolean value) {
            this.vdsoTryUnlock = value;
            return this;
        }

        /**
         * Whether interrupt entry records rseq's {@code user_irq}. False models arm64 kernels without "arm64/entry:
         * Fix arm64-specific rseq brokenness" (kernel-abi.md section 4.3), on which the fixup never runs.
         *
         * @param value whether the fixup can run
         * @return this builder
         */
        public Builder userIrqRecorded(boolean value) {
            this.userIrqRecorded = value;
            return this;
        }

        /**
         * The unlock path the protocol uses on this model (default: the best it offers).
         *
         * @param value the path
         * @return this builder
         */
        public Builder unlockPath(UnlockPath value) {
            this.unlockPath = value;
            return this;
        }

        /**
         * The interruption slice of interruptible waits, in model time.
         *
         * @param nanos the slice
         * @return this builder
         */
        public Builder interruptSliceNanos(long nanos) {
            this.interruptSliceNanos = nanos;
            return this;
        }

        /**
         * Builds the model.
         *
         * @return the model
         */
        public KernelModel build() {
            return new KernelModel(this);
        }
    }

    // ------------------------------------------------------------------ settings and objects

    /**
     * The architecture description, if any.
     *
     * @return the architecture or null
     */
    public Architecture architecture() {
        return architecture;
    }

    /**
     * The kernel release modelled.
     *
     * @return the release
     */
    public Release release() {
        return release;
    }

    /**
     * Whether the vDSO try-unlock exists.
     *
     * @return true when present
     */
    public boolean hasVdsoTryUnlock() {
        return vdsoTryUnlock;
    }

    /**
     * Whether the return-to-user fixup can run.
     *
     * @return true when {@code user_irq} is recorded
     */
    public boolean userIrqRecorded() {
        return userIrqRecorded;
    }

    /**
     * The unlock path the protocol uses.
     *
     * @return the path
     */
    public UnlockPath unlockPath() {
        return unlockPath;
    }

    long interruptSliceNanos() {
        return interruptSliceNanos;
    }

    /**
     * The protocol's re-check interval for NORMAL waiters, in model time.
     *
     * @return nanoseconds
     */
    public long recheckNanos() {
        return recheckNanos;
    }

    /**
     * This boot's stamp for region records, or 0 for records without stamps.
     *
     * @return the stamp
     */
    public int bootStamp() {
        return bootStamp;
    }

    /**
     * Whether the processes' C library registers a robust list head for each thread it creates, as glibc does.
     *
     * @return true for glibc's threads
     */
    public boolean glibcHeads() {
        return glibcHeads;
    }

    /**
     * Which head the library's threads use.
     *
     * @return join or own
     */
    public RobustListChoice robustList() {
        return robustList;
    }

    /**
     * The model's clock.
     *
     * @return nanoseconds of model time
     */
    public long nanoTime() {
        return clock;
    }

    /**
     * Creates a process in the initial PID namespace.
     *
     * @return the process
     */
    public ModelProcess newProcess() {
        return newProcess(initialNamespace);
    }

    /**
     * Creates a process in a PID namespace.
     *
     * @param namespace the namespace, from {@link #initialPidNamespace()} or {@link #newPidNamespace()}
     * @return the process
     */
    public ModelProcess newProcess(ModelPidNamespace namespace) {
        Objects.requireNonNull(namespace, "namespace");
        lock.lock();
        try {
            ModelProcess process = new ModelProcess(this, nextPid++, namespace);
            processes.add(process);
            return process;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The PID namespace {@link #newProcess()} puts processes in.
     *
     * @return the initial namespace
     */
    public ModelPidNamespace initialPidNamespace() {
        return initialNamespace;
    }

    /**
     * Creates a PID namespace beside the initial one (as a container runtime does): its threads are numbered
     * from the same first TID, so TIDs collide with those of other namespaces.
     *
     * @return the namespace
     */
    public ModelPidNamespace newPidNamespace() {
        lock.lock();
        try {
            return new ModelPidNamespace(nextNamespaceId++);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Creates a shared memory object, zero-filled.
     *
     * @param name a name for messages
     * @param size its size in bytes
     * @return the object
     */
    public SharedObject newSharedObject(String name, int size) {
        lock.lock();
        try {
            return new SharedObject(name + "#" + nextObject++, size);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Wraps a caller's buffer (heap, direct, or mapped from a file) as a shared object: simulated processes
     * that map it read and write those very bytes. Only simulated threads may touch it while the model
     * runs.
     *
     * @param name a name for messages
     * @param buffer a writable buffer; its capacity is the object's size
     * @return the object
     */
    public SharedObject wrapSharedObject(String name, java.nio.ByteBuffer buffer) {
        lock.lock();
        try {
            return new SharedObject(name + "#" + nextObject++, buffer);
        } finally {
            lock.unlock();
        }
    }

    ModelThread newThread(ModelProcess process, String name, int tid) {
        lock.lock();
        try {
            ModelPidNamespace namespace = process.pidNamespace();
            int chosen = tid > 0 ? tid : namespace.allocate();
            if (chosen > io.robustmutex.internal.FutexWord.TID_MASK) {
                throw new IllegalArgumentException("tid=" + chosen + " does not fit the word's 30 TID bits");
            }
            ModelThread thread = new ModelThread(this, process, chosen, name);
            namespace.bind(thread);
            threads.add(thread);
            return thread;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The thread that last had a TID in the initial PID namespace, alive or dead.
     *
     * @param tid a TID
     * @return the thread, or null
     */
    public ModelThread thread(int tid) {
        lock.lock();
        try {
            return initialNamespace.last(tid);
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ the driver

    /**
     * Runs one thread until it finishes its task, blocks, or stops at its kill point.
     *
     * @param thread a runnable thread
     * @return its state afterwards
     */
    public ModelThread.State run(ModelThread thread) {
        return runSteps(thread, Integer.MAX_VALUE);
    }

    /**
     * Runs one thread for at most {@code steps} steps: it pauses, still runnable, before the next one, or
     * stops earlier when it finishes its task, blocks, or reaches its kill point. Several Java threads may
     * call this concurrently on one model; the calls take turns.
     *
     * @param thread a runnable thread
     * @param steps how many steps it may take, at least 1
     * @return its state afterwards
     */
    public ModelThread.State runSteps(ModelThread thread, int steps) {
        if (steps < 1) {
            throw new IllegalArgumentException("steps=" + steps);
        }
        driver.lock();
        try {
            lock.lock();
            try {
                if (thread.state != ModelThread.State.RUNNABLE) {
                    throw new IllegalStateException(thread + " is not runnable");
                }
                thread.stepBudget = steps;
                handBaton(thread);
                thread.stepBudget = Integer.MAX_VALUE;
                return thread.state;
            } finally {
                lock.unlock();
            }
        } finally {
            driver.unlock();
        }
    }

    /**
     * Runs runnable threads, in creation order, one at a time, until none is runnable; then takes the death
     * of stopped threads, and advances the clock to the next timeout, until nothing can happen. A NORMAL
     * waiter looks at its word again every re-check interval for as long as it waits; once every such waiter
     * has looked again with nothing written anywhere, and nobody sleeps towards a real deadline, nothing more
     * can happen, and the waiters are left asleep.
     */
    public void runUntilQuiet() {
        driver.lock();
        try {
            runUntilQuietLocked();
        } finally {
            driver.unlock();
        }
    }

    /**
     * Like {@link #runUntilQuiet()}, but lets model time advance by at most {@code nanos}: a thread whose wait
     * times out later stays asleep. For code that re-checks periodically and so never becomes quiet while it
     * waits for something that does not happen.
     *
     * @param nanos how far the clock may advance
     */
    public void runFor(long nanos) {
        driver.lock();
        try {
            long saved = timeLimit;
            timeLimit = clock + nanos;
            try {
                runUntilQuietLocked();
            } finally {
                timeLimit = saved;
            }
        } finally {
            driver.unlock();
        }
    }

    private void runUntilQuietLocked() {
        lock.lock();
        try {
            long writesAtLastQuiet = -1;
            int idleLooks = 0;
            while (true) {
                ModelThread next = firstIn(ModelThread.State.RUNNABLE);
                if (next != null) {
                    handBaton(next);
                    continue;
                }
                ModelThread stopped = firstIn(ModelThread.State.STOPPED);
                if (stopped != null) {
                    deliverDeath(stopped);
                    if (stopped.process.faulted) {
                        // SIGSEGV kills the whole process.
                        for (ModelThread other : stopped.process.threads()) {
                            if (other.state != ModelThread.State.DEAD && other.state != ModelThread.State.RUNNING) {
                                deliverDeath(other);
                            }
                        }
                    }
                    continue;
                }
                // Quiet, but for timeouts. Periodic looks at a word (NORMAL waiters re-checking an owner that
                // holds on) would go on for ever: once every such sleeper has looked again with nothing
                // written anywhere, and no sleeper waits for a real deadline, nothing more can happen.
                if (writeSequence == writesAtLastQuiet) {
                    idleLooks++;
                } else {
                    writesAtLastQuiet = writeSequence;
                    idleLooks = 0;
                }
                int periodic = periodicSleepers();
                if (periodic > 0 && periodic == timedSleepers() && idleLooks > periodic) {
                    return;
                }
                if (!fireEarliestTimeout()) {
                    return;
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private int periodicSleepers() {
        int count = 0;
        for (ModelThread thread : threads) {
            if (thread.state == ModelThread.State.BLOCKED && thread.waiting != null && thread.waiting.periodic) {
                count++;
            }
        }
        return count;
    }

    private int timedSleepers() {
        int count = 0;
        for (ModelThread thread : threads) {
            if (thread.state == ModelThread.State.BLOCKED && thread.waiting != null
                    && thread.waiting.deadline != Long.MAX_VALUE) {
                count++;
            }
        }
        return count;
    }

    private ModelThread firstIn(ModelThread.State state) {
        for (ModelThread thread : threads) {
            if (thread.state == state) {
                return thread;
            }
        }
        return null;
    }

    /** Called with the lock held: gives the baton to a thread and waits for it to come back. */
    private void handBaton(ModelThread thread) {
        thread.state = thread.killed ? thread.state : ModelThread.State.RUNNING;
        running = thread;
        thread.baton.signal();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(DRIVER_WAIT_MILLIS);
        while (running == thread) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new IllegalStateException(thread + " did not yield within " + DRIVER_WAIT_MILLIS
                        + " ms: code on a simulated thread must not wait for anything outside the model");
            }
            try {
                driverTurn.awaitNanos(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while " + thread + " ran", e);
            }
        }
    }

    void releaseBaton(ModelThread thread) {
        if (running == thread) {
            running = null;
            driverTurn.signalAll();
        }
    }

    /**
     * Takes the death of a thread: a stopped thread (killed before a step), a blocked one, or an idle one.
     * The kernel applies the vDSO fixup if the thread stopped inside the critical section, walks its robust
     * list, hands its PI futexes to their top waiters, and the thread is dead.
     *
     * @param thread the thread to kill
     */
    public void deliverDeath(ModelThread thread) {
        if (CURRENT.get() != null) {
            throw new IllegalStateException("deaths are delivered by the driver, not from a simulated thread ("
                    + CURRENT.get() + "); use a KillPoint to kill a thread from inside its own code");
        }
        driver.lock();
        try {
            deliverDeathLocked(thread);
        } finally {
            driver.unlock();
        }
    }

    private void deliverDeathLocked(ModelThread thread) {
        lock.lock();
        try {
            switch (thread.state) {
                case DEAD -> {
                    return;
                }
                case RUNNING -> throw new IllegalStateException("a running thread cannot be killed from outside");
                default -> {
                }
            }
            if (thread.waiting != null) {
                dequeue(thread.waiting);
                thread.waiting = null;
            }
            applyFixup(thread);
            exitRobustList(thread);
            exitPiStateList(thread);
            thread.killed = true;
            thread.robustHead = 0;
            // Let the carrier unwind (it runs no further step) or end.
            thread.state = ModelThread.State.DEAD;
            if (thread.hasCarrier()) {
                running = thread;
                thread.baton.signal();
                long deadline = System.currentTimeMillis() + DRIVER_WAIT_MILLIS;
                while (running == thread && System.currentTimeMillis() < deadline) {
                    try {
                        driverTurn.await(100, TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        break;
                    }
                }
                running = null;
            }
            thread.state = ModelThread.State.DEAD;
            runDeferred();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Advances the clock to the earliest timeout of a thread asleep in the kernel and wakes that thread.
     *
     * @return false when no thread sleeps with a timeout
     */
    boolean fireTimeout() {
        driver.lock();
        try {
            lock.lock();
            try {
                return fireEarliestTimeout();
            } finally {
                lock.unlock();
            }
        } finally {
            driver.unlock();
        }
    }

    private boolean fireEarliestTimeout() {
        Waiter earliest = null;
        for (ModelThread thread : threads) {
            Waiter waiter = thread.waiting;
            if (thread.state == ModelThread.State.BLOCKED && waiter != null && waiter.deadline != Long.MAX_VALUE
                    && (earliest == null || waiter.deadline < earliest.deadline)) {
                earliest = waiter;
            }
        }
        if (earliest == null || earliest.deadline - timeLimit > 0) {
            return false;
        }
        clock = Math.max(clock, earliest.deadline);
        dequeue(earliest);
        wakeThread(earliest.thread, -Errno.ETIMEDOUT);
        return true;
    }

    // ------------------------------------------------------------------ steps

    /** The simulated thread running on the calling Java thread, or null for the driver. */
    static ModelThread current() {
        return CURRENT.get();
    }

    /**
     * Counts a step of the calling simulated thread, and stops it there if its kill point matches. Steps
     * made by the driver (set-up code outside any simulated thread) are not counted.
     */
    void step(String operation, String target) {
        ModelThread thread = CURRENT.get();
        if (thread == null) {
            return;
        }
        lock.lock();
        try {
            if (thread.killed) {
                throw new ThreadKilled(thread.name);
            }
            if (--thread.stepBudget < 0) {
                // Out of steps: pause before this one, still runnable, until the driver runs it again.
                thread.state = ModelThread.State.RUNNABLE;
                thread.yieldAndAwait();
                if (thread.killed) {
                    throw new ThreadKilled(thread.name);
                }
                thread.stepBudget--;
            }
            Step step = new Step(thread.stepIndex++, operation, target);
            thread.trace.add(step);
            if (thread.interruptBefore.remove(step.index()) && thread.vdso != null) {
                // An interrupt returns through the exception path, which clears the exclusive monitor.
                thread.vdso.monitor = null;
            }
            if (thread.killPoint != null && thread.killPoint.matches(step)) {
                thread.killPoint = null;
                thread.stoppedAt = step;
                thread.state = ModelThread.State.STOPPED;
                thread.yieldAndAwait();
                throw new ThreadKilled(thread.name);
            }
            observer.step(thread, step);
        } finally {
            lock.unlock();
        }
    }

    /**
     * {@code nanosleep}: the calling simulated thread sleeps for {@code nanos} of model time, woken by nothing
     * else (a thread busy elsewhere, holding what it holds, while others run). A step named {@code sleep}.
     *
     * @param nanos how long, more than 0
     */
    void sleep(long nanos) {
        step("sleep", "");
        lock.lock();
        try {
            ModelThread caller = CURRENT.get();
            if (caller == null) {
                throw new IllegalStateException("only a simulated thread sleeps");
            }
            // Asleep on a key nobody wakes: only its timeout ends the sleep.
            block(caller, new Waiter(caller, new FutexKey(null, 0), false, 0, clock + nanos));
        } finally {
            lock.unlock();
        }
    }

    /** Blocks the calling thread on a waiter; returns the wake result. Called with the lock held. */
    private int block(ModelThread thread, Waiter waiter) {
        thread.waiting = waiter;
        thread.state = ModelThread.State.BLOCKED;
        thread.yieldAndAwait();
        if (thread.killed) {
            throw new ThreadKilled(thread.name);
        }
        return thread.wakeResult;
    }

    private void wakeThread(ModelThread thread, int result) {
        thread.waiting = null;
        thread.wakeResult = result;
        thread.state = ModelThread.State.RUNNABLE;
    }

    // ------------------------------------------------------------------ memory

    /** A resolved address: an object and an offset in it. */
    record Location(SharedObject object, int offset) {
    }

    /** A futex key: shared, by object and offset (kernel-abi.md section 5). */
    record FutexKey(SharedObject object, int offset) {
    }

    Location resolve(ModelProcess process, long address, int width) {
        return process.resolve(address, width);
    }

    int load32(Location at) {
        return at.object().view.getInt(at.offset());
    }

    long load64(Location at) {
        return at.object().view.getLong(at.offset());
    }

    void store32(Location at, int value) {
        at.object().view.putInt(at.offset(), value);
        touched(at.object(), at.offset(), 4);
    }

    void store64(Location at, long value) {
        at.object().view.putLong(at.offset(), value);
        touched(at.object(), at.offset(), 8);
    }

    private void touched(SharedObject object, int offset, int width) {
        writeSequence++;
        for (int word = offset & ~3; word < offset + width; word += 4) {
            lastWrite.put(new FutexKey(object, word), writeSequence);
        }
    }

    long lastWrite(Location at) {
        return lastWrite.getOrDefault(new FutexKey(at.object(), at.offset() & ~3), 0L);
    }

    /** A user-space fault: the process gets SIGSEGV, which kills it. */
    SimulatedFault fault(ModelProcess process, long address) {
        return new SimulatedFault(process, address);
    }

    /** Thrown into the code of a thread that touched unmapped memory (SIGSEGV); its process is killed. */
    static final class SimulatedFault extends Error {
        private static final long serialVersionUID = 1L;

        SimulatedFault(ModelProcess process, long address) {
            super(String.format("SIGSEGV in process %d at 0x%x", process.pid(), address), null, false, false);
        }
    }

    // ------------------------------------------------------------------ futex operations

    /** A thread asleep in the kernel. */
    static final class Waiter {
        final ModelThread thread;
        final FutexKey key;
        final boolean pi;
        final int bitset;
        final long deadline;
        /** Whether the timeout only bounds one look at the word of a wait without a deadline. */
        boolean periodic;

        Waiter(ModelThread thread, FutexKey key, boolean pi, int bitset, long deadline) {
            this.thread = thread;
            this.key = key;
            this.pi = pi;
            this.bitset = bitset;
            this.deadline = deadline;
        }
    }

    /** The kernel's PI state of a contended PI futex: its owner and its waiters, top first. */
    static final class PiState {
        ModelThread owner;
        final Deque<Waiter> waiters = new ArrayDeque<>();

        PiState(ModelThread owner) {
            this.owner = owner;
        }
    }

    private void dequeue(Waiter waiter) {
        if (waiter.pi) {
            PiState state = piStates.get(waiter.key);
            if (state != null) {
                state.waiters.remove(waiter);
                // The kernel frees a pi_state when its last waiter leaves; the word keeps WAITERS, so the
                // owner's release still goes through FUTEX_UNLOCK_PI, which finds no waiter and frees it.
                if (state.waiters.isEmpty()) {
                    piStates.remove(waiter.key);
                }
            }
        } else {
            Deque<Waiter> queue = queues.get(waiter.key);
            if (queue != null) {
                queue.remove(waiter);
            }
        }
    }

    /**
     * {@code futex(2)} as called by a simulated thread of {@code process}. The operation word may carry
     * {@code FUTEX_ROBUST_UNLOCK} and {@code FUTEX_ROBUST_LIST32}; {@code FUTEX_PRIVATE_FLAG} and
     * {@code FUTEX_CLOCK_REALTIME} are accepted and ignored (all keys here are shared; time is the model's).
     *
     * @param process the caller's process
     * @param uaddr the word's address
     * @param op the operation
     * @param val {@code val}
     * @param deadline for waits and PI locks: an absolute model time, or {@link Long#MAX_VALUE}
     * @param uaddr2 the pending slot for {@code FUTEX_ROBUST_UNLOCK}
     * @param val3 the bitset for the bitset operations
     * @return the result, or {@code -errno}
     */
    int futex(ModelProcess process, long uaddr, int op, int val, long deadline, long uaddr2, int val3) {
        return futex("futex(", process, uaddr, op, val, deadline, uaddr2, val3);
    }

    /**
     * A futex call made by the C library (glibc's robust mutexes, {@link ModelNativeMutex}): the same call, a step
     * named {@code glibc futex(...)}, so that the schedule explorer injects into it only the results glibc
     * handles.
     */
    int glibcFutex(ModelProcess process, long uaddr, int op, int val) {
        return futex("glibc futex(", process, uaddr, op, val, Long.MAX_VALUE, 0, 0);
    }

    private int futex(String label, ModelProcess process, long uaddr, int op, int val, long deadline, long uaddr2,
            int val3) {
        step(label + FutexOp.name(op) + ")", process.describe(uaddr));
        lock.lock();
        try {
            ModelThread caller = CURRENT.get();
            int cmd = op & FutexOp.FUTEX_CMD_MASK;
            Integer injected = caller == null ? null : caller.injected.remove(caller.stepIndex - 1);
            if (injected != null) {
                return injected;
            }
            if ((op & FutexOp.FUTEX_ROBUST_UNLOCK) != 0) {
                return robustUnlock(process, caller, uaddr, op, cmd, val, uaddr2, val3);
            }
            if ((op & FutexOp.FUTEX_ROBUST_LIST32) != 0 && release != Release.LINUX_7_2) {
                // Before 7.2 the bit is part of the command number: an unknown command. From 7.2 on, it is
                // accepted with any command and read only by the robust unlock (kernel/futex/core.c,
                // futex_robust_list_clear_pending).
                return -Errno.ENOSYS;
            }
            return switch (cmd) {
                case FutexOp.FUTEX_WAIT -> futexWait(process, caller, uaddr, val, deadline,
                        FutexOp.FUTEX_BITSET_MATCH_ANY);
                case FutexOp.FUTEX_WAIT_BITSET -> val3 == 0 ? -Errno.EINVAL
                        : futexWait(process, caller, uaddr, val, deadline, val3);
                case FutexOp.FUTEX_WAKE -> futexWake(process, uaddr, val, FutexOp.FUTEX_BITSET_MATCH_ANY);
                case FutexOp.FUTEX_WAKE_BITSET -> val3 == 0 ? -Errno.EINVAL : futexWake(process, uaddr, val, val3);
                case FutexOp.FUTEX_LOCK_PI, FutexOp.FUTEX_LOCK_PI2 -> lockPi(process, caller, uaddr, deadline, false);
                case FutexOp.FUTEX_TRYLOCK_PI -> lockPi(process, caller, uaddr, Long.MAX_VALUE, true);
                case FutexOp.FUTEX_UNLOCK_PI -> unlockPi(process, caller, uaddr);
                default -> -Errno.ENOSYS;
            };
        } finally {
            lock.unlock();
        }
    }

    private Location word(ModelProcess process, long uaddr) {
        return (uaddr & 3) != 0 ? null : process.resolve(uaddr, 4);
    }

    /** FUTEX_WAIT: sleep on the key while the word equals {@code val}. */
    private int futexWait(ModelProcess process, ModelThread caller, long uaddr, int val, long deadline, int bitset) {
        if ((uaddr & 3) != 0) {
            return -Errno.EINVAL;
        }
        Location at = process.resolve(uaddr, 4);
        if (at == null) {
            return -Errno.EFAULT;
        }
        if (load32(at) != val) {
            return -Errno.EAGAIN;
        }
        if (deadline != Long.MAX_VALUE && deadline - clock <= 0) {
            return -Errno.ETIMEDOUT;
        }
        FutexKey key = new FutexKey(at.object(), at.offset());
        Waiter waiter = new Waiter(caller, key, false, bitset, deadline);
        waiter.periodic = caller.nextWaitPeriodic && deadline != Long.MAX_VALUE;
        caller.nextWaitPeriodic = false;
        queues.computeIfAbsent(key, k -> new ArrayDeque<>()).add(waiter);
        return block(caller, waiter);
    }

    /** FUTEX_WAKE: wake up to {@code count} non-PI waiters of the key, oldest first. */
    private int futexWake(ModelProcess process, long uaddr, int count, int bitset) {
        if ((uaddr & 3) != 0) {
            return -Errno.EINVAL;
        }
        Location at = process.resolve(uaddr, 4);
        if (at == null) {
            return -Errno.EFAULT;
        }
        return wakeKey(new FutexKey(at.object(), at.offset()), count, bitset);
    }

    /**
     * Wakes up to {@code count} waiters of a key, oldest first. Like the kernel's wake loop, which counts a
     * wake before comparing with the limit, a count of 0 or less wakes one.
     */
    private int wakeKey(FutexKey key, int count, int bitset) {
        Deque<Waiter> queue = queues.get(key);
        int woken = 0;
        int limit = Math.max(count, 1);
        if (queue != null) {
            for (Iterator<Waiter> it = queue.iterator(); it.hasNext() && woken < limit; ) {
                Waiter waiter = it.next();
                if ((waiter.bitset & bitset) != 0) {
                    it.remove();
                    wakeThread(waiter.thread, 0);
                    woken++;
                }
            }
        }
        return woken;
    }

    /**
     * FUTEX_LOCK_PI(2) and FUTEX_TRYLOCK_PI (kernel-abi.md section 5): a word with TID 0 is taken over, its
     * OWNER_DIED bit kept; our own TID is EDEADLK, with nothing written; otherwise the first waiter sets
     * WAITERS in the word before it looks the owner up (kernel/futex/pi.c, futex_lock_pi_atomic), and the bit
     * stays when the call then fails: ESRCH for a TID that names no live thread in the caller's namespace,
     * EAGAIN for a trylock, ETIMEDOUT for a deadline already past. Otherwise the caller joins the PI state's
     * waiters and sleeps until handed the lock. The call never returns EINTR (a signal restarts it).
     */
    private int lockPi(ModelProcess process, ModelThread caller, long uaddr, long deadline, boolean tryOnly) {
        if ((uaddr & 3) != 0) {
            return -Errno.EINVAL;
        }
        Location at = process.resolve(uaddr, 4);
        if (at == null) {
            return -Errno.EFAULT;
        }
        FutexKey key = new FutexKey(at.object(), at.offset());
        int word = load32(at);
        int owner = word & FutexWord.TID_MASK;
        if (owner == 0) {
            PiState state = piStates.get(key);
            boolean waiters = state != null && !state.waiters.isEmpty();
            store32(at, caller.tid | (word & FutexWord.OWNER_DIED) | (waiters ? FutexWord.WAITERS : 0));
            if (state != null) {
                state.owner = caller;
            }
            return 0;
        }
        if (owner == caller.tid) {
            return -Errno.EDEADLK;
        }
        PiState existing = piStates.get(key);
        if ((existing == null || existing.waiters.isEmpty()) && (word & FutexWord.WAITERS) == 0) {
            store32(at, word | FutexWord.WAITERS);
        }
        // The owner is looked up by TID in the caller's PID namespace (kernel-abi.md section 5).
        ModelThread holder = caller.process.pidNamespace().live(owner);
        if (holder == null) {
            return -Errno.ESRCH;
        }
        if (tryOnly) {
            return -Errno.EAGAIN;
        }
        if (deadline != Long.MAX_VALUE && deadline - clock <= 0) {
            return -Errno.ETIMEDOUT;
        }
        PiState state = piStates.computeIfAbsent(key, k -> new PiState(holder));
        Waiter waiter = new Waiter(caller, key, true, FutexOp.FUTEX_BITSET_MATCH_ANY, deadline);
        state.waiters.add(waiter);
        return block(caller, waiter);
    }

    /**
     * FUTEX_UNLOCK_PI: EPERM unless the caller's TID is in the word; with kernel waiters the word becomes
     * {@code top_waiter_tid | WAITERS} and the top waiter owns the lock, else 0.
     */
    private int unlockPi(ModelProcess process, ModelThread caller, long uaddr) {
        if ((uaddr & 3) != 0) {
            return -Errno.EINVAL;
        }
        Location at = process.resolve(uaddr, 4);
        if (at == null) {
            return -Errno.EFAULT;
        }
        int word = load32(at);
        if ((word & FutexWord.TID_MASK) != caller.tid) {
            return -Errno.EPERM;
        }
        FutexKey key = new FutexKey(at.object(), at.offset());
        handOff(key, at, 0, caller.process.pidNamespace());
        return 0;
    }

    /**
     * Gives a PI futex to its top waiter (word {@code tid | WAITERS | keep}), or frees it. The TID written is
     * the top waiter's as seen from {@code seenFrom} (the unlocker's namespace): 0 when the waiter lives in
     * another namespace, one of the ways PI breaks across namespaces.
     */
    private void handOff(FutexKey key, Location at, int keep, ModelPidNamespace seenFrom) {
        PiState state = piStates.get(key);
        Waiter top = state == null ? null : state.waiters.poll();
        if (top == null) {
            piStates.remove(key);
            store32(at, keep);
            return;
        }
        int visibleTid = top.thread.process.pidNamespace() == seenFrom ? top.thread.tid : 0;
        store32(at, visibleTid | FutexWord.WAITERS | keep);
        state.owner = top.thread;
        if (state.waiters.isEmpty()) {
            piStates.remove(key);
        }
        wakeThread(top.thread, 0);
    }

    /**
     * {@code op | FUTEX_ROBUST_UNLOCK} (kernel-abi.md section 4.1): ENOSYS before 7.2 and for other commands;
     * WAKE/WAKE_BITSET store 0 without checking ownership, clear the slot, then wake; UNLOCK_PI unlocks and
     * clears the slot only on success. A slot that cannot be written gives EFAULT after the release, and
     * unregisters the robust list if it was the registered head's.
     */
    private int robustUnlock(ModelProcess process, ModelThread caller, long uaddr, int op, int cmd, int val,
            long uaddr2, int val3) {
        if (release != Release.LINUX_7_2) {
            return -Errno.ENOSYS;
        }
        boolean list32 = (op & FutexOp.FUTEX_ROBUST_LIST32) != 0;
        if (cmd == FutexOp.FUTEX_WAKE || cmd == FutexOp.FUTEX_WAKE_BITSET) {
            if (cmd == FutexOp.FUTEX_WAKE_BITSET && val3 == 0) {
                return -Errno.EINVAL;
            }
            Location at = word(process, uaddr);
            if (at == null) {
                return (uaddr & 3) != 0 ? -Errno.EINVAL : -Errno.EFAULT;
            }
            FutexKey wordKey = new FutexKey(at.object(), at.offset());
            observer.robustWakeStores(caller, at, load32(at));
            Deque<Waiter> queued = queues.get(wordKey);
            int count = queued == null ? 0 : queued.size();
            store32(at, robustWakeStoresWaiters && count > Math.max(val, 1) ? FutexWord.WAITERS : 0);
            if (!clearSlot(process, caller, uaddr2, list32)) {
                // kernel-abi.md does not say whether waiters are still woken after a failed slot write; the
                // model wakes none, the reading under which code that relied on the wake would be caught.
                return -Errno.EFAULT;
            }
            FutexKey key = new FutexKey(at.object(), at.offset());
            int woken = wakeKey(key, val, cmd == FutexOp.FUTEX_WAKE ? FutexOp.FUTEX_BITSET_MATCH_ANY : val3);
            PiState pi = piStates.get(key);
            return pi != null && !pi.waiters.isEmpty() ? -Errno.EINVAL : woken;
        }
        if (cmd == FutexOp.FUTEX_UNLOCK_PI) {
            int result = unlockPi(process, caller, uaddr);
            if (result == 0 && !clearSlot(process, caller, uaddr2, list32)) {
                return -Errno.EFAULT;
            }
            return result;
        }
        return -Errno.ENOSYS;
    }

    private boolean clearSlot(ModelProcess process, ModelThread caller, long slot, boolean list32) {
        Location at = process.resolve(slot, list32 ? 4 : 8);
        if (at == null) {
            if (caller != null && caller.robustHead != 0
                    && slot == caller.robustHead + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET) {
                caller.robustHead = 0;
            }
            return false;
        }
        if (list32) {
            store32(at, 0);
        } else {
            store64(at, 0);
        }
        return true;
    }

    /** set_robust_list(head, len): any length but 24 is EINVAL; the pointer is not checked. */
    int setRobustList(ModelThread caller, long head, long length) {
        step("set_robust_list", caller.process.describe(head));
        lock.lock();
        try {
            if (length != RobustListHeadDescriptor.SIZE) {
                return -Errno.EINVAL;
            }
            caller.robustHead = head;
            return 0;
        } finally {
            lock.unlock();
        }
    }

    /**
     * get_robust_list(tid): the head of a thread (0 for the caller), or ESRCH.
     *
     * @param caller the calling thread
     * @param tid 0 or a TID
     * @param out receives the head at index 0 and the length at index 1
     * @return 0 or {@code -ESRCH}
     */
    int getRobustList(ModelThread caller, int tid, long[] out) {
        step("get_robust_list", tid == 0 ? "" : "tid " + tid);
        lock.lock();
        try {
            ModelThread target = tid == 0 ? caller : caller.process.pidNamespace().live(tid);
            if (target == null) {
                return -Errno.ESRCH;
            }
            out[0] = target.robustHead;
            out[1] = RobustListHeadDescriptor.SIZE;
            return 0;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ the vDSO try-unlock

    /**
     * The vDSO try-unlock, run instruction by instruction from the architecture's description; each
     * instruction is a step, so a kill can land before any of them (kernel-abi.md section 4.2).
     */
    int vdsoTryUnlock(ModelProcess process, long lock32, int tid, long pending, PendingSlotWidth width) {
        if (!vdsoTryUnlock) {
            throw new UnsupportedOperationException("this model's vDSO has no robust try-unlock");
        }
        ModelThread thread = CURRENT.get();
        if (thread == null) {
            throw new IllegalStateException("the vDSO is called from a simulated thread");
        }
        UnlockCriticalSection section = architecture.unlockCriticalSection(width);
        ModelThread.VdsoFrame frame = new ModelThread.VdsoFrame(section);
        frame.registers.put(section.lockRegister(), lock32);
        frame.registers.put(section.tidRegister(), tid & 0xffffffffL);
        frame.registers.put(section.pendingRegister(), pending);
        thread.vdso = frame;
        try {
            return VdsoMachine.run(this, process, thread, frame);
        } finally {
            thread.vdso = null;
        }
    }

    /**
     * The return-to-user fixup (kernel-abi.md section 4.3): a thread interrupted with a fatal signal pending
     * at an instruction in {@code [cs_start, cs_end)} whose saved registers say the compare-and-swap
     * succeeded gets its pending slot cleared. Runs only when interrupt entry records {@code user_irq}.
     */
    private void applyFixup(ModelThread thread) {
        ModelThread.VdsoFrame frame = thread.vdso;
        if (frame == null || !userIrqRecorded || !frame.section.inCriticalSection(frame.ip)) {
            return;
        }
        FixupRule rule = frame.section.fixupRule();
        boolean succeeded;
        if (rule instanceof FixupRule.ZeroFlagSet) {
            succeeded = frame.zero;
        } else if (rule instanceof FixupRule.RegisterIsZero registerRule) {
            succeeded = VdsoMachine.read(frame, registerRule.statusRegister(), registerRule.width()) == 0;
        } else {
            throw new AssertionError(rule);
        }
        if (!succeeded) {
            return;
        }
        long slot = frame.registers.getOrDefault(rule.pendingRegister(), 0L);
        Location at = thread.process.resolve(slot, frame.section.width().bytes());
        if (at != null) {
            if (frame.section.width() == PendingSlotWidth.BITS_64) {
                store64(at, 0);
            } else {
                store32(at, 0);
            }
        }
    }

    // ------------------------------------------------------------------ thread exit

    /**
     * The robust list walk of kernel-abi.md section 3: read list.next, futex_offset and list_op_pending
     * (a fault: nothing is done); visit the entries in order, reading each entry's next before handling it,
     * skipping the pending entry; stop after {@value RobustListHeadDescriptor#ROBUST_LIST_LIMIT} entries or at
     * the first unreadable or misaligned entry (then the rest and the pending entry are not handled); then
     * handle the pending entry once.
     */
    private void exitRobustList(ModelThread thread) {
        long head = thread.robustHead;
        if (head == 0) {
            return;
        }
        ModelProcess process = thread.process;
        Long first = kernelLoad64(process, head + RobustListHeadDescriptor.LIST_NEXT_OFFSET);
        Long offset = kernelLoad64(process, head + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET);
        Long pendingRaw = kernelLoad64(process, head + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET);
        if (first == null || offset == null || pendingRaw == null) {
            return;
        }
        long futexOffset = offset;
        long entry = first & ~RobustListHeadDescriptor.PI_BIT;
        boolean pi = (first & RobustListHeadDescriptor.PI_BIT) != 0;
        long pending = pendingRaw & ~RobustListHeadDescriptor.PI_BIT;
        boolean pendingPi = (pendingRaw & RobustListHeadDescriptor.PI_BIT) != 0;
        int limit = RobustListHeadDescriptor.ROBUST_LIST_LIMIT;
        while (entry != head) {
            Long next = kernelLoad64(process, entry);
            if (entry != pending && !handleFutexDeath(thread, entry + futexOffset, pi, false)) {
                return;
            }
            if (next == null) {
                return;
            }
            entry = next & ~RobustListHeadDescriptor.PI_BIT;
            pi = (next & RobustListHeadDescriptor.PI_BIT) != 0;
            if (--limit == 0) {
                break;
            }
        }
        if (pending != 0) {
            handleFutexDeath(thread, pending + futexOffset, pendingPi, true);
        }
    }

    /**
     * handle_futex_death (kernel-abi.md section 3). For the pending entry of a non-PI lock whose word's TID
     * is 0, kernel-abi.md says to wake one waiter and leave the word alone; this model follows that wording.
     *
     * @return false when the walk must stop (misaligned or unreadable word)
     */
    private boolean handleFutexDeath(ModelThread thread, long uaddr, boolean pi, boolean pendingOp) {
        if ((uaddr & 3) != 0) {
            return false;
        }
        Location at = thread.process.resolve(uaddr, 4);
        if (at == null) {
            return false;
        }
        int word = load32(at);
        FutexKey key = new FutexKey(at.object(), at.offset());
        if (pendingOp && !pi && (word & FutexWord.TID_MASK) == 0) {
            wakeKey(key, 1, FutexOp.FUTEX_BITSET_MATCH_ANY);
            return true;
        }
        if ((word & FutexWord.TID_MASK) != thread.tid) {
            return true;
        }
        observer.exitWalkMarks(thread, at, word);
        store32(at, (word & FutexWord.WAITERS) | FutexWord.OWNER_DIED);
        if (!pi && (word & FutexWord.WAITERS) != 0) {
            wakeKey(key, 1, FutexOp.FUTEX_BITSET_MATCH_ANY);
        }
        return true;
    }

    /**
     * exit_pi_state_list: every PI futex the dying thread owns with waiters goes to its top waiter, whose
     * word then reads {@code new_tid | WAITERS | OWNER_DIED} (kernel-abi.md section 3). A PI futex without
     * waiters has no PI state and is left to the robust list walk.
     */
    private void exitPiStateList(ModelThread thread) {
        for (Map.Entry<FutexKey, PiState> entry : new ArrayList<>(piStates.entrySet())) {
            PiState state = entry.getValue();
            if (state.owner != thread || state.waiters.isEmpty()) {
                continue;
            }
            FutexKey key = entry.getKey();
            // The new owner writes its own TID when it wakes (the kernel's fixup of the PI owner), so the
            // TID is seen from the top waiter's own namespace.
            Waiter top = state.waiters.peek();
            handOff(key, new Location(key.object(), key.offset()), FutexWord.OWNER_DIED,
                    top.thread.process.pidNamespace());
        }
    }

    /**
     * A read of the head or of a list entry by the exit walk: the kernel checks no alignment there, only that
     * the memory is readable (kernel/futex/core.c, fetch_robust_entry); only a lock word must be 4-aligned.
     */
    private Long kernelLoad64(ModelProcess process, long address) {
        Location at = process.resolve(address, 8);
        return at == null ? null : load64(at);
    }

    // ------------------------------------------------------------------ mapping lifetime

    /** An unmap waiting for threads that may still name the mapping to the kernel. */
    private record Deferred(ModelRegion region, Runnable then) {
    }

    /**
     * Unmaps a region under the library's mapping-lifetime rule (design.md section 5): not while a thread of
     * its process that has not finished exiting holds a mutex in it or has list_op_pending pointing into it.
     * The unmap, and then {@code then}, run as soon as no such thread remains.
     */
    void unmapWhenUnreferenced(ModelRegion region, Runnable then) {
        lock.lock();
        try {
            deferred.add(new Deferred(region, then));
            runDeferred();
        } finally {
            lock.unlock();
        }
    }

    private void runDeferred() {
        for (Iterator<Deferred> it = deferred.iterator(); it.hasNext(); ) {
            Deferred item = it.next();
            if (!referenced(item.region())) {
                it.remove();
                item.region().process().unmap(item.region());
                if (item.then() != null) {
                    item.then().run();
                }
            }
        }
    }

    private boolean referenced(ModelRegion region) {
        for (ModelThread thread : region.process().threads()) {
            if (thread.state == ModelThread.State.DEAD) {
                continue;
            }
            if (thread.robust != null && thread.robust.holdsIn(region.memory())) {
                return true;
            }
            if (thread.robustHead != 0) {
                Long pending = kernelLoad64(region.process(),
                        thread.robustHead + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET);
                long at = pending == null ? 0 : pending & ~RobustListHeadDescriptor.PI_BIT;
                if (at >= region.address() && at < region.address() + region.size()) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Whether the lifetime rule still holds an unmap back.
     *
     * @return true when an unmap waits for a thread to exit
     */
    public boolean hasDeferredUnmaps() {
        lock.lock();
        try {
            return !deferred.isEmpty();
        } finally {
            lock.unlock();
        }
    }

    /** Stops the carriers of all simulated threads. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            for (ModelThread thread : threads) {
                thread.killed = true;
            }
            running = null;
            for (ModelThread thread : threads) {
                thread.baton.signal();
            }
            driverTurn.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "KernelModel[" + release + ", " + (architecture == null ? "no arch" : architecture.name())
                + ", unlock " + unlockPath.id() + (vdsoTryUnlock ? ", vdso" : "")
                + (userIrqRecorded ? "" : ", no user_irq") + "]";
    }
}
