package io.robustmutex.internal;

/**
 * Whether a handle (a mutex file, a shared-memory region, a model) is still open. Closing never unmaps:
 * memory stays mapped for as long as anything references it (design.md section 5).
 */
public final class OpenFlag {

    private final String name;
    private volatile boolean closed;

    /**
     * Creates an open flag.
     *
     * @param name the handle's name for messages, e.g. the file path
     */
    public OpenFlag(String name) {
        this.name = name;
    }

    /**
     * Throws when closed.
     *
     * @throws IllegalStateException naming the handle
     */
    public void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(name + " is closed");
        }
    }

    /**
     * Whether closed.
     *
     * @return true after {@link #close()}
     */
    public boolean isClosed() {
        return closed;
    }

    /** Marks the handle closed. */
    public void close() {
        closed = true;
    }

    /**
     * Marks a handle of mapped memory closed, unless a live thread of this JVM holds a mutex in it.
     *
     * @param memory the handle's memory
     * @return true when this call closed it (false when it was closed already)
     * @throws IllegalStateException naming the handle when a mutex in it is held
     */
    public synchronized boolean closeUnlessHeld(AtomicMemory memory) {
        if (closed) {
            return false;
        }
        if (RobustListHeads.anyLiveThreadHolds(memory)) {
            throw new IllegalStateException(name + ": a thread of this JVM holds one of its mutexes; release it"
                    + " before closing");
        }
        closed = true;
        return true;
    }

    /**
     * The handle's name.
     *
     * @return the name
     */
    public String name() {
        return name;
    }
}
