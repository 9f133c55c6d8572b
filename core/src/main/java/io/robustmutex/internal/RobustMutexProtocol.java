package io.robustmutex.internal;

import io.robustmutex.MutexDamagedException;
import io.robustmutex.MutexNotRecoverableException;
import io.robustmutex.UnlockPath;
import java.lang.ref.Reference;

/**
 * The robust lock protocol: how a thread takes and releases a mutex record so that the kernel can release
 * it, and flag its death, whenever the thread dies.
 *
 * <h2>Overview</h2>
 *
 * <p>Each thread has a robust list head registered with the kernel ({@link RobustThread}): the one glibc
 * registered for it, which it joins and shares with native code's robust mutexes on the same thread, or one of
 * the library's own where it cannot join (docs/protocol.md, "Sharing the list with glibc").
 * When the thread exits, for any reason, the kernel walks the list from the head, then handles the entry in
 * the head's {@code list_op_pending} slot, and for every word whose TID is the dying thread's it stores
 * {@code OWNER_DIED | (word & WAITERS)} and wakes a waiter (kernel-abi.md section 3). A record is on the
 * list while it is held; {@code list_op_pending} covers the moments when the record is being acquired or
 * released and is not (or not yet, or no longer) on the list. The rules of kernel-abi.md section 5 follow;
 * each step below names the death it survives.
 *
 * <p>Every user of a record shares one PID namespace: a mutex file or region record used from another is
 * refused before this protocol runs, because the exit walk compares namespace-local TIDs (section 5). That
 * is what lets the protocol read a TID that names no thread as an owner that is gone.
 *
 * <h3>Lock</h3>
 * <ol>
 * <li><b>Room on the list.</b> A thread that already holds 2048 mutexes is refused: the exit walk stops after
 *     2048 entries, so a 2049th would be left held by a dead TID.</li>
 * <li><b>pending = entry</b> (with the PI bit for a PI mutex), before the word is touched. A death from
 *     here on finds the record through the pending slot: if the word already carries our TID, it is
 *     released with OWNER_DIED; if it does not, nothing happens (or, for a non-PI word whose TID is 0, one
 *     waiter is woken, which is harmless).</li>
 * <li><b>CAS word 0 &rarr; tid.</b> On failure: a NORMAL mutex sets {@code WAITERS} and sleeps in
 *     {@code FUTEX_WAIT}, re-acquiring with {@code tid | WAITERS} (other waiters may remain); a PI mutex
 *     calls {@code FUTEX_LOCK_PI2}, which also takes over a word holding only OWNER_DIED. A free word is
 *     one whose TID bits are 0; its OWNER_DIED bit is kept by the acquiring CAS (the kernel keeps it too)
 *     so that the news of the death survives until it is recorded in the state field. A NORMAL waiter
 *     that was woken (an unlock spends one wake on it) but leaves without the lock, because it timed out
 *     or was interrupted, wakes another in its place. Leaving without the lock clears pending.
 *     <ul>
 *     <li><i>Bounded sleep.</i> A NORMAL waiter never sleeps longer than the re-check interval. A wake-up can
 *         be lost for good otherwise: the kernel's robust unlock stores 0 even while others sleep (4.1), so
 *         if the one waiter it woke dies before re-taking the word while a barger holds it, the kernel wakes
 *         nobody (the dead waiter's pending word is not 0) and the barger's release, seeing no WAITERS, wakes
 *         nobody either; an unlocker killed between its classic release and its wake, with a barger in
 *         between, does the same. glibc's robust mutex has this hole. Looking again heals it within the
 *         interval, at no cost to an uncontended lock.</li>
 *     <li><i>Vanished owner.</i> An owner whose TID names no thread, or a thread without a robust list (one
 *         that has exited but whose TID is still taken, a zombie), is gone, and its exit walk did not release
 *         the word (too many entries, a damaged list, a copied word): nothing ever will. PI contenders learn
 *         it from the kernel ({@code ESRCH}); NORMAL waiters ask at each re-check. Both take the word over
 *         under one rule ({@link #takeOverIfOwnerGone}): only if the TID they read names no possible holder,
 *         only from exactly the value read, and the death is reported. A PI contender told {@code ESRCH} of an
 *         owner that still looks like a possible holder (its TID was reused in between) waits a re-check
 *         interval before it asks the kernel again, within its deadline. A reused TID delays the take-over; it
 *         never makes a live owner look dead.</li>
 *     <li><i>A word naming the caller</i>, which the caller does not hold, would never be freed for it: PI
 *         gets {@code EDEADLK} from the kernel, NORMAL checks before sleeping; both throw.</li>
 *     </ul></li>
 * <li><b>Owner died?</b> If the word has OWNER_DIED: state = INCONSISTENT (unless already NOT_RECOVERABLE),
 *     owner-died count + 1, then clear the bit with a CAS loop (waiters may be setting WAITERS). A death
 *     between these steps leaves OWNER_DIED or the INCONSISTENT state for the next owner; a death is
 *     reported once, or folded into the next death's report, never lost.</li>
 * <li><b>Link</b> the entry at the front of the list, as glibc links its mutexes: old first.prev (the slot
 *     before the head when the list is empty) = entry, entry.next = old first (PI bit kept), entry.prev = head,
 *     then head.next = entry with a release store, so the kernel never sees a half-linked entry. On a joined
 *     list the old first may be a glibc mutex.</li>
 * <li><b>pending = 0.</b> The record is on the list now. (A death between 4 and 5 finds the record both on
 *     the list and pending; the kernel skips the pending entry during the walk and handles it once.)</li>
 * <li>If the state is NOT_RECOVERABLE, release at once and throw {@link MutexNotRecoverableException}.
 *     Otherwise bump the fencing token and write the owner pid.</li>
 * </ol>
 *
 * <h3>Unlock</h3>
 * <ol>
 * <li>Check the caller holds it (else {@link IllegalMonitorStateException}; a thread that never locked is
 *     refused without registering a robust list, as are its queries); a re-entrant hold just
 *     decrements. If the state is INCONSISTENT, make it NOT_RECOVERABLE: the holder did not repair.</li>
 * <li><b>pending = entry</b>, then <b>unlink</b> (successor.prev = entry.prev, then predecessor.next =
 *     entry.next with a release store; on a joined list either may be a glibc mutex or the head). A
 *     death here finds the record through the pending slot with our TID in the word: released, flagged.</li>
 * <li><b>Release</b> by the path chosen for this kernel ({@link UnlockPath}):
 *   <ul>
 *   <li>VDSO: {@code __vdso_futex_robust_list64_try_unlock(word, tid, &pending)} swaps tid &rarr; 0 and
 *       clears pending; a death between the two stores is fixed up by the kernel (kernel-abi.md 4.3). If
 *       the word was not exactly our TID (WAITERS set), nothing changed: fall through to SYSCALL.</li>
 *   <li>SYSCALL: {@code futex(word, FUTEX_UNLOCK_PI | FUTEX_ROBUST_UNLOCK, ..., &pending)} (PI) or
 *       {@code FUTEX_WAKE | FUTEX_ROBUST_UNLOCK} waking one (NORMAL): release and clear in one syscall
 *       (4.1). The WAKE stores 0 whoever owns the word, so a NORMAL release first checks that the word still
 *       names the caller: a word changed behind the library's back is reported, not clobbered.</li>
 *   <li>CLASSIC: PI: CAS tid &rarr; 0, else {@code FUTEX_UNLOCK_PI}; NORMAL: CAS the word, while it still names
 *       us, to 0 and, if WAITERS was set, {@code FUTEX_WAKE} one; then pending = 0. A death between the release and the
 *       clear leaves a stale pending entry that the kernel reads at exit: harmless while the memory is
 *       still mapped (the TID no longer matches; a NORMAL word with TID 0 gets one wake, which covers a
 *       release whose wake was lost), and harmless for library-managed memory because a mapping is never
 *       released while a thread may name it (design.md section 5). This is the unmap race of section 4.</li>
 *   </ul></li>
 * </ol>
 *
 * <p>Memory ordering: pending and list pointers are written with release stores, so that no earlier store
 * of the protocol can be reordered after them; the word is accessed with volatile reads and atomic
 * operations. The kernel observes a dying thread's memory in its own program order, so no stronger fence
 * is needed. {@link Reference#reachabilityFence} keeps the record's memory reachable until the release is
 * complete.
 *
 * <p>Every step is one memory access or one kernel call, made through {@link AtomicMemory} and
 * {@link Kernel}; the reference model implements both and can kill a thread before any of them.
 *
 * <p>Speed: {@link #lockFast} and the first branch of {@link #unlock} are the same steps for the common case
 * of a thread that holds nothing else (the list is then just the head), kept small so the JIT inlines them
 * into callers, with everything rare moved into separate methods. A record caches the state of the thread
 * that used it last, so a thread taking the same mutex again skips the thread-local lookup.
 */
