/**
 * Support for JCStress tests of code that uses robust-mutex: {@link io.robustmutex.jcstress.MutexPool} hands
 * each JCStress state a real-kernel mutex of its own and mapped data for it to protect, without a file per
 * state. This package does not depend on JCStress; add it, with JCStress, as a test dependency.
 */
package io.robustmutex.jcstress;
