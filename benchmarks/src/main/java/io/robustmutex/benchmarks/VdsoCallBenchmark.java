package io.robustmutex.benchmarks;

import com.kenai.jffi.Type;
import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.internal.NativeFunction;
import io.robustmutex.internal.NativeMemory;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one vDSO call by address through the binding, with {@code __vdso_getcpu} standing in for the
 * 7.2 try-unlock (same call shape: three pointer/int arguments, an int result, no errno). On a 7.2 kernel
 * the vDSO unlock path adds about this to an uncontended unlock, in place of the classic path's CAS and
 * pending-slot store.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class VdsoCallBenchmark {

    private NativeFunction getcpu;
    private long out;
    private ByteBuffer keep;

    @Setup(Level.Trial)
    public void setUp() {
        LinuxPlatform platform = LinuxPlatform.get();
        String name = platform.architecture().name().equals("aarch64") ? "__kernel_getcpu" : "__vdso_getcpu";
        long address = platform.vdso().functionAddress(name, "LINUX_2.6").orElseThrow(() ->
                new IllegalStateException("this vDSO has no " + name));
        getcpu = new NativeFunction(name, address, Type.SINT32, Type.POINTER, Type.POINTER, Type.POINTER);
        keep = NativeMemory.allocateAligned(16, 8);
        out = NativeMemory.address(keep);
    }

    @Benchmark
    public long vdsoGetcpuByAddress() {
        return getcpu.invoke(out, out + 4, 0);
    }

    @Benchmark
    public int gettidSyscall() {
        return LinuxPlatform.get().syscalls().gettid();
    }
}
