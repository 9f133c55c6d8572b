package io.robustmutex.model;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A fresh default model for each test: one process with an 8 KiB shared object mapped, and its syscalls. */
abstract class ModelFixture {

    KernelModel model;
    ModelProcess process;
    ModelRegion mem;
    ModelSyscalls sys;

    @BeforeEach
    void setUpModel() {
        model = KernelModel.builder().build();
        process = model.newProcess();
        mem = process.map(model.newSharedObject(getClass().getSimpleName(), 8192));
        sys = new ModelSyscalls(process);
    }

    @AfterEach
    void closeModel() {
        model.close();
    }

    /**
     * The address of an offset into the mapped object.
     *
     * @param offset the offset
     * @return its address in the process
     */
    long at(int offset) {
        return mem.address() + offset;
    }
}