public final class RobustMutexProtocol {

    /** Deadline meaning "wait as long as it takes". */
    public static final long WAIT_FOREVER = Long.MAX_VALUE;
    /** Deadline meaning "do not wait". */
    public static final long NO_WAIT = Long.MIN_VALUE;

    /** Result: acquired; the previous owner released it normally. */
    public static final int ACQUIRED = 0;
    /** Result: acquired; the previous owner died holding it (state is now INCONSISTENT). */
    public static final int ACQUIRED_OWNER_DIED = 1;
    /** Result: already held by the calling thread; the hold count went up. */
    public static final int REENTERED = 2;
    /** Result: not acquired before the deadline. */
    public static final int TIMED_OUT = 3;

    private static final System.Logger LOG = System.getLogger(RobustMutexProtocol.class.getName());

    private final Kernel kernel;
    private final UnlockPath unlockPath;
    /** The unlock path as flags, for the release's hot branch. */
    private final boolean classic;
    private final boolean vdso;
    private final long interruptSliceNanos;
    private final long recheckNanos;
    private final int pid;

    /**
     * Binds the protocol to a kernel.
     *
     * @param kernel the kernel (real or model)
     * @param interruptSliceNanos how long an interruptible wait stays in the kernel before checking for
     *     interruption (a thread blocked in a futex syscall is not woken by {@link Thread#interrupt()})
     * @param recheckNanos the longest a NORMAL waiter sleeps before it looks at the word again: the bound on
     *     the delay of a lost wake-up and of the take-over of a vanished owner
     */
    public RobustMutexProtocol(Kernel kernel, long interruptSliceNanos, long recheckNanos) {
        if (interruptSliceNanos <= 0) {
            throw new IllegalArgumentException("interruptSliceNanos=" + interruptSliceNanos + " (must be > 0)");
        }
        if (recheckNanos <= 0) {
            throw new IllegalArgumentException("recheckNanos=" + recheckNanos + " (must be > 0)");
        }
        this.kernel = kernel;
        this.unlockPath = kernel.unlockPath();
        this.classic = unlockPath == UnlockPath.CLASSIC;
        this.vdso = unlockPath == UnlockPath.VDSO;
        this.interruptSliceNanos = interruptSliceNanos;
        this.recheckNanos = recheckNanos;
        this.pid = kernel.processId();
    }

    /**
     * The kernel this protocol talks to.
     *
     * @return the kernel
     */
    public Kernel kernel() {
        return kernel;
    }

    /**
     * The unlock path in use.
     *
     * @return the path
     */
    public UnlockPath unlockPath() {
        return unlockPath;
    }

    /**
     * The interruption slice.
     *
     * @return nanoseconds
     */
    public long interruptSliceNanos() {
        return interruptSliceNanos;
    }

    /**
     * The longest a NORMAL waiter sleeps before it looks at the word again.
     *
     * @return nanoseconds
     */
    public long recheckNanos() {
        return recheckNanos;
    }

    /**
     * Acquires a record.
     *
     * @param record the record
     * @param deadline {@link #WAIT_FOREVER}, {@link #NO_WAIT}, or an absolute deadline on the kernel's clock
     * @param interruptible whether to wait in slices and throw when the thread is interrupted
     * @return {@link #ACQUIRED}, {@link #ACQUIRED_OWNER_DIED}, {@link #REENTERED} or {@link #TIMED_OUT}
     * @throws InterruptedException when interruptible and the thread is interrupted before acquiring
     * @throws MutexNotRecoverableException when the mutex is not recoverable
     */
    public int lock(MutexRecord record, long deadline, boolean interruptible) throws InterruptedException {
        return lock(record, deadline, interruptible, false);
    }

    /** The calling thread's state: from the record's one-entry cache, else from the kernel binding. */
    private RobustThread threadFor(MutexRecord record) {
        RobustThread thread = record.lastThread;
        if (thread == null || thread.owner != Thread.currentThread()) {
            thread = kernel.currentThread();
            record.lastThread = thread;
        }
        return thread;
    }

    /**
     * The calling thread's state if it has one, registering nothing: for releases and queries, which a thread
     * that never locked must be refused or answered without touching the kernel.
     */
    private RobustThread registeredThreadFor(MutexRecord record) {
        RobustThread thread = record.lastThread;
        if (thread == null || thread.owner != Thread.currentThread()) {
            thread = kernel.currentThreadIfRegistered();
        }
        return thread;
    }

    /**
     * The common case kept small enough for the JIT to inline into callers: a thread that holds nothing takes
     * a free word. The same steps as {@link #lock(MutexRecord, long, boolean, boolean)}, with the list
     * reduced to the head.
     */
    public int lockFast(MutexRecord record, long deadline) {
        RobustThread thread = threadFor(record);
        if (!thread.listIsEmpty()) {
            return lockUninterruptibly(record, deadline);
        }
        AtomicMemory head = thread.head;
        head.putLongRelease(thread.pendingOffset, record.entryPointer);
        // Only now may the mapping be touched: it stays mapped while our pending slot names it, unless it was
        // already closing, which its control word tells (MappedRegion's Overview).
        AtomicMemory control = record.control;
        if (control != null && control.getIntVolatile(0) != 0) {
            throw refuseClosed(thread, record);
        }
        AtomicMemory memory = record.memory;
        if (record.bootStamp != 0 && memory.getIntPlain(record.stampOffset) != record.bootStamp) {
            return lockAfterPendingUninterruptibly(thread, record, deadline);
        }
        if (!memory.compareAndSetInt(record.wordOffset, FutexWord.FREE, thread.tid)) {
            return lockContendedUninterruptibly(thread, record, deadline);
        }
        thread.linkIntoEmptyList(record);
        // Recorded as held before pending is cleared, so that a closing mapping always sees one or the other.
        thread.push(record);
        head.putLongRelease(thread.pendingOffset, 0);
        int state = memory.getIntPlain(record.stateOffset);
        long token = memory.getLongPlain(record.tokenOffset);
        if ((state & ~MutexRecordDescriptor.STATE_INCONSISTENT) != 0 || token < 0 || token == Long.MAX_VALUE) {
            throw refuseUnusable(record, state, token);
        }
        memory.putLongPlain(record.tokenOffset, token + 1);
        memory.putIntPlain(record.pidOffset, pid);
        // Still inconsistent: an earlier holder was told of a death and declined to repair; so is this one.
        return state == MutexRecordDescriptor.STATE_CONSISTENT ? ACQUIRED : ACQUIRED_OWNER_DIED;
    }

    private int lockUninterruptibly(MutexRecord record, long deadline) {
        try {
            return lock(record, deadline, false, false);
        } catch (InterruptedException e) {
            throw new AssertionError("a non-interruptible acquisition was interrupted", e);
        }
    }

    private int lockAfterPendingUninterruptibly(RobustThread thread, MutexRecord record, long deadline) {
        try {
            return lockAfterPending(thread, record, deadline, false, false);
        } catch (InterruptedException e) {
            throw new AssertionError("a non-interruptible acquisition was interrupted", e);
        }
    }

