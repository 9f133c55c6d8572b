package io.robustmutex.moduletest;

import io.robustmutex.KernelCapabilities;
import io.robustmutex.KernelSupport;
import io.robustmutex.LibraryVersion;
import io.robustmutex.MutexFile;
import io.robustmutex.RobustMutex;
import io.robustmutex.spi.Architecture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ServiceLoader;

/**
 * Opens a mutex file, locks and unlocks its mutex, and prints one {@code key: value} line per fact: the
 * library's module, the architecture providers the module system found, the architecture in use. Exits
 * non-zero (with the exception) when anything fails.
 */
public final class ModulePathApp {

    private ModulePathApp() {
    }

    /**
     * Runs the application.
     *
     * @param args an optional directory for the mutex file (default: a new temporary directory, removed after)
     * @throws IOException when the mutex file cannot be created
     */
    public static void main(String[] args) throws IOException {
        Module library = MutexFile.class.getModule();
        System.out.println("library_module: " + (library.isNamed() ? library.getDescriptor().toNameAndVersion()
                : "unnamed"));
        System.out.println("library_version: " + LibraryVersion.current());
        for (ServiceLoader.Provider<Architecture> provider : ServiceLoader.load(Architecture.class).stream()
                .toList()) {
            System.out.println("provider: " + provider.type().getName() + " in " + provider.type().getModule());
        }
        KernelCapabilities capabilities = KernelSupport.capabilities();
        System.out.println("architecture: " + capabilities.architecture());
        System.out.println("unlock_path: " + capabilities.unlockPath().id());
        System.out.println("native_access: " + KernelSupport.nativeAccess());
        System.out.println("memory_access: " + KernelSupport.memoryAccess());

        boolean temporary = args.length == 0;
        Path dir = temporary ? Files.createTempDirectory("robust-mutex-module-test") : Path.of(args[0]);
        Path path = dir.resolve("module-path.mutex");
        try (MutexFile file = MutexFile.open(path, 1)) {
            RobustMutex mutex = file.mutex(0);
            mutex.lock();
            try {
                System.out.println("locked: " + path);
            } finally {
                mutex.unlock();
            }
            System.out.println("unlocked: " + path);
        } finally {
            if (temporary) {
                Files.deleteIfExists(path);
                Files.delete(dir);
            }
        }
    }
}
