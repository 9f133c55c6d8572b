package io.robustmutex.model;

import io.robustmutex.internal.RobustListHeadDescriptor;
import io.robustmutex.spi.PendingSlotWidth;

/**
 * Raw system calls of a simulated thread, for tests that drive the model below the library's protocol (the
 * kernel selftests). Call them from a {@link ModelThread} task.
 */
public final class ModelSyscalls {

    private final KernelModel model;
    private final ModelProcess process;

    public ModelSyscalls(ModelProcess process) {
        this.model = process.model();
        this.process = process;
    }

    private static ModelThread self() {
        ModelThread thread = KernelModel.current();
        if (thread == null) {
            throw new IllegalStateException("raw syscalls are made from a simulated thread");
        }
        return thread;
    }

    public int gettid() {
        return self().tid();
    }

    public int futex(long uaddr, int op, int val, long uaddr2, int val3) {
        return model.futex(process, uaddr, op, val, Long.MAX_VALUE, uaddr2, val3);
    }

    public int futexWithDeadline(long uaddr, int op, int val, long deadline) {
        return model.futex(process, uaddr, op, val, deadline, 0, 0);
    }

    public int setRobustList(long head, long length) {
        return model.setRobustList(self(), head, length);
    }

    public int getRobustList(int tid, long[] out) {
        return model.getRobustList(self(), tid, out);
    }

    public int vdsoTryUnlock(long lock, int tid, long pending, PendingSlotWidth width) {
        return model.vdsoTryUnlock(process, lock, tid, pending, width);
    }

    /** Writes an empty robust list head at {@code head} with the given futex_offset. */
    public static void initHead(ModelRegion region, long head, long futexOffset) {
        int at = (int) (head - region.address());
        region.putLong(at + RobustListHeadDescriptor.LIST_NEXT_OFFSET, head);
        region.putLong(at + RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET, futexOffset);
        region.putLong(at + RobustListHeadDescriptor.LIST_OP_PENDING_OFFSET, 0);
    }
}
