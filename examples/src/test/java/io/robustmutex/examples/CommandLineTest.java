package io.robustmutex.examples;

import static io.robustmutex.examples.Tool.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.robustmutex.LibraryVersion;
import io.robustmutex.examples.Tool.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command-line tool's contract for every command: help, {@code --version}, usage errors that name the
 * argument, errors that name the file.
 */
class CommandLineTest {

    /** Every command, with arguments that are complete (for the commands that need some). */
    private static final Map<String, List<String>> COMMANDS = Map.ofEntries(
            Map.entry("demo", List.of()),
            Map.entry("doctor", List.of()),
            Map.entry("inspect", List.of("FILE")),
            Map.entry("reinitialize", List.of("FILE", "0")),
            Map.entry("model-check", List.of()),
            Map.entry("torture", List.of()),
            Map.entry("queue", List.of()),
            Map.entry("unlock-cost", List.of()),
            Map.entry("example-file-lock", List.of()),
            Map.entry("example-embedded", List.of("FILE")),
            Map.entry("example-queue", List.of("FILE", "consume")));

    @TempDir
    Path dir;

    private static String[] args(String command, List<String> arguments, String... more) {
        List<String> all = new ArrayList<>();
        all.add(command);
        all.addAll(arguments);
        all.addAll(Arrays.asList(more));
        return all.toArray(String[]::new);
    }

    /** {@code COMMAND --help} and {@code COMMAND -h} print the command's usage and help and exit 0. */
    @Test
    void everyCommandHasHelp() {
        assertEquals(COMMANDS.keySet().size(), run("help").out().lines().filter(l -> l.matches("  [a-z].*")).count(),
                "the test covers every command the tool lists");
        for (String command : COMMANDS.keySet()) {
            for (String flag : List.of("--help", "-h")) {
                Run help = run(command, flag);
                assertEquals(0, help.exit(), command + " " + flag + ": " + help.err());
                assertEquals("", help.err(), command + " " + flag);
                assertTrue(help.out().startsWith("usage: java -jar robust-mutex.jar " + command), help.out());
                assertTrue(help.out().contains("Exit status"), command + " help says what its exit status means");
            }
            // After other arguments too, and as "help COMMAND".
            assertEquals(run(command, "--help").out(), run(args(command, COMMANDS.get(command), "--help")).out());
            assertEquals(run(command, "--help").out(), run("help", command).out());
        }
        assertEquals(2, run("help", "frobnicate").exit());
    }

