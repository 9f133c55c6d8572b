package io.robustmutex.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A shared memory object of the model (think of a file in {@code /dev/shm}): bytes that simulated processes
 * map at addresses of their own, either the model's own or those of a buffer the caller supplies (a mapping
 * of a real mutex file, for instance; see {@link KernelModel#wrapSharedObject}). Futex keys of shared
 * mappings are (object, offset), so processes that map one object at different addresses wait and wake on the
 * same words, as with the kernel's shared futexes.
 */
public final class SharedObject {

    private static final AtomicInteger IDS = new AtomicInteger();

    private final String name;
    final ByteBuffer view;
    /** Names the object in record identities: a record is the same mutex through every mapping of it. */
    final int id = IDS.incrementAndGet();

    SharedObject(String name, int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("size=" + size + " (must be > 0)");
        }
        this.name = name;
        this.view = ByteBuffer.wrap(new byte[size]).order(ByteOrder.LITTLE_ENDIAN);
    }

    SharedObject(String name, ByteBuffer buffer) {
        if (buffer.capacity() == 0 || buffer.isReadOnly()) {
            throw new IllegalArgumentException("a shared object needs a writable, non-empty buffer: " + buffer);
        }
        this.name = name;
        this.view = buffer.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * The object's name.
     *
     * @return the name given at creation
     */
    public String name() {
        return name;
    }

    /**
     * The object's size.
     *
     * @return bytes
     */
    public int size() {
        return view.capacity();
    }

    /**
     * A copy of the object's bytes.
     *
     * @return the bytes
     */
    public byte[] snapshot() {
        byte[] copy = new byte[view.capacity()];
        view.get(0, copy);
        return copy;
    }

    @Override
    public String toString() {
        return "SharedObject[" + name + ", " + view.capacity() + " bytes]";
    }
}