    private int lockContendedUninterruptibly(RobustThread thread, MutexRecord record, long deadline) {
        try {
            return lockContended(thread, record, deadline, false, false);
        } catch (InterruptedException e) {
            throw new AssertionError("a non-interruptible acquisition was interrupted", e);
        }
    }

    /**
     * The record was acquired but may not be used: not recoverable, or damaged (a state or token the library
     * never writes). Releases it and returns the exception to throw.
     */
    private IllegalStateException refuseUnusable(MutexRecord record, int state, long token) {
        unlock(record);
        if (state == MutexRecordDescriptor.STATE_NOT_RECOVERABLE) {
            return notRecoverable(record);
        }
        if (state < 0 || state > MutexRecordDescriptor.STATE_NOT_RECOVERABLE) {
            return new MutexDamagedException(record + ": its state field holds " + state + ", not 0, 1 or 2; something"
                    + " other than this library wrote the record. Reinitialize the mutex when nobody holds it");
        }
        return new MutexDamagedException(record + ": its fencing token is " + token + (token < 0 ? ", negative"
                : ", and one more acquisition would wrap it") + "; something other than this library wrote the"
                + " record. Reinitialize the mutex when nobody holds it (the token restarts at 1)");
    }

    /** After the thread stopped naming a record: if its mapping is closing, this may have been the last use. */
    private static void letClosingMappingGo(MutexRecord record) {
        AtomicMemory control = record.control;
        if (control != null && control.getIntVolatile(0) != 0) {
            record.region.tryUnmap();
        }
    }

    /**
     * The mapping is closing: nothing may touch it. Clears the pending slot that named the record, and unmaps the
     * mapping if that slot was the last thing naming it.
     */
    private static IllegalStateException refuseClosed(RobustThread thread, MutexRecord record) {
        thread.head.putLongRelease(thread.pendingOffset, 0);
        // The closer may have found our pending slot naming the record and left the mapping to the last user.
        letClosingMappingGo(record);
        return new IllegalStateException(record + ": its file is closed");
    }

    private int lock(MutexRecord record, long deadline, boolean interruptible, boolean reinitializing)
            throws InterruptedException {
        RobustThread thread = threadFor(record);
        if (thread.count() != 0) {
            int index = thread.indexOf(record.identity);
            if (index >= 0) {
                return reenter(thread, index, record);
            }
        }
        if (interruptible && Thread.interrupted()) {
            throw new InterruptedException();
        }
        if (thread.count() >= RobustListHeadDescriptor.ROBUST_LIST_LIMIT
                // On a joined list native code's entries count too; they matter once this thread holds many.
                || thread.joined && thread.count() >= RobustListHeadDescriptor.ROBUST_LIST_LIMIT / 2
                        && listLength(thread) >= RobustListHeadDescriptor.ROBUST_LIST_LIMIT) {
            throw tooManyMutexes(record, thread);
        }
        // Room in the held list first: nothing may fail between linking a record and recording it.
        thread.ensureCapacity();
        if (thread.joined) {
            prepareLink(thread);
        }
        thread.head.putLongRelease(thread.pendingOffset, record.entryPointer);
        AtomicMemory control = record.control;
        if (control != null && control.getIntVolatile(0) != 0) {
            throw refuseClosed(thread, record);
        }
        return lockAfterPending(thread, record, deadline, interruptible, reinitializing);
    }

    /** The acquisition once pending names the record and its mapping is known to stay. */
    private int lockAfterPending(RobustThread thread, MutexRecord record, long deadline, boolean interruptible,
            boolean reinitializing) throws InterruptedException {
        if (record.bootStamp != 0 && record.memory.getIntVolatile(record.stampOffset) != record.bootStamp) {
            int stale;
            try {
                stale = stampOrTakeOverStaleBoot(thread, record, deadline, interruptible);
            } catch (Throwable failure) {
                thread.head.putLongRelease(thread.pendingOffset, 0);
                letClosingMappingGo(record);
                throw failure;
            }
            if (stale == STALE_TAKEN_OVER) {
                return acquired(thread, record, true, reinitializing);
            }
            if (stale == STALE_BUSY) {
                thread.head.putLongRelease(thread.pendingOffset, 0);
                letClosingMappingGo(record);
                return TIMED_OUT;
            }
        }
        if (record.memory.compareAndSetInt(record.wordOffset, FutexWord.FREE, thread.tid)) {
            // A word taken from 0 carries no news of a dead owner.
            return acquired(thread, record, false, reinitializing);
        }
        return lockContended(thread, record, deadline, interruptible, reinitializing);
    }

    /** A stamp with this bit is a claim: the thread whose TID is in the other bits is stamping the record. */
    static final int CLAIM_BIT = 0x8000_0000;
    /** {@link #stampOrTakeOverStaleBoot}: the stamp is this boot's; go on as usual. */
    private static final int STALE_NONE = 0;
    /** {@link #stampOrTakeOverStaleBoot}: the caller took over a word held since an earlier boot. */
    private static final int STALE_TAKEN_OVER = 1;
    /** {@link #stampOrTakeOverStaleBoot}: another live thread is stamping it and the deadline passed. */
    private static final int STALE_BUSY = 2;

    /**
     * For a record that keeps its boot stamp (a shared-memory region) and does not carry this boot's: the
     * first thread of this boot to use it stamps it, and takes over a word still held by an earlier boot's TID
     * (which means nothing now, and may name an unrelated live thread), reporting the death.
     *
     * <p>The word and the stamp are two fields, so the thread first claims the record: it swaps the stamp from
     * the stale value it read to {@code CLAIM_BIT | tid}. Only one thread can win that swap; while the claim
     * stands, nobody else touches the word (a lock reads the stamp before the word, and goes no further than
     * here unless the stamp is this boot's). The claimant then takes over a held word, or leaves a free one as
     * it is, stores this boot's stamp and wakes the threads waiting on the stamp. Those waiters sleep on the
     * stamp, bounded by the re-check interval: a claimant that dies leaves its claim behind, and a claim whose
     * TID names no thread is claimed again (a claimant dying after its take-over had its TID in the word and
     * was released by its exit like any holder: the next claimant finds the word free, with OWNER_DIED). Every
     * acquirer of this boot therefore finds this boot's stamp before it takes the word, and a held word next
     * to a stale stamp is always an earlier boot's. A stamp of 0 says nothing (a record written before stamps
     * existed): such a record is left to the ordinary path, where an owner that is gone is found by its TID.
     *
     * @return {@link #STALE_NONE}, {@link #STALE_TAKEN_OVER} or {@link #STALE_BUSY}
     */
    private int stampOrTakeOverStaleBoot(RobustThread thread, MutexRecord record, long deadline,
            boolean interruptible) throws InterruptedException {
        AtomicMemory memory = record.memory;
        int claim = CLAIM_BIT | thread.tid;
        while (true) {
            int stamp = memory.getIntVolatile(record.stampOffset);
            if (stamp == record.bootStamp || stamp == 0) {
                return STALE_NONE;
            }
            if ((stamp & CLAIM_BIT) != 0 && stamp != claim && kernel.couldHold(stamp & ~CLAIM_BIT)) {
                if (!awaitClaim(record, stamp, deadline, interruptible)) {
                    return STALE_BUSY;
                }
                continue;
            }
            if (!memory.compareAndSetInt(record.stampOffset, stamp, claim)) {
                continue;
            }
            boolean takenOver = false;
            int word = memory.getIntVolatile(record.wordOffset);
            int owner = word & FutexWord.TID_MASK;
            if (owner != 0) {
                // An earlier boot's holder (its WAITERS meant that boot's waiters: none of this boot waits on it).
                while (!memory.compareAndSetInt(record.wordOffset, word, thread.tid | FutexWord.OWNER_DIED)) {
                    word = memory.getIntVolatile(record.wordOffset);
                }
                takenOver = true;
            }
            memory.putIntRelease(record.stampOffset, record.bootStamp);
            kernel.futexWake(record.stampAddress, Integer.MAX_VALUE);
            if (takenOver) {
                thread.takenOverFrom = owner;
                thread.takenOverSinceEarlierBoot = true;
                return STALE_TAKEN_OVER;
            }
            return STALE_NONE;
        }
    }

