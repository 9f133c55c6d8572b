package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.PendingSlotWidth;
import io.robustmutex.spi.SyscallNumbers;
import io.robustmutex.spi.UnlockCriticalSection;
import io.robustmutex.spi.VdsoRobustUnlockSymbols;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Normalizing os.arch and choosing exactly one provider. */
class ArchitecturesTest {

    /** A provider that only has a name. */
    private static final class Named implements Architecture {
        private final String name;

        Named(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public int elfMachine() {
            return 0;
        }

        @Override
        public SyscallNumbers syscallNumbers() {
            return new SyscallNumbers(0, 0, 0, 0, "test");
        }

        @Override
        public io.robustmutex.spi.FileSyscalls fileSyscalls() {
            return new io.robustmutex.spi.FileSyscalls(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2,
                    "test");
        }

        @Override
        public Optional<VdsoRobustUnlockSymbols> vdsoRobustUnlockSymbols() {
            return Optional.empty();
        }

        @Override
        public UnlockCriticalSection unlockCriticalSection(PendingSlotWidth width) {
            throw new UnsupportedOperationException();
        }
    }

    /** The JDK's names and the kernel's names normalize to one name per architecture. */
    @Test
    void normalizesArchitectureNames() {
        assertEquals("x86_64", Architectures.normalize("amd64"));
        assertEquals("x86_64", Architectures.normalize("x86_64"));
        assertEquals("aarch64", Architectures.normalize("aarch64"));
        assertEquals("aarch64", Architectures.normalize("ARM64"));
        assertEquals("riscv64", Architectures.normalize("riscv64"));
    }

    /** The one matching provider is chosen among others. */
    @Test
    void selectsTheMatchingProvider() {
        Architecture x86 = new Named("x86_64");
        assertSame(x86, Architectures.select("amd64", List.of(new Named("aarch64"), x86)));
    }

    /** No provider for the architecture is an error naming the architecture and the providers found. */
    @Test
    void noProviderIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Architectures.select("riscv64", List.of(new Named("x86_64"))));
        assertTrue(e.getMessage().contains("os.arch=riscv64"), e.getMessage());
        assertTrue(e.getMessage().contains("x86_64 ("), e.getMessage());
    }

    /** Two providers for one architecture is an error naming both. */
    @Test
    void twoProvidersIsAClearError() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Architectures.select("amd64", List.of(new Named("x86_64"), new Named("x86_64"))));
        assertTrue(e.getMessage().contains("more than one"), e.getMessage());
    }

    /** Core's own test class path has no provider, so the lookup fails with the clear error. */
    @Test
    void coreAloneHasNoProvider() {
        IllegalStateException e = assertThrows(IllegalStateException.class, Architectures::current);
        assertTrue(e.getMessage().contains("io.robustmutex:robust-mutex"), e.getMessage());
    }
}
