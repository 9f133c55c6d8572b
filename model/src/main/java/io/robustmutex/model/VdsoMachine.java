package io.robustmutex.model;

import io.robustmutex.spi.Instruction;
import io.robustmutex.spi.UnlockCriticalSection;

/**
 * Executes an architecture's vDSO try-unlock description ({@link UnlockCriticalSection}) one instruction at
 * a time on a simulated thread: each instruction is a step, registers and the Z flag live in the thread's
 * frame (which the kernel's fixup reads if the thread is killed), and memory goes through the thread's
 * process, so an unmapped address faults as it would in the real vDSO.
 */
final class VdsoMachine {

    private VdsoMachine() {
    }

    static int run(KernelModel model, ModelProcess process, ModelThread thread, ModelThread.VdsoFrame frame) {
        UnlockCriticalSection section = frame.section;
        while (true) {
            Instruction instruction = section.instructions().get(frame.ip);
            model.step("vdso: " + instruction.assembly(), "");
            model.lock.lock();
            try {
                if (instruction instanceof Instruction.Return) {
                    return (int) read(frame, section.returnRegister(), 4);
                }
                frame.ip = execute(model, process, frame, instruction);
            } finally {
                model.lock.unlock();
            }
        }
    }

    /** Executes one instruction and returns the index of the next. */
    private static int execute(KernelModel model, ModelProcess process, ModelThread.VdsoFrame frame,
            Instruction instruction) {
        int next = frame.ip + 1;
        if (instruction instanceof Instruction.Move move) {
            write(frame, move.destination(), read(frame, move.source(), move.width()), move.width());
        } else if (instruction instanceof Instruction.Zero zero) {
            write(frame, zero.destination(), 0, 8);
            if (zero.setsZeroFlag()) {
                frame.zero = true;
            }
        } else if (instruction instanceof Instruction.CompareExchange cas) {
            KernelModel.Location at = location(model, process, frame, cas.address(), cas.width());
            long current = load(model, at, cas.width());
            long expected = read(frame, cas.expected(), cas.width());
            if (current == expected) {
                store(model, at, read(frame, cas.replacement(), cas.width()), cas.width());
                frame.zero = true;
            } else {
                write(frame, cas.expected(), current, cas.width());
                frame.zero = false;
            }
        } else if (instruction instanceof Instruction.LoadExclusive load) {
            KernelModel.Location at = location(model, process, frame, load.address(), load.width());
            write(frame, load.destination(), load(model, at, load.width()), load.width());
            frame.monitor = at;
            frame.monitorSequence = model.lastWrite(at);
        } else if (instruction instanceof Instruction.Compare compare) {
            frame.zero = read(frame, compare.left(), compare.width()) == read(frame, compare.right(), compare.width());
        } else if (instruction instanceof Instruction.StoreExclusive store) {
            KernelModel.Location at = location(model, process, frame, store.address(), store.width());
            boolean holds = frame.monitor != null && frame.monitor.equals(at)
                    && model.lastWrite(at) == frame.monitorSequence;
            if (holds) {
                store(model, at, read(frame, store.source(), store.width()), store.width());
            }
            write(frame, store.status(), holds ? 0 : 1, 4);
            frame.monitor = null;
        } else if (instruction instanceof Instruction.BranchOnZeroFlag branch) {
            if (frame.zero == branch.branchIfSet()) {
                next = frame.section.indexOf(branch.target());
            }
        } else if (instruction instanceof Instruction.BranchOnRegister branch) {
            if ((read(frame, branch.register(), branch.width()) != 0) == branch.branchIfNonZero()) {
                next = frame.section.indexOf(branch.target());
            }
        } else if (instruction instanceof Instruction.Store store) {
            KernelModel.Location at = location(model, process, frame, store.address(), store.width());
            store(model, at, read(frame, store.source(), store.width()), store.width());
        } else {
            throw new AssertionError(instruction);
        }
        return next;
    }

    static long read(ModelThread.VdsoFrame frame, String register, int width) {
        if (Instruction.ZERO_REGISTER.equals(register)) {
            return 0;
        }
        long value = frame.registers.getOrDefault(register, 0L);
        return width == 4 ? value & 0xffffffffL : value;
    }

    private static void write(ModelThread.VdsoFrame frame, String register, long value, int width) {
        if (!Instruction.ZERO_REGISTER.equals(register)) {
            frame.registers.put(register, width == 4 ? value & 0xffffffffL : value);
        }
    }

    private static KernelModel.Location location(KernelModel model, ModelProcess process,
            ModelThread.VdsoFrame frame, String register, int width) {
        long address = read(frame, register, 8);
        KernelModel.Location at = (address & (width - 1)) != 0 ? null : process.resolve(address, width);
        if (at == null) {
            throw model.fault(process, address);
        }
        return at;
    }

    private static long load(KernelModel model, KernelModel.Location at, int width) {
        return width == 4 ? model.load32(at) & 0xffffffffL : model.load64(at);
    }

    private static void store(KernelModel model, KernelModel.Location at, long value, int width) {
        if (width == 4) {
            model.store32(at, (int) value);
        } else {
            model.store64(at, value);
        }
    }
}