    /**
     * Sleeps on a record's stamp while another thread's claim stands, at most the re-check interval.
     *
     * @return false when the deadline passed (or there is none to wait for)
     */
    private boolean awaitClaim(MutexRecord record, int stamp, long deadline, boolean interruptible)
            throws InterruptedException {
        return boundedWait(record.stampAddress, stamp, deadline, interruptible);
    }

    /**
     * One futex wait on {@code address} while it holds {@code expected}, at most the re-check interval, the
     * time left and (when interruptible) the interrupt slice.
     *
     * @return false when the deadline passed (or there is none to wait for)
     */
    private boolean boundedWait(long address, int expected, long deadline, boolean interruptible)
            throws InterruptedException {
        if (deadline == NO_WAIT) {
            return false;
        }
        long timeout = recheckNanos;
        if (deadline != WAIT_FOREVER) {
            long remaining = deadline - kernel.nanoTime();
            if (remaining <= 0) {
                return false;
            }
            timeout = Math.min(timeout, remaining);
        }
        if (interruptible) {
            timeout = Math.min(timeout, interruptSliceNanos);
        }
        int result = kernel.futexWait(address, expected, timeout, deadline == WAIT_FOREVER);
        if (result < 0 && result != -Errno.EAGAIN && result != -Errno.EINTR && result != -Errno.ETIMEDOUT) {
            throw Errno.exception("futex(FUTEX_WAIT)", -result);
        }
        if (interruptible && Thread.interrupted()) {
            throw new InterruptedException();
        }
        return true;
    }

    private static int reenter(RobustThread thread, int index, MutexRecord record) {
        int holds = thread.holds(index);
        if (holds == Integer.MAX_VALUE) {
            throw tooManyHolds(record);
        }
        thread.setHolds(index, holds + 1);
        return REENTERED;
    }

    /** The word was not free: wait for it in the kernel (or not at all), then finish the acquisition. */
    private int lockContended(RobustThread thread, MutexRecord record, long deadline, boolean interruptible,
            boolean reinitializing) throws InterruptedException {
        boolean acquired;
        try {
            acquired = record.pi
                    ? lockPiSlow(thread, record, deadline, interruptible)
                    : lockNormalSlow(thread, record, deadline, interruptible);
        } catch (Throwable failure) {
            // Not acquired: the pending slot must not keep naming the record.
            thread.head.putLongRelease(thread.pendingOffset, 0);
            letClosingMappingGo(record);
            throw failure;
        }
        if (!acquired) {
            thread.head.putLongRelease(thread.pendingOffset, 0);
            letClosingMappingGo(record);
            return TIMED_OUT;
        }
        return acquired(thread, record, true, reinitializing);
    }

    /**
     * Completes an acquisition: records an owner death, links the record, clears pending, and refuses a
     * not-recoverable mutex. The token and pid are plain stores: they are the holder's to write, and the
     * release of the word publishes them to the next holder.
     */
    private int acquired(RobustThread thread, MutexRecord record, boolean checkOwnerDied, boolean reinitializing) {
        AtomicMemory memory = record.memory;
        boolean ownerDied = false;
        if (checkOwnerDied) {
            int word = memory.getIntVolatile(record.wordOffset);
            if ((word & FutexWord.OWNER_DIED) != 0) {
                ownerDied = true;
                if (memory.getIntPlain(record.stateOffset) != MutexRecordDescriptor.STATE_NOT_RECOVERABLE) {
                    memory.putIntRelease(record.stateOffset, MutexRecordDescriptor.STATE_INCONSISTENT);
                }
                memory.putLongRelease(record.diedCountOffset, memory.getLongPlain(record.diedCountOffset) + 1);
                // Waiters may be setting WAITERS concurrently, so the bit is cleared with a CAS loop.
                while (!memory.compareAndSetInt(record.wordOffset, word, word & ~FutexWord.OWNER_DIED)) {
                    word = memory.getIntVolatile(record.wordOffset);
                }
            }
        }

        link(thread, record);
        // Recorded as held before pending is cleared, so that a closing mapping always sees one or the other.
        thread.push(record);
        thread.head.putLongRelease(thread.pendingOffset, 0);
        if (ownerDied) {
            // Only now: a logger runs the application's code on this thread, which may take native robust
            // mutexes (and so overwrite the list_op_pending slot they share) or fail.
            warnOwnerDied(thread, record);
        }

        int state = memory.getIntPlain(record.stateOffset);
        long token = memory.getLongPlain(record.tokenOffset);
        boolean damagedToken = token < 0 || token == Long.MAX_VALUE;
        if (!reinitializing && ((state & ~MutexRecordDescriptor.STATE_INCONSISTENT) != 0 || damagedToken)) {
            throw refuseUnusable(record, state, token);
        }
        // Reinitializing repairs a damaged token: it restarts at 1.
        memory.putLongPlain(record.tokenOffset, damagedToken ? 1 : token + 1);
        memory.putIntPlain(record.pidOffset, pid);
        // Still inconsistent: an earlier holder was told of a death and declined to repair; so is this one.
        return ownerDied || state == MutexRecordDescriptor.STATE_INCONSISTENT ? ACQUIRED_OWNER_DIED : ACQUIRED;
    }

