package io.robustmutex.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.robustmutex.internal.Architectures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/**
 * What every architecture module must satisfy. Each module subclasses this with its pinned facts; the
 * syscall numbers are also checked against the kernel headers of that architecture where they are installed.
 */
public abstract class ArchitectureContractTest {

    /** For the architecture modules' subclasses. */
    protected ArchitectureContractTest() {
    }

    /** The provider under test. */
    protected abstract Architecture architecture();

    /** The normalized name the provider must report. */
    protected abstract String expectedName();

    /** The pinned syscall numbers (kernel-abi.md section 1). */
    protected abstract SyscallNumbers expectedSyscallNumbers();

    /** The ELF machine number. */
    protected abstract int expectedElfMachine();

    /** Installed uapi headers that define this architecture's {@code __NR_*} numbers, in order of preference. */
    protected abstract List<Path> syscallHeaders();

    /** The pinned file-layer syscall numbers and flags. */
    protected abstract FileSyscalls expectedFileSyscalls();

    /**
     * Installed uapi headers that define this architecture's {@code O_DIRECTORY} and {@code O_NOFOLLOW}, most
     * specific first (an architecture header overrides the generic one).
     */
    protected abstract List<Path> fcntlHeaders();

    /** The file-layer numbers and flags are the pinned ones. */
    @Test
    void fileSyscallsArePinned() {
        FileSyscalls expected = expectedFileSyscalls();
        FileSyscalls actual = architecture().fileSyscalls();
        assertEquals(List.of(expected.openat(), expected.close(), expected.statx(), expected.fchmod(),
                expected.fallocate(), expected.pread64(), expected.pwrite64(), expected.fsync(), expected.mmap(),
                expected.munmap(), expected.linkat(), expected.unlinkat(), expected.flock(), expected.fcntl(),
                expected.membarrier(),
                expected.geteuid(), expected.getegid(), expected.getgroups()),
                List.of(actual.openat(), actual.close(), actual.statx(), actual.fchmod(), actual.fallocate(),
                        actual.pread64(), actual.pwrite64(), actual.fsync(), actual.mmap(), actual.munmap(),
                        actual.linkat(), actual.unlinkat(), actual.flock(), actual.fcntl(), actual.membarrier(),
                        actual.geteuid(), actual.getegid(), actual.getgroups()));
        assertEquals(expected.oDirectory(), actual.oDirectory(), "O_DIRECTORY");
        assertEquals(expected.oNofollow(), actual.oNofollow(), "O_NOFOLLOW");
    }

    /** The file-layer numbers and flags agree with the installed kernel headers of this architecture. */
    @Test
    void fileSyscallsMatchKernelHeaders() throws IOException {
        List<Path> present = syscallHeaders().stream().filter(Files::isReadable).collect(Collectors.toList());
        assumeTrue(!present.isEmpty(), "needs the " + expectedName() + " kernel uapi headers at one of "
                + syscallHeaders() + " (Debian: linux-libc-dev, or linux-libc-dev-arm64-cross for aarch64)");
        FileSyscalls actual = architecture().fileSyscalls();
        Map<String, Long> defined = syscallDefines(present.get(0));
        Map<String, Long> expected = new java.util.LinkedHashMap<>();
        expected.put("openat", actual.openat());
        expected.put("close", actual.close());
        expected.put("statx", actual.statx());
        expected.put("fchmod", actual.fchmod());
        expected.put("fallocate", actual.fallocate());
        expected.put("pread64", actual.pread64());
        expected.put("pwrite64", actual.pwrite64());
        expected.put("fsync", actual.fsync());
        expected.put("mmap", actual.mmap());
        expected.put("munmap", actual.munmap());
        expected.put("linkat", actual.linkat());
        expected.put("unlinkat", actual.unlinkat());
        expected.put("flock", actual.flock());
        expected.put("fcntl", actual.fcntl());
        expected.put("membarrier", actual.membarrier());
        expected.put("geteuid", actual.geteuid());
        expected.put("getegid", actual.getegid());
        expected.put("getgroups", actual.getgroups());
        expected.forEach((name, number) -> assertEquals(defined.get(name), number, present.get(0) + ": __NR_" + name));
        List<Path> fcntl = fcntlHeaders().stream().filter(Files::isReadable).collect(Collectors.toList());
        assumeTrue(!fcntl.isEmpty(), "needs the fcntl uapi headers at one of " + fcntlHeaders());
        Map<String, Long> flags = new HashMap<>();
        Pattern define = Pattern.compile("^#define\\s+(O_DIRECTORY|O_NOFOLLOW)\\s+(0[0-7]*)\\b.*$");
        for (Path header : fcntl) {
            for (String line : Files.readAllLines(header)) {
                Matcher m = define.matcher(line);
                if (m.matches()) {
                    flags.putIfAbsent(m.group(1), Long.parseLong(m.group(2), 8));
                }
            }
        }
        assertEquals(flags.get("O_DIRECTORY"), (long) actual.oDirectory(), "O_DIRECTORY");
        assertEquals(flags.get("O_NOFOLLOW"), (long) actual.oNofollow(), "O_NOFOLLOW");
    }

