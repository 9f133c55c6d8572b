package io.robustmutex.benchmarks;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
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
 * Uncontended lock+unlock, one thread: RobustMutex (both kinds, both styles) against ReentrantLock,
 * FileChannel.lock and a CAS spin lock on the same kind of mapping.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class UncontendedBenchmark {

    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private Path dir;
    private MutexFile piFile;
    private MutexFile normalFile;
    private RobustMutex pi;
    private RobustMutex normal;
    private final ReentrantLock reentrantLock = new ReentrantLock();
    private FileChannel channel;
    private SharedMemory region;
    private ByteBuffer spinWord;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory(Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp"),
                "robust-mutex-bench");
        piFile = MutexFile.open(dir.resolve("pi.mutex"), 1, MutexKind.PI);
        normalFile = MutexFile.open(dir.resolve("normal.mutex"), 1, MutexKind.NORMAL);
        pi = piFile.mutex(0);
        normal = normalFile.mutex(0);
        channel = FileChannel.open(dir.resolve("coordination.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
        region = SharedMemory.map(dir.resolve("spin"), 4096);
        spinWord = region.buffer();
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        channel.close();
        piFile.close();
        normalFile.close();
        region.close();
        try (var files = Files.list(dir)) {
            for (Path file : (Iterable<Path>) files::iterator) {
                Files.delete(file);
            }
        }
        Files.delete(dir);
    }

    @Benchmark
    public long robustPiAcquire() {
        try (Acquisition held = pi.acquire()) {
            return held.fencingToken();
        }
    }

    @Benchmark
    public void robustPiLock() {
        pi.lock();
        pi.unlock();
    }

    @Benchmark
    public long robustNormalAcquire() {
        try (Acquisition held = normal.acquire()) {
            return held.fencingToken();
        }
    }

    @Benchmark
    public void robustNormalLock() {
        normal.lock();
        normal.unlock();
    }

    @Benchmark
    public void reentrantLock() {
        reentrantLock.lock();
        reentrantLock.unlock();
    }

    @Benchmark
    public void fileChannelLock() throws IOException {
        FileLock lock = channel.lock();
        lock.release();
    }

    /** A CAS spin lock on a word of a mapped file: no robustness, no blocking; the floor for Java. */
    @Benchmark
    public void casSpinLock() {
        while (!INT.compareAndSet(spinWord, 0, 0, 1)) {
            Thread.onSpinWait();
        }
        INT.setRelease(spinWord, 0, 0);
    }
}
