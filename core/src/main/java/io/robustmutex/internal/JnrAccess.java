package io.robustmutex.internal;

import com.kenai.jffi.MemoryIO;
import io.robustmutex.internal.libc.LibC;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;

/**
 * {@link NativeAccess} through JNR-FFI: {@code syscall(2)} bound as a Java interface method that saves errno,
 * buffer addresses through jffi's JNI entry points ({@code GetDirectBufferAddress},
 * {@code NewDirectByteBuffer}), and functions by address through jffi's {@code Invoker}.
 */
final class JnrAccess extends NativeAccess {

    private static final MemoryIO MEMORY_IO = MemoryIO.getInstance();

    private final LibC libc;
    private final Runtime runtime;

    /**
     * Binds the C library.
     *
     * @throws UnsatisfiedLinkError when the C library or jffi's native stub cannot be loaded
     */
    JnrAccess() {
        this.libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
        this.runtime = Runtime.getRuntime(libc);
    }

    @Override
    public String name() {
        return "jnr";
    }

    @Override
    public long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
        long result = libc.syscall(number, a1, a2, a3, a4, a5, a6);
        return result == -1 ? -LastError.getLastError(runtime) : result;
    }

    @Override
    public long address(Buffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("buffer is not direct: " + buffer);
        }
        long address = MEMORY_IO.getDirectBufferAddress(buffer);
        if (address == 0) {
            throw new IllegalStateException("no address for direct buffer " + buffer);
        }
        return address;
    }

    @Override
    public ByteBuffer view(long address, int size) {
        if (address == 0 || size < 0) {
            throw new IllegalArgumentException("address=" + address + ", size=" + size);
        }
        return MEMORY_IO.newDirectByteBuffer(address, size).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public NativeFunction function(String name, long address, NativeFunction.CType returnType,
            int parameterCount) {
        return new JnrFunction(name, address, returnType, parameterCount);
    }
}
