package io.robustmutex.examples;

import io.robustmutex.MutexFile;
import io.robustmutex.MutexFileReport;
import io.robustmutex.MutexSnapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * {@code inspect FILE}: every mutex of a mutex file, with its owner and whether that owner is still alive, and
 * every condition, with its sequence and waiters hint;
 * {@code inspect --region FILE --offsets 0,128}: the mutex records at those offsets of a {@link
 * io.robustmutex.SharedMemory} region, which has no header to list them. Reads only: the file is never
 * locked, mapped for writing or modified.
 *
 * <p>A file that is not a mutex file is not called damaged: it may be a region, or anything else holding
 * somebody's data, so the command says so and suggests {@code --region} instead of deletion.
 */
final class InspectCommand implements RobustMutexTool.Command {

    private static final String FORMAT = "%-6s %-7s %-16s %-10s %-10s %-12s %-8s %-11s %-14s %s%n";
    private static final String CONDITION_FORMAT = "%-10s %-10s %s%n";
    private static final String REGION_FORMAT = "%-6s %-7s %-16s %-10s %-10s %-12s %-8s %-11s %-14s %-17s %-15s %s%n";

    @Override
    public String summary() {
        return "show the mutexes of a mutex file, or records of a region: owners, waiters, tokens (read-only)";
    }

    @Override
    public String arguments() {
        return "FILE | --region FILE --offsets OFFSET[,OFFSET...]";
    }

