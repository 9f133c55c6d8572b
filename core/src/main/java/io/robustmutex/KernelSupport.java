package io.robustmutex;

import io.robustmutex.internal.Architectures;
import io.robustmutex.internal.LinuxBackend;
import io.robustmutex.internal.LinuxKernel;
import io.robustmutex.internal.LinuxPlatform;
import io.robustmutex.internal.MappedMemory;
import io.robustmutex.internal.NativeAccess;
import io.robustmutex.internal.MappedRegion;
import java.util.Optional;

/**
 * Whether robust mutexes work in this JVM, and what the kernel offers them.
 *
 * <p>Detection runs once, on first use, by exercising the real calls ({@code gettid},
 * {@code get_robust_list}, {@code futex}) and the side-effect-free probes of the 7.2 robust unlock
 * (kernel-abi.md section 4.4). It fails, with a cause, when the OS is not Linux, no architecture module
 * serves {@code os.arch}, or a seccomp filter refuses the syscalls. The reference model
 * ({@code io.robustmutex.model}) works regardless.
 */
public final class KernelSupport {

    private KernelSupport() {
    }

    /**
     * The normalized name of this JVM's architecture ({@code x86_64}, {@code aarch64}, or the lower-cased
     * {@code os.arch} of an unsupported one), whether or not robust mutexes are usable.
     *
     * @return the architecture name
     */
    public static String architecture() {
        return Architectures.normalize(System.getProperty("os.arch"));
    }

    /**
     * Whether robust mutexes on the real kernel are usable.
     *
     * @return true when {@link #unavailabilityCause()} is empty
     */
    public static boolean isAvailable() {
        return LinuxPlatform.unavailabilityCause().isEmpty();
    }

    /**
     * Throws the reason robust mutexes are not usable, if any.
     *
     * @throws UnsupportedOperationException carrying the cause when they are not usable
     */
    public static void ensureAvailability() {
        LinuxPlatform.get();
    }

    /**
     * Why robust mutexes are not usable.
     *
     * @return the cause, or empty when they are usable
     */
    public static Optional<Throwable> unavailabilityCause() {
        return LinuxPlatform.unavailabilityCause();
    }

    /**
     * What the kernel offers and the unlock path in use.
     *
     * @return the capabilities
     * @throws UnsupportedOperationException when robust mutexes are not usable
     */
    public static KernelCapabilities capabilities() {
        return LinuxPlatform.get().capabilities();
    }

    /**
     * The robust list head the kernel has registered for the calling thread: glibc's, which the library joins
     * when the thread takes its first robust mutex, or this library's own where it cannot join
     * ({@link #robustList()}).
     *
     * @return the registered head
     * @throws UnsupportedOperationException when robust mutexes are not usable
     */
    public static RegisteredRobustList currentThreadRobustList() {
        return LinuxPlatform.get().currentThreadRobustList();
    }

    /**
     * Which robust list the calling thread's mutexes go on, or would go on at its first lock:
     * {@code "joined glibc"} when it links them into the head the C library registered for it, shared with
     * the native code of the thread, so that glibc's robust mutexes it holds are still released when it dies;
     * or {@code "own (why)"} when the library registers a head of its own, which unregisters the C library's:
     * where none is registered (a C library that registers lazily), where its layout differs, or when the system
     * property {@code io.robustmutex.robustList=own} asks for it.
     *
     * @return {@code "joined glibc"} or {@code "own (...)"}
     * @throws UnsupportedOperationException when robust mutexes are not usable
     */
    public static String robustList() {
        return ((LinuxKernel) LinuxBackend.protocol().kernel()).headChoice(LinuxPlatform.get().syscalls())
                .describe();
    }

    /**
     * How this JVM reads and writes shared memory: {@code "segment"} (by address through the foreign memory
     * API's {@code MemorySegment}: the default on JDK 22 and later, from the multi-release jar),
     * {@code "unsafe"} (by address through {@code sun.misc.Unsafe}: the default on JDK 17 to 21) or
     * {@code "varhandle"} (through {@code ByteBuffer} {@code VarHandle}s, which check bounds on every access and
     * cost about twice as much per lock+unlock). The system property {@code io.robustmutex.memoryAccess}
     * overrides the choice.
     *
     * @return {@code "segment"}, {@code "unsafe"} or {@code "varhandle"}
     */
    public static String memoryAccess() {
        return MappedMemory.ACCESS;
    }

    /**
     * How this JVM calls the kernel and the vDSO: {@code "ffm"} (the foreign function API: the default on JDK
     * 22 and later, from the multi-release jar; needs {@code --enable-native-access} for the library's module,
     * or {@code ALL-UNNAMED} on the class path) or {@code "jnr"} (JNR-FFI and its jffi JNI stub: JDK 17 to
     * 21). The system property {@code io.robustmutex.nativeAccess} overrides the choice on JDK 22 and later.
     *
     * @return {@code "ffm"} or {@code "jnr"}
     */
    public static String nativeAccess() {
        return NativeAccess.chosen();
    }

    /**
     * How this JVM makes the syscalls of the contended path and of the 7.2 syscall unlock: {@code "stub"}
     * (JNR-FFI on x86-64: the syscall instruction in a page of the library's own, with no C library in
     * between) or {@code "libc"} (the C library's {@code syscall}: the foreign function API, or JNR-FFI where
     * no stub could be made, for example where a policy forbids making memory executable). Where a stub was
     * tried and could not be made, the reason follows in parentheses.
     *
     * @return {@code "stub"}, or {@code "libc"} possibly followed by a reason
     * @throws UnsupportedOperationException when native code cannot be reached
     */
    public static String syscallPath() {
        return NativeAccess.current().syscallPath();
    }

    /**
     * Whether the JVM lets the library's module call native code without a warning: always on JDK 17 to 21;
     * on JDK 22 and later, when it runs with {@code --enable-native-access} naming the module (or
     * {@code ALL-UNNAMED} on the class path), or from a jar whose manifest says
     * {@code Enable-Native-Access: ALL-UNNAMED}. Without it the JVM prints a warning on the first native call,
     * and a JVM run with {@code --illegal-native-access=deny} refuses the call.
     *
     * @return whether native access is enabled for the library
     */
    public static boolean nativeAccessEnabled() {
        return NativeAccess.enabled();
    }

    /**
     * How the library releases the mapping of a file whose last handle was closed: {@code "on close"} (as soon
     * as no thread holds or names one of its mutexes; the kernel's {@code membarrier} makes that safe) or
     * {@code "at exit"} (the kernel offers no {@code membarrier}: closed files stay mapped until the JVM exits).
     *
     * @return {@code "on close (membarrier ...)"} or {@code "at exit (no membarrier)"}
     * @throws UnsupportedOperationException when robust mutexes cannot work in this JVM
     */
    public static String mappingRelease() {
        LinuxPlatform.get();
        String mode = MappedRegion.releaseMode();
        return mode.equals("none") ? "at exit (no membarrier)" : "on close (" + mode + ")";
    }
}
