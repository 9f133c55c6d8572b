package io.robustmutex.internal;

import io.robustmutex.RobustMutex;

/**
 * Lets implementation packages (the reference model) create API objects whose constructors are not public.
 * {@link RobustMutex} registers its constructor here when it is initialized.
 */
public final class ApiBridge {

    /** Creates a {@link RobustMutex}. */
    @FunctionalInterface
    public interface MutexFactory {
        /**
         * Creates the mutex.
         *
         * @param record the record
         * @param protocol the protocol bound to a kernel
         * @param open the owning handle's open flag
         * @param name the name used in messages
         * @return the mutex
         */
        RobustMutex create(MutexRecord record, RobustMutexProtocol protocol, OpenFlag open, String name);
    }

    private static volatile MutexFactory mutexFactory;

    private ApiBridge() {
    }

    /**
     * Registers the factory; called by {@link RobustMutex}'s static initializer.
     *
     * @param factory the factory
     */
    public static void register(MutexFactory factory) {
        mutexFactory = factory;
    }

    /**
     * Creates a {@link RobustMutex}.
     *
     * @param record the record
     * @param protocol the protocol bound to a kernel
     * @param open the owning handle's open flag
     * @param name the name used in messages
     * @return the mutex
     */
    public static RobustMutex newMutex(MutexRecord record, RobustMutexProtocol protocol, OpenFlag open, String name) {
        if (mutexFactory == null) {
            try {
                Class.forName(RobustMutex.class.getName(), true, RobustMutex.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(e);
            }
        }
        return mutexFactory.create(record, protocol, open, name);
    }
}
