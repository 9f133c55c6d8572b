package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.UnlockPath;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The library's protocol running unchanged on the model: basic behaviour. */
class KernelModelTest {

    /** A holder killed while a waiter of another process sleeps in the kernel hands over with owner died. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void killedHolderWakesWaiterWithOwnerDied(MutexKind kind) {
        for (UnlockPath path : new UnlockPath[] {UnlockPath.SYSCALL, UnlockPath.CLASSIC}) {
            try (KernelModel model = KernelModel.builder().unlockPath(path).build()) {
                ModelProcess a = model.newProcess();
                ModelProcess b = model.newProcess();
                SharedObject shm = model.newSharedObject("shm", 4096);
                RobustMutex ma = a.map(shm).mutex(0, kind);
                RobustMutex mb = b.map(shm).mutex(0, kind);
                ModelThread holder = a.newThread("holder");
                ModelThread waiter = b.newThread("waiter");
                ModelTask<Long> held = holder.start(() -> ma.acquire().fencingToken());
                model.runUntilQuiet();
                assertEquals(1L, held.result());
                ModelTask<Boolean> waited = waiter.start(() -> {
                    try (Acquisition acquisition = mb.acquire()) {
                        acquisition.markConsistent();
                        return acquisition.ownerDied();
                    }
                });
                model.runUntilQuiet();
                assertEquals(ModelThread.State.BLOCKED, waiter.state(), path + " " + kind);
                model.deliverDeath(holder);
                model.runUntilQuiet();
                assertTrue(waited.result(), path + " " + kind);
                assertFalse(ma.snapshot().locked());
                assertEquals(1, ma.snapshot().ownerDiedCount());
            }
        }
    }

    /** The model runs on a caller's off-heap buffer: the record it initializes is there, byte for byte. */
    @ParameterizedTest
    @EnumSource(MutexKind.class)
    void runsOnACallersDirectBuffer(MutexKind kind) {
        java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect(4096)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        try (KernelModel model = KernelModel.builder().build()) {
            SharedObject shm = model.wrapSharedObject("direct", direct);
            ModelProcess process = model.newProcess();
            RobustMutex mutex = process.map(shm).mutex(128, kind);
            ModelThread thread = process.newThread("t");
            ModelTask<Long> task = thread.start(() -> mutex.acquire().fencingToken());
            model.runUntilQuiet();
            assertEquals(1L, task.result());
            assertEquals(thread.tid(), direct.getInt(128), "the word in the caller's buffer names the holder");
            assertEquals(1L, direct.getLong(128 + 8), "the fencing token is in the caller's buffer");
        }
    }
}
