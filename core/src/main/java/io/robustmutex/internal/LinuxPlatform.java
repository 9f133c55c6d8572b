package io.robustmutex.internal;

import io.robustmutex.KernelCapabilities;
import io.robustmutex.RegisteredRobustList;
import io.robustmutex.UnlockPath;
import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.PendingSlotWidth;
import io.robustmutex.spi.VdsoRobustUnlockSymbols;
import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The Linux kernel as this JVM finds it: the architecture module, the syscall binding, the vDSO, and the
 * capabilities, detected once by exercising the real calls (as Netty's {@code Epoll} does).
 *
 * <p>{@link #get()} throws the cause when the library cannot work here (not Linux, no architecture module,
 * syscalls refused by a seccomp filter); {@link #unavailabilityCause()} returns it without throwing.
 */
public final class LinuxPlatform {

    private final Architecture architecture;
    private final LinuxSyscalls syscalls;
    private final Vdso vdso;
    private final NativeFunction vdsoTryUnlock;
    private final KernelCapabilities capabilities;

    private LinuxPlatform(Architecture architecture, LinuxSyscalls syscalls, Vdso vdso, NativeFunction vdsoTryUnlock,
            KernelCapabilities capabilities) {
        this.architecture = architecture;
        this.syscalls = syscalls;
        this.vdso = vdso;
        this.vdsoTryUnlock = vdsoTryUnlock;
        this.capabilities = capabilities;
    }

    /** Initialization on first use; holds the platform or the reason there is none. */
    private static final class Holder {
        static final LinuxPlatform PLATFORM;
        static final Throwable CAUSE;

        static {
            LinuxPlatform platform = null;
            Throwable cause = null;
            try {
                platform = detect();
            } catch (Throwable t) {
                cause = t;
            }
            PLATFORM = platform;
            CAUSE = cause;
        }
    }

    /**
     * The platform.
     *
     * @return the platform
     * @throws UnsupportedOperationException carrying the cause when the library cannot work here
     */
    public static LinuxPlatform get() {
        if (Holder.PLATFORM == null) {
            throw new UnsupportedOperationException("robust-mutex is not available: " + Holder.CAUSE.getMessage(),
                    Holder.CAUSE);
        }
        return Holder.PLATFORM;
    }

    /**
     * Why the platform is not available.
     *
     * @return the cause, or empty when available
     */
    public static Optional<Throwable> unavailabilityCause() {
        return Optional.ofNullable(Holder.CAUSE);
    }

    private static LinuxPlatform detect() {
        String os = System.getProperty("os.name", "");
        if (!os.toLowerCase(Locale.ROOT).startsWith("linux")) {
            throw new UnsupportedOperationException("robust futexes need Linux; os.name=" + os
                    + " (the reference model in io.robustmutex.model works everywhere)");
        }
        Architecture architecture = Architectures.current();
        LinuxSyscalls syscalls = LinuxSyscalls.load(architecture);
        exerciseBasicCalls(syscalls);

        Vdso vdso = Vdso.current(architecture.elfMachine());
        Optional<VdsoRobustUnlockSymbols> symbols = architecture.vdsoRobustUnlockSymbols();
        NativeFunction tryUnlock = null;
        String vdsoDetail;
        if (symbols.isEmpty()) {
            vdsoDetail = "no vDSO robust unlock is merged upstream for " + architecture.name();
        } else {
            String name = symbols.get().symbol(PendingSlotWidth.BITS_64);
            OptionalLong address = vdso.functionAddress(name, symbols.get().version());
            if (address.isPresent()) {
                // u32 try_unlock(u32 *lock, u32 tid, u64 *pop), kernel-abi.md section 4.2.
                tryUnlock = NativeFunction.of(name, address.getAsLong(), NativeFunction.CType.UINT32, 3);
                vdsoDetail = null;
            } else {
                vdsoDetail = vdso.problem().orElse("the vDSO does not export " + name + "@" + symbols.get().version());
            }
        }
        boolean robustUnlock = KernelProbe.futexRobustUnlock(syscalls).supported();
        boolean lockPi2 = KernelProbe.futexLockPi2(syscalls).supported();
        UnlockPath best = KernelProbe.best(tryUnlock != null, robustUnlock);
        UnlockPath path = KernelProbe.choose(best, System.getProperty(UnlockPath.PROPERTY));
        KernelCapabilities capabilities = new KernelCapabilities(architecture.name(),
                System.getProperty("os.version", "unknown"), tryUnlock != null, Optional.ofNullable(vdsoDetail),
                robustUnlock, lockPi2, best, path);
        return new LinuxPlatform(architecture, syscalls, vdso, tryUnlock, capabilities);
    }

    /**
     * Makes the calls every mutex needs once, so that a seccomp filter or a broken binding is reported here
     * rather than at the first lock.
     */
    private static void exerciseBasicCalls(LinuxSyscalls syscalls) {
        int tid = syscalls.gettid();
        if (tid <= 0) {
            throw Errno.exception("gettid", -tid);
        }
        long[] head = new long[2];
        Errno.check("get_robust_list", syscalls.getRobustList(0, head));
        ByteBuffer word = NativeMemory.allocateAligned(8, 8);
        Errno.check("futex(FUTEX_WAKE)", syscalls.futex(NativeMemory.address(word), FutexOp.FUTEX_WAKE, 1, 0, 0, 0));
    }

    /**
     * The architecture module in use.
     *
     * @return the architecture
     */
    public Architecture architecture() {
        return architecture;
    }

    /**
     * The syscall binding.
     *
     * @return the binding
     */
    public LinuxSyscalls syscalls() {
        return syscalls;
    }

    /**
     * This process's vDSO.
     *
     * @return the vDSO
     */
    public Vdso vdso() {
        return vdso;
    }

    /**
     * The vDSO robust try-unlock for a 64-bit pending slot.
     *
     * @return the function, or empty when the kernel does not export it
     */
    public Optional<NativeFunction> vdsoTryUnlock() {
        return Optional.ofNullable(vdsoTryUnlock);
    }

    /**
     * What the kernel offers.
     *
     * @return the capabilities
     */
    public KernelCapabilities capabilities() {
        return capabilities;
    }

    /**
     * The robust list head registered for the calling thread.
     *
     * @return the head, its owner and its {@code futex_offset}
     */
    public RegisteredRobustList currentThreadRobustList() {
        long[] out = new long[2];
        Errno.check("get_robust_list", syscalls.getRobustList(0, out));
        long address = out[0];
        if (address == 0) {
            return new RegisteredRobustList(RegisteredRobustList.Owner.NONE, 0, 0);
        }
        long futexOffset = NativeMemory.view(address, RobustListHeadDescriptor.SIZE)
                .getLong(RobustListHeadDescriptor.FUTEX_OFFSET_OFFSET);
        RegisteredRobustList.Owner owner = RobustListHeads.isOwn(address)
                ? RegisteredRobustList.Owner.OWN : RegisteredRobustList.Owner.GLIBC;
        return new RegisteredRobustList(owner, address, futexOffset);
    }
}
