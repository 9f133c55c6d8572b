package io.robustmutex.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.robustmutex.internal.Architectures;
import io.robustmutex.internal.KernelProbe;
import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.internal.NativeFunction;
import io.robustmutex.internal.NativeMemory;
import io.robustmutex.internal.Vdso;
import io.robustmutex.spi.PendingSlotWidth;
import java.nio.ByteBuffer;
import java.util.OptionalLong;
import jnr.ffi.LibraryLoader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The live x86_64 vDSO: functions found by parsing the ELF image and called by address give the same answers
 * as the C library and the kernel (kernel-abi.md section 4.4).
 */
class X86_64VdsoTest {

    private static final String VERSION = "LINUX_2.6";
    private static Vdso vdso;

    /** The C functions the checks compare against. */
    public interface TestLibC {
        /**
         * {@code sched_getcpu()}.
         *
         * @return the CPU the calling thread runs on
         */
        int sched_getcpu();

        /**
         * {@code sched_setaffinity(pid, size, mask)}.
         *
         * @param pid 0 for the calling thread
         * @param size the mask size in bytes
         * @param mask the mask address
         * @return 0 or -1
         */
        int sched_setaffinity(int pid, long size, long mask);

        /**
         * {@code sched_getaffinity(pid, size, mask)}.
         *
         * @param pid 0 for the calling thread
         * @param size the mask size in bytes
         * @param mask the mask address
         * @return 0 or -1
         */
        int sched_getaffinity(int pid, long size, long mask);
    }

    @BeforeAll
    static void onX86() {
        assumeTrue(Architectures.normalize(System.getProperty("os.arch")).equals("x86_64"),
                "needs an x86_64 machine: these are the x86_64 vDSO's symbols");
        vdso = Vdso.current(62);
        assertTrue(vdso.isPresent(), () -> vdso.problem().orElse(""));
    }

    /** clock_gettime(CLOCK_MONOTONIC) by address lies between two System.nanoTime() readings. */
    @Test
    void clockGettimeByAddressAgreesWithTheJdk() {
        OptionalLong address = vdso.functionAddress("__vdso_clock_gettime", VERSION);
        assertTrue(address.isPresent());
        NativeFunction clockGettime = NativeFunction.of("__vdso_clock_gettime", address.getAsLong(),
                NativeFunction.CType.SINT32, 2);
        ByteBuffer timespec = NativeMemory.allocateAligned(16, 16);
        for (int i = 0; i < 100; i++) {
            long before = System.nanoTime();
            assertEquals(0, clockGettime.invoke(1 /* CLOCK_MONOTONIC */, NativeMemory.address(timespec)));
            long after = System.nanoTime();
            long vdsoNanos = timespec.getLong(0) * 1_000_000_000L + timespec.getLong(8);
            assertTrue(before <= vdsoNanos && vdsoNanos <= after, before + " <= " + vdsoNanos + " <= " + after);
        }
    }

    /** getcpu by address names the CPU the thread is pinned to, as sched_getcpu does. */
    @Test
    void getcpuByAddressAgreesWithTheCLibrary() {
        OptionalLong address = vdso.functionAddress("__vdso_getcpu", VERSION);
        assertTrue(address.isPresent());
        NativeFunction getcpu = NativeFunction.of("__vdso_getcpu", address.getAsLong(),
                NativeFunction.CType.SINT32, 3);
        TestLibC libc = LibraryLoader.create(TestLibC.class).load("c");
        ByteBuffer original = NativeMemory.allocateAligned(128, 8);
        ByteBuffer mask = NativeMemory.allocateAligned(128, 8);
        ByteBuffer out = NativeMemory.allocateAligned(16, 8);
        assertEquals(0, libc.sched_getaffinity(0, 128, NativeMemory.address(original)));
        int cpus = Runtime.getRuntime().availableProcessors();
        try {
            for (int cpu = 0; cpu < Math.min(cpus, 64); cpu++) {
                if ((original.getLong(0) & (1L << cpu)) == 0) {
                    continue;
                }
                mask.putLong(0, 1L << cpu);
                assertEquals(0, libc.sched_setaffinity(0, 128, NativeMemory.address(mask)));
                assertEquals(0, getcpu.invoke(NativeMemory.address(out), NativeMemory.address(out) + 4, 0));
                assertEquals(cpu, out.getInt(0), "vDSO getcpu on CPU " + cpu);
                assertEquals(cpu, libc.sched_getcpu(), "sched_getcpu on CPU " + cpu);
            }
        } finally {
            libc.sched_setaffinity(0, 128, NativeMemory.address(original));
        }
    }

    /**
     * The robust try-unlock is present exactly when the kernel supports FUTEX_ROBUST_UNLOCK (its presence
     * implies the flag, kernel-abi.md section 4.4). On this project's 6.18 machine both are absent.
     */
    @Test
    void robustTryUnlockPresenceMatchesTheSyscallFlag() {
        var symbols = new X86_64Architecture().vdsoRobustUnlockSymbols().orElseThrow();
        boolean present = vdso.functionAddress(symbols.symbol(PendingSlotWidth.BITS_64), symbols.version())
                .isPresent();
        boolean flag = KernelProbe.futexRobustUnlock(LinuxPlatform.get().syscalls()).supported();
        assertEquals(flag, present, "vDSO try-unlock present=" + present + ", FUTEX_ROBUST_UNLOCK=" + flag);
        assertEquals(present, LinuxPlatform.get().vdsoTryUnlock().isPresent());
    }
}
