/**
 * What differs on x86_64: the provider of {@link io.robustmutex.spi.Architecture} for that architecture, found
 * by core's {@link java.util.ServiceLoader} on the module path (META-INF/services serves the class path).
 */
// "module": javac advises against a name ending in digits (they look like a version); these are the
// architecture's name, as in the package io.robustmutex.x86_64.
@SuppressWarnings("module")
module io.robustmutex.x86_64 {
    requires io.robustmutex;

    provides io.robustmutex.spi.Architecture with io.robustmutex.x86_64.X86_64Architecture;
}