    @Override
    public String help() {
        return """
                inspect FILE reads a mutex file (MutexFile) and prints one row per mutex: its kind and state
                (CONSISTENT, INCONSISTENT, NOT_RECOVERABLE, DAMAGED), the owner's TID and pid, whether that owner
                is alive, the waiters and owner-died bits, the fencing token and how many owner deaths were
                detected; and whether the file was written in this boot and PID namespace. A file created with
                conditions (format version 2) adds one row per condition, c0, c1, ...: its sequence (how many
                signals it has seen, modulo 2^32) and its waiters hint (the threads that may be waiting, too high
                by one for each waiter that died waiting).

                inspect --region FILE --offsets 0,128,... reads a region mapped with SharedMemory, where mutex
                records sit among the user's data and no header says where: give the offsets of the records
                (multiples of 64). Each must hold an initialized record; the command refuses offsets that do not.
                The rows add the record's PID namespace and boot (this one, another, or - when not recorded).

                Both only read the file: they never lock it, map it for writing or change it, and need no
                kernel support. A file that is not a mutex file is reported as such; it may hold user data.
                Processes that still map a deleted file of the same name are listed as warnings.

                Exit status: 0 when the file (or every offset) was read, 1 when it could not be, 2 for bad
                arguments.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments arguments = Arguments.parse(args, Set.of("--region"), Set.of("--offsets"));
        Path path = Path.of(arguments.positional(1, 1, "FILE").get(0));
        if (arguments.flag("--region")) {
            String offsets = arguments.value("--offsets").orElseThrow(() -> new UsageException(
                    "--region needs --offsets OFFSET[,OFFSET...]: a region has no header that lists its records"));
            return region(path, offsets, out, err);
        }
        if (arguments.value("--offsets").isPresent()) {
            throw new UsageException("--offsets is for regions: inspect --region " + path + " --offsets "
                    + arguments.value("--offsets").get());
        }
        return mutexFile(path, out, err);
    }

    private static int mutexFile(Path path, PrintStream out, PrintStream err) {
        MutexFileReport report;
        try {
            report = MutexFile.inspect(path);
        } catch (NoSuchFileException e) {
            err.println("inspect: " + path + ": no such file");
            reportDeletedMappings(path, "mutex file", err);
            return 1;
        } catch (IOException e) {
            err.println("inspect: " + FileErrors.describe(path, e));
            return 1;
        }
        reportDeletedMappings(path, "mutex file", out);
        out.println("file: " + report.path());
        out.printf("mutexes: %d %s, created %s%n", report.mutexes().size(), report.kind(), report.created());
        if (!report.conditions().isEmpty()) {
            out.printf("conditions: %d (format version 2)%n", report.conditions().size());
        }
        out.println("boot: " + (report.currentBoot() ? "current"
                : "an earlier boot (" + report.bootId() + "): owner TIDs are stale; the next open resets held words"));
        out.println("pid namespace: " + (report.samePidNamespace() ? "this one" : report.pidNamespace()
                + ", not this one: owners cannot be checked from here"));
        out.printf(FORMAT, "index", "kind", "state", "owner_tid", "owner_pid", "owner_alive", "waiters",
                "owner_died", "fencing_token", "owner_died_count");
        for (int i = 0; i < report.mutexes().size(); i++) {
            MutexSnapshot m = report.mutexes().get(i);
            out.printf(FORMAT, i, m.kind(), m.state(), m.ownerTid(), m.ownerPid(),
                    alive(m, report.samePidNamespace() && report.currentBoot()), yesNo(m.waiters()),
                    yesNo(m.ownerDied()), m.fencingToken(), m.ownerDiedCount());
        }
        if (!report.conditions().isEmpty()) {
            out.printf(CONDITION_FORMAT, "condition", "sequence", "waiters_hint");
            for (int i = 0; i < report.conditions().size(); i++) {
                MutexFileReport.ConditionSnapshot c = report.conditions().get(i);
                out.printf(CONDITION_FORMAT, "c" + i, Integer.toUnsignedString(c.sequence()), c.waiters());
            }
        }
        return 0;
    }

    // ---- regions ----

    /** Reads the records at the given offsets of a region and prints them, or refuses every bad offset. */
    private static int region(Path path, String offsetList, PrintStream out, PrintStream err) throws IOException {
        List<Long> offsets = parseOffsets(offsetList);
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            err.println("inspect: " + path + ": no such file");
            reportDeletedMappings(path, "file", err);
            return 1;
        } catch (IOException e) {
            err.println("inspect: " + FileErrors.describe(path, e));
            return 1;
        }
        if (!attributes.isRegularFile()) {
            // Checked before opening, so that a FIFO is not opened (which would block until a writer came).
            err.println("inspect: " + path + ": is " + (attributes.isSymbolicLink() ? "a symbolic link"
                    : attributes.isDirectory() ? "a directory" : "not a regular file (a FIFO, socket or device)")
                    + ": not a region");
            return 1;
        }
        long size = attributes.size();
        for (long offset : offsets) {
            if (offset + RegionRecord.SIZE > size) {
                throw new UsageException("--offsets " + offset + ": a 64-byte record does not fit in " + path + " ("
                        + size + " bytes)");
            }
        }
        Map<Long, RegionRecord> records = new TreeMap<>();
        List<String> refused = new ArrayList<>();
        boolean mutexFile;
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            mutexFile = Arrays.equals(read(channel, 0, FileErrors.MUTEX_FILE_MAGIC.length).array(),
                    FileErrors.MUTEX_FILE_MAGIC);
            for (long offset : offsets) {
                RegionRecord record = RegionRecord.decode(read(channel, offset, RegionRecord.SIZE));
                if (record.initialized()) {
                    records.put(offset, record);
                } else {
                    refused.add(String.format("inspect: %s: offset %d holds no initialized mutex record (kind word"
                            + " 0x%08x at offset %d): either no mutex was ever used there, or the bytes are user"
                            + " data", path, offset, record.kindWord(), offset + RegionRecord.KIND));
                }
            }
        } catch (IOException e) {
            err.println("inspect: " + FileErrors.describe(path, e));
            return 1;
        }
        if (!refused.isEmpty()) {
            refused.forEach(err::println);
            return 1;
        }
        reportDeletedMappings(path, "file", out);
        RegionRecord.Host host = RegionRecord.Host.current();
        out.println("region: " + path + " (" + size + " bytes; no header: records at the offsets given)");
        if (mutexFile) {
            out.println("note: this is a mutex file; inspect " + path + " lists all its mutexes");
        }
        out.printf(REGION_FORMAT, "offset", "kind", "state", "owner_tid", "owner_pid", "owner_alive", "waiters",
                "owner_died", "fencing_token", "owner_died_count", "pid_namespace", "boot");
        for (Map.Entry<Long, RegionRecord> entry : records.entrySet()) {
            RegionRecord record = entry.getValue();
            MutexSnapshot m = record.snapshot();
            boolean checkable = record.sameNamespace(host) && (!m.locked() || record.sameBoot(host));
            out.printf(REGION_FORMAT, entry.getKey(), m.kind(), m.state(), m.ownerTid(), m.ownerPid(),
                    alive(m, checkable), yesNo(m.waiters()), yesNo(m.ownerDied()), m.fencingToken(), m.ownerDiedCount(),
                    record.namespaceColumn(host), record.bootColumn(host));
        }
        return 0;
    }

    /** Offsets as given to {@code --offsets}: whole numbers, multiples of 64. */
    private static List<Long> parseOffsets(String list) {
        List<Long> offsets = new ArrayList<>();
        for (String text : list.split(",", -1)) {
            long offset = Arguments.number("--offsets", text, 0, Long.MAX_VALUE - RegionRecord.SIZE);
            if (offset % RegionRecord.SIZE != 0) {
                throw new UsageException("--offsets " + text + " (a mutex record starts at a multiple of "
                        + RegionRecord.SIZE + ")");
            }
            offsets.add(offset);
        }
        return offsets;
    }

    private static ByteBuffer read(FileChannel channel, long offset, int length) throws IOException {
        ByteBuffer bytes = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (bytes.hasRemaining() && channel.read(bytes, offset + bytes.position()) > 0) {
            continue;
        }
        return bytes.clear();
    }

    // ---- shared ----

    /**
     * Deleting a file while processes use it splits them: those still mapping the deleted file exclude each
     * other, not those that open the path afresh. The kernel names such a mapping "PATH (deleted)" in
     * /proc/PID/maps; list the processes that have one.
     */
    private static void reportDeletedMappings(Path path, String what, PrintStream out) {
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
                + " deleted " + what + " that had this name; it no longer excludes processes that open " + path));
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
