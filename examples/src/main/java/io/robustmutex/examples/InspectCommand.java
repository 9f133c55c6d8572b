package io.robustmutex.examples;

import io.robustmutex.MutexFile;
import io.robustmutex.MutexFileReport;
import io.robustmutex.MutexSnapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code inspect FILE}: every mutex of a mutex file, with its owner and whether that owner is still alive.
 * Reads only: the file is never locked, mapped for writing or modified.
 */
final class InspectCommand implements RobustMutexTool.Command {

    @Override
    public String summary() {
        return "show each mutex of a mutex file: owner, liveness, waiters, owner death, tokens (read-only)";
    }

    @Override
    public String arguments() {
        return "FILE";
    }

    @Override
    public String help() {
        return """
                Reads a mutex file (MutexFile) and prints one row per mutex: its kind and state (CONSISTENT,
                INCONSISTENT, NOT_RECOVERABLE, DAMAGED), the owner's TID and pid, whether that owner is alive, the
                waiters and owner-died bits, the fencing token and how many owner deaths were detected; and whether
                the file was written in this boot and PID namespace. It only reads the file: it never locks it,
                maps it for writing or changes it, and needs no kernel support. Processes that still map a deleted
                file of the same name are listed as warnings.

                Exit status: 0 when the file was read, 1 when it could not be, 2 for bad arguments.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Path path = Path.of(Arguments.parse(args).positional(1, 1, "FILE").get(0));
        MutexFileReport report;
        try {
            report = MutexFile.inspect(path);
        } catch (NoSuchFileException e) {
            err.println("inspect: " + path + ": no such file");
            reportDeletedMappings(path, err);
            return 1;
        } catch (IOException e) {
            err.println("inspect: " + FileErrors.describe(path, e));
            return 1;
        }
        reportDeletedMappings(path, out);
        out.println("file: " + report.path());
        out.printf("mutexes: %d %s, created %s%n", report.mutexes().size(), report.kind(), report.created());
        out.println("boot: " + (report.currentBoot() ? "current"
                : "an earlier boot (" + report.bootId() + "): owner TIDs are stale; the next open resets held words"));
        out.println("pid namespace: " + (report.samePidNamespace() ? "this one" : report.pidNamespace()
                + ", not this one: owners cannot be checked from here"));
        String format = "%-6s %-7s %-16s %-10s %-10s %-12s %-8s %-11s %-14s %s%n";
        out.printf(format, "index", "kind", "state", "owner_tid", "owner_pid", "owner_alive", "waiters",
                "owner_died", "fencing_token", "owner_died_count");
        for (int i = 0; i < report.mutexes().size(); i++) {
            MutexSnapshot m = report.mutexes().get(i);
            out.printf(format, i, m.kind(), m.state(), m.ownerTid(), m.ownerPid(),
                    alive(m, report.samePidNamespace() && report.currentBoot()), yesNo(m.waiters()),
                    yesNo(m.ownerDied()), m.fencingToken(), m.ownerDiedCount());
        }
        return 0;
    }

    /**
     * Deleting a mutex file while processes use it splits them: those still mapping the deleted file exclude
     * each other, not those that open the path afresh. The kernel names such a mapping "PATH (deleted)" in
     * /proc/PID/maps; list the processes that have one.
     */
    private static void reportDeletedMappings(Path path, PrintStream out) {
        String deleted = path.toAbsolutePath().normalize() + " (deleted)";
        Map<Long, String> holders = new TreeMap<>();
        try (DirectoryStream<Path> processes = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
            for (Path process : processes) {
                try {
                    for (String line : Files.readAllLines(process.resolve("maps"))) {
                        if (line.endsWith(deleted)) {
                            long pid = Long.parseLong(process.getFileName().toString());
                            holders.put(pid, ProcessHandle.of(pid).flatMap(p -> p.info().command()).orElse("?"));
                            break;
                        }
                    }
                } catch (IOException | SecurityException e) {
                    // The process ended, or its maps are not ours to read.
                }
            }
        } catch (IOException e) {
            return;
        }
        holders.forEach((pid, command) -> out.println("warning: process " + pid + " (" + command + ") still maps a"
                + " deleted mutex file that had this name; it no longer excludes processes that open " + path));
    }

    /**
     * Whether the owner is alive: for a held mutex, whether its TID exists; for a free one whose last owner
     * died (the pid stays recorded), whether that process exists.
     */
    private static String alive(MutexSnapshot m, boolean checkable) {
        if (m.ownerTid() == 0 && m.ownerPid() == 0) {
            return "-";
        }
        if (!checkable) {
            return "unknown";
        }
        if (m.ownerTid() != 0) {
            return yesNo(Files.exists(Path.of("/proc", Integer.toString(m.ownerTid()))));
        }
        return yesNo(ProcessHandle.of(m.ownerPid()).isPresent());
    }

    private static String yesNo(boolean value) {
        return value ? "yes" : "no";
    }
}
