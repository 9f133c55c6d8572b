package io.robustmutex.internal;

import com.kenai.jffi.CallContext;
import com.kenai.jffi.CallingConvention;
import com.kenai.jffi.Invoker;
import com.kenai.jffi.MemoryIO;
import com.kenai.jffi.Type;
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
 *
 * <p>{@link #syscall5} makes the syscall through a {@link SyscallStub} on x86-64, called through jffi's
 * {@code Invoker} with six 64-bit parameters and no errno saved: jffi's JNI entry point for six integer
 * parameters calls the function pointer directly, as C would, and the stub returns {@code -errno} itself.
 * Where the stub cannot be made (another architecture, or a policy that forbids executable memory) it
 * calls the C library's {@code syscall} the same way, with a call context that saves errno. The interface
 * method, with its seven parameters, goes through jffi's generic path instead: a byte array per call copied
 * through JNI, and libffi classifying every argument before the call, which costs more than the kernel entry
 * itself (docs/performance.md, "Syscalls through the binding"). It remains for the calls that read a sixth
 * argument ({@code mmap}'s offset, {@code val3} of some futex operations).
 */
final class JnrAccess extends NativeAccess {

    private static final MemoryIO MEMORY_IO = MemoryIO.getInstance();
    private static final Invoker INVOKER = Invoker.getInstance();
    private static final com.kenai.jffi.LastError LAST_ERROR = com.kenai.jffi.LastError.getInstance();

    /** {@code long (long, long, long, long, long, long)}, errno saved by jffi after the call. */
    private static final CallContext SIX_LONGS = CallContext.getCallContext(Type.SINT64,
            new Type[] {Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64, Type.SINT64},
            CallingConvention.DEFAULT, true);

    private final LibC libc;
    private final Runtime runtime;
    private final long syscallAddress;
    private final SyscallStub stub;
    private final String syscallPath;

    /**
     * Binds the C library.
     *
     * @throws UnsatisfiedLinkError when the C library or jffi's native stub cannot be loaded
     */
    JnrAccess() {
        this.libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
        this.runtime = Runtime.getRuntime(libc);
        // The JVM's own C library, in the process's global scope: the one the interface binding found too.
        this.syscallAddress = com.kenai.jffi.Library.getDefault().getSymbolAddress("syscall");
        if (syscallAddress == 0) {
            throw new UnsatisfiedLinkError("the C library has no syscall function: "
                    + com.kenai.jffi.Library.getLastError());
        }
        String arch = System.getProperty("os.arch", "");
        if (SyscallStub.applies(arch)) {
            SyscallStub.Outcome outcome = SyscallStub.create(
                    (number, address, length, protection) -> libcSyscall5(number, address, length, protection, 0, 0));
            this.stub = outcome.stub();
            this.syscallPath = stub != null ? "stub" : "libc (" + outcome.reason() + ")";
            if (stub == null) {
                System.getLogger(NativeAccess.class.getName()).log(System.Logger.Level.INFO,
                        "syscalls go through the C library: {0}", outcome.reason());
            }
        } else {
            this.stub = null;
            this.syscallPath = "libc (no stub on " + arch + ")";
        }
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
    public long syscall5(long number, long a1, long a2, long a3, long a4, long a5) {
        SyscallStub raw = stub;
        return raw != null ? raw.call(number, a1, a2, a3, a4, a5) : libcSyscall5(number, a1, a2, a3, a4, a5);
    }

    private long libcSyscall5(long number, long a1, long a2, long a3, long a4, long a5) {
        long result = INVOKER.invokeL6(SIX_LONGS, syscallAddress, number, a1, a2, a3, a4, a5);
        return result == -1 ? -LAST_ERROR.get() : result;
    }

    @Override
    public String syscallPath() {
        return syscallPath;
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
