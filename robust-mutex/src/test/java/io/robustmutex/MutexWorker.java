package io.robustmutex;

import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.internal.LinuxSyscalls;
import io.robustmutex.internal.NativeMemory;
import io.robustmutex.internal.RobustListHeadDescriptor;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;

/**
 * The child-JVM side of the cross-process tests. Prints one line per event so the parent can wait for it.
 *
 * <ul>
 * <li>{@code increment REGION KIND N}: N times, under the mutex at offset 0 of a {@link SharedMemory} region,
 *     read the counter at offset 64, check nobody else is inside (offset 72), add one; print {@code DONE}.
 *     Prints {@code READY} first and starts when the parent sets the flag at offset 80.</li>
 * <li>{@code hold FILE INDEX}: acquire mutex INDEX of a {@link MutexFile}, print
 *     {@code HELD token=T ownerDied=B}, then hang until killed.</li>
 * <li>{@code wait FILE INDEX}: print {@code WAITING}, acquire, print {@code ACQUIRED token=T ownerDied=B},
 *     then hang until killed.</li>
 * <li>{@code open FILE COUNT KIND}: open (creating) the file, print {@code OPENED count=C}, exit.</li>
 * <li>{@code acquire-region REGION KIND}: map a {@link SharedMemory} region, take and release the mutex at
 *     offset 0, print {@code ACQUIRED ownerDied=B}, exit.</li>
 * <li>{@code half-update REGION KIND}: in a {@link SharedMemory} region whose longs at 64 and 72 sum to 100,
 *     take the mutex at offset 0 with {@code lock()}, move 30 out of the first, print {@code MID} and hang
 *     until killed, before moving it into the second.</li>
 * <li>{@code hold-two FILE_A FILE_B KIND}: in one thread, acquire mutex 0 of file A, then mutex 0 of file B
 *     (creating both with one mutex of the kind), print {@code HELD}, then hang until killed.</li>
 * <li>{@code cross-mapping REGION KIND OP}: map REGION twice (two sizes, so two mappings), take the mutex at
 *     offset 0 through the first, close the second, then run OP ({@code unlock}, {@code fencingToken},
 *     {@code markConsistent}, {@code isConsistent}, {@code getHoldCount}, {@code tryLock}) through the
 *     second mapping's handle; print {@code RESULT} and what OP returned or threw, then {@code HELD=B} for the
 *     first handle, and exit. A crash of the JVM is the failure this looks for.</li>
 * <li>{@code churn REGION KIND}: print {@code READY} and increment the counter of an increment region under the
 *     mutex until killed. An acquisition that finds another process's marker must report the owner's death, and
 *     that process must be in the parent's kill log (offset {@link #KILLED}); otherwise print a line starting
 *     {@code VIOLATION} and exit 3. Each reported death is counted at offset {@link #DEATHS}.</li>
 * <li>{@code cond-wait REGION KIND}: map a {@link SharedMemory} region, take the mutex at offset 0, print
 *     {@code WAITING} and wait on the condition at offset {@link #CONDITION} until killed (a signal ends one wait;
 *     it waits again).</li>
 * </ul>
 */
public final class MutexWorker {

    /** Offset of the condition of the {@code cond-wait} mode. */
    static final int CONDITION = 192;

    /** Offset of the shared counter in an increment region. */
    static final int COUNTER = 64;
    /** Offset of the "inside the critical section" marker in an increment region. */
    static final int INSIDE = 72;
    /** Offset of the start flag the parent sets once every child is ready. */
    static final int GO = 80;
    /** Offset of the number of deaths churn workers were told of. */
    static final int DEATHS = 88;
    /** Offset of the kill log: a count, then the pids the parent killed (written before each kill). */
    static final int KILLED = 1024;
    /** Capacity of the kill log. */
    static final int KILLED_CAPACITY = 300;

    private MutexWorker() {
    }

