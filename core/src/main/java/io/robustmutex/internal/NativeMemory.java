package io.robustmutex.internal;

import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Addresses of direct buffers and buffer views of native memory, through this JVM's {@link NativeAccess}.
 * Nothing here reads or writes memory: all access goes through the returned buffers, which bounds-check
 * every access.
 */
public final class NativeMemory {

    private NativeMemory() {
    }

    /**
     * The address of a direct buffer's first byte (byte 0, whatever its position).
     *
     * @param buffer a direct buffer
     * @return its address
     * @throws IllegalArgumentException if the buffer is not direct
     */
    public static long address(Buffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("buffer is not direct: " + buffer);
        }
        return NativeAccess.current().address(buffer);
    }

    /**
     * A little-endian buffer over native memory the caller knows to be mapped for {@code size} bytes.
     *
     * @param address the first byte
     * @param size the number of bytes
     * @return a direct buffer over that memory
     */
    public static ByteBuffer view(long address, int size) {
        if (address == 0 || size < 0) {
            throw new IllegalArgumentException("address=" + address + ", size=" + size);
        }
        return NativeAccess.current().view(address, size);
    }

    /**
     * A new little-endian direct buffer, aligned to {@code alignment} bytes, that is never freed while it is
     * referenced.
     *
     * @param size the number of bytes
     * @param alignment a power of two
     * @return the aligned buffer
     */
    public static ByteBuffer allocateAligned(int size, int alignment) {
        ByteBuffer raw = ByteBuffer.allocateDirect(size + alignment);
        return raw.alignedSlice(alignment).limit(size).slice().order(ByteOrder.LITTLE_ENDIAN);
    }
}
