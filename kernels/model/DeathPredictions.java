import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.UnlockPath;
import io.robustmutex.model.KernelModel;
import io.robustmutex.model.KillPoint;
import io.robustmutex.model.ModelProcess;
import io.robustmutex.model.ModelRegion;
import io.robustmutex.model.ModelTask;
import io.robustmutex.model.ModelThread;
import io.robustmutex.model.SharedObject;
import io.robustmutex.model.Step;
import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.Instruction;
import io.robustmutex.spi.PendingSlotWidth;
import io.robustmutex.spi.UnlockCriticalSection;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.function.Predicate;

/**
 * What the reference model predicts for each death point of kernels/c/inject.c: a NORMAL mutex held by a
 * victim thread, whose release is stopped before instruction K of the vDSO try-unlock (K = N: just after it
 * returned) and killed there, with and without a waiter of another process asleep in the kernel, with and
 * without a peer thread of the victim's process that takes the released lock, unmaps the memory and maps
 * other data holding the victim's TID at the same address (at once, or under the lifetime rule when the
 * mapping is no longer referenced).
 *
 * <p>Run with the core and architecture jars on the class path:
 * {@code java -cp CORE:NATIVE kernels/model/DeathPredictions.java x86_64 vdso|classic [--lifetime]}.
 * The classic path has no vDSO instructions: its death points are mapped onto the same instruction indexes
 * as inject.c's private copy of the sequence (before the compare-and-swap, between it and the store that
 * clears list_op_pending, after that store).
 *
 * <p>One line per case:
 * {@code predict MODE point=K/N waiter=W peer=P lifetime=L: outcome=released|owner-died|held-by-dead
 * peer=remapped|busy|deferred|- other=intact|CORRUPTED|- waiter=woken|asleep|-}
 */
public final class DeathPredictions {

    private static final int OWNER_DIED = 0x40000000;
    private static final int TID_MASK = 0x3fffffff;

    private DeathPredictions() {
    }

    public static void main(String[] args) {
        String archName = args[0];
        boolean vdso = args[1].equals("vdso");
        boolean lifetime = Arrays.asList(args).contains("--lifetime");
        Architecture architecture = null;
        for (Architecture candidate : ServiceLoader.load(Architecture.class)) {
            if (candidate.name().equals(archName)) {
                architecture = candidate;
            }
        }
        if (architecture == null) {
            throw new IllegalArgumentException("no architecture module " + archName);
        }
        UnlockCriticalSection section = architecture.unlockCriticalSection(PendingSlotWidth.BITS_64);
        List<Instruction> instructions = section.instructions();
        int n = instructions.size();
        int casIndex = -1;
        int storeIndex = -1;
        for (int i = 0; i < n; i++) {
            if (instructions.get(i) instanceof Instruction.CompareExchange) {
                casIndex = i;
            }
            if (instructions.get(i) instanceof Instruction.Store) {
                storeIndex = i;
            }
        }
        for (int k = 0; k <= n; k++) {
            for (boolean waiter : new boolean[] {false, true}) {
                for (boolean peer : new boolean[] {false, true}) {
                    KillPoint point;
                    if (vdso) {
                        point = k < n ? vdsoPoint(instructions.get(k)) : afterVdsoReturn();
                    } else {
                        // The classic path: before the CAS, between it and the pending clear, after the clear.
                        point = k <= casIndex ? KillPoint.beforeFirst(DeathPredictions::isWordCas, "the CAS")
                                : k <= storeIndex ? afterCasBeforeClear() : null;
                    }
                    String result = scenario(architecture, vdso, lifetime, point, waiter, peer);
                    System.out.printf("predict %s point=%d/%d waiter=%d peer=%d lifetime=%d: %s%n",
                            vdso ? "vdso" : "classic", k, n, waiter ? 1 : 0, peer ? 1 : 0, lifetime ? 1 : 0, result);
                }
            }
        }
    }

    private static KillPoint vdsoPoint(Instruction instruction) {
        String text = "vdso: " + instruction.assembly();
        return KillPoint.beforeFirst(step -> step.operation().equals(text), text);
    }

    /** The first step after the vDSO function's ret. */
    private static KillPoint afterVdsoReturn() {
        boolean[] seen = {false};
        Predicate<Step> after = step -> {
            if (seen[0]) {
                return true;
            }
            if (step.operation().equals("vdso: ret")) {
                seen[0] = true;
            }
            return false;
        };
        return KillPoint.beforeFirst(after, "after the vDSO function returned");
    }

