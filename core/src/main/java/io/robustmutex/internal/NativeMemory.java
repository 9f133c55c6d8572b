package io.robustmutex.internal;

import com.kenai.jffi.MemoryIO;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Addresses of direct buffers and buffer views of native memory, through jffi's JNI entry points
 * ({@code GetDirectBufferAddress}, {@code NewDirectByteBuffer}). Nothing here reads or writes memory: all
 * access goes through the returned buffers, which bounds-check every access.
 */
public final class NativeMemory {

    private static final MemoryIO MEMORY_IO = MemoryIO.getInstance();

    private NativeMemory() {
    }

    /**
     * The address of a direct buffer's first byte.
     *
     * @param buffer a direct buffer
     * @return its address
     * @throws IllegalArgumentException if the buffer is not direct
     */
    public static long address(Buffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("buffer is not direct: " + buffer);
        }
        long address = MEMORY_IO.getDirectBufferAddress(buffer);
        if (address == 0) {
            throw new IllegalStateException("no address for direct buffer " + buffer);
        }
        return address;
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
        return MEMORY_IO.newDirectByteBuffer(address, size).order(ByteOrder.LITTLE_ENDIAN);
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
