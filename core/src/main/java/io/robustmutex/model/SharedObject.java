package io.robustmutex.model;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A shared memory object of the model (think of a file in {@code /dev/shm}): bytes that simulated processes
 * map at addresses of their own. Futex keys of shared mappings are (object, offset), so processes that map
 * one object at different addresses wait and wake on the same words, as with the kernel's shared futexes.
 */
public final class SharedObject {

    private final String name;
    private final byte[] bytes;
    final ByteBuffer view;

    SharedObject(String name, int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("size=" + size + " (must be > 0)");
        }
        this.name = name;
        this.bytes = new byte[size];
        this.view = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
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
        return bytes.length;
    }

    /**
     * A copy of the object's bytes.
     *
     * @return the bytes
     */
    public byte[] snapshot() {
        return Arrays.copyOf(bytes, bytes.length);
    }

    @Override
    public String toString() {
        return "SharedObject[" + name + ", " + bytes.length + " bytes]";
    }
}
