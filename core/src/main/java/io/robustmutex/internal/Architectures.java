package io.robustmutex.internal;

import io.robustmutex.spi.Architecture;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/**
 * Finds the one {@link Architecture} provider for the running machine (design.md section 2).
 */
public final class Architectures {

    private Architectures() {
    }

    /**
     * Normalizes an {@code os.arch} value: {@code amd64} and {@code x86_64} become {@code x86_64};
     * {@code aarch64} and {@code arm64} become {@code aarch64}; anything else is returned lower-cased.
     *
     * @param osArch the value of the {@code os.arch} property
     * @return the normalized name
     */
    public static String normalize(String osArch) {
        String arch = osArch == null ? "" : osArch.trim().toLowerCase(Locale.ROOT);
        return switch (arch) {
            case "amd64", "x86_64", "x86-64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
    }

    /**
     * The provider for this JVM's {@code os.arch}, loaded with {@link ServiceLoader} from the class loader
     * that loaded core.
     *
     * @return the provider
     * @throws IllegalStateException when no provider, or more than one, serves the architecture
     */
    public static Architecture current() {
        List<Architecture> providers = new ArrayList<>();
        ServiceLoader.load(Architecture.class, Architectures.class.getClassLoader()).forEach(providers::add);
        return select(System.getProperty("os.arch"), providers);
    }

    /**
     * Every provider on the class path, whatever the running architecture (the reference model runs any
     * architecture's description).
     *
     * @return the providers, in class-path order
     */
    public static List<Architecture> all() {
        List<Architecture> providers = new ArrayList<>();
        ServiceLoader.load(Architecture.class, Architectures.class.getClassLoader()).forEach(providers::add);
        return providers;
    }

    /**
     * Selects the provider for an architecture.
     *
     * @param osArch the raw {@code os.arch} value
     * @param providers all providers found
     * @return the one provider whose name equals the normalized architecture
     * @throws IllegalStateException naming the architecture and the providers found when there is not
     *     exactly one
     */
    public static Architecture select(String osArch, List<Architecture> providers) {
        String arch = normalize(osArch);
        List<Architecture> matching = providers.stream()
                .filter(p -> arch.equals(p.name()))
                .collect(Collectors.toList());
        if (matching.size() == 1) {
            return matching.get(0);
        }
        String found = providers.stream()
                .map(p -> p.name() + " (" + p.getClass().getName() + ")")
                .collect(Collectors.joining(", ", "[", "]"));
        if (matching.isEmpty()) {
            throw new IllegalStateException("no robust-mutex architecture module for os.arch=" + osArch
                    + " (normalized: " + arch + "); providers found: " + found
                    + ". Add the dependency io.robustmutex:robust-mutex, which brings every architecture module.");
        }
        throw new IllegalStateException("more than one robust-mutex architecture module for os.arch=" + osArch
                + " (normalized: " + arch + "); providers found: " + found
                + ". Keep exactly one jar of each architecture module on the class path.");
    }
}