    /** The provider is registered for ServiceLoader, once. */
    @Test
    void isRegisteredForServiceLoader() {
        List<Architecture> providers = StreamSupport
                .stream(ServiceLoader.load(Architecture.class).spliterator(), false)
                .filter(p -> p.getClass() == architecture().getClass())
                .collect(Collectors.toList());
        assertEquals(1, providers.size(), "providers of " + architecture().getClass());
    }

    /** The name is already normalized and is the expected one. */
    @Test
    void nameIsNormalized() {
        assertEquals(expectedName(), architecture().name());
        assertEquals(architecture().name(), Architectures.normalize(architecture().name()));
        assertEquals(expectedElfMachine(), architecture().elfMachine());
    }

    /** The syscall numbers are the pinned ones. */
    @Test
    void syscallNumbersArePinned() {
        SyscallNumbers expected = expectedSyscallNumbers();
        SyscallNumbers actual = architecture().syscallNumbers();
        assertEquals(expected.futex(), actual.futex(), "futex");
        assertEquals(expected.setRobustList(), actual.setRobustList(), "set_robust_list");
        assertEquals(expected.getRobustList(), actual.getRobustList(), "get_robust_list");
        assertEquals(expected.gettid(), actual.gettid(), "gettid");
        assertFalse(actual.source().isBlank());
    }

    /** The syscall numbers agree with the installed kernel headers of this architecture. */
    @Test
    void syscallNumbersMatchKernelHeaders() throws IOException {
        List<Path> present = syscallHeaders().stream().filter(Files::isReadable).collect(Collectors.toList());
        assumeTrue(!present.isEmpty(), "needs the " + expectedName() + " kernel uapi headers at one of "
                + syscallHeaders() + " (Debian: linux-libc-dev, or linux-libc-dev-arm64-cross for aarch64)");
        SyscallNumbers actual = architecture().syscallNumbers();
        for (Path header : present) {
            Map<String, Long> defined = syscallDefines(header);
            assertEquals(defined.get("futex"), actual.futex(), header + ": __NR_futex");
            assertEquals(defined.get("set_robust_list"), actual.setRobustList(), header + ": __NR_set_robust_list");
            assertEquals(defined.get("get_robust_list"), actual.getRobustList(), header + ": __NR_get_robust_list");
            assertEquals(defined.get("gettid"), actual.gettid(), header + ": __NR_gettid");
        }
    }

    /** Both critical sections are well formed, store the slot width, and are read by the fixup rule. */
    @Test
    void criticalSectionsAreConsistent() {
        for (PendingSlotWidth width : PendingSlotWidth.values()) {
            UnlockCriticalSection cs = architecture().unlockCriticalSection(width);
            assertEquals(width, cs.width());
            Instruction store = cs.instructions().get(cs.csSuccess());
            Instruction.Store slotStore = assertInstanceOf(Instruction.Store.class, store, store.assembly());
            assertEquals(width.bytes(), slotStore.width(), store.assembly());
            assertEquals(cs.pendingRegister(), slotStore.address());
            assertEquals(cs.pendingRegister(), cs.fixupRule().pendingRegister());
            assertTrue(cs.inCriticalSection(cs.csSuccess()));
            assertFalse(cs.inCriticalSection(cs.csEnd()));
        }
        boolean exportsSymbols = architecture().vdsoRobustUnlockSymbols().isPresent();
        assertEquals(exportsSymbols,
                architecture().unlockCriticalSection(PendingSlotWidth.BITS_64).status() == UpstreamStatus.MERGED,
                "symbols are exported exactly when the sequence is merged upstream");
    }

    /** {@code #define __NR_name number} lines of a header. */
    protected static Map<String, Long> syscallDefines(Path header) throws IOException {
        Pattern define = Pattern.compile("^#define\\s+__NR(?:3264)?_(\\w+)\\s+(\\d+)\\s*$");
        Map<String, Long> numbers = new HashMap<>();
        for (String line : Files.readAllLines(header)) {
            Matcher m = define.matcher(line);
            if (m.matches()) {
                numbers.put(m.group(1), Long.parseLong(m.group(2)));
            }
        }
        return numbers;
    }
}
