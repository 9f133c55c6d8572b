package io.robustmutex.internal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A file mapped by the library through the binding, and released by it as soon as nothing of this JVM can
 * name it to the kernel: no thread holds one of its records or has one in its pending slot, and no other
 * operation is reading it (design.md section 5).
 *
 * <h2>Overview</h2>
 *
 * <p>Every handle ({@code MutexFile}, {@code SharedMemory}) of a file counts on its region; handles of one
 * file with one size share a region, so a record has one address and one identity in the JVM. When the last
 * handle closes, the region is <i>closing</i>: its control word says so, and it is unmapped once unreferenced.
 * The difficulty is a thread that has just checked that its handle is open and is about to lock: it holds
 * nothing yet and its pending slot is still empty. The lock therefore stores the pending slot first and then
 * reads the control word ({@code RobustMutexProtocol}); the closing side stores the control word, makes every
 * thread of the process pass a memory barrier ({@link Membarrier}), and only then looks at the pending slots.
 * One of the two sees the other's store: either the locker sees "closing" and backs out without touching the
 * mapping, or the closing side sees the pending slot and waits. Operations that read a record without
 * locking it ({@code snapshot}, binding a mutex) count themselves in {@link #enter()} / {@link #exit()}.
 *
 * <p>A region that is closing but still referenced is tried again when a thread releases one of its records,
 * when such an operation ends, when any region is opened or closed, and when the heads of dead threads are
 * reclaimed. Without {@code membarrier} (a kernel before 4.3, or a seccomp filter) no region is ever unmapped
 * explicitly; they stay mapped until the JVM exits.
 *
 * <p>Records are identified by file, not by address: each mapped file (device and inode) gets a number while
 * any region of it is mapped, and a record's identity is that number and its offset. Two regions of one file
 * (a {@code SharedMemory} mapped with two sizes) then name the same mutex, so a thread that holds it through
 * one holds it through the other.
 */
public final class MappedRegion {

    /** The control word's values. */
    private static final int OPEN = 0;
    private static final int CLOSING = 1;
    private static final int UNMAPPED = 2;
    /**
     * The state (not a control word value) of a region whose control word says closing but whose barrier has
     * not passed yet: a locker that stored its pending slot but has not read the control word may still be
     * invisible, so nothing may unmap it. It stays so for good when the barrier fails.
     */
    private static final int FENCING = 3;

    private static final System.Logger LOG = System.getLogger(MappedRegion.class.getName());

    private static final Object REGISTRY = new Object();
    private static final Map<FileKey, Inode> INODES = new HashMap<>();
    private static final List<MappedRegion> CLOSING_REGIONS = new ArrayList<>();
    private static int nextInodeId = 1;
    private static volatile Membarrier membarrier;

    /** A file's identity: its device and inode. An inode number is not reused while a region maps it. */
    private record FileKey(int deviceMajor, int deviceMinor, long inode) {
    }

    /** The regions of one mapped file, and the number its records' identities carry. */
    private static final class Inode {
        final int id;
        final List<MappedRegion> regions = new ArrayList<>();

        Inode(int id) {
            this.id = id;
        }
    }

    private final LinuxSyscalls sys;
    private final Path path;
    private final FileKey key;
    private final int inodeId;
    private final LinuxFile file;
    private final long address;
    private final int size;
    private final MappedMemory memory;
    private final MappedMemory control;
    private final AtomicInteger borrowers = new AtomicInteger();
    private int handles = 1;
    private volatile boolean opened;
    private volatile int state = OPEN;

    private MappedRegion(LinuxSyscalls sys, LinuxFile file, FileKey key, int inodeId, long address, int size) {
        this.sys = sys;
        this.path = file.path();
        this.key = key;
        this.inodeId = inodeId;
        this.file = file;
        this.address = address;
        this.size = size;
        this.memory = MappedMemory.of(NativeMemory.view(address, size));
        this.control = MappedMemory.of(NativeMemory.allocateAligned(8, 8));
    }

    /**
     * Maps the first {@code size} bytes of an open, checked file, or shares the open region that already maps
     * that file with that size. The region takes over the descriptor (it keeps it open, so that a deletion
     * of the file can be seen through it) or, when shared, closes it.
     *
     * @param sys the binding
     * @param file the open file, read-write
     * @param status its status, from the descriptor
     * @param size the number of bytes to map
     * @return the region, with one handle counted for the caller
     * @throws IOException naming the file when it cannot be mapped
     */
    public static MappedRegion open(LinuxSyscalls sys, LinuxFile file, FileStatus status, int size)
            throws IOException {
        retryClosing();
        FileKey key = new FileKey(status.deviceMajor(), status.deviceMinor(), status.inode());
        synchronized (REGISTRY) {
            Inode inode = INODES.get(key);
            if (inode != null) {
                for (MappedRegion region : inode.regions) {
                    if (region.state == OPEN && region.size == size) {
                        region.handles++;
                        file.close();
                        return region;
                    }
                }
            }
            long address = file.map(size);
            if (inode == null) {
                inode = new Inode(nextInodeId++);
                INODES.put(key, inode);
            }
            MappedRegion region = new MappedRegion(sys, file, key, inode.id, address, size);
            inode.regions.add(region);
            return region;
        }
    }

    /** Counts another handle on this region. */
    public void retain() {
        synchronized (REGISTRY) {
            if (state != OPEN) {
                throw new IllegalStateException(path + " is closing");
            }
            handles++;
        }
    }

    /**
     * Gives back one handle; the last one makes the region close, and it is unmapped as soon as nothing
     * references it (at once, usually).
     */
    public void release() {
        synchronized (REGISTRY) {
            if (--handles > 0 || state != OPEN) {
                return;
            }
            if (membarrier() == null) {
                // Without a process-wide barrier, a locker between its checks could still touch the mapping.
                return;
            }
            control.putIntVolatile(0, CLOSING);
            // Not unmappable yet, by this thread or any other (tryUnmap, retryClosing), until the barrier has
            // made every locker's pending store visible.
            state = FENCING;
        }
        try {
            membarrier().all();
        } catch (RuntimeException | Error failure) {
            LOG.log(System.Logger.Level.WARNING, "{0}: the process-wide memory barrier failed ({1}); the mapping"
                    + " stays until the JVM exits, because a thread about to lock may not be visible yet", path,
                    failure.toString());
            return;
        }
        synchronized (REGISTRY) {
            state = CLOSING;
            CLOSING_REGIONS.add(this);
        }
        tryUnmap();
    }

    /**
     * Whether a handle of this JVM has finished opening this region ({@link #markOpened()}): from then on a
     * thread may hold its records. A handle still opening does not count: it holds nothing yet.
     *
     * @return true when one has
     */
    public boolean openedInThisJvm() {
        return opened;
    }

    /** Records that a handle has finished opening this region: its records may be held from now on. */
    public void markOpened() {
        opened = true;
    }

    /**
     * Counts an operation that reads records without holding or locking one, for the time it reads.
     *
     * @throws IllegalStateException naming the file when the region is closing
     */
    public void enter() {
        borrowers.incrementAndGet();
        if (control.getIntVolatile(0) != OPEN) {
            exit();
            throw new IllegalStateException(path + " is closed");
        }
    }

    /** Ends an operation counted by {@link #enter()}. */
    public void exit() {
        if (borrowers.decrementAndGet() == 0 && state == CLOSING) {
            tryUnmap();
        }
    }

    /**
     * Unmaps the region if it is closing and nothing references it any more.
     *
     * @return true when it was unmapped now
     */
    public boolean tryUnmap() {
        synchronized (REGISTRY) {
            if (state != CLOSING || borrowers.get() != 0 || RobustListHeads.anyThreadReferences(memory)) {
                return false;
            }
            long result = sys.munmap(address, size);
            if (result < 0) {
                LOG.log(System.Logger.Level.WARNING, "{0}: munmap failed: {1}", path, Errno.name((int) -result));
            }
            file.close();
            state = UNMAPPED;
            control.putIntVolatile(0, UNMAPPED);
            CLOSING_REGIONS.remove(this);
            Inode inode = INODES.get(key);
            inode.regions.remove(this);
            if (inode.regions.isEmpty()) {
                INODES.remove(key);
            }
            return true;
        }
    }

    /**
     * Tries again every closing region that something still referenced.
     *
     * @return the number unmapped now
     */
    public static int retryClosing() {
        List<MappedRegion> closing;
        synchronized (REGISTRY) {
            if (CLOSING_REGIONS.isEmpty()) {
                return 0;
            }
            closing = new ArrayList<>(CLOSING_REGIONS);
        }
        int unmapped = 0;
        for (MappedRegion region : closing) {
            if (region.tryUnmap()) {
                unmapped++;
            }
        }
        return unmapped;
    }

    /**
     * The number of regions mapped now, open or closing.
     *
     * @return the count
     */
    public static int mapped() {
        synchronized (REGISTRY) {
            int count = 0;
            for (Inode inode : INODES.values()) {
                count += inode.regions.size();
            }
            return count;
        }
    }

    /**
     * How closed files are released here: {@code "membarrier private-expedited"} or {@code "membarrier global"}
     * (as soon as unreferenced), or {@code "none"} (never explicitly: the kernel offers no membarrier).
     *
     * @return the description
     */
    public static String releaseMode() {
        Membarrier barrier = membarrier();
        return barrier == null ? "none" : "membarrier " + barrier.describe();
    }

    /**
     * Replaces the barrier, for tests.
     *
     * @param barrier the barrier to use from now on
     * @return the one used until now
     */
    static Membarrier useMembarrier(Membarrier barrier) {
        Membarrier previous = membarrier();
        membarrier = barrier;
        return previous;
    }

    private static Membarrier membarrier() {
        Membarrier barrier = membarrier;
        if (barrier == null) {
            barrier = Membarrier.detect(LinuxPlatform.get().syscalls());
            membarrier = barrier;
        }
        return barrier.available() ? barrier : null;
    }

    /** Work done under the file's lock. */
    @FunctionalInterface
    public interface LockedWork<T> {
        /**
         * Does the work.
         *
         * @return its result
         * @throws IOException naming the file
         */
        T run() throws IOException;
    }

    /**
     * Runs work under the file's exclusive lock: {@code flock} on the region's descriptor keeps other
     * processes out, and this region's monitor the other threads of this JVM (who share the descriptor, and
     * with it the lock).
     *
     * @param work the work
     * @param <T> its result type
     * @return its result
     * @throws IOException naming the file
     */
    public <T> T underFileLock(LockedWork<T> work) throws IOException {
        synchronized (this) {
            file.lock();
            try {
                return work.run();
            } finally {
                file.unlock();
            }
        }
    }

    /**
     * The open file behind the region, for reads and writes of the file itself (use it only under
     * {@link #underFileLock} or for reading).
     *
     * @return the file
     */
    public LinuxFile file() {
        return file;
    }

    /**
     * The open descriptor's number, for opening the same file again through {@code /proc/self/fd}.
     *
     * @return the descriptor
     */
    public int fd() {
        return file.fd();
    }

    /**
     * The identity of a record of this file: the same in every region of the file.
     *
     * @param offset the record's offset
     * @return the identity
     */
    public long identity(int offset) {
        return ((long) inodeId << 32) | offset;
    }

    /**
     * The mapped bytes.
     *
     * @return the memory
     */
    public MappedMemory memory() {
        return memory;
    }

    /**
     * The control word (offset 0: 0 while open, non-zero once closing), read by every lock after it stores
     * its pending slot.
     *
     * @return the control memory
     */
    public MappedMemory control() {
        return control;
    }

    /**
     * The file's path, as opened.
     *
     * @return the path
     */
    public Path path() {
        return path;
    }

    /**
     * The mapping's size.
     *
     * @return bytes
     */
    public int size() {
        return size;
    }

    /**
     * Whether the mapped file has lost its last name: another process deleted it while it is mapped here.
     * Processes that open the path from now on get a different file.
     *
     * @return true when the file's link count is 0
     * @throws IOException naming the file when its status cannot be read
     */
    public boolean isUnlinked() throws IOException {
        synchronized (REGISTRY) {
            if (state == UNMAPPED) {
                throw new IllegalStateException(path + " is closed");
            }
            return file.status().links() == 0;
        }
    }

    @Override
    public String toString() {
        return String.format("MappedRegion[%s, 0x%x, %d bytes%s]", path, address, size,
                state == OPEN ? "" : state == UNMAPPED ? ", unmapped" : ", closing");
    }
}
