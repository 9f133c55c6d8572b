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

    /** runSteps runs exactly the steps asked for; concurrent drivers take turns and lose nothing. */
    @Test
    void runStepsPausesBetweenSteps() throws Exception {
        try (KernelModel model = KernelModel.builder().build()) {
            SharedObject shm = model.newSharedObject("shm", 4096);
            ModelProcess process = model.newProcess();
            RobustMutex mutex = process.map(shm).mutex(0, MutexKind.NORMAL);
            ModelThread a = process.newThread("a");
            ModelThread b = process.newThread("b");
            ModelTask<Long> ta = a.start(() -> count(mutex));
            ModelTask<Long> tb = b.start(() -> count(mutex));
            assertEquals(ModelThread.State.RUNNABLE, model.runSteps(a, 1));
            assertEquals(1, a.steps().size());
            assertEquals(ModelThread.State.RUNNABLE, model.runSteps(a, 3));
            assertEquals(4, a.steps().size());
            Thread driverA = new Thread(() -> drive(model, a));
            Thread driverB = new Thread(() -> drive(model, b));
            driverA.start();
            driverB.start();
            driverA.join(60_000);
            driverB.join(60_000);
            model.runUntilQuiet();
            assertEquals(55L, ta.result() + tb.result() - 55L, "each task summed ten tokens");
        }
    }

    private static long count(RobustMutex mutex) {
        long sum = 0;
        for (int n = 0; n < 10; n++) {
            try (Acquisition held = mutex.acquire()) {
                sum += held.fencingToken() > 0 ? n + 1 : 0;
            }
        }
        return sum;
    }

    private static void drive(KernelModel model, ModelThread thread) {
        while (thread.state() == ModelThread.State.RUNNABLE) {
            try {
                model.runSteps(thread, 1);
            } catch (IllegalStateException raced) {
                // The other driver ran our thread to a block or to the end; the loop re-reads the state.
            }
        }
    }
}
