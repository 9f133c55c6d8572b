package io.robustmutex.model;

import io.robustmutex.internal.AtomicMemory;

/**
 * {@link AtomicMemory} of a simulated process: every access is a {@link Step} of the calling simulated
 * thread and resolves its address through the process's mappings at the moment of the access, so code that
 * keeps an address after an unmap reaches whatever is mapped there now, or faults.
 */
final class ModelMemory implements AtomicMemory {

    private final KernelModel model;
    private final ModelProcess process;
    private final long base;
    private final int size;

    ModelMemory(KernelModel model, ModelProcess process, long base, int size) {
        this.model = model;
        this.process = process;
        this.base = base;
        this.size = size;
    }

    private KernelModel.Location at(String operation, int offset, int width) {
        if (offset < 0 || offset > size - width || (offset & (width - 1)) != 0) {
            throw new IndexOutOfBoundsException("offset " + offset + " (width " + width + ") in " + size + " bytes");
        }
        long address = base + offset;
        model.step(operation, process.describe(address));
        KernelModel.Location location = process.resolve(address, width);
        if (location == null) {
            throw model.fault(process, address);
        }
        return location;
    }

    @Override
    public long address() {
        return base;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public int getIntVolatile(int offset) {
        return model.load32(at("load", offset, 4));
    }

    @Override
    public int getIntPlain(int offset) {
        return model.load32(at("load", offset, 4));
    }

    @Override
    public void putIntPlain(int offset, int value) {
        model.store32(at("store", offset, 4), value);
    }

    @Override
    public void putIntRelease(int offset, int value) {
        model.store32(at("store-release", offset, 4), value);
    }

    @Override
    public void putIntVolatile(int offset, int value) {
        model.store32(at("store-volatile", offset, 4), value);
    }

    @Override
    public boolean compareAndSetInt(int offset, int expected, int update) {
        return compareAndExchangeInt(offset, expected, update) == expected;
    }

    @Override
    public int compareAndExchangeInt(int offset, int expected, int update) {
        KernelModel.Location location = at("CAS", offset, 4);
        int current = model.load32(location);
        if (current == expected) {
            model.store32(location, update);
        }
        return current;
    }

    @Override
    public int getAndSetInt(int offset, int value) {
        KernelModel.Location location = at("exchange", offset, 4);
        int current = model.load32(location);
        model.store32(location, value);
        return current;
    }

    /**
     * An atomic AND (glibc's {@code atomic_fetch_and_acquire}), one step.
     *
     * @param offset a 4-aligned offset
     * @param mask the mask
     * @return the value before
     */
    int getAndBitwiseAndInt(int offset, int mask) {
        KernelModel.Location location = at("fetch-and", offset, 4);
        int current = model.load32(location);
        model.store32(location, current & mask);
        return current;
    }

    @Override
    public long getLongPlain(int offset) {
        return model.load64(at("load", offset, 8));
    }

    @Override
    public long getLongVolatile(int offset) {
        return model.load64(at("load", offset, 8));
    }

    @Override
    public void putLongPlain(int offset, long value) {
        model.store64(at("store", offset, 8), value);
    }

    @Override
    public void putLongRelease(int offset, long value) {
        model.store64(at("store-release", offset, 8), value);
    }

    @Override
    public String toString() {
        return String.format("ModelMemory[pid %d, 0x%x, %d bytes]", process.pid(), base, size);
    }
}
