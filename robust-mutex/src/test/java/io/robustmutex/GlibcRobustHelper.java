package io.robustmutex;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.robustmutex.testing.ChildProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.Out;

/**
 * Process-shared robust glibc pthread mutexes in a file (src/test/c/glibc_robust_helper.c), bound through JNR-FFI;
 * every call acts on the calling thread. Mutex {@code i} uses {@code PTHREAD_PRIO_INHERIT} when {@code i} is odd.
 * Each method {@code fooBar} is the C function {@code helper_foo_bar}. The library keeps one mapping per process:
 * {@link #init} or {@link #map} replaces it.
 */
public interface GlibcRobustHelper {

    /** {@code EOWNERDEAD} on x86_64 and aarch64. */
    int EOWNERDEAD = 130;
    /** {@code ETIMEDOUT} on x86_64 and aarch64. */
    int ETIMEDOUT = 110;
    /** The bit the kernel sets in a lock word it releases for a dead owner. */
    int FUTEX_OWNER_DIED = 0x40000000;
    /** The owner's TID in a lock word. */
    int FUTEX_TID_MASK = 0x3fffffff;

    /**
     * Creates (or truncates) the file with {@code n} initialised mutexes and maps it.
     *
     * @param path the file
     * @param n the number of mutexes
     * @return n, or -errno
     */
    int init(String path, int n);

    /**
     * Maps an existing file.
     *
     * @param path the file
     * @return its number of mutexes, or -errno
     */
    int map(String path);

    /**
     * {@code pthread_mutex_lock}; on {@code EOWNERDEAD} the mutex is made consistent before returning.
     *
     * @param i the mutex
     * @return 0, {@link #EOWNERDEAD} or another error number
     */
    int lock(int i);

    /**
     * {@code pthread_mutex_timedlock}; on {@code EOWNERDEAD} the mutex is made consistent before returning.
     *
     * @param i the mutex
     * @param millis the longest wait
     * @return 0, {@link #EOWNERDEAD}, {@link #ETIMEDOUT} or another error number
     */
    int lockTimed(int i, int millis);

    /**
     * The lock word ({@code __data.__lock}): the owner's TID, {@link #FUTEX_OWNER_DIED} once the kernel released
     * it for a dead owner, {@code FUTEX_WAITERS}. Check it before locking a mutex whose owner may have died: when
     * the kernel did not release it, glibc's lock of a PI robust mutex gets {@code ESRCH} and aborts the process.
     *
     * @param i the mutex
     * @return the word
     */
    int word(int i);

    /**
     * {@code pthread_mutex_unlock}.
     *
     * @param i the mutex
     * @return 0 or an error number
     */
    int unlock(int i);

    /**
     * The robust list entry of mutex {@code i}: the address of its {@code __data.__list.__next}.
     *
     * @param i the mutex
     * @return the address
     */
    long entry(int i);

    /**
     * {@code offsetof(__data.__lock) - offsetof(__data.__list.__next)}: what glibc registers as futex_offset.
     *
     * @return the offset
     */
    long futexOffset();

    /**
     * The calling thread's registered robust list head ({@code get_robust_list}).
     *
     * @param len receives the registered length
     * @return the head's address, 0 when none, or -errno
     */
    long head(@Out long[] len);

    /**
     * The entries of the calling thread's registered robust list, from the head, as the kernel would walk them.
     *
     * @param out receives the entry addresses (bit 0 cleared)
     * @param max the capacity of {@code out}
     * @return the number of entries; -1 when the list does not come back to its head within {@code max}; -2 when
     *     no head is registered
     */
    int walk(@Out long[] out, int max);

    /**
     * Checks the back links glibc unlinks its mutexes through: each mutex of the file on the registered list must
     * have in {@code __data.__list.__prev} the entry before it (or the head).
     *
     * @return the first mutex whose back link is wrong, or -1
     */
    int prevMismatch();

    /** Building and loading the helper (JNR-FFI would take static methods of the interface for C functions). */
    final class Binding {

        private Binding() {
        }

        /**
         * Compiles the helper with gcc into {@code target/libglibc_robust_helper.so} (relative to the module).
         *
         * @return the shared library
         * @throws Exception when gcc fails
         */
        public static Path compile() throws Exception {
            Path source = Path.of("src/test/c/glibc_robust_helper.c").toAbsolutePath();
            Path library = Path.of("target/libglibc_robust_helper.so").toAbsolutePath();
            Files.createDirectories(library.getParent());
            try (ChildProcess gcc = ChildProcess.command(List.of("gcc", "-O2", "-Wall", "-Werror", "-shared", "-fPIC",
                    "-o", library.toString(), source.toString()))) {
                assertEquals(0, gcc.waitFor(Duration.ofMinutes(2)), () -> String.join("\n", gcc.errorLines()));
            }
            return library;
        }

        /**
         * Loads the compiled helper.
         *
         * @param library the shared library {@link #compile()} made
         * @return the binding
         */
        public static GlibcRobustHelper load(Path library) {
            return LibraryLoader.create(GlibcRobustHelper.class)
                    .failImmediately()
                    .mapper((name, context) -> "helper_"
                            + name.replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT))
                    .load(library.toString());
        }
    }
}
