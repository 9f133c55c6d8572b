package io.robustmutex.internal;

import io.robustmutex.UnlockPath;

/**
 * The kernel as the lock protocol sees it: the futex operations, the vDSO try-unlock, and the calling
 * thread's robust list (design.md section 6). Implemented by {@link LinuxKernel} over the real syscalls and
 * by the reference model.
 *
 * <p>Every futex method returns what the kernel returns: a non-negative value, or {@code -errno}. Waits use
 * shared futex keys, never {@code FUTEX_PRIVATE_FLAG}: the kernel's exit-time wake is shared (kernel-abi.md
 * section 5).
 */
public interface Kernel {

    /**
     * The calling thread's robust-list state, registering a head for it on first use.
     *
     * @return the state
     * @throws UnsupportedOperationException for a virtual thread, whose OS thread can change
     */
    RobustThread currentThread();

    /**
     * The calling thread's robust-list state if it has one, without registering anything: for calls that
     * must not touch the kernel when the thread never locked (an unlock by a non-owner, a hold-count query).
     *
     * @return the state, or null when the thread has never taken a robust mutex
     */
    RobustThread currentThreadIfRegistered();

    /**
     * The list fields of an entry that native code of the calling thread linked into the robust list this
     * library shares with it (a glibc mutex's {@code __list}): 16 bytes, its {@code prev} at offset 0 and its
     * {@code next} at offset 8, starting 8 bytes before {@code entryAddress}. Only called for a thread that
     * joined a head registered by the C library, with an address read from that thread's own list.
     *
     * @param entryAddress the address of the entry's {@code next} field, as the list names it (PI bit cleared)
     * @return memory over the entry's two list fields
     */
    AtomicMemory nativeListEntry(long entryAddress);

    /**
     * Whether this TID names a thread that could be holding a robust mutex, asked without side effects
     * ({@code get_robust_list(tid)}): one that exists in the caller's PID namespace and has a robust list
     * registered. {@code ESRCH} means no thread has the TID. A head of NULL means the thread has no list: its
     * exit walk clears it, so a thread that has exited but whose TID is still taken (a thread-group leader whose
     * process lives on, a zombie) has none, and every holder of a robust mutex registered one before it took
     * the word. {@code EPERM} means a thread exists that we may not inspect: it could hold. A TID that names no
     * possible holder is an owner that is gone: its exit walk did not release the word (kernel-abi.md sections 3
     * and 5).
     *
     * @param tid a TID, not 0
     * @return false only when the kernel shows no thread with this TID, or one without a robust list
     */
    boolean couldHold(int tid);

    /**
     * {@code FUTEX_WAIT}: sleep while the word equals {@code expected}.
     *
     * @param uaddr the word's address
     * @param expected the value to sleep on
     * @param timeoutNanos a relative timeout, or a negative value for none
     * @param periodic whether the timeout only bounds one look at the word of a wait that has no deadline:
     *     the caller looks again and, unless something changed, goes back to sleep. The real kernel ignores
     *     it; the reference model uses it to tell such a steady state from progress.
     * @return 0 when woken, {@code -EAGAIN} when the word differed, {@code -ETIMEDOUT}, {@code -EINTR}
     */
    int futexWait(long uaddr, int expected, long timeoutNanos, boolean periodic);

    /**
     * {@code FUTEX_WAKE}.
     *
     * @param uaddr the word's address
     * @param count how many waiters to wake
     * @return the number woken
     */
    int futexWake(long uaddr, int count);

    /**
     * {@code FUTEX_LOCK_PI2} (or {@code FUTEX_LOCK_PI} where the kernel lacks it): acquire a PI futex in
     * the kernel, blocking until {@code deadlineNanos}.
     *
     * @param uaddr the word's address
     * @param deadlineNanos an absolute deadline on {@link #nanoTime()}, or {@link Long#MAX_VALUE} for none
     * @return 0 when acquired, {@code -ETIMEDOUT}, {@code -EINTR}, {@code -EAGAIN}, {@code -EDEADLK},
     *     {@code -ESRCH}
     */
    int futexLockPi(long uaddr, long deadlineNanos);

    /**
     * {@code FUTEX_TRYLOCK_PI}.
     *
     * @param uaddr the word's address
     * @return 0 when acquired, {@code -EAGAIN} when held, {@code -EDEADLK}, {@code -ESRCH}
     */
    int futexTrylockPi(long uaddr);

    /**
     * {@code FUTEX_UNLOCK_PI}.
     *
     * @param uaddr the word's address
     * @return 0, {@code -EPERM} when the caller does not own the word, {@code -EAGAIN} to retry
     */
    int futexUnlockPi(long uaddr);

    /**
     * {@code futex(uaddr, (pi ? FUTEX_UNLOCK_PI : FUTEX_WAKE) | FUTEX_ROBUST_UNLOCK, pi ? 0 : 1, NULL,
     * pendingSlot, 0)}: release the word and clear the 8-byte pending slot in one syscall (Linux 7.2,
     * kernel-abi.md section 4.1).
     *
     * @param uaddr the word's address
     * @param pi whether the word is a PI futex
     * @param pendingSlot the address of the thread's {@code list_op_pending}
     * @return 0 or the number woken; {@code -EAGAIN} (PI) to retry; {@code -ENOSYS} before 7.2
     */
    int futexRobustUnlock(long uaddr, boolean pi, long pendingSlot);

    /**
     * The vDSO {@code __vdso_futex_robust_list64_try_unlock(lock, tid, pop)} (kernel-abi.md section 4.2).
     *
     * @param uaddr the word's address
     * @param tid the caller's TID
     * @param pendingSlot the address of the thread's {@code list_op_pending}
     * @return the value observed in the word: {@code tid} when it was released and the slot cleared
     * @throws UnsupportedOperationException when the kernel has no vDSO try-unlock
     */
    int vdsoTryUnlock(long uaddr, int tid, long pendingSlot);

    /**
     * The unlock path the protocol uses with this kernel.
     *
     * @return the path
     */
    UnlockPath unlockPath();

    /**
     * This process's id, written into records for diagnostics.
     *
     * @return the pid
     */
    int processId();

    /**
     * The clock deadlines are measured on ({@link System#nanoTime()} on the real kernel, which is
     * CLOCK_MONOTONIC on Linux).
     *
     * @return the current time in nanoseconds
     */
    long nanoTime();
}
