package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The same scenario gives the same steps, TIDs and results every time. */
class DeterminismTest {

    private static List<String> run() {
        List<String> trace = new ArrayList<>();
        try (KernelModel model = KernelModel.builder().build()) {
            SharedObject shm = model.newSharedObject("shm", 4096);
            List<RobustMutex> mutexes = new ArrayList<>();
            List<ModelThread> threads = new ArrayList<>();
            for (int p = 0; p < 3; p++) {
                ModelProcess process = model.newProcess();
                mutexes.add(process.map(shm).mutex(0, MutexKind.NORMAL));
                threads.add(process.newThread("t" + p));
            }
            List<ModelTask<Long>> tasks = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                RobustMutex mutex = mutexes.get(i);
                tasks.add(threads.get(i).start(() -> {
                    long sum = 0;
                    for (int n = 0; n < 5; n++) {
                        try (Acquisition held = mutex.acquire()) {
                            sum += held.fencingToken();
                        }
                    }
                    return sum;
                }));
            }
            threads.get(1).killAt(KillPoint.beforeStep(0));
            model.runUntilQuiet();
            for (int i = 0; i < 3; i++) {
                trace.add(threads.get(i).tid() + " " + threads.get(i).state() + " " + tasks.get(i).outcome());
                threads.get(i).steps().forEach(step -> trace.add(step.describe()));
            }
        }
        return trace;
    }

    /** Two runs of one scenario are step-for-step identical. */
    @Test
    void runsAreReproducible() {
        List<String> first = run();
        assertEquals(first, run());
        assertEquals(first, run());
    }
}
