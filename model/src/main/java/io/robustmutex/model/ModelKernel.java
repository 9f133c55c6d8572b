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

    /**
     * What the library does on a thread's first lock ({@code LinuxKernel.register}): join the head registered for
     * the thread if it can ({@link #join}), else initialise a head of its own and register it.
     */
    private void register(ModelThread thread) {
        String why = model.robustList() == KernelModel.RobustListChoice.OWN ? "-Dio.robustmutex.robustList=own"
                : join(thread);
        if (why == null) {
            return;
        }
        long head = process.allocateHead(thread, true);
        ModelMemory heap = process.heapMemory();
        int offset = (int) (head - heap.address());
        heap.putLongPlain(offset - RobustListHeadDescriptor.PREV_SLOT_SIZE, head);
        heap.putLongPlain(offset + RobustListHeadDescriptor.LIST_NEXT_OFFSET, head);
        heap.putLongPlain(offset + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET, RobustListHeadDescriptor.FUTEX_OFFSET);
        heap.putLongPlain(offset + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 0);
        Errno.check("set_robust_list", model.setRobustList(thread, head, RobustListHeadDescriptor.SIZE));
        thread.robust = new RobustThread(thread.tid, heap, offset, false);
        thread.headChoice = "own (" + why + ")";
    }

    /**
     * {@code LinuxKernel.chooseHead} on the model: asks {@code get_robust_list(0)} for the registered head and,
     * if there is one that is not the library's own, 24 bytes long, reads its {@code futex_offset} (a step, as
     * the library's read is); with -32 the thread joins it: its records go on that list, shared with glibc's
     * robust mutexes of the same thread, and the memory given to the thread covers the head's prev slot.
     *
     * @return null when joined, else why not (the reason the library reports)
     */
    private String join(ModelThread thread) {
        long[] out = new long[2];
        int result = model.getRobustList(thread, 0, out);
        if (result != 0) {
            return "get_robust_list failed: " + Errno.name(-result);
        }
        long address = out[0];
        if (address == 0) {
            return "the C library registered no robust list head for the thread";
        }
        if (process.isLibraryHead(address)) {
            return "the thread already uses a head of this library's own";
        }
        if (out[1] != RobustListHeadDescriptor.SIZE) {
            return "the registered head's length is " + out[1] + ", not " + RobustListHeadDescriptor.SIZE;
        }
        ModelMemory heap = process.heapMemory();
        ModelMemory memory;
        int offset;
        if (address - RobustListHeadDescriptor.PREV_SLOT_SIZE >= heap.address()
                && address + RobustListHeadDescriptor.SIZE <= heap.address() + heap.size()) {
            memory = heap;
            offset = (int) (address - heap.address());
        } else {
            memory = new ModelMemory(model, process, address - RobustListHeadDescriptor.PREV_SLOT_SIZE,
                    RobustListHeadDescriptor.PREV_SLOT_SIZE + RobustListHeadDescriptor.SIZE);
            offset = RobustListHeadDescriptor.PREV_SLOT_SIZE;
        }
        long futexOffset = memory.getLongPlain(offset + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET);
        if (futexOffset != RobustListHeadDescriptor.FUTEX_OFFSET) {
            return "the registered head's futex_offset is " + futexOffset + ", not "
                    + RobustListHeadDescriptor.FUTEX_OFFSET;
        }
        thread.robust = new RobustThread(thread.tid, memory, offset, true);
        thread.headChoice = "joined glibc";
        return null;
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
