package io.robustmutex.jcstress;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexDamagedException;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.MutexNotRecoverableException;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A pool of real-kernel robust mutexes, each with a few bytes of mapped shared memory for it to protect, from
 * which JCStress states take one mutex each: for JCStress tests of your own code that uses robust-mutex.
 *
 * <pre>{@code
 * @State
 * public static class CounterState {
 *     final MutexPool.Slot slot = MutexPool.shared(MutexKind.PI).next();
 *     final SharedCounter counter = new SharedCounter(slot.mutex(), slot.data());   // the code under test
 * }
 * }</pre>
 *
 * <h2>Why a pool</h2>
 * JCStress makes a new {@code @State} object for every sample: it keeps {@code strideSize x strideCount} of
 * them alive at once (256 x 40 = 10,240 by default), replaces each one as soon as its result is recorded, and
 * goes through millions in a run. A {@link MutexFile} or a {@link SharedMemory} region per state would cost
 * a file, a mapping and the system calls that create, map and delete them, for every sample: the test would
 * mostly measure the file system and could run out of mappings. A pool creates one file of mutexes and one
 * region of data once, maps them for as long as the JVM runs, and hands out its slots in turn.
 *
 * <h2>How many states a pool supports</h2>
 * {@link #next()} hands out the slots round-robin, so no slot is handed out twice within {@link #slots()}
 * consecutive calls, from whatever threads. A JCStress state is replaced in the iteration after the one that
 * made it, so it is done before {@code 2 x strideSize x strideCount} more states have been made: a pool of
 * {@code N} slots serves runs with {@code strideSize x strideCount <= N / 2}. The {@linkplain #shared shared}
 * pools have {@value #DEFAULT_SLOTS} slots, enough for JCStress's defaults with room to spare (up to
 * {@code strideSize x strideCount = 16,384}); build a larger pool for runs that raise {@code -strideSize} or
 * {@code -strideCount} beyond that. A slot whose mutex is still held when it comes round again makes
 * {@code next()} throw instead of handing it out twice; a state that merely still uses it unlocked is not
 * detected.
 *
 * <h2>What a slot holds</h2>
 * A {@link Slot} is a mutex that is free, consistent and has no {@linkplain RobustMutex#setRecoveryHandler
 * recovery handler}, and {@link #dataBytesPerSlot()} bytes of mapped shared memory, zeroed (under the mutex)
 * and used by no other slot. Mutexes are reused: a slot's fencing token and owner-death count go on from where
 * its earlier users left them, so compare tokens rather than expect particular values. A mutex left
 * {@code INCONSISTENT} or {@code NOT_RECOVERABLE} by an earlier user (say a test that lets a thread die holding
 * it) is made consistent again before it is handed out.
 *
 * <h2>Files</h2>
 * A pool creates its files in a new private directory (mode {@code rwx------}) under {@code /dev/shm}, or
 * under {@code java.io.tmpdir} where {@code /dev/shm} is missing or not writable, or under the directory given
 * to {@link Builder#directory}. The library creates both files, and the pool deletes them and the directory
 * as soon as they are mapped, before {@link Builder#build()} returns: the mappings stay valid, and nothing is
 * left behind when the JVM exits, even when JCStress kills a fork that overran its time. Since the files have
 * no name, no other process can open them: the mutexes are for the threads of one JVM, which is what
 * JCStress's actors are.
 *
 * <h2>Thread safety</h2>
 * A pool is safe for use by any number of threads at once; JCStress makes states on its actor threads.
 * {@link Slot#data()} and {@link Slot#buffer()} return a new buffer each call; several threads may share one
 * as long as they use absolute accesses only ({@code getLong(index)}, not {@code getLong()}), since the
 * relative ones move the buffer's position. The mutexes follow {@link RobustMutex}'s rules: the thread that
 * acquires one releases it.
 */
public final class MutexPool implements AutoCloseable {

    /** The number of slots of the shared pools and the builder's default. */
    public static final int DEFAULT_SLOTS = 1 << 15;
    /** The bytes of data per slot of the shared pools and the builder's default: one cache line. */
    public static final int DEFAULT_DATA_BYTES = 64;

    /** Mutex records, and each slot's data, start on a 64-byte boundary (a cache line). */
    private static final int ALIGNMENT = 64;
    private static final AtomicReferenceArray<MutexPool> SHARED =
            new AtomicReferenceArray<>(MutexKind.values().length);

    private final MutexKind kind;
    private final Placement placement;
    private final int slots;
    private final int dataBytes;
    private final boolean shared;
    private final MutexFile file;
    private final SharedMemory region;
    private final RobustMutex[] placed;
    private final ByteBuffer data;
    private final int slotStride;
    private final int dataStart;
    private final AtomicLong handedOut = new AtomicLong();

    /** Where a pool keeps its mutexes. */
    public enum Placement {
        /**
         * The mutexes are the records of one {@link MutexFile} ({@link MutexFile#mutex(int)}), and the data lies
         * in a separate {@link SharedMemory} region; the shared pools use this.
         */
        MUTEX_FILE,
        /**
         * The mutexes are placed in the {@link SharedMemory} region ({@link SharedMemory#mutex(long, MutexKind)}),
         * each in the 64 bytes just before its slot's data, as code that keeps a mutex next to its data does.
         */
        SHARED_MEMORY
    }

    private MutexPool(Builder builder, boolean shared) throws IOException {
        this.kind = builder.kind;
        this.placement = builder.placement;
        this.slots = builder.slots;
        this.dataBytes = builder.dataBytes;
        this.shared = shared;
        int dataStride = roundUp(dataBytes);
        if (placement == Placement.MUTEX_FILE) {
            slotStride = dataStride;
            dataStart = 0;
        } else {
            slotStride = ALIGNMENT + dataStride;
            dataStart = ALIGNMENT;
        }
        long regionSize = Math.max(ALIGNMENT, (long) slots * slotStride);
        if (regionSize > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(slots + " slots of " + slotStride + " bytes do not fit in one region"
                    + " (at most " + Integer.MAX_VALUE + " bytes)");
        }
        Path privateDir = Files.createTempDirectory(builder.directoryOrDefault(),
                "robust-mutex-pool-" + ProcessHandle.current().pid() + "-" + kind + "-");
        MutexFile openedFile = null;
        SharedMemory mappedRegion = null;
        try {
            // The library creates both files itself: it never adopts an existing file that it did not initialize.
            if (placement == Placement.MUTEX_FILE) {
                openedFile = MutexFile.open(privateDir.resolve("mutexes"), slots, kind);
            }
            mappedRegion = SharedMemory.map(privateDir.resolve("data"), regionSize);
            if (placement == Placement.SHARED_MEMORY) {
                // Placing a mutex initializes its record under a lock of the file, so place them all now,
                // while the file still has its name.
                placed = new RobustMutex[slots];
                for (int i = 0; i < slots; i++) {
                    placed[i] = mappedRegion.mutex((long) i * slotStride, kind);
                }
            } else {
                placed = null;
            }
            data = mappedRegion.buffer();
            deleteTree(privateDir);
        } catch (IOException | RuntimeException | Error failure) {
            closeQuietly(openedFile, mappedRegion, failure);
            try {
                deleteTree(privateDir);
            } catch (IOException | RuntimeException e) {
                failure.addSuppressed(e);
            }
            throw failure;
        }
        file = openedFile;
        region = mappedRegion;
    }

    /**
     * The pool of this JVM for the kind, made on first use with the builder's defaults: {@value #DEFAULT_SLOTS}
     * slots of {@value #DEFAULT_DATA_BYTES} bytes, mutexes in a mutex file, files under {@code /dev/shm}. It
     * lives as long as the JVM and cannot be closed; every caller for the kind gets the same pool.
     *
     * @param kind PI or NORMAL
     * @return the pool
     * @throws UncheckedIOException when the pool's files cannot be created or mapped (a later call tries again)
     * @throws UnsupportedOperationException when robust mutexes cannot work in this JVM
     */
    public static MutexPool shared(MutexKind kind) {
        Objects.requireNonNull(kind, "kind");
        MutexPool pool = SHARED.get(kind.ordinal());
        return pool != null ? pool : createShared(kind);
    }

    private static synchronized MutexPool createShared(MutexKind kind) {
        MutexPool pool = SHARED.get(kind.ordinal());
        if (pool == null) {
            pool = builder(kind).build(true);
            SHARED.set(kind.ordinal(), pool);
        }
        return pool;
    }

    /**
     * A builder of a new pool of mutexes of the kind, with its own files; see the builder's defaults.
     *
     * @param kind PI or NORMAL
     * @return the builder
     */
    public static Builder builder(MutexKind kind) {
        return new Builder(Objects.requireNonNull(kind, "kind"));
    }

    /**
     * The next slot: a free, consistent mutex that none of the previous {@code slots() - 1} calls returned, and
     * its data, zeroed. The mutex is acquired and released once to zero the data, so the data is visible to
     * whichever thread acquires it next.
     *
     * @return the slot
     * @throws IllegalStateException when the slot's mutex is held (by another thread, or still by this one):
     *     more states are alive than the pool has slots, or a state left its mutex held; or the pool is closed
     */
    public Slot next() {
        int index = (int) Math.floorMod(handedOut.getAndIncrement(), (long) slots);
        RobustMutex mutex = placed != null ? placed[index] : file.mutex(index);
        int offset = index * slotStride + dataStart;
        prepare(mutex, index, offset);
        return new Slot(this, index, mutex, offset);
    }

    /** Makes the mutex free of handler, consistent and held by nobody, and zeroes its data under it. */
    private void prepare(RobustMutex mutex, int index, int offset) {
        mutex.setRecoveryHandler(null);
        if (mutex.isHeldByCurrentThread()) {
            throw new IllegalStateException(this + ": slot " + index + " came round again while this thread still"
                    + " holds its mutex: a state left it held");
        }
        Optional<Acquisition> attempt;
        try {
            attempt = mutex.tryAcquire();
        } catch (MutexNotRecoverableException | MutexDamagedException unusable) {
            // An earlier user released it after an owner death without repairing: it is ours to reset.
            mutex.reinitialize();
            attempt = mutex.tryAcquire();
        }
        try (Acquisition held = attempt.orElseThrow(() -> new IllegalStateException(this + ": slot " + index
                + " came round again while another thread holds its mutex: more states are alive than the pool"
                + " has slots, or a state left its mutex held"))) {
            if (held.ownerDied()) {
                held.markConsistent();
            }
            int at = offset;
            int end = offset + dataBytes;
            for (; at + Long.BYTES <= end; at += Long.BYTES) {
                data.putLong(at, 0);
            }
            for (; at < end; at++) {
                data.put(at, (byte) 0);
            }
        }
    }

    /**
     * The kind of the pool's mutexes.
     *
     * @return PI or NORMAL
     */
    public MutexKind kind() {
        return kind;
    }

    /**
     * Where the pool keeps its mutexes.
     *
     * @return the placement
     */
    public Placement placement() {
        return placement;
    }

    /**
     * The number of slots: {@link #next()} returns each once in this many calls.
     *
     * @return the count
     */
    public int slots() {
        return slots;
    }

    /**
     * The bytes of data of each slot.
     *
     * @return the count, possibly 0
     */
    public int dataBytesPerSlot() {
        return dataBytes;
    }

    /**
     * Closes the pool's mutex file and region: the slots' mutexes throw {@link IllegalStateException} from then
     * on, and {@link #next()} does too. The slots' buffers stay valid memory while they are referenced.
     *
     * @throws IllegalStateException when a thread of this JVM holds one of the pool's mutexes
     * @throws UnsupportedOperationException on a {@linkplain #shared shared} pool, which lives as long as the JVM
     */
    @Override
    public void close() {
        if (shared) {
            throw new UnsupportedOperationException(this + " is shared by the whole JVM and is never closed");
        }
        if (file != null) {
            file.close();
        }
        region.close();
    }

    @Override
    public String toString() {
        return "MutexPool[" + kind + ", " + placement + ", " + slots + " slots of " + dataBytes + " bytes"
                + (shared ? ", shared" : "") + "]";
    }

    private static int roundUp(int bytes) {
        return (int) (((long) bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT);
    }

    private static void closeQuietly(MutexFile file, SharedMemory region, Throwable failure) {
        try {
            if (file != null) {
                file.close();
            }
            if (region != null) {
                region.close();
            }
        } catch (RuntimeException e) {
            failure.addSuppressed(e);
        }
    }

    /** Deletes the private directory and what it holds (a creation that failed part way may leave files). */
    private static void deleteTree(Path dir) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            for (Path entry : entries) {
                Files.deleteIfExists(entry);
            }
        }
        Files.deleteIfExists(dir);
    }

    /**
     * One mutex of a pool and the data it protects. A slot belongs to the state that took it until the pool
     * hands it out again, {@link MutexPool#slots()} calls of {@link MutexPool#next()} later.
     */
    public static final class Slot {
        private final MutexPool pool;
        private final int index;
        private final RobustMutex mutex;
        private final int offset;

        private Slot(MutexPool pool, int index, RobustMutex mutex, int offset) {
            this.pool = pool;
            this.index = index;
            this.mutex = mutex;
            this.offset = offset;
        }

        /**
         * The mutex: free and consistent when the slot was handed out.
         *
         * @return the mutex
         */
        public RobustMutex mutex() {
            return mutex;
        }

        /**
         * The slot's data alone: a new little-endian buffer over its {@link #length()} bytes of mapped shared
         * memory, from index 0, zeroed when the slot was handed out.
         *
         * @return a new buffer (position 0, limit and capacity {@link #length()})
         */
        public ByteBuffer data() {
            return pool.data.slice(offset, pool.dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        }

        /**
         * The pool's whole region, for code that takes a buffer and an offset: a new little-endian buffer (as
         * {@link SharedMemory#buffer()} gives) in which this slot's data starts at {@link #offset()}. Touch only
         * the slot's bytes: the rest belongs to other states (and, with {@link Placement#SHARED_MEMORY}, to
         * the mutexes).
         *
         * @return a new buffer over the region
         */
        public ByteBuffer buffer() {
            return pool.data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        }

        /**
         * Where the slot's data starts in {@link #buffer()}: a multiple of 64.
         *
         * @return the offset in bytes
         */
        public int offset() {
            return offset;
        }

        /**
         * The size of the slot's data, {@link MutexPool#dataBytesPerSlot()}.
         *
         * @return bytes
         */
        public int length() {
            return pool.dataBytes;
        }

        /**
         * The slot's number in its pool, 0 to {@link MutexPool#slots()} - 1.
         *
         * @return the index
         */
        public int index() {
            return index;
        }

        @Override
        public String toString() {
            return "Slot[" + index + " of " + pool + "]";
        }
    }

    /** Sets up a new pool; every setting has a default. Not thread-safe. */
    public static final class Builder {
        private final MutexKind kind;
        private int slots = DEFAULT_SLOTS;
        private int dataBytes = DEFAULT_DATA_BYTES;
        private Placement placement = Placement.MUTEX_FILE;
        private Path directory;

        private Builder(MutexKind kind) {
            this.kind = kind;
        }

        /**
         * The number of slots, {@value MutexPool#DEFAULT_SLOTS} by default: at least twice the number of JCStress
         * states alive at once ({@code strideSize x strideCount}), or as many as the states alive at once in a test
         * that runs one at a time ({@code Mode.Termination}).
         *
         * @param count at least 1
         * @return this builder
         * @throws IllegalArgumentException when the count is below 1
         */
        public Builder slots(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("slots=" + count + " (expected at least 1)");
            }
            this.slots = count;
            return this;
        }

        /**
         * The bytes of data per slot, {@value MutexPool#DEFAULT_DATA_BYTES} by default. Each slot's data starts on a
         * 64-byte boundary, so slots never share a cache line.
         *
         * @param bytes 0 or more
         * @return this builder
         * @throws IllegalArgumentException when negative
         */
        public Builder dataBytesPerSlot(int bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("dataBytesPerSlot=" + bytes + " (expected 0 or more)");
            }
            this.dataBytes = bytes;
            return this;
        }

        /**
         * Where the mutexes are kept, {@link Placement#MUTEX_FILE} by default.
         *
         * @param placement the placement
         * @return this builder
         */
        public Builder placement(Placement placement) {
            this.placement = Objects.requireNonNull(placement, "placement");
            return this;
        }

        /**
         * The directory in which the pool makes its private directory, {@code /dev/shm} by default (or
         * {@code java.io.tmpdir} where {@code /dev/shm} is missing or not writable). Nothing stays in it.
         *
         * @param directory an existing, writable directory
         * @return this builder
         */
        public Builder directory(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /**
         * Creates the pool's files, maps them and deletes them.
         *
         * @return the pool, to {@linkplain MutexPool#close() close} when done with it
         * @throws UncheckedIOException when the files cannot be created or mapped; the message names the
         *     directory
         * @throws IllegalArgumentException when the slots and their data do not fit in one region (2 GiB) or
         *     one mutex file
         * @throws UnsupportedOperationException when robust mutexes cannot work in this JVM
         */
        public MutexPool build() {
            return build(false);
        }

        private MutexPool build(boolean shared) {
            try {
                return new MutexPool(this, shared);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create a pool of " + slots + " " + kind + " mutexes in "
                        + directoryOrDefault() + ": " + e.getMessage(), e);
            }
        }

        private Path directoryOrDefault() {
            if (directory != null) {
                return directory;
            }
            Path shm = Path.of("/dev/shm");
            if (Files.isDirectory(shm) && Files.isWritable(shm)) {
                return shm;
            }
            return Path.of(System.getProperty("java.io.tmpdir"));
        }
    }
}
