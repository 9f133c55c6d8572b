package io.robustmutex.aarch64;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.robustmutex.model.Step;
import io.robustmutex.model.VdsoModelContractTest;
import io.robustmutex.spi.Architecture;
import io.robustmutex.spi.PendingSlotWidth;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The proposed aarch64 vDSO try-unlock on the model. */
class Aarch64VdsoModelTest extends VdsoModelContractTest {

    @Override
    protected Architecture architecture() {
        return new Aarch64Architecture();
    }

    /** An interrupt between ldxr and stlxr clears the monitor: the store-exclusive fails and the loop retries. */
    @Test
    void interruptBeforeStoreExclusiveRetries() {
        assertEquals(8, instructionCount(PendingSlotWidth.BITS_64));
        List<Step> steps = stepsWithInterrupt(PendingSlotWidth.BITS_64, 3);
        List<String> executed = steps.stream().map(Step::operation).toList();
        assertEquals(List.of("vdso: ldxr w4, [x0]", "vdso: cmp w4, w1", "vdso: b.ne cs_end",
                "vdso: stlxr w3, wzr, [x0]", "vdso: cbnz w3, retry",
                "vdso: ldxr w4, [x0]", "vdso: cmp w4, w1", "vdso: b.ne cs_end", "vdso: stlxr w3, wzr, [x0]",
                "vdso: cbnz w3, retry", "vdso: str xzr, [x2]", "vdso: mov w0, w4", "vdso: ret"), executed);
    }
}
