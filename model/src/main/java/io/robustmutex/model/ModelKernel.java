package io.robustmutex.model;

import io.robustmutex.UnlockPath;
import io.robustmutex.internal.AtomicMemory;
import io.robustmutex.internal.Errno;
import io.robustmutex.internal.FutexOp;
import io.robustmutex.internal.Kernel;
import io.robustmutex.internal.RobustListHeadDescriptor;
import io.robustmutex.internal.RobustThread;
import io.robustmutex.spi.PendingSlotWidth;

/**
 * The protocol's {@link Kernel} for one simulated process: each call is a system call (or the vDSO call) of
 * the calling simulated thread on the {@link KernelModel}.
 */
final class ModelKernel implements Kernel {

    private final KernelModel model;
    private final ModelProcess process;

    ModelKernel(KernelModel model, ModelProcess process) {
        this.model = model;
        this.process = process;
    }

    @Override
    public RobustThread currentThread() {
        ModelThread thread = KernelModel.current();
        if (thread == null) {
            throw new IllegalStateException("a model mutex is used from a simulated thread: start the code with"
                    + " ModelThread.start");
        }
        if (thread.process != process) {
            throw new IllegalStateException(thread + " belongs to process " + thread.process.pid()
                    + ", not to process " + process.pid());
        }
        if (thread.robust == null) {
            register(thread);
        }
        return thread.robust;
    }

    @Override
    public RobustThread currentThreadIfRegistered() {
        ModelThread thread = KernelModel.current();
        return thread == null || thread.process != process ? null : thread.robust;
    }

    @Override
    public AtomicMemory nativeListEntry(long entryAddress) {
        return new ModelMemory(model, process, entryAddress - RobustListHeadDescriptor.PREV_SLOT_SIZE,
                2 * Long.BYTES);
    }

    @Override
    public boolean couldHold(int tid) {
        ModelThread thread = KernelModel.current();
        if (thread == null) {
            throw new IllegalStateException("a model mutex is used from a simulated thread");
        }
        long[] head = new long[2];
        int result = model.getRobustList(thread, tid, head);
        return result != -Errno.ESRCH && (result != 0 || head[0] != 0);
    }

    /** What the library does on a thread's first lock: initialize a head and register it. */
    private void register(ModelThread thread) {
        long head = process.allocateHead(thread);
        ModelMemory heap = process.heapMemory();
        int offset = (int) (head - heap.address());
        heap.putLongPlain(offset - RobustListHeadDescriptor.PREV_SLOT_SIZE, head);
        heap.putLongPlain(offset + RobustListHeadDescriptor.LIST_NEXT_OFFSET, head);
        heap.putLongPlain(offset + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET, RobustListHeadDescriptor.FUTEX_OFFSET);
        heap.putLongPlain(offset + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 0);
        Errno.check("set_robust_list", model.setRobustList(thread, head, RobustListHeadDescriptor.SIZE));
        thread.robust = new RobustThread(thread.tid, heap, offset, false);
    }

    @Override
    public int futexWait(long uaddr, int expected, long timeoutNanos, boolean periodic) {
        long deadline = timeoutNanos < 0 ? Long.MAX_VALUE : model.nanoTime() + timeoutNanos;
        ModelThread thread = KernelModel.current();
        if (thread != null) {
            thread.nextWaitPeriodic = periodic && timeoutNanos >= 0;
        }
        return model.futex(process, uaddr, FutexOp.FUTEX_WAIT, expected, deadline, 0, 0);
    }

    @Override
    public int futexWake(long uaddr, int count) {
        return model.futex(process, uaddr, FutexOp.FUTEX_WAKE, count, Long.MAX_VALUE, 0, 0);
    }

    @Override
    public int futexLockPi(long uaddr, long deadlineNanos) {
        return model.futex(process, uaddr, FutexOp.FUTEX_LOCK_PI2, 0, deadlineNanos, 0, 0);
    }

    @Override
    public int futexTrylockPi(long uaddr) {
        return model.futex(process, uaddr, FutexOp.FUTEX_TRYLOCK_PI, 0, Long.MAX_VALUE, 0, 0);
    }

    @Override
    public int futexUnlockPi(long uaddr) {
        return model.futex(process, uaddr, FutexOp.FUTEX_UNLOCK_PI, 0, Long.MAX_VALUE, 0, 0);
    }

    @Override
    public int futexRobustUnlock(long uaddr, boolean pi, long pendingSlot) {
        int op = (pi ? FutexOp.FUTEX_UNLOCK_PI : FutexOp.FUTEX_WAKE) | FutexOp.FUTEX_ROBUST_UNLOCK;
        return model.futex(process, uaddr, op, pi ? 0 : 1, Long.MAX_VALUE, pendingSlot, 0);
    }

    @Override
    public int vdsoTryUnlock(long uaddr, int tid, long pendingSlot) {
        return model.vdsoTryUnlock(process, uaddr, tid, pendingSlot, PendingSlotWidth.BITS_64);
    }

    @Override
    public UnlockPath unlockPath() {
        return model.unlockPath();
    }

    @Override
    public int processId() {
        return process.pid();
    }

    @Override
    public long nanoTime() {
        return model.nanoTime();
    }
}
