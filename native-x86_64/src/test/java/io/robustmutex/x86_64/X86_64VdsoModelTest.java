package io.robustmutex.x86_64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.robustmutex.model.VdsoModelContractTest;
import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.PendingSlotWidth;
import org.junit.jupiter.api.Test;

/** The x86_64 vDSO try-unlock on the model. */
class X86_64VdsoModelTest extends VdsoModelContractTest {

    @Override
    protected Architecture architecture() {
        return new X86_64Architecture();
    }

    /** The uncontended path runs the six instructions once: no loop on x86. */
    @Test
    void straightLine() {
        assertEquals(6, instructionCount(PendingSlotWidth.BITS_64));
        assertEquals(6, stepsWithInterrupt(PendingSlotWidth.BITS_64, 2).size());
    }
}
