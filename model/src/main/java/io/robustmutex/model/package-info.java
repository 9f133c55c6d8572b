/**
 * The reference model of the kernel: run the library's lock protocol on simulated processes and threads,
 * kill a thread before any step, and see what the kernel does (design.md section 6).
 *
 * <p>The model implements the kernel side of robust futexes in plain Java ({@link
 * io.robustmutex.model.KernelModel}): futex waits, wakes and PI locks with shared keys, the 7.2
 * {@code FUTEX_ROBUST_UNLOCK} flags (or their absence before 7.2), robust list registration, the exit walk of
 * a dying thread, and the vDSO try-unlock executed instruction by instruction from an architecture module's
 * description, with the return-to-user fixup. The library's own {@code RobustMutex} runs on it unchanged, so
 * the vDSO and syscall unlock paths can be exercised on any kernel, and code that uses robust mutexes can be
 * tested against the death of a holder at any point.
 *
 * <h2>Testing recovery logic</h2>
 *
 * <pre>{@code
 * try (KernelModel model = KernelModel.builder().build()) {
 *     SharedObject shm = model.newSharedObject("ledger", 4096);
 *     ModelProcess writerProcess = model.newProcess();
 *     ModelProcess readerProcess = model.newProcess();
 *     ModelRegion w = writerProcess.map(shm);
 *     ModelRegion r = readerProcess.map(shm);
 *     RobustMutex wLock = w.mutex(0, MutexKind.PI);
 *     RobustMutex rLock = r.mutex(0, MutexKind.PI);
 *
 *     // The writer dies between the two halves of its update.
 *     ModelThread writer = writerProcess.newThread("writer").killAt(KillPoint.beforeWriteTo(w, 72));
 *     writer.start(() -> {
 *         try (Acquisition held = wLock.acquire()) {
 *             w.putLong(64, 30);
 *             w.putLong(72, 70);       // never reached
 *         }
 *         return null;
 *     });
 *     model.runUntilQuiet();          // runs the writer, then takes its death: the kernel releases the lock
 *
 *     ModelTask<Boolean> reader = readerProcess.newThread("reader").start(() -> {
 *         try (Acquisition held = rLock.acquire()) {
 *             if (held.ownerDied()) {
 *                 repair(r);           // the code under test
 *                 held.markConsistent();
 *             }
 *             return held.ownerDied();
 *         }
 *     });
 *     model.runUntilQuiet();
 *     assertTrue(reader.result());
 * }
 * }</pre>
 *
 * <p>Code given to {@link io.robustmutex.model.ModelThread#start} runs on a simulated thread: its mutex
 * operations and its accesses to {@link io.robustmutex.model.ModelRegion}s are {@linkplain
 * io.robustmutex.model.Step steps}, and a {@link io.robustmutex.model.KillPoint} stops it before one. Only one
 * simulated thread runs at a time and the driver ({@code runUntilQuiet}, {@code run}) decides which, so a test
 * is deterministic; such code must not wait for anything outside the model. Time is the model's own.
 *
 * <p>With {@link io.robustmutex.model.KernelModel.Builder#glibcHeads}, threads start as glibc starts them, with a
 * robust list head registered, which the library joins; {@link io.robustmutex.model.ModelNativeMutex} is a glibc
 * robust mutex that native code of the same thread links into that list beside the library's records.
 *
 * <p>{@link io.robustmutex.model.ModelCheck} uses the model to kill a thread before every step of lock and
 * unlock under every configuration; {@code java -jar robust-mutex.jar model-check} prints its table.
 */
package io.robustmutex.model;
