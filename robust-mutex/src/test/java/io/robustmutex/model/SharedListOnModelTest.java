package io.robustmutex.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.MutexKind;
import io.robustmutex.UnlockPath;
import io.robustmutex.aarch64.Aarch64Architecture;
import io.robustmutex.x86_64.X86_64Architecture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The robust list the library shares with glibc, on the model: the shared-list rows of {@code model-check} are
 * safe on every unlock path, and their checks catch a list that is broken, by the library registering a head of
 * its own (which drops glibc's list, as the library did before it joined glibc's head) or by a native library
 * whose enqueue skips the first entry's prev.
 */
class SharedListOnModelTest {

    /** The fewest schedules a row may have explored (every row explores hundreds). */
    private static final int MIN_SCHEDULES = 100;

    private static final Logger PROTOCOL_LOG = Logger.getLogger("io.robustmutex");
    private static Level savedLevel;

    /** The protocol logs every owner death it takes over: here thousands are expected. */
    @BeforeAll
    static void quiet() {
        savedLevel = PROTOCOL_LOG.getLevel();
        PROTOCOL_LOG.setLevel(Level.OFF);
    }

    @AfterAll
    static void restore() {
        PROTOCOL_LOG.setLevel(savedLevel);
    }

    private static ModelCheck.SharedListRow row(String scenario, MutexKind kind, UnlockPath path) {
        return new ModelCheck.SharedListRow(scenario, new ModelCheck.ExplorationConfiguration(
                new X86_64Architecture(), kind, path, false));
    }

    private static ScheduleExplorer.Report explore(ModelCheck.SharedListRow row, SharedListScenarios.Variant variant) {
        ModelCheck.Depth depth = ModelCheck.Depth.DEFAULT;
        ScheduleExplorer.Report report = ModelCheck.exploreSharedList(row, variant, depth.sharedListPreemptions(),
                depth.sharedListPreemptionsWithInjection(), depth.maxSchedules());
        System.out.printf("%s with %s: %d schedules, %d violating; first: %s%n", row.name(), variant,
                report.schedules(), report.violating(), report.findings().isEmpty() ? "-" : report.findings().get(0));
        return report;
    }

    /**
     * Every shared-list row, as the default {@code model-check} runs it: no explored schedule breaks an
     * invariant, none is cut short. Rows run two at a time.
     */
    @Test
    void everySharedListRowIsSafe() throws Exception {
        List<ModelCheck.SharedListRow> rows = ModelCheck.sharedListRows(List.of(new X86_64Architecture(),
                new Aarch64Architecture()));
        assertEquals(ModelCheck.sharedListScenarios().size() * 3 + 3, rows.size(), "one kind of ours per scenario"
                + " but the one with both glibc kinds, on three paths");
        long start = System.nanoTime();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<ModelCheck.ExplorationResult>> results = new ArrayList<>();
            for (ModelCheck.SharedListRow row : rows) {
                results.add(pool.submit(() -> ModelCheck.exploreSharedList(row, ModelCheck.Depth.DEFAULT,
                        ModelCheck.Depth.DEFAULT.maxSchedules())));
            }
            StringBuilder table = new StringBuilder();
            boolean clean = true;
            long total = 0;
            for (Future<ModelCheck.ExplorationResult> future : results) {
                ModelCheck.ExplorationResult r = future.get();
                total += r.schedules();
                table.append(String.format("%-70s %-6s schedules=%6d deaths=%6d faults=%4d violating=%4d"
                        + " healed=%4d%s%n", r.scenario(), r.configuration().kind(), r.schedules(), r.withDeath(),
                        r.withFault(), r.violating(), r.healed(), r.truncated() ? " CUT" : ""));
                if (r.violating() > 0 || r.truncated() || r.schedules() < MIN_SCHEDULES || r.withDeath() == 0) {
                    clean = false;
                    r.findings().forEach(f -> table.append("    ").append(f).append('\n'));
                }
            }
            table.append(String.format("%d schedules in %d ms%n", total, (System.nanoTime() - start) / 1_000_000));
            System.out.println(table);
            assertTrue(clean, table.toString());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The library as it was before it joined glibc's head ({@code -Dio.robustmutex.robustList=own} today): its
     * own head replaces glibc's, so the glibc mutex the thread took first is on a list the kernel no longer
     * walks. The list check says so at once; without it, a death leaves the glibc mutex held by the dead TID.
     */
    @Test
    void aHeadOfItsOwnDropsGlibcsListAndIsCaught() {
        ModelCheck.SharedListRow row = row("native NORMAL around ours", MutexKind.PI, UnlockPath.CLASSIC);
        ScheduleExplorer.Report listed = explore(row, new SharedListScenarios.Variant(
                KernelModel.RobustListChoice.OWN, ModelNativeMutex.Flaw.NONE, true));
        assertTrue(listed.violating() > 0, listed.toString());
        assertTrue(listed.findings().stream().anyMatch(f -> f.contains("broken list: after V locked ours(PI),"
                + " the list of V misses native NORMAL")), listed.findings().toString());

        ScheduleExplorer.Report deaths = explore(row, new SharedListScenarios.Variant(
                KernelModel.RobustListChoice.OWN, ModelNativeMutex.Flaw.NONE, false));
        assertTrue(deaths.violating() > 0, deaths.toString());
        assertTrue(deaths.findings().stream().anyMatch(f -> f.contains("left held by a dead thread: when V died,"
                + " the kernel did not release native NORMAL")), deaths.findings().toString());
    }

    /**
     * A native library whose enqueue does not write the first entry's prev: V holds ours, then the glibc mutex,
     * so ours keeps naming the head as its prev; releasing ours first then writes the head's next with ours'
     * next (the head), and the glibc mutex falls off the list. The list check sees the stale prev; without it, V
     * killed before it releases the glibc mutex leaves it held by its dead TID.
     */
    @Test
    void aNativeLibraryThatSkipsTheFirstPrevIsCaught() {
        ModelCheck.SharedListRow row = row("ours then native NORMAL, released out of order", MutexKind.PI,
                UnlockPath.SYSCALL);
        ScheduleExplorer.Report listed = explore(row, new SharedListScenarios.Variant(
                KernelModel.RobustListChoice.JOIN, ModelNativeMutex.Flaw.ENQUEUE_SKIPS_FIRST_PREV, true));
        assertTrue(listed.violating() > 0, listed.toString());
        assertTrue(listed.findings().stream().anyMatch(f -> f.contains("broken list: after V locked native NORMAL,"
                + " ours(PI)'s prev is")), listed.findings().toString());

        ScheduleExplorer.Report deaths = explore(row, new SharedListScenarios.Variant(
                KernelModel.RobustListChoice.JOIN, ModelNativeMutex.Flaw.ENQUEUE_SKIPS_FIRST_PREV, false));
        assertTrue(deaths.violating() > 0, deaths.toString());
        assertTrue(deaths.findings().stream().anyMatch(f -> f.contains("left held by a dead thread: when V died,"
                + " the kernel did not release native NORMAL")), deaths.findings().toString());
    }
}
