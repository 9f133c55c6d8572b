package io.robustmutex.model;

import java.util.HashMap;
import java.util.Map;

/**
 * A PID namespace of the model: the numbering in which its processes' threads get their TIDs. A thread's TID
 * is the number {@code gettid} returns inside its namespace, the number it writes into a futex word, and the
 * number the kernel compares with a word when the thread dies (kernel-abi.md section 5). Namespaces here are
 * siblings (two containers, say): each numbers its threads from the same first TID, so threads of two
 * namespaces can carry equal TIDs, and a thread of one is invisible by TID from the other.
 *
 * <p>A TID is free again once its thread is dead; {@link ModelProcess#newThread(String, int)} can give it to a
 * new thread, to model TID reuse.
 */
public final class ModelPidNamespace {

    /** The first TID of every namespace. */
    static final int FIRST_TID = 1000;

    private final long id;
    private int nextTid = FIRST_TID;
    /** The thread that last had each TID, alive or dead. */
    private final Map<Integer, ModelThread> byTid = new HashMap<>();

    ModelPidNamespace(long id) {
        this.id = id;
    }

    /**
     * The namespace's identity, as the inode number of {@code /proc/self/ns/pid} identifies a real one.
     *
     * @return the identity
     */
    public long id() {
        return id;
    }

    /** The next never-used TID. Called with the model lock held. */
    int allocate() {
        while (byTid.containsKey(nextTid)) {
            nextTid++;
        }
        return nextTid++;
    }

    /** Records that a thread now has a TID. Called with the model lock held. */
    void bind(ModelThread thread) {
        ModelThread previous = byTid.get(thread.tid);
        if (previous != null && previous.state != ModelThread.State.DEAD) {
            throw new IllegalArgumentException("tid " + thread.tid + " belongs to the live thread " + previous
                    + " in PID namespace " + id);
        }
        byTid.put(thread.tid, thread);
    }

    /**
     * The live thread with a TID in this namespace, as the kernel's lookup of a TID finds it.
     *
     * @param tid a TID
     * @return the thread, or null when no live thread has it here
     */
    ModelThread live(int tid) {
        ModelThread thread = byTid.get(tid);
        return thread == null || thread.state == ModelThread.State.DEAD ? null : thread;
    }

    /**
     * The thread that last had a TID here, alive or dead.
     *
     * @param tid a TID
     * @return the thread, or null
     */
    ModelThread last(int tid) {
        return byTid.get(tid);
    }

    @Override
    public String toString() {
        return "pid:[" + id + "]";
    }
}
