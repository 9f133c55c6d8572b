package io.robustmutex.examples;

import io.robustmutex.KernelCapabilities;
import io.robustmutex.KernelSupport;
import io.robustmutex.LibraryVersion;
import io.robustmutex.RegisteredRobustList;
import io.robustmutex.UnlockPath;
import java.io.PrintStream;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * {@code doctor}: what this machine offers robust mutexes, one {@code key: value} per line, and what it means.
 * Exits 0 when the library is usable here.
 */
final class DoctorCommand implements RobustMutexTool.Command {

    @Override
    public String summary() {
        return "report the kernel's robust-futex features and the unlock path in use";
    }

    @Override
    public String help() {
        return """
                Prints one "key: value" line per fact: the library's version, the architecture, kernel and JVM, the
                library properties set (-Dio.robustmutex.*), whether robust mutexes work in this JVM (and if not,
                why), the kernel's robust-futex features (vDSO try-unlock, FUTEX_ROBUST_UNLOCK, FUTEX_LOCK_PI2), the
                robust list head and whether the library joins it (robust_list), the unlock path in use, the
                memory access in use, how closed files are unmapped, and a last "meaning:" line that says what this
                means for your mutexes.

                Takes no arguments. Exit status: 0 when the library is usable here, 1 otherwise.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) {
        Arguments.parse(args).noPositional();
        out.println("version: " + LibraryVersion.current());
        out.println("arch: " + KernelSupport.architecture());
        out.println("kernel: " + System.getProperty("os.version"));
        out.println("java: " + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        Map<String, String> properties = LibraryProperties.set();
        out.println("properties: " + (properties.isEmpty() ? "none" : properties.entrySet().stream()
                .map(e -> "-D" + e.getKey() + "=" + e.getValue()).collect(Collectors.joining(" "))));
        if (!KernelSupport.isAvailable()) {
            Throwable cause = KernelSupport.unavailabilityCause().orElseThrow();
            out.println("available: no");
            out.println("cause: " + cause.getMessage());
            out.println("meaning: robust mutexes on the real kernel cannot be used in this JVM; the reference model"
                    + " (io.robustmutex.model) still works.");
            return 1;
        }
        KernelCapabilities caps = KernelSupport.capabilities();
        RegisteredRobustList head = KernelSupport.currentThreadRobustList();
        out.println("available: yes");
        out.println("vdso_try_unlock: " + (caps.vdsoTryUnlock() ? "present" : "absent"));
        caps.vdsoDetail().ifPresent(detail -> out.println("vdso_detail: " + detail));
        out.println("futex_robust_unlock: " + (caps.futexRobustUnlock() ? "supported" : "unsupported"));
        out.println("futex_lock_pi2: " + (caps.futexLockPi2() ? "supported" : "unsupported"));
        out.println("robust_list_head: " + head.describe());
        out.println("robust_list: " + KernelSupport.robustList());
        out.println("best_unlock_path: " + caps.bestUnlockPath().id());
        out.println("unlock_path: " + caps.unlockPath().id());
        out.println("native_access: " + KernelSupport.nativeAccess() + nativeAccessHint());
        out.println("syscalls: " + KernelSupport.syscallPath());
        out.println("memory_access: " + KernelSupport.memoryAccess() + memoryAccessHint());
        out.println("mapping_release: " + KernelSupport.mappingRelease());
        out.println("meaning: " + meaning(caps));
        return 0;
    }

    /**
     * On JDK 24 and later with VarHandles chosen by default (memory segments unusable), says how to go faster;
     * not when the property asked for VarHandles.
     */
    private static String memoryAccessHint() {
        return KernelSupport.memoryAccess().equals("varhandle") && Runtime.version().feature() >= 24
                && System.getProperty(LibraryProperties.PREFIX + "memoryAccess") == null
                ? " (run the JVM with --sun-misc-unsafe-memory-access=allow for unsafe, about twice as fast)" : "";
    }

    /** With the foreign function API, whether the JVM lets the library's module use it without a warning. */
    private static String nativeAccessHint() {
        if (!KernelSupport.nativeAccess().equals("ffm")) {
            return "";
        }
        return KernelSupport.nativeAccessEnabled() ? " (native access enabled)"
                : " (native access not enabled: the JVM warns once; run it with --enable-native-access="
                        + (KernelSupport.class.getModule().isNamed() ? "io.robustmutex" : "ALL-UNNAMED") + ")";
    }

    private static String meaning(KernelCapabilities caps) {
        String forced = caps.unlockPath() != caps.bestUnlockPath()
                ? " (forced down from " + caps.bestUnlockPath().id() + " by -D" + UnlockPath.PROPERTY + ")" : "";
        return switch (caps.unlockPath()) {
            case VDSO -> "robust mutexes are released by the kernel's vDSO try-unlock" + forced
                    + ", so a holder killed mid-unlock can never make the kernel write into memory that was"
                    + " unmapped and reused; uncontended unlocks make no syscall.";
            case SYSCALL -> "robust mutexes are released with futex(FUTEX_ROBUST_UNLOCK)" + forced
                    + ", which is race-free against unmapping but costs one syscall per unlock.";
            case CLASSIC -> "this kernel has no race-free robust unlock, so the library uses the classic unlock"
                    + forced + " and closes the unmap race only for memory it maps itself (MutexFile,"
                    + " SharedMemory), by never unmapping while a thread may still name it to the kernel.";
        };
    }
}
