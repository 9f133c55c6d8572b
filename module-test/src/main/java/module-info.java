/**
 * An application on the module path: what a user's module declares to use robust-mutex.
 */
module io.robustmutex.moduletest {
    requires io.robustmutex;

    // Only to list the providers found; the library finds its own through core's "uses".
    uses io.robustmutex.spi.Architecture;
}