    /** {@code --version} prints the library's version; extra arguments are refused. */
    @Test
    void versionIsTheLibrarys() {
        Run version = run("--version");
        assertEquals(0, version.exit(), version.err());
        assertEquals("robust-mutex " + LibraryVersion.current() + "\n", version.out());
        assertTrue(LibraryVersion.current().matches("\\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), LibraryVersion.current());
        Run extra = run("--version", "now");
        assertEquals(2, extra.exit());
        assertTrue(extra.err().contains("'now'"), extra.err());
    }

    /**
     * Every command refuses an unknown option and an argument too many with exit status 2, naming it and
     * printing the usage line, before doing anything.
     */
    @Test
    void everyCommandRefusesUnknownAndExtraArguments() {
        for (Map.Entry<String, List<String>> command : COMMANDS.entrySet()) {
            Run unknown = run(args(command.getKey(), command.getValue(), "--frobnicate"));
            assertEquals(2, unknown.exit(), command + ": " + unknown.out() + unknown.err());
            assertTrue(unknown.err().contains("--frobnicate"), unknown.err());
            assertTrue(unknown.err().contains("usage: java -jar robust-mutex.jar " + command.getKey()), unknown.err());
            assertEquals("", unknown.out(), command.getKey() + " did nothing");

            Run extra = run(args(command.getKey(), command.getValue(), "surplus"));
            assertEquals(2, extra.exit(), command + ": " + extra.out() + extra.err());
            assertTrue(extra.err().contains("'surplus'"), extra.err());
            assertEquals("", extra.out(), command.getKey() + " did nothing");
        }
        Run missing = run("reinitialize", "FILE");
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("missing FILE INDEX"), missing.err());
        Run badValue = run("torture", "--kind", "fast");
        assertEquals(2, badValue.exit());
        assertTrue(badValue.err().contains("--kind fast"), badValue.err());
        Run noValue = run("model-check", "--part");
        assertEquals(2, noValue.exit());
        assertTrue(noValue.err().contains("option --part needs a value"), noValue.err());
        Run badCap = run("model-check", "--max-schedules", "0");
        assertEquals(2, badCap.exit());
        assertTrue(badCap.err().contains("--max-schedules 0"), badCap.err());
    }

    /**
     * A row that reaches the schedule cap says CUT and the run INCOMPLETE, exiting 1: it is not reported as
     * an invariant broken (which it was, before: "FAILED: N row(s) broke an invariant" for rows that had
     * merely stopped at the cap, as two rows of {@code --deep} did).
     */
    @Test
    void aRowCutShortAtTheCapIsIncompleteNotFailed() {
        Run run = run("model-check", "--part", "schedules", "--scenario", "hand-off", "--kind", "pi", "--path",
                "classic", "--max-schedules", "10");
        assertEquals(1, run.exit(), run.out() + run.err());
        assertTrue(run.out().lines().anyMatch(l -> l.startsWith("hand-off") && l.trim().endsWith("CUT")), run.out());
        assertTrue(run.out().contains("INCOMPLETE: 1 row(s) reached the cap of 10 schedules"), run.out());
        assertFalse(run.out().contains("FAILED"), run.out());
        Run complete = run("model-check", "--part", "schedules", "--scenario", "hand-off", "--kind", "pi", "--path",
                "classic");
        assertEquals(0, complete.exit(), complete.out() + complete.err());
        assertTrue(complete.out().contains("OK: "), complete.out());
    }

    /**
     * {@code --part shared-list} runs only the shared-list table, filtered by kind and path like the others; with
     * a small cap its rows are cut short.
     */
    @Test
    void theSharedListTableRunsAlone() {
        Run run = run("model-check", "--part", "shared-list", "--kind", "normal", "--path", "syscall",
                "--max-schedules", "20");
        assertEquals(1, run.exit(), run.out() + run.err());
        assertTrue(run.out().startsWith("Shared robust list:"), run.out());
        assertEquals(5, run.out().lines().filter(l -> l.startsWith("shared list: ") && l.contains(", syscall ")
                && l.contains(" NORMAL ") && l.trim().endsWith("CUT")).count(), run.out());
        assertTrue(run.out().contains("INCOMPLETE: 5 row(s) reached the cap of 20 schedules"), run.out());
    }

    /** Errors about a file name it: a missing file, a directory, a file too open to trust. */
    @Test
    void errorsNameThePath() throws Exception {
        Path absent = dir.resolve("absent.mutex");
        Path open = Files.createFile(dir.resolve("open.mutex"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-rw-rw-"));
        for (String[] command : List.of(
                new String[] {"inspect", absent.toString()},
                new String[] {"inspect", dir.toString()},
                new String[] {"inspect", "--region", absent.toString(), "--offsets", "0"},
                new String[] {"inspect", "--region", dir.toString(), "--offsets", "0"},
                new String[] {"reinitialize", absent.toString(), "0"},
                new String[] {"reinitialize", dir.toString(), "0"},
                new String[] {"reinitialize", open.toString(), "0"},
                new String[] {"example-embedded", dir.toString()},
                new String[] {"example-embedded", open.toString()},
                new String[] {"example-queue", dir.toString(), "consume"},
                new String[] {"example-queue", open.toString(), "produce"})) {
            Run failed = run(command);
            assertEquals(1, failed.exit(), String.join(" ", command) + ": " + failed.out() + failed.err());
            String path = command[command[1].equals("--region") ? 2 : 1];
            assertTrue(failed.err().contains(path), String.join(" ", command) + ": " + failed.err());
        }
    }








}
