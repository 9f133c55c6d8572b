package io.robustmutex.examples;

import static io.robustmutex.examples.Tool.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.robustmutex.KernelSupport;
import io.robustmutex.UnlockPath;
import io.robustmutex.examples.Tool.Run;
import io.robustmutex.examples.UnlockCostCommand.Cost;
import io.robustmutex.examples.UnlockCostCommand.Ratio;
import io.robustmutex.examples.UnlockCostCommand.Spread;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code unlock-cost}: the arithmetic and the line it prints, its arguments, and its child JVMs. A kernel before
 * Linux 7.2 offers only the classic path, so here the command says there is nothing to compare; the child JVMs
 * are run directly on the classic path, and on a path the kernel lacks to see a child's failure reported.
 */
class UnlockCostCommandTest {

    @TempDir
    Path dir;

    private static boolean onlyClassic() {
        return KernelSupport.capabilities().bestUnlockPath() == UnlockPath.CLASSIC;
    }

    /** The median is the middle value, or the mean of the middle two; the spread keeps the extremes. */
    @Test
    void spreadIsMedianMinAndMax() {
        assertEquals(new Spread(2.0, 1.0, 3.0), UnlockCostCommand.spread(3.0, 1.0, 2.0));
        assertEquals(new Spread(2.5, 1.0, 4.0), UnlockCostCommand.spread(4.0, 1.0, 3.0, 2.0));
        assertEquals(new Spread(1.5, 1.5, 1.5), UnlockCostCommand.spread(1.5));
        assertEquals(new Spread(2.0, 1.0, 9.0), UnlockCostCommand.spread(2.0, 9.0, 1.0, 2.0, 2.0),
                "one outlying round does not move the median");
        assertThrows(IllegalArgumentException.class, UnlockCostCommand::spread);
    }

    /**
     * A round's ratio is, per kind, the median over its slices of the path's cost over the classic path's in the
     * same slice: a slice in which the whole machine was slower gives the same ratio.
     */
    @Test
    void aRoundsRatioComparesTheSameSlice() {
        List<Cost> classic = List.of(new Cost(10, 20), new Cost(100, 200), new Cost(10, 20));
        List<Cost> syscall = List.of(new Cost(20, 50), new Cost(190, 400), new Cost(21, 44));
        assertEquals(new Ratio(2.0, 2.2), UnlockCostCommand.ratio(syscall, classic),
                "the second slice, ten times slower overall, still gives its ratio");
        assertThrows(IllegalArgumentException.class, () -> UnlockCostCommand.ratio(List.of(new Cost(1, 1)),
                List.of()));
    }

    /**
     * The result line gives the median of the rounds' ratios and the smallest and largest round's, in two
     * decimals, and no time.
     */
    @Test
    void theResultLineGivesTheRoundsRatios() {
        List<Ratio> rounds = List.of(new Ratio(2.0, 2.5), new Ratio(1.9, 2.0), new Ratio(2.1, 2.2));
        assertEquals("unlock-cost: syscall/classic PI 2.00 (rounds 1.90-2.10), NORMAL 2.20 (rounds 2.00-2.50),"
                + " 3 rounds", UnlockCostCommand.resultLine(UnlockPath.SYSCALL, rounds));
        assertEquals("unlock-cost: vdso/classic PI 0.50 (rounds 0.50-0.50), NORMAL 1.00 (rounds 1.00-1.00), 1 round",
                UnlockCostCommand.resultLine(UnlockPath.VDSO, List.of(new Ratio(0.5, 1.0))));
        assertEquals("unlock-cost: syscall/classic PI 1.93 (rounds 1.88-2.01), NORMAL 2.10 (rounds 2.05-2.20),"
                + " 5 rounds", UnlockCostCommand.line(UnlockPath.SYSCALL, new Spread(1.93, 1.88, 2.01),
                        new Spread(2.1, 2.05, 2.2), 5));
        assertThrows(IllegalArgumentException.class, () -> UnlockCostCommand.resultLine(UnlockPath.SYSCALL,
                List.of()));
        assertEquals("1.00", UnlockCostCommand.ratio(0.9999));
        assertEquals("12.35", UnlockCostCommand.ratio(12.3456));
    }

    /** A child's answer to a slice is read back exactly; anything else is refused, naming the line. */
    @Test
    void childSliceLinesAreParsed() {
        assertEquals(new Cost(21.5, 1.0E-3), UnlockCostCommand.parse("SLICE 21.5 0.001"));
        for (String bad : List.of("", "SLICE 21.5", "SLICE 1 2 3", "READY 1 2", "SLICE x 1", "SLICE 0 1",
                "SLICE NaN 1", "SLICE 1 Infinity")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> UnlockCostCommand.parse(bad));
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
    }

    /** The paths a kernel offers start with classic; every other round runs them in the opposite order. */
    @Test
    void pathsAndTheirOrder() {
        assertEquals(List.of(UnlockPath.CLASSIC), UnlockCostCommand.offered(UnlockPath.CLASSIC));
        assertEquals(List.of(UnlockPath.CLASSIC, UnlockPath.SYSCALL), UnlockCostCommand.offered(UnlockPath.SYSCALL));
        List<UnlockPath> all = UnlockCostCommand.offered(UnlockPath.VDSO);
        assertEquals(List.of(UnlockPath.CLASSIC, UnlockPath.SYSCALL, UnlockPath.VDSO), all);
        assertEquals(all, UnlockCostCommand.order(all, 0));
        assertEquals(List.of(UnlockPath.VDSO, UnlockPath.SYSCALL, UnlockPath.CLASSIC), UnlockCostCommand.order(all, 1));
        assertEquals(all, UnlockCostCommand.order(all, 2));
        assertEquals(List.of(UnlockPath.SYSCALL, UnlockPath.CLASSIC),
                UnlockCostCommand.order(UnlockCostCommand.order(UnlockCostCommand.offered(UnlockPath.SYSCALL), 1), 0));
    }

