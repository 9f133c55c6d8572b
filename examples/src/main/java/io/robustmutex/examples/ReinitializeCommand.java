package io.robustmutex.examples;

import io.robustmutex.FileAccess;
import io.robustmutex.MutexFile;
import io.robustmutex.MutexSnapshot;
import io.robustmutex.RobustMutex;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * {@code reinitialize FILE INDEX}: makes an {@code INCONSISTENT}, {@code NOT_RECOVERABLE} or damaged mutex of a
 * mutex file usable again with {@link RobustMutex#reinitialize()}, which refuses while anyone holds it, and
 * shows the mutex before and after.
 */
final class ReinitializeCommand implements RobustMutexTool.Command {

    @Override
    public String summary() {
        return "make a not-recoverable mutex of a mutex file usable again (refused while it is held)";
    }

    @Override
    public String arguments() {
        return "[--group] FILE INDEX";
    }

    @Override
    public String help() {
        return """
                Opens the mutex file FILE and calls RobustMutex.reinitialize() on mutex INDEX (0 for the first):
                a mutex that is NOT_RECOVERABLE (a holder after an owner death released it without marking it
                consistent), INCONSISTENT or DAMAGED becomes CONSISTENT and free again. It is refused while any
                thread of any process holds the mutex. Repair the data the mutex protects first: reinitializing
                only says that the data is whole again. The state, owner and fencing token are shown before and
                after (reinitializing takes the mutex, so the token goes up by one; a damaged one restarts at 1).

                FILE must be a mutex file of yours with mode rw-------, or with --group a file of one of your
                groups with at most rw-rw----. Opening it needs the library's kernel support (see doctor) and,
                when the file was last used before a reboot, resets its stale lock words as every open does.

                options:
                  --group    the file is shared with a group (FileAccess.GROUP)

                Exit status: 0 when reinitialized, 1 when refused or the file cannot be used, 2 for bad
                arguments.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Arguments arguments = Arguments.parse(args, Set.of("--group"), Set.of());
        List<String> positional = arguments.positional(2, 2, "FILE INDEX");
        Path path = Path.of(positional.get(0));
        long index = Arguments.number("INDEX", positional.get(1), 0, Integer.MAX_VALUE);
        FileAccess access = arguments.flag("--group") ? FileAccess.GROUP : FileAccess.OWNER;
        MutexFile file;
        try {
            file = MutexFile.openExisting(path, access);
        } catch (Exception e) {
            err.println("reinitialize: " + FileErrors.describe(path, e));
            return 1;
        }
        try (file) {
            if (index >= file.mutexCount()) {
                throw new UsageException("INDEX " + index + ": " + path + " has " + file.mutexCount() + " mutex"
                        + (file.mutexCount() == 1 ? "" : "es") + " (0.." + (file.mutexCount() - 1) + ")");
            }
            RobustMutex mutex = file.mutex((int) index);
            out.println("mutex: " + path + "[" + index + "] (" + mutex.kind() + ")");
            out.println("before: " + describe(mutex.snapshot()));
            try {
                mutex.reinitialize();
            } catch (IllegalStateException e) {
                err.println("reinitialize: " + FileErrors.describe(path, e));
                return 1;
            }
            out.println("after:  " + describe(mutex.snapshot()));
            return 0;
        }
    }

    private static String describe(MutexSnapshot m) {
        return m.state() + ", " + (m.locked() ? "held by TID " + m.ownerTid() + " (pid " + m.ownerPid() + ")"
                : "free") + (m.waiters() ? ", waiters" : "") + (m.ownerDied() ? ", owner died" : "")
                + ", fencing token " + m.fencingToken() + ", owner deaths detected " + m.ownerDiedCount();
    }
}