    /**
     * Entry point.
     *
     * @param args the command and its arguments
     * @throws Exception on failure, which exits non-zero
     */
    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "increment" -> increment(Path.of(args[1]), MutexKind.valueOf(args[2]), Integer.parseInt(args[3]));
            case "hold" -> hold(Path.of(args[1]), Integer.parseInt(args[2]));
            case "hold-without-glibc-head" -> {
                replaceGlibcHead(args[3]);
                hold(Path.of(args[1]), Integer.parseInt(args[2]));
            }
            case "wait" -> waitFor(Path.of(args[1]), Integer.parseInt(args[2]));
            case "open" -> {
                try (MutexFile file = MutexFile.open(Path.of(args[1]), Integer.parseInt(args[2]),
                        MutexKind.valueOf(args[3]))) {
                    System.out.println("OPENED count=" + file.mutexCount());
                }
            }
            case "churn" -> churn(Path.of(args[1]), MutexKind.valueOf(args[2]));
            case "half-update" -> {
                SharedMemory region = SharedMemory.map(Path.of(args[1]), 4096);
                RobustMutex mutex = region.mutex(0, MutexKind.valueOf(args[2]));
                ByteBuffer data = region.buffer();
                mutex.lock();
                data.putLong(64, data.getLong(64) - 30);
                System.out.println("MID");
                new CountDownLatch(1).await();
            }
            case "hold-two" -> {
                MutexKind kind = MutexKind.valueOf(args[3]);
                MutexFile a = MutexFile.open(Path.of(args[1]), 1, kind);
                MutexFile b = MutexFile.open(Path.of(args[2]), 1, kind);
                a.mutex(0).lock();
                b.mutex(0).lock();
                System.out.println("HELD");
                new CountDownLatch(1).await();
            }
            case "acquire-region" -> {
                try (SharedMemory region = SharedMemory.map(Path.of(args[1]), 4096);
                        Acquisition held = region.mutex(0, MutexKind.valueOf(args[2])).acquire()) {
                    System.out.println("ACQUIRED ownerDied=" + held.ownerDied());
                }
            }
            case "cond-wait" -> {
                SharedMemory region = SharedMemory.map(Path.of(args[1]), 4096);
                RobustMutex mutex = region.mutex(0, MutexKind.valueOf(args[2]));
                RobustCondition condition = region.condition(CONDITION, mutex);
                mutex.lock();
                System.out.println("WAITING");
                while (true) {
                    condition.awaitUninterruptibly();
                    System.out.println("WOKEN");
                }
            }
            case "cross-mapping" -> crossMapping(Path.of(args[1]), MutexKind.valueOf(args[2]), args[3]);
            default -> throw new IllegalArgumentException("unknown command " + args[0]);
        }
    }

    static void crossMapping(Path path, MutexKind kind, String operation) throws Exception {
        try (SharedMemory first = SharedMemory.map(path, 4096)) {
            SharedMemory second = SharedMemory.map(path, 8192);
            RobustMutex viaFirst = first.mutex(0, kind);
            RobustMutex viaSecond = second.mutex(0, kind);
            viaFirst.lock();
            long token = viaFirst.fencingToken();
            second.close();
            String result;
            try {
                result = switch (operation) {
                    case "unlock" -> {
                        viaSecond.unlock();
                        yield "unlocked";
                    }
                    case "fencingToken" -> "token " + (viaSecond.fencingToken() == token ? "same" : "different");
                    case "markConsistent" -> {
                        viaSecond.markConsistent();
                        yield "marked";
                    }
                    case "isConsistent" -> "consistent=" + viaSecond.isConsistent();
                    case "getHoldCount" -> "holds=" + viaSecond.getHoldCount();
                    case "tryLock" -> "tryLock=" + viaSecond.tryLock();
                    default -> throw new IllegalArgumentException("unknown operation " + operation);
                };
            } catch (RuntimeException e) {
                result = "threw " + e.getClass().getSimpleName() + ": " + e.getMessage();
            }
            System.out.println("RESULT " + result);
            System.out.println("HELD=" + viaFirst.isHeldByCurrentThread());
            while (viaFirst.isHeldByCurrentThread()) {
                viaFirst.unlock();
            }
        }
    }

    static void increment(Path path, MutexKind kind, int iterations) throws Exception {
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex mutex = region.mutex(0, kind);
            ByteBuffer data = region.buffer();
            long me = ProcessHandle.current().pid();
            System.out.println("READY");
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.MINUTES.toNanos(1);
            while (data.getLong(GO) == 0) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no start signal within a minute");
                }
                Thread.onSpinWait();
            }
            for (int i = 0; i < iterations; i++) {
                try (Acquisition held = mutex.acquire()) {
                    if (held.ownerDied()) {
                        held.markConsistent();
                    }
                    long inside = data.getLong(INSIDE);
                    if (inside != 0) {
                        throw new AssertionError("process " + inside + " is inside the critical section too");
                    }
                    data.putLong(INSIDE, me);
                    data.putLong(COUNTER, data.getLong(COUNTER) + 1);
                    data.putLong(INSIDE, 0);
                }
            }
        }
        System.out.println("DONE");
    }

    /**
     * Records a pid in the kill log of an increment region; call before killing it.
     *
     * @param data the region's buffer
     * @param pid the process about to be killed
     */
    static void logKill(ByteBuffer data, long pid) {
        long count = data.getLong(KILLED);
        if (count >= KILLED_CAPACITY) {
            throw new IllegalStateException("kill log full");
        }
        data.putLong(KILLED + 8 + 8 * (int) count, pid);
        data.putLong(KILLED, count + 1);
    }

    private static boolean killed(ByteBuffer data, long pid) {
        long count = data.getLong(KILLED);
        for (int i = 0; i < count; i++) {
            if (data.getLong(KILLED + 8 + 8 * i) == pid) {
                return true;
            }
        }
        return false;
    }

    static void churn(Path path, MutexKind kind) throws Exception {
        SharedMemory region = SharedMemory.map(path, 4096);
        RobustMutex mutex = region.mutex(0, kind);
        ByteBuffer data = region.buffer();
        long me = ProcessHandle.current().pid();
        System.out.println("READY");
        while (true) {
            try (Acquisition held = mutex.acquire()) {
                long inside = data.getLong(INSIDE);
                if (inside != 0 && (!held.ownerDied() || !killed(data, inside))) {
                    System.out.println("VIOLATION marker=" + inside + " ownerDied=" + held.ownerDied()
                            + " killed=" + killed(data, inside) + " " + mutex.snapshot());
                    System.exit(3);
                }
                if (held.ownerDied()) {
                    data.putLong(DEATHS, data.getLong(DEATHS) + 1);
                    held.markConsistent();
                }
                data.putLong(INSIDE, me);
                long counter = data.getLong(COUNTER);
                for (int i = 0; i < 100; i++) {
                    Thread.onSpinWait();
                }
                data.putLong(COUNTER, counter + 1);
                data.putLong(INSIDE, 0);
            }
        }
    }

    /** Never freed: the kernel reads a registered head when the thread exits. */
    private static ByteBuffer foreignHead;

    /**
     * Takes glibc's head away from the calling thread before its first lock, the way a C library that registers
     * lazily or with another layout would leave it: {@code none} unregisters it, {@code offset} registers an
     * empty head whose {@code futex_offset} is musl's (-28).
     */
    static void replaceGlibcHead(String how) {
        LinuxSyscalls syscalls = LinuxPlatform.get().syscalls();
        long result;
        if (how.equals("none")) {
            result = syscalls.setRobustList(0, RobustListHeadDescriptor.SIZE);
        } else {
            foreignHead = NativeMemory.allocateAligned(RobustListHeadDescriptor.SIZE, 8);
            long address = NativeMemory.address(foreignHead);
            foreignHead.putLong(RobustListHeadDescriptor.LIST_NEXT_OFFSET, address);
            foreignHead.putLong(RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET, -28);
            foreignHead.putLong(RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 0);
            result = syscalls.setRobustList(address, RobustListHeadDescriptor.SIZE);
        }
        if (result != 0) {
            throw new IllegalStateException("set_robust_list: " + result);
        }
    }

    static void hold(Path path, int index) throws Exception {
        MutexFile file = MutexFile.openExisting(path);
        Acquisition held = file.mutex(index).acquire();
        System.out.println("LIST " + KernelSupport.robustList());
        System.out.println("HELD token=" + held.fencingToken() + " ownerDied=" + held.ownerDied());
        new CountDownLatch(1).await();
    }

    static void waitFor(Path path, int index) throws Exception {
        MutexFile file = MutexFile.openExisting(path);
        RobustMutex mutex = file.mutex(index);
        System.out.println("WAITING");
        Optional<Acquisition> held = mutex.tryAcquire(Duration.ofMinutes(5));
        Acquisition acquisition = held.orElseThrow();
        System.out.println("ACQUIRED token=" + acquisition.fencingToken() + " ownerDied=" + acquisition.ownerDied());
        new CountDownLatch(1).await();
    }
}
