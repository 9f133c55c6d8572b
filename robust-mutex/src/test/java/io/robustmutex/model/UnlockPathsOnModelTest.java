package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.UnlockPath;
import io.robustmutex.aarch64.Aarch64Architecture;
import io.robustmutex.spi.Architecture;
import io.robustmutex.x86_64.X86_64Architecture;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each unlock path of the protocol, run on the model, makes exactly the kernel calls it should. */
class UnlockPathsOnModelTest {

    static Stream<Arguments> configurations() {
        return Stream.of(new X86_64Architecture(), new Aarch64Architecture()).flatMap(arch ->
                Stream.of(MutexKind.values()).flatMap(kind ->
                        Stream.of(UnlockPath.values()).map(path -> Arguments.of(arch, kind, path))));
    }

    private static List<String> operations(ModelThread thread) {
        return thread.steps().stream().map(Step::operation).toList();
    }

    /** Uncontended and contended unlocks use the path's release; the vDSO path needs no syscall uncontended. */
    @ParameterizedTest
    @MethodSource("configurations")
    void unlockUsesThePath(Architecture arch, MutexKind kind, UnlockPath path) {
        try (KernelModel model = KernelModel.builder().architecture(arch).vdsoTryUnlock(path == UnlockPath.VDSO)
                .unlockPath(path).build()) {
            ModelProcess a = model.newProcess();
            ModelProcess b = model.newProcess();
            SharedObject shm = model.newSharedObject("shm", 4096);
            RobustMutex ma = a.map(shm).mutex(0, kind);
            RobustMutex mb = b.map(shm).mutex(0, kind);
            ModelThread holder = a.newThread("holder");
            holder.start(() -> ma.acquire());
            model.runUntilQuiet();
            holder.start(() -> {
                ma.unlock();
                return null;
            });
            model.runUntilQuiet();
            List<String> uncontended = operations(holder);
            boolean robustSyscall = uncontended.stream().anyMatch(op -> op.contains("FUTEX_ROBUST_UNLOCK"));
            boolean vdso = uncontended.stream().anyMatch(op -> op.startsWith("vdso: "));
            assertEquals(path == UnlockPath.SYSCALL, robustSyscall, uncontended.toString());
            assertEquals(path == UnlockPath.VDSO, vdso, uncontended.toString());
            assertFalse(path != UnlockPath.SYSCALL && uncontended.stream().anyMatch(op -> op.startsWith("futex(")),
                    "an uncontended " + path.id() + " unlock makes no syscall: " + uncontended);

            holder.start(() -> ma.acquire());
            model.runUntilQuiet();
            ModelThread waiter = b.newThread("waiter");
            ModelTask<Boolean> waited = waiter.start(() -> {
                try (Acquisition held = mb.acquire()) {
                    return held.ownerDied();
                }
            });
            model.run(waiter);
            assertEquals(ModelThread.State.BLOCKED, waiter.state());
            holder.start(() -> {
                ma.unlock();
                return null;
            });
            model.run(holder);
            List<String> contended = operations(holder);
            String release = contended.stream().filter(op -> op.startsWith("futex(")).findFirst().orElse("none");
            String expected = switch (path) {
                case CLASSIC -> kind == MutexKind.PI ? "futex(FUTEX_UNLOCK_PI)" : "futex(FUTEX_WAKE)";
                default -> kind == MutexKind.PI ? "futex(FUTEX_UNLOCK_PI|FUTEX_ROBUST_UNLOCK)"
                        : "futex(FUTEX_WAKE|FUTEX_ROBUST_UNLOCK)";
            };
            assertEquals(expected, release, contended.toString());
            model.runUntilQuiet();
            assertFalse(waited.result());
            assertTrue(ma.snapshot().fencingToken() == 3);
        }
    }
}
