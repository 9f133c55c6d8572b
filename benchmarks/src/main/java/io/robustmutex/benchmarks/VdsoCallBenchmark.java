package io.robustmutex.benchmarks;

import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.internal.FutexOp;
import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.internal.LinuxSyscalls;
import io.robustmutex.internal.NativeAccess;
import io.robustmutex.internal.NativeFunction;
import io.robustmutex.internal.NativeMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of one vDSO call by address through the binding, with {@code __vdso_getcpu} standing in for the
 * 7.2 try-unlock (same call shape: three pointer/int arguments, an int result, no errno), through whichever
 * native access the JVM uses (JNR-FFI's jffi, or a critical foreign function downcall on JDK 22 and later).
 * On a 7.2 kernel the vDSO unlock path adds about this to an uncontended unlock, in place of the classic
 * path's CAS and pending-slot store; {@link #robustPiLockPlusVdsoCall} puts the call beside a PI
 * lock()/unlock() on any kernel, so that the 7.2 path's cost is on the table where the function is absent.
 *
 * <p>And the cost of a syscall through the binding, beside the same syscall from C in the table: {@code gettid}
 * on the library's path (with JNR-FFI on x86-64, its machine-code stub; else the C library's {@code syscall}),
 * through the C library's {@code syscall} with six parameters and errno saved (JNR-FFI's fall-back, through
 * jffi on any JDK), and on the seven-parameter path that every call took before (in JNR-FFI, jffi's generic
 * libffi path); and a {@code FUTEX_WAIT} whose expected value is stale, the error path a contended lock takes
 * ({@code EAGAIN}; docs/performance.md, "Syscalls through the binding").
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
    private Path dir;
    private MutexFile file;
    private RobustMutex pi;
    private LinuxSyscalls syscalls;
    private long gettid;
    private long futexWord;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        LinuxPlatform platform = LinuxPlatform.get();
        String name = platform.architecture().name().equals("aarch64") ? "__kernel_getcpu" : "__vdso_getcpu";
        long address = platform.vdso().functionAddress(name, "LINUX_2.6").orElseThrow(() ->
                new IllegalStateException("this vDSO has no " + name));
        getcpu = NativeFunction.of(name, address, NativeFunction.CType.SINT32, 3);
        keep = NativeMemory.allocateAligned(16, 8);
        out = NativeMemory.address(keep);
        dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                "robust-mutex-vdso-bench");
        file = MutexFile.open(dir.resolve("pi.mutex"), 1, MutexKind.PI);
        pi = file.mutex(0);
        syscalls = platform.syscalls();
        gettid = syscalls.numbers().gettid();
        futexWord = out + 8;
        keep.putInt(8, 5);
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        file.close();
        Files.delete(dir.resolve("pi.mutex"));
        Files.delete(dir);
    }

    @Benchmark
    public long vdsoGetcpuByAddress() {
        return getcpu.invoke(out, out + 4, 0);
    }

    @Benchmark
    public long robustPiLockPlusVdsoCall() {
        pi.lock();
        long cpu = getcpu.invoke(out, out + 4, 0);
        pi.unlock();
        return cpu;
    }

    @Benchmark
    public int gettidSyscall() {
        return LinuxPlatform.get().syscalls().gettid();
    }

    @Benchmark
    public long gettidSevenParameterSyscall() {
        return NativeAccess.current().syscall(gettid, 0, 0, 0, 0, 0, 0);
    }

    @Benchmark
    public long gettidLibcSyscall() {
        return LibcSyscall.call(gettid);
    }

    @Benchmark
    public long futexWaitStaleSyscall() {
        long result = syscalls.futex(futexWord, FutexOp.FUTEX_WAIT, 6, 0, 0, 0);
        if (result != -11) {
            throw new IllegalStateException("FUTEX_WAIT with a stale value returned " + result + ", not -EAGAIN");
        }
        return result;
    }
}