    /** A child JVM gets the path asked for, whatever this JVM's property says, and the other properties. */
    @Test
    void aChildJvmIsStartedOnItsPath() {
        String previous = System.setProperty(UnlockPath.PROPERTY, "classic");
        try {
            List<String> command = UnlockCostCommand.childCommand(UnlockPath.SYSCALL, "a", "b");
            assertEquals(List.of("-D" + UnlockPath.PROPERTY + "=syscall"),
                    command.stream().filter(a -> a.startsWith("-D" + UnlockPath.PROPERTY)).toList());
            assertTrue(command.contains("-Xbatch"), command.toString());
            assertFalse(command.stream().anyMatch(a -> a.startsWith("-XX:TieredStopAtLevel")),
                    "the child compiles with C2, as an application's JVM does: " + command);
            assertEquals(List.of(UnlockCostWorker.class.getName(), "a", "b"), command.subList(command.size() - 3,
                    command.size()));
        } finally {
            if (previous == null) {
                System.clearProperty(UnlockPath.PROPERTY);
            } else {
                System.setProperty(UnlockPath.PROPERTY, previous);
            }
        }
    }

    /** Where the kernel offers only the classic path, the command says so in one line and exits 0. */
    @Test
    void onlyTheClassicPathLeavesNothingToCompare() {
        assumeTrue(onlyClassic(), "this kernel offers more than the classic path");
        Run run = run("unlock-cost");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertEquals("unlock-cost: only the classic unlock path on Linux " + System.getProperty("os.version") + " ("
                + KernelSupport.architecture() + "); nothing to compare\n", run.out());
        assertEquals("", run.err());
    }

    /** Bad arguments are refused with exit status 2, naming the argument, before anything runs. */
    @Test
    void badArgumentsAreNamed() {
        Map<List<String>, String> cases = Map.of(
                List.of("--rounds", "0"), "--rounds 0 (must be at least 1)",
                List.of("--rounds", "many"), "--rounds many (expected a whole number)",
                List.of("--pairs", "0"), "--pairs 0 (must be at least 1)",
                List.of("--warmup", "-1"), "--warmup -1 (must be at least 0)",
                List.of("--dir", dir.resolve("absent").toString()),
                "--dir " + dir.resolve("absent") + ": not a directory",
                List.of("--pairs"), "option --pairs needs a value",
                List.of("10"), "unexpected argument '10'");
        for (Map.Entry<List<String>, String> c : cases.entrySet()) {
            String[] args = new String[c.getKey().size() + 1];
            args[0] = "unlock-cost";
            for (int i = 0; i < c.getKey().size(); i++) {
                args[i + 1] = c.getKey().get(i);
            }
            Run run = run(args);
            assertEquals(2, run.exit(), c.getKey() + ": " + run.out() + run.err());
            assertTrue(run.err().contains(c.getValue()), c.getKey() + ": " + run.err());
            assertEquals("", run.out(), c.getKey() + ": nothing was measured");
        }
    }

    /**
     * Child JVMs on the classic path, two rounds: each answers every slice with a cost per kind, the mutex files
     * are gone after, and the rounds' lines print no ratio without a second path to compare.
     */
    @Test
    void childJvmsMeasureOnTheClassicPath() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        List<Map<UnlockPath, List<Cost>>> rounds = UnlockCostCommand.measure(List.of(UnlockPath.CLASSIC), 2, 0,
                1000, dir, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true,
                        StandardCharsets.UTF_8));
        assertEquals(2, rounds.size());
        for (Map<UnlockPath, List<Cost>> round : rounds) {
            assertEquals(List.of(UnlockPath.CLASSIC), List.copyOf(round.keySet()));
            assertEquals(UnlockCostCommand.SLICES, round.get(UnlockPath.CLASSIC).size());
            for (Cost cost : round.get(UnlockPath.CLASSIC)) {
                assertTrue(cost.pi() > 0 && cost.normal() > 0, cost.toString());
            }
        }
        assertEquals("  round 1 of 2 (classic)\n  round 2 of 2 (classic)\n", out.toString(StandardCharsets.UTF_8));
        assertEquals("", err.toString(StandardCharsets.UTF_8));
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.toString().endsWith(".mutex")).toList(),
                    "the children delete their mutex files");
        }
    }

    /**
     * A child that cannot measure (here: asked for the syscall path on a kernel without it, which the library
     * refuses by keeping the classic one) fails the run with a message naming its path and round and quoting it.
     */
    @Test
    void aFailedChildIsNamed() {
        assumeTrue(onlyClassic(), "this kernel offers the syscall path");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> UnlockCostCommand.measure(
                List.of(UnlockPath.CLASSIC, UnlockPath.SYSCALL), 1, 100, 0, dir,
                new PrintStream(out, true, StandardCharsets.UTF_8), System.err));
        assertTrue(e.getMessage().startsWith("the child JVM on the syscall path (round 1 of 1) failed with exit status"
                + " 1 before it printed READY; it printed: "), e.getMessage());
        assertTrue(e.getMessage().contains("this JVM was to use the syscall unlock path but uses classic"),
                e.getMessage());
        assertEquals("", out.toString(StandardCharsets.UTF_8), "no round was completed");
    }
}