    /**
     * NORMAL contended path: mark the word contended and sleep on it until it is free, then take it with
     * {@code tid | WAITERS} because other sleepers may remain. Every sleep is bounded by the re-check interval:
     * a waiter whose wake-up was lost (the woken waiter died while a barger held the word, or an unlocker died
     * between its release and its wake) finds the word free when it looks again, and a waiter behind an owner
     * that is gone without the kernel releasing the word takes it over.
     */
    private boolean lockNormalSlow(RobustThread thread, MutexRecord record, long deadline, boolean interruptible)
            throws InterruptedException {
        int tid = thread.tid;
        AtomicMemory memory = record.memory;
        int assumeWaiters = 0;
        // Whether our last FUTEX_WAIT returned 0: an unlocker's single wake was spent on us. Leaving without
        // the lock must pass it on, or another sleeper may never learn that the word was freed.
        boolean woken = false;
        try {
            while (true) {
                int word = memory.getIntVolatile(record.wordOffset);
                int owner = word & FutexWord.TID_MASK;
                if (owner == 0) {
                    int update = tid | (word & (FutexWord.WAITERS | FutexWord.OWNER_DIED)) | assumeWaiters;
                    if (memory.compareAndSetInt(record.wordOffset, word, update)) {
                        woken = false;
                        return true;
                    }
                    continue;
                }
                if (owner == tid) {
                    throw namesCaller(record, tid, word);
                }
                if (deadline == NO_WAIT) {
                    return false;
                }
                if ((word & FutexWord.WAITERS) == 0) {
                    if (!memory.compareAndSetInt(record.wordOffset, word, word | FutexWord.WAITERS)) {
                        continue;
                    }
                    word |= FutexWord.WAITERS;
                }
                // Once we have slept, others may be sleeping too: whoever takes the word must keep WAITERS.
                assumeWaiters = FutexWord.WAITERS;
                long timeout = recheckNanos;
                if (deadline != WAIT_FOREVER) {
                    long remaining = deadline - kernel.nanoTime();
                    if (remaining <= 0) {
                        return false;
                    }
                    timeout = Math.min(timeout, remaining);
                }
                if (interruptible) {
                    timeout = Math.min(timeout, interruptSliceNanos);
                }
                woken = false;
                int result = kernel.futexWait(record.wordAddress, word, timeout, deadline == WAIT_FOREVER);
                if (result < 0 && result != -Errno.EAGAIN && result != -Errno.EINTR
                        && result != -Errno.ETIMEDOUT) {
                    throw Errno.exception("futex(FUTEX_WAIT)", -result);
                }
                woken = result == 0;
                if (result == -Errno.ETIMEDOUT && takeOverIfOwnerGone(thread, record, assumeWaiters)) {
                    return true;
                }
                if (interruptible && Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
        } finally {
            if (woken) {
                kernel.futexWake(record.wordAddress, 1);
            }
        }
    }

    /**
     * PI contended path: the kernel queues us by priority, takes over a word holding only OWNER_DIED, and
     * hands the lock over on the owner's {@code FUTEX_UNLOCK_PI}.
     */
    private boolean lockPiSlow(RobustThread thread, MutexRecord record, long deadline, boolean interruptible)
            throws InterruptedException {
        int tid = thread.tid;
        AtomicMemory memory = record.memory;
        while (true) {
            int result;
            if (deadline == NO_WAIT) {
                int word = memory.getIntVolatile(record.wordOffset);
                if ((word & FutexWord.TID_MASK) == tid) {
                    throw namesCaller(record, tid, word);
                }
                if ((word & FutexWord.TID_MASK) != 0) {
                    return false;
                }
                result = kernel.futexTrylockPi(record.wordAddress);
                if (result == -Errno.EAGAIN) {
                    return false;
                }
            } else {
                long kernelDeadline = deadline;
                if (interruptible) {
                    long sliceEnd = kernel.nanoTime() + interruptSliceNanos;
                    if (deadline == WAIT_FOREVER || sliceEnd - deadline < 0) {
                        kernelDeadline = sliceEnd;
                    }
                }
                result = kernel.futexLockPi(record.wordAddress, kernelDeadline);
            }
            if (result == 0) {
                return true;
            }
            if (result == -Errno.ETIMEDOUT) {
                if (deadline != WAIT_FOREVER && kernel.nanoTime() - deadline >= 0) {
                    return false;
                }
            } else if (result == -Errno.ESRCH) {
                // The kernel found the owner gone (no thread with the TID it read, or one that has exited); take
                // over only from a word whose owner we see is gone ourselves. Another contender may have taken
                // it over first: the kernel is asked again at once. If the owner still looks like a possible
                // holder (its TID was taken again in between), the kernel would answer the same at once: wait a
                // re-check interval first, within the deadline.
                if (takeOverIfOwnerGone(thread, record, 0)) {
                    return true;
                }
                int word = memory.getIntVolatile(record.wordOffset);
                int owner = word & FutexWord.TID_MASK;
                if (owner != 0 && owner != tid && kernel.couldHold(owner)
                        && !pauseBeforeAskingAgain(record, deadline, interruptible)) {
                    return false;
                }
            } else if (result == -Errno.EDEADLK) {
                throw namesCaller(record, tid, record.word());
            } else if (result != -Errno.EINTR && result != -Errno.EAGAIN) {
                throw Errno.exception(deadline == NO_WAIT ? "futex(FUTEX_TRYLOCK_PI)" : "futex(FUTEX_LOCK_PI2)",
                        -result);
            }
            if (interruptible && Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }

    /**
     * Sleeps a re-check interval (at most until the deadline) without touching the PI word: a {@code FUTEX_WAIT}
     * on a PI word would put a waiter without PI state in its queue, which the kernel's PI operations refuse
     * with {@code EINVAL}. It sleeps on the record's kind field instead, which nobody wakes and which does not
     * change.
     *
     * @return false when there is no time left to wait
     */
    private boolean pauseBeforeAskingAgain(MutexRecord record, long deadline, boolean interruptible)
            throws InterruptedException {
        return boundedWait(record.kindAddress, record.memory.getIntVolatile(record.kindOffset), deadline,
                interruptible);
    }

    /**
     * Takes over a word whose owner is gone: its TID names no thread, or a thread with no robust list
     * ({@link Kernel#couldHold}; kernel-abi.md sections 3 and 5). Every user of a record shares our PID
     * namespace (files and regions used from another are refused), so such a TID is an owner that has exited:
     * its exit walk, which runs before its TID is released and clears its list, did not release the word (more
     * than 2048 entries, a damaged list, a copied word), and nothing else ever will. The rule, the same for both
     * kinds: read the word; take it over only if its TID names no possible holder, and only from exactly the
     * value read, with a compare-and-swap to {@code tid | OWNER_DIED} (keeping WAITERS).
     * So a second contender that read the same dead TID finds the word changed and goes back to the kernel;
     * and a live owner is never taken for dead: a TID that still names a thread, even another one that reused
     * it, only delays the take-over until that thread is gone. (Taking over exactly the value read leaves one
     * path to a wrong take-over: between our look-up and our swap, another contender takes over and releases,
     * and a new thread given the same TID number acquires, so the word holds that exact value again. That
     * needs the TID allocator to come back to the same number inside those few instructions.)
     *
     * @param record the record
     * @param tid the caller's TID
     * @param keep bits the new word must carry besides those kept from the old one (WAITERS for a NORMAL
     *     waiter that slept)
     * @return true when the caller now holds the word, flagged OWNER_DIED
     */
    private boolean takeOverIfOwnerGone(RobustThread thread, MutexRecord record, int keep) {
        int tid = thread.tid;
        int word = record.memory.getIntVolatile(record.wordOffset);
        int owner = word & FutexWord.TID_MASK;
        if (owner == 0 || owner == tid || kernel.couldHold(owner)) {
            return false;
        }
        int update = tid | FutexWord.OWNER_DIED | (word & FutexWord.WAITERS) | keep;
        if (!record.memory.compareAndSetInt(record.wordOffset, word, update)) {
            return false;
        }
        thread.takenOverFrom = owner;
        thread.takenOverSinceEarlierBoot = false;
        return true;
    }

    /**
     * Logs an acquisition's owner death, and the take-over before it if there was one, once the record is held,
     * linked and no longer pending. A failing logger does not fail an acquisition that is complete.
     */
    private void warnOwnerDied(RobustThread thread, MutexRecord record) {
        int owner = thread.takenOverFrom;
        boolean earlierBoot = thread.takenOverSinceEarlierBoot;
        thread.takenOverFrom = 0;
        thread.takenOverSinceEarlierBoot = false;
        try {
            if (owner != 0 && earlierBoot) {
                LOG.log(System.Logger.Level.WARNING, "{0}: held by tid {1} since an earlier boot; taken over as an"
                        + " owner death", record, owner);
            } else if (owner != 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: owner tid {1} no longer exists and the kernel did not"
                        + " release the mutex; taken over as an owner death", record, owner);
            }
            LOG.log(System.Logger.Level.WARNING, "{0}: its owner died holding it; tid {1} of process {2} acquired it"
                    + " and is told so", record, thread.tid, pid);
        } catch (RuntimeException failure) {
            // The mutex is held and the caller is told of the death by the return value; the log is only a copy.
        }
    }

    private static IllegalStateException namesCaller(MutexRecord record, int tid, int word) {
        return new IllegalStateException(record + ": the word (" + FutexWord.describe(word) + ") names this thread,"
                + " tid " + tid + ", which does not hold it. It was written by something other than this library,"
                + " or left by an earlier thread with the same TID that ended holding the mutex without the kernel"
                + " releasing it; waiting would never end. Another thread takes it over once this one is gone,"
                + " or reinitialize the mutex when no process uses it");
    }

    private static IllegalStateException tooManyMutexes(MutexRecord record, RobustThread thread) {
        return new IllegalStateException("cannot acquire " + record + ": thread tid " + thread.tid + " already holds "
                + RobustListHeadDescriptor.ROBUST_LIST_LIMIT + " robust mutexes (" + thread.count() + " of this"
                + " library's, the rest native code's on the same list), the most the kernel releases when"
                + " a thread dies (its exit walk stops after " + RobustListHeadDescriptor.ROBUST_LIST_LIMIT
                + " entries, kernel-abi.md section 5); release one first");
    }

    /**
     * Links a just-acquired record at the front of the thread's robust list, as glibc links its own (protocol.md,
     * "Sharing the list with glibc"): the first entry's {@code prev} names the record (unless the first entry is
     * the head, whose {@code prev} nobody reads), the record's {@code next}
     * is the old first pointer (PI bit included) and its {@code prev} the head, and only then does the head's
     * {@code next} name the record, with a release store, so the kernel never sees a half-linked entry. Allocates
     * nothing: a native first entry's memory was prepared before the word was taken ({@link #prepareLink}).
     */
    private void link(RobustThread thread, MutexRecord record) {
        AtomicMemory memory = record.memory;
        long first;
        if (thread.joined) {
            first = thread.head.getLongPlain(thread.listNextOffset);
            long entry = first & ~RobustListHeadDescriptor.PI_BIT;
            AtomicMemory nativeFirst = thread.nativeFirst;
            thread.nativeFirst = null;
            if (nativeFirst == null || entry != thread.nativeFirstAddress) {
                // Native code changed the list since prepareLink (it never runs on this thread in between).
                nativeFirst = nativeEntryOrNull(thread, entry);
            }
            putPrev(thread, entry, record.entryAddress, nativeFirst);
        } else {
            // Only this library's records are on its own head's list, and the held list says which comes first.
            int count = thread.count();
            if (count == 0) {
                first = thread.headAddress;
            } else {
                MutexRecord old = thread.record(count - 1);
                first = old.entryPointer;
                old.memory.putLongPlain(old.prevOffset, record.entryAddress);
            }
        }
        memory.putLongPlain(record.nextOffset, first);
        memory.putLongPlain(record.prevOffset, thread.headAddress);
        thread.head.putLongRelease(thread.listNextOffset, record.entryPointer);
    }

    /**
     * Before a joined thread takes a word: makes the memory of the list's first entry ready if it is native
     * code's, so that nothing is allocated, and nothing can fail, between taking the word and recording it.
     */
    private void prepareLink(RobustThread thread) {
        long entry = thread.head.getLongPlain(thread.listNextOffset) & ~RobustListHeadDescriptor.PI_BIT;
        thread.nativeFirst = nativeEntryOrNull(thread, entry);
        thread.nativeFirstAddress = entry;
    }

    /** The memory of native code's entry at this address; null for the head or a record the thread holds. */
    private AtomicMemory nativeEntryOrNull(RobustThread thread, long entry) {
        return entry == thread.headAddress || thread.heldAt(entry) != null ? null : kernel.nativeListEntry(entry);
    }

    /**
     * Unlinks held entry {@code index} from the thread's robust list: its successor's {@code prev} becomes its
     * {@code prev}, then its predecessor's {@code next} becomes its {@code next} (PI bit included) with a release
     * store, which takes it off the list the kernel walks. Everything that can fail comes before the first store;
     * the caller has checked the record's list fields ({@link #checkListFields}).
     */
    private void unlink(RobustThread thread, int index) {
        MutexRecord record = thread.record(index);
        long next;
        long prev;
        AtomicMemory nativeNext = null;
        AtomicMemory nativePrev = null;
        if (thread.joined) {
            // Its neighbours may be native code's entries: the record's own fields name them. Only this thread
            // writes them (native code running on it included), so they are what the last link or unlink left.
            next = record.memory.getLongPlain(record.nextOffset);
            prev = record.memory.getLongPlain(record.prevOffset);
            nativeNext = nativeEntryOrNull(thread, next & ~RobustListHeadDescriptor.PI_BIT);
            nativePrev = nativeEntryOrNull(thread, prev & ~RobustListHeadDescriptor.PI_BIT);
        } else {
            int count = thread.count();
            next = index == 0 ? thread.headAddress : thread.record(index - 1).entryPointer;
            prev = index == count - 1 ? thread.headAddress : thread.record(index + 1).entryAddress;
        }
        putPrev(thread, next & ~RobustListHeadDescriptor.PI_BIT, prev, nativeNext);
        putNextRelease(thread, prev & ~RobustListHeadDescriptor.PI_BIT, next, nativePrev);
    }

    /**
     * On a joined list, refuses to unlink a held record whose list fields hold what no entry can be: something
     * other than this thread overwrote them, and following them would write through a wild pointer.
     *
     * @throws MutexDamagedException when they do; the record stays held and on the list
     */
    private static void checkListFields(RobustThread thread, MutexRecord record) {
        if (!thread.joined) {
            return;
        }
        long next = record.memory.getLongPlain(record.nextOffset);
        long prev = record.memory.getLongPlain(record.prevOffset);
        if (!plausibleEntry(next & ~RobustListHeadDescriptor.PI_BIT) || !plausibleEntry(prev)) {
            throw new MutexDamagedException(String.format("%s: its robust list fields were overwritten while it was"
                    + " held (prev=0x%x, next=0x%x): something other than this thread wrote them; it stays held,"
                    + " unchanged", record, prev, next));
        }
    }

    /**
     * Whether an address can be a list entry: in user space, past the first page, 8-aligned (an entry is 32
     * bytes past a 4-aligned word in an 8-aligned structure, a record's or a {@code pthread_mutex_t}'s).
     */
    private static boolean plausibleEntry(long address) {
        return address >= 4096 && (address & 7) == 0;
    }

    /**
     * Stores the {@code prev} field of the entry at {@code entry}: a held record's, or that of native code's
     * entry, whose memory is {@code nativeEntry}; nothing for the head.
     */
    private void putPrev(RobustThread thread, long entry, long value, AtomicMemory nativeEntry) {
        putLink(thread, entry, value, nativeEntry, false);
    }

    /** Stores, with release, the {@code next} field of the entry at {@code entry} (the head's {@code list.next}). */
    private void putNextRelease(RobustThread thread, long entry, long value, AtomicMemory nativeEntry) {
        putLink(thread, entry, value, nativeEntry, true);
    }

    /**
     * Stores one list field of the entry at {@code entry}, wherever it lives: {@code next} with release (the
     * store that changes what the kernel walks), or {@code prev} plainly. Every entry keeps {@code next} 8 bytes
     * after {@code prev}. The head has no {@code prev} this library writes: glibc keeps one before its head
     * ({@code robust_prev}) but never reads it, nor does the kernel (protocol.md, "Sharing the list with glibc").
     */
    private void putLink(RobustThread thread, long entry, long value, AtomicMemory nativeEntry, boolean next) {
        if (entry == thread.headAddress) {
            if (next) {
                thread.head.putLongRelease(thread.listNextOffset, value);
            }
            return;
        }
        MutexRecord held = thread.heldAt(entry);
        AtomicMemory memory = held != null ? held.memory : nativeEntry;
        int prevOffset = held != null ? held.prevOffset : 0;
        if (next) {
            memory.putLongRelease(prevOffset + RobustListHeadDescriptor.PREV_SLOT_SIZE, value);
        } else {
            memory.putLongPlain(prevOffset, value);
        }
    }

    /**
     * The number of entries on a joined thread's list, the thread's records and native code's, counted as the
     * kernel's exit walk counts them, up to {@link RobustListHeadDescriptor#ROBUST_LIST_LIMIT}.
     */
    private int listLength(RobustThread thread) {
        long entry = thread.head.getLongPlain(thread.listNextOffset) & ~RobustListHeadDescriptor.PI_BIT;
        int length = 0;
        while (entry != thread.headAddress && length < RobustListHeadDescriptor.ROBUST_LIST_LIMIT
                && plausibleEntry(entry)) {
            length++;
            MutexRecord held = thread.heldAt(entry);
            long next = held != null ? held.memory.getLongPlain(held.nextOffset)
                    : kernel.nativeListEntry(entry).getLongPlain(RobustListHeadDescriptor.PREV_SLOT_SIZE);
            entry = next & ~RobustListHeadDescriptor.PI_BIT;
        }
        return length;
    }

    /**
     * Releases a record held by the calling thread.
     *
     * @param record the record
     * @throws IllegalMonitorStateException when the calling thread does not hold it
     */
    public void unlock(MutexRecord record) {
        RobustThread thread = registeredThreadFor(record);
        if (thread == null) {
            throw notHeld(record, null);
        }
        MutexRecord linked;
        AtomicMemory memory;
        AtomicMemory head = thread.head;
        if (thread.count() == 1 && thread.isOnlyHold(record.identity)
                && head.getLongPlain(thread.listNextOffset) == (linked = thread.record(0)).entryPointer
                && (memory = linked.memory).getLongPlain(linked.nextOffset) == thread.headAddress) {
            // The common case, kept small: the thread's only record, held once, alone on the list (native code
            // sharing it holds nothing). The record linked is the one used: the caller's may be another mapping
            // of the same mutex, perhaps closed since, while the hold keeps the linked one's mapping.
            if (memory.getIntPlain(linked.stateOffset) == MutexRecordDescriptor.STATE_INCONSISTENT) {
                inconsistentAtRelease(thread, linked, false);
            }
            memory.putIntPlain(linked.pidOffset, 0);
            head.putLongRelease(thread.pendingOffset, linked.entryPointer);
            head.putLongRelease(thread.listNextOffset, thread.headAddress);
            releaseOrClearPending(thread, linked, 0);
            thread.remove(0);
            Reference.reachabilityFence(memory);
            AtomicMemory control = linked.control;
            if (control != null && control.getIntVolatile(0) != 0) {
                // The last reference to a closing mapping may have been this hold.
                linked.region.tryUnmap();
            }
            return;
        }
        unlockGeneral(thread, record, false);
    }

    /**
     * Releases a record whose acquisition reported an owner death, without repairing it and without making it
     * not recoverable: it stays INCONSISTENT, so its next acquirer is told of the death too. For a caller
     * that was told of the death but has no way to repair ({@code Lock.lock()} without a recovery handler).
     *
     * @param record a record the calling thread holds once, just acquired
     * @throws IllegalMonitorStateException when the calling thread does not hold it
     */
    public void releaseUnrepaired(MutexRecord record) {
        RobustThread thread = registeredThreadFor(record);
        if (thread == null) {
            throw notHeld(record, null);
        }
        unlockGeneral(thread, record, true);
    }

    /**
     * The last hold of an INCONSISTENT record is being released: it becomes not recoverable, unless the caller
     * keeps it inconsistent or an await that found the owner's death asked for that
     * ({@link #keepInconsistentAtRelease}).
     */
    private void inconsistentAtRelease(RobustThread thread, MutexRecord linked, boolean keepInconsistent) {
        if (!thread.clearUnrepaired(linked.identity) && !keepInconsistent) {
            becomeNotRecoverable(linked);
        }
    }

    /**
     * Asks that the last release of a held INCONSISTENT record leave it INCONSISTENT, so that its next acquirer
     * is told of the owner's death in turn: for a condition's await that re-acquired the mutex from an owner that
     * died, had no way to repair, and must return with the mutex held. Marking it consistent first cancels this.
     *
     * @param record a record the calling thread holds
     * @throws IllegalMonitorStateException when the calling thread does not hold it
     */
    public void keepInconsistentAtRelease(MutexRecord record) {
        RobustThread thread = registeredThreadFor(record);
        if (thread == null || thread.indexOf(record.identity) < 0) {
            throw notHeld(record, thread);
        }
        thread.markUnrepaired(record.identity);
    }

    /**
     * For a condition's await: releases every hold of a record the calling thread holds, by the robust unlock.
     * An INCONSISTENT record stays INCONSISTENT (the waiter did not repair, and cannot now), so whoever takes
     * it next, the waiter included when it re-acquires, is told of the death.
     *
     * @param record the record
     * @return the hold count it had, for {@link #relockAfterWait}
     * @throws IllegalMonitorStateException when the calling thread does not hold it
     */
    public int releaseForWait(MutexRecord record) {
        RobustThread thread = registeredThreadFor(record);
        int index = thread == null ? -1 : thread.indexOf(record.identity);
        if (index < 0) {
            throw notHeld(record, thread);
        }
        int holds = thread.holds(index);
        thread.setHolds(index, 1);
        try {
            unlockGeneral(thread, record, true);
        } catch (RuntimeException | Error failure) {
            int still = thread.indexOf(record.identity);
            if (still >= 0) {
                // Refused before anything changed: the caller holds it as before.
                thread.setHolds(still, holds);
            }
            throw failure;
        }
        return holds;
    }

    /**
     * For a condition's await: re-acquires a record released by {@link #releaseForWait}, waiting as long as it
     * takes, and restores its hold count.
     *
     * @param record the record
     * @param holds the hold count to restore
     * @return {@link #ACQUIRED} or {@link #ACQUIRED_OWNER_DIED}
     * @throws MutexNotRecoverableException when the mutex is not recoverable; nothing is held
     */
    public int relockAfterWait(MutexRecord record, int holds) {
        int result = lockFast(record, WAIT_FOREVER);
        RobustThread thread = threadFor(record);
        thread.setHolds(thread.indexOf(record.identity), holds);
        return result;
    }

    private void becomeNotRecoverable(MutexRecord record) {
        record.memory.putIntRelease(record.stateOffset, MutexRecordDescriptor.STATE_NOT_RECOVERABLE);
        try {
            LOG.log(System.Logger.Level.WARNING, "{0}: released without being marked consistent after its owner"
                    + " died; it is not recoverable until reinitialize() is called", record);
        } catch (RuntimeException failure) {
            // A failing logger does not fail the release; the state field says what the log would have.
        }
    }

    private void unlockGeneral(RobustThread thread, MutexRecord record, boolean keepInconsistent) {
        int index = thread.indexOf(record.identity);
        if (index < 0) {
            throw notHeld(record, thread);
        }
        int holds = thread.holds(index);
        if (holds > 1) {
            thread.setHolds(index, holds - 1);
            return;
        }
        // The held entry may be another mapping's record of the same mutex (the same file mapped twice, the
        // caller's mapping perhaps closed since): everything uses the one that was linked, whose mapping the hold
        // keeps.
        MutexRecord linked = thread.record(index);
        AtomicMemory memory = linked.memory;
        // Before anything changes: a release refused for damaged list fields leaves the record as it was.
        checkListFields(thread, linked);
        if (memory.getIntPlain(linked.stateOffset) == MutexRecordDescriptor.STATE_INCONSISTENT) {
            inconsistentAtRelease(thread, linked, keepInconsistent);
        }
        memory.putIntPlain(linked.pidOffset, 0);
        thread.head.putLongRelease(thread.pendingOffset, linked.entryPointer);
        unlink(thread, index);
        releaseOrClearPending(thread, linked, index);
        thread.remove(index);
        Reference.reachabilityFence(memory);
        AtomicMemory control = linked.control;
        if (control != null && control.getIntVolatile(0) != 0) {
            linked.region.tryUnmap();
        }
    }

    /**
     * Releases the word by this kernel's unlock path. If the kernel refuses (the word was changed behind the
     * library's back), leaves no pending entry naming memory that nothing may keep mapped, and reports it.
     */
    private void releaseOrClearPending(RobustThread thread, MutexRecord record, int index) {
        if (classic && record.memory.compareAndSetInt(record.wordOffset, thread.tid, FutexWord.FREE)) {
            // Classic and uncontended (the word is exactly our TID, so nobody waits), the common case on
            // kernels before 7.2, kept inline. For NORMAL this is the exchange with 0 that needs no wake.
            thread.head.putLongRelease(thread.pendingOffset, 0);
            return;
        }
        try {
            release(thread, record);
        } catch (Throwable failure) {
            thread.head.putLongRelease(thread.pendingOffset, 0);
            thread.remove(index);
            throw failure;
        }
    }

    private void release(RobustThread thread, MutexRecord record) {
        int tid = thread.tid;
        if (classic) {
            AtomicMemory memory = record.memory;
            if (record.pi) {
                if (!memory.compareAndSetInt(record.wordOffset, tid, FutexWord.FREE)) {
                    unlockPiInKernel(record);
                }
            } else if ((releaseNormal(record, tid) & FutexWord.WAITERS) != 0) {
                kernel.futexWake(record.wordAddress, 1);
            }
            thread.head.putLongRelease(thread.pendingOffset, 0);
        } else if (!vdso || kernel.vdsoTryUnlock(record.wordAddress, tid, thread.pendingAddress) != tid) {
            if (!record.pi) {
                // FUTEX_WAKE | FUTEX_ROBUST_UNLOCK stores 0 whoever owns the word (kernel-abi.md 4.1): make sure
                // it is still ours. Only waiters setting WAITERS change a held word, so the check holds until
                // the kernel's store.
                checkStillOwned(record, tid, record.memory.getIntVolatile(record.wordOffset));
            }
            robustUnlockSyscall(thread, record);
        }
    }

    /**
     * The classic NORMAL release: swaps the word to 0 only while it names us (waiters may be setting WAITERS),
     * never over a word that was changed behind the library's back.
     *
     * @return the word released
     */
    private static int releaseNormal(MutexRecord record, int tid) {
        while (true) {
            int word = record.memory.getIntVolatile(record.wordOffset);
            checkStillOwned(record, tid, word);
            if (record.memory.compareAndSetInt(record.wordOffset, word, FutexWord.FREE)) {
                return word;
            }
        }
    }

    private static void checkStillOwned(MutexRecord record, int tid, int word) {
        if ((word & FutexWord.TID_MASK) != tid) {
            throw new IllegalStateException(record + ": the word (" + FutexWord.describe(word) + ") no longer names"
                    + " its holder, tid " + tid + "; it was changed behind the library's back and is left as it is");
        }
    }

    private static IllegalStateException tooManyHolds(MutexRecord record) {
        return new IllegalStateException("maximum hold count exceeded on " + record);
    }

    private static MutexNotRecoverableException notRecoverable(MutexRecord record) {
        return new MutexNotRecoverableException(record + " is not recoverable: an owner died and the next"
                + " holder released it without marking it consistent; reinitialize it when nobody holds it");
    }

    private static IllegalMonitorStateException notHeld(MutexRecord record, RobustThread thread) {
        // The word is not read here: a thread that does not hold the record keeps nothing of it mapped.
        return new IllegalMonitorStateException(record + " is not held by the current thread"
                + (thread == null ? ", which has never taken a robust mutex" : " (tid " + thread.tid + ")"));
    }

    private void robustUnlockSyscall(RobustThread thread, MutexRecord record) {
        while (true) {
            int result = kernel.futexRobustUnlock(record.wordAddress, record.pi, thread.pendingAddress);
            if (result >= 0) {
                return;
            }
            // Only UNLOCK_PI asks for a retry (user space changed the word concurrently, kernel-abi.md 4.1);
            // a WAKE stores 0 unconditionally and is never repeated.
            if (!record.pi || result != -Errno.EAGAIN) {
                throw Errno.exception("futex(" + FutexOp.name((record.pi ? FutexOp.FUTEX_UNLOCK_PI
                        : FutexOp.FUTEX_WAKE) | FutexOp.FUTEX_ROBUST_UNLOCK) + ")", -result);
            }
        }
    }

    private void unlockPiInKernel(MutexRecord record) {
        while (true) {
            int result = kernel.futexUnlockPi(record.wordAddress);
            if (result == 0) {
                return;
            }
            if (result != -Errno.EAGAIN && result != -Errno.EINTR) {
                throw Errno.exception("futex(FUTEX_UNLOCK_PI)", -result);
            }
        }
    }

    /**
     * Whether the calling thread holds a record.
     *
     * @param record the record
     * @return true when held (at least once)
     */
    public boolean isHeldByCurrentThread(MutexRecord record) {
        RobustThread thread = registeredThreadFor(record);
        return thread != null && thread.indexOf(record.identity) >= 0;
    }

    /**
     * The calling thread's hold count on a record.
     *
     * @param record the record
     * @return 0 when not held
     */
    public int holdCount(MutexRecord record) {
        RobustThread thread = registeredThreadFor(record);
        int index = thread == null ? -1 : thread.indexOf(record.identity);
        return index < 0 ? 0 : thread.holds(index);
    }

    /**
     * Marks the protected data repaired after an owner died: state INCONSISTENT becomes CONSISTENT.
     *
     * @param record a record held by the calling thread
     * @throws IllegalMonitorStateException when the calling thread does not hold it
     */
    public void markConsistent(MutexRecord record) {
        MutexRecord held = heldRecord(record, "markConsistent");
        if (held.memory.getIntPlain(held.stateOffset) == MutexRecordDescriptor.STATE_INCONSISTENT) {
            held.memory.putIntRelease(held.stateOffset, MutexRecordDescriptor.STATE_CONSISTENT);
        }
        RobustThread thread = registeredThreadFor(record);
        if (thread != null) {
            thread.clearUnrepaired(held.identity);
        }
    }

    /**
     * Whether a held record is consistent.
     *
     * @param record a record held by the calling thread
     * @return true unless an owner died and the data was not marked consistent since
     */
    public boolean isConsistent(MutexRecord record) {
        MutexRecord held = heldRecord(record, "isConsistent");
        return held.memory.getIntPlain(held.stateOffset) == MutexRecordDescriptor.STATE_CONSISTENT;
    }

    /**
     * The fencing token of a held record: the number of acquisitions so far, including this one.
     *
     * @param record a record held by the calling thread
     * @return the token
     */
    public long fencingToken(MutexRecord record) {
        MutexRecord held = heldRecord(record, "fencingToken");
        return held.memory.getLongPlain(held.tokenOffset);
    }

    /**
     * Makes a not-recoverable (or inconsistent) mutex consistent again, taking and releasing it through the
     * protocol so that a death on the way is still handled.
     *
     * @param record the record
     * @throws IllegalStateException when any thread holds it, including the calling one
     */
    public void reinitialize(MutexRecord record) {
        if (isHeldByCurrentThread(record)) {
            throw new IllegalStateException(record + " is held by the current thread; unlock it before reinitializing");
        }
        int result;
        try {
            result = lock(record, NO_WAIT, false, true);
        } catch (InterruptedException e) {
            throw new AssertionError("a non-waiting, non-interruptible lock cannot be interrupted", e);
        }
        if (result == TIMED_OUT) {
            result = takeOverGoneOwner(record);
        }
        if (result == TIMED_OUT) {
            throw new IllegalStateException(record + " is held by a live thread (word "
                    + FutexWord.describe(record.word()) + "); reinitialize only when nobody holds it");
        }
        record.memory.putIntRelease(record.stateOffset, MutexRecordDescriptor.STATE_CONSISTENT);
        unlock(record);
    }

    /**
     * For {@link #reinitialize}: a held word whose owner is gone (its TID names no thread) is taken over under
     * the rule of {@link #takeOverIfOwnerGone}, as a waiter would take it.
     *
     * @return {@link #ACQUIRED_OWNER_DIED}, or {@link #TIMED_OUT} when a live thread holds it
     */
    private int takeOverGoneOwner(MutexRecord record) {
        RobustThread thread = threadFor(record);
        if (thread.count() >= RobustListHeadDescriptor.ROBUST_LIST_LIMIT) {
            throw tooManyMutexes(record, thread);
        }
        thread.ensureCapacity();
        thread.head.putLongRelease(thread.pendingOffset, record.entryPointer);
        AtomicMemory control = record.control;
        if (control != null && control.getIntVolatile(0) != 0) {
            throw refuseClosed(thread, record);
        }
        if (takeOverIfOwnerGone(thread, record, 0)) {
            return acquired(thread, record, true, true);
        }
        thread.head.putLongRelease(thread.pendingOffset, 0);
        return TIMED_OUT;
    }

    /**
     * The record through which the calling thread holds the mutex: the one it linked, which may be another
     * mapping's record of the same mutex than the caller's. Only that one is known to stay mapped: the hold keeps
     * its mapping, and the caller's may have been closed since.
     */
    private MutexRecord heldRecord(MutexRecord record, String operation) {
        RobustThread thread = registeredThreadFor(record);
        int index = thread == null ? -1 : thread.indexOf(record.identity);
        if (index < 0) {
            throw new IllegalMonitorStateException(operation + ": " + record
                    + " is not held by the current thread");
        }
        return thread.record(index);
    }
}