    /** The first step after the classic compare-and-swap of the word. */
    private static KillPoint afterCasBeforeClear() {
        boolean[] seen = {false};
        Predicate<Step> after = step -> {
            if (seen[0]) {
                return true;
            }
            if (isWordCas(step)) {
                seen[0] = true;
            }
            return false;
        };
        return KillPoint.beforeFirst(after, "after the compare-and-swap");
    }

    /** The classic release's compare-and-swap of the lock word (a step "CAS" on "mutex@....word"). */
    private static boolean isWordCas(Step step) {
        return step.operation().equals("CAS") && step.target().endsWith(".word");
    }

    private static String scenario(Architecture architecture, boolean vdso, boolean lifetime, KillPoint point,
            boolean withWaiter, boolean withPeer) {
        KernelModel model = KernelModel.builder().architecture(architecture).release(KernelModel.Release.LINUX_7_2)
                .unlockPath(vdso ? UnlockPath.VDSO : UnlockPath.CLASSIC).build();
        try {
            ModelProcess a = model.newProcess();
            ModelProcess b = model.newProcess();
            SharedObject shm = model.newSharedObject("shm", 4096);
            ModelRegion regionA = a.map(shm);
            ModelRegion regionB = b.map(shm);
            RobustMutex mutexA = regionA.mutex(0, MutexKind.NORMAL);
            RobustMutex mutexB = regionB.mutex(0, MutexKind.NORMAL);
            ModelThread victim = a.newThread("V");
            ModelThread peer = a.newThread("P");
            ModelThread waiter = b.newThread("W");
            Acquisition[] held = new Acquisition[1];
            run(model, victim, () -> {
                held[0] = mutexA.acquire();
                return null;
            });
            ModelTask<Void> waiting = null;
            if (withWaiter) {
                waiting = waiter.start(() -> {
                    try (Acquisition got = mutexB.acquire()) {
                        if (got.ownerDied()) {
                            got.markConsistent();
                        }
                    }
                    return null;
                });
                model.run(waiter);
            }
            if (point != null) {
                victim.killAt(point);
            }
            run(model, victim, () -> {
                held[0].close();
                return null;
            });
            String peerResult = "-";
            SharedObject[] other = new SharedObject[1];
            byte[][] before = new byte[1][];
            if (withPeer) {
                String[] r = {"busy"};
                run(model, peer, () -> {
                    Optional<Acquisition> got = mutexA.tryAcquire();
                    if (got.isEmpty()) {
                        return null;
                    }
                    got.get().close();
                    ByteBuffer data = ByteBuffer.allocateDirect(4096).order(ByteOrder.nativeOrder());
                    for (int i = 0; i < 4096; i += 4) {
                        data.putInt(i, 0x5a5a5a5a);
                    }
                    data.putInt(0, victim.tid());
                    other[0] = model.wrapSharedObject("other", data);
                    before[0] = other[0].snapshot();
                    long address = regionA.address();
                    if (lifetime) {
                        regionA.unmapWhenUnreferenced(() -> a.map(other[0], address));
                        r[0] = regionA.isMapped() ? "deferred" : "remapped";
                    } else {
                        regionA.unmap();
                        a.map(other[0], address);
                        r[0] = "remapped";
                    }
                    return null;
                });
                peerResult = r[0];
            }
            boolean stopped = victim.state() == ModelThread.State.STOPPED;
            if (!victim.isDead()) {
                model.deliverDeath(victim);
            }
            int word = regionB.getInt(0);
            String outcome = word == 0 ? "released" : (word & OWNER_DIED) != 0 ? "owner-died"
                    : (word & TID_MASK) == victim.tid() ? "held-by-dead" : "other";
            model.runUntilQuiet();
            String otherResult = other[0] == null ? "-"
                    : Arrays.equals(before[0], other[0].snapshot()) ? "intact" : "CORRUPTED";
            String waiterResult = waiting == null ? "-" : waiting.isDone() ? "woken" : "asleep";
            return "reached=" + (point == null || stopped ? "yes" : "no") + " outcome=" + outcome + " peer="
                    + peerResult + " other=" + otherResult + " waiter=" + waiterResult;
        } finally {
            model.close();
        }
    }

    private static void run(KernelModel model, ModelThread thread, java.util.concurrent.Callable<Void> body) {
        ModelTask<Void> task = thread.start(body);
        model.run(thread);
        if (task.outcome() == ModelTask.Outcome.FAILED) {
            throw new IllegalStateException(thread.name() + " failed", task.failure());
        }
    }
}
