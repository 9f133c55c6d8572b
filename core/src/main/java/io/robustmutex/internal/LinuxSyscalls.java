package io.robustmutex.internal;

import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.SyscallNumbers;
import java.nio.ByteBuffer;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * The Linux system calls the library makes, through {@code syscall(2)} with the architecture's numbers.
 *
 * <p>Every method returns what the kernel returns: a non-negative result or {@code -errno}. Nothing here
 * throws for an errno; the caller handles the errnos it expects as values and passes the others to
 * {@link Errno#exception}. Out-parameters and timeouts live in a small per-thread native scratch area, so no
 * call allocates native memory.
 */
public final class LinuxSyscalls {

    /** Offsets in the per-thread scratch area. */
    private static final int SCRATCH_TIMESPEC = 0;
    private static final int SCRATCH_OUT0 = 16;
    private static final int SCRATCH_OUT1 = 24;
    private static final int SCRATCH_SIZE = 64;

    private final LibC libc;
    private final Runtime runtime;
    private final SyscallNumbers numbers;
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);

    private LinuxSyscalls(LibC libc, SyscallNumbers numbers) {
        this.libc = libc;
        this.runtime = Runtime.getRuntime(libc);
        this.numbers = numbers;
    }

    /**
     * Binds the C library.
     *
     * @param architecture the architecture whose syscall numbers are used
     * @return the binding
     * @throws UnsatisfiedLinkError when the C library or jffi's native stub cannot be loaded
     */
    public static LinuxSyscalls load(Architecture architecture) {
        LibC libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
        return new LinuxSyscalls(libc, architecture.syscallNumbers());
    }

    /**
     * The syscall numbers in use.
     *
     * @return the numbers
     */
    public SyscallNumbers numbers() {
        return numbers;
    }

    private long call(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
        long result = libc.syscall(number, a1, a2, a3, a4, a5, a6);
        return result == -1 ? -LastError.getLastError(runtime) : result;
    }

    /**
     * {@code gettid()}: the calling thread's TID. It cannot fail.
     *
     * @return the TID
     */
    public int gettid() {
        return (int) call(numbers.gettid(), 0, 0, 0, 0, 0, 0);
    }

    /**
     * {@code set_robust_list(head, length)} for the calling thread.
     *
     * @param head the head's address, or 0 to unregister
     * @param length the head's size; only 24 is accepted by the kernel
     * @return 0, or {@code -EINVAL} for a wrong length
     */
    public long setRobustList(long head, long length) {
        return call(numbers.setRobustList(), head, length, 0, 0, 0, 0);
    }

    /**
     * {@code get_robust_list(tid, &head, &length)}.
     *
     * @param tid a thread of this process, or 0 for the calling thread
     * @param out receives the head address at index 0 and the length at index 1
     * @return 0, or {@code -ESRCH} when there is no such thread, {@code -EPERM} when not permitted
     */
    public long getRobustList(int tid, long[] out) {
        Scratch s = scratch.get();
        long result = call(numbers.getRobustList(), tid, s.address + SCRATCH_OUT0, s.address + SCRATCH_OUT1, 0, 0, 0);
        if (result == 0) {
            out[0] = s.buffer.getLong(SCRATCH_OUT0);
            out[1] = s.buffer.getLong(SCRATCH_OUT1);
        }
        return result;
    }

    /**
     * {@code futex(uaddr, op, val, timeout_or_val2, uaddr2, val3)} with the fourth argument passed as a raw
     * value (NULL timeout, or {@code val2}).
     *
     * @param uaddr the futex word's address
     * @param op the operation with its flags
     * @param val the operation's {@code val}
     * @param timeoutOrVal2 a timespec address, 0, or {@code val2}
     * @param uaddr2 the second address (for {@code FUTEX_ROBUST_UNLOCK}: the pending slot)
     * @param val3 the operation's {@code val3}
     * @return the kernel's result or {@code -errno}
     */
    public long futex(long uaddr, int op, int val, long timeoutOrVal2, long uaddr2, int val3) {
        return call(numbers.futex(), uaddr, op, val, timeoutOrVal2, uaddr2, val3);
    }

    /**
     * {@code futex} with a timeout given as a {@code struct timespec}; whether it is relative or absolute,
     * and on which clock, is the operation's rule (kernel-abi.md section 1).
     *
     * @param uaddr the futex word's address
     * @param op the operation with its flags
     * @param val the operation's {@code val}
     * @param seconds {@code tv_sec}
     * @param nanos {@code tv_nsec}, 0..999,999,999
     * @param uaddr2 the second address
     * @param val3 the operation's {@code val3}
     * @return the kernel's result or {@code -errno}
     */
    public long futexTimed(long uaddr, int op, int val, long seconds, long nanos, long uaddr2, int val3) {
        Scratch s = scratch.get();
        s.buffer.putLong(SCRATCH_TIMESPEC, seconds);
        s.buffer.putLong(SCRATCH_TIMESPEC + 8, nanos);
        return call(numbers.futex(), uaddr, op, val, s.address + SCRATCH_TIMESPEC, uaddr2, val3);
    }

    /** Per-thread native memory for out-parameters and timespecs. */
    private static final class Scratch {
        final ByteBuffer buffer = NativeMemory.allocateAligned(SCRATCH_SIZE, 16);
        final long address = NativeMemory.address(buffer);
    }
}
