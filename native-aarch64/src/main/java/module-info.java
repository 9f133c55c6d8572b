/**
 * What differs on aarch64: the provider of {@link io.robustmutex.spi.Architecture} for that architecture, found
 * by core's {@link java.util.ServiceLoader} on the module path (META-INF/services serves the class path).
 */
// "module": javac advises against a name ending in digits (they look like a version); these are the
// architecture's name, as in the package io.robustmutex.aarch64.
@SuppressWarnings("module")
module io.robustmutex.aarch64 {
    requires io.robustmutex;

    provides io.robustmutex.spi.Architecture with io.robustmutex.aarch64.Aarch64Architecture;
}
