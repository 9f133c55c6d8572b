package io.robustmutex.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.awaitility.Awaitility;

/**
 * A child process for cross-process tests: a JVM running a main class from this JVM's class path
 * ({@link #start(Class, String...)}) or any command ({@link #command(List)}). Its standard output is
 * collected line by line so a test can wait (bounded, with Awaitility) for a line such as {@code HELD}.
 * {@link #kill()} sends SIGKILL.
 *
 * <p>Every bound on a child ({@link #awaitLine}, {@link #waitFor}) is multiplied by the system property
 * {@value #TIMEOUT_SCALE_PROPERTY} (default 1): kernels/run.sh sets it for guests under QEMU's TCG, where a
 * JVM starts 10 to 20 times more slowly than on the host.
 */
public final class ChildProcess implements AutoCloseable {

    /** The system property that scales every bound on a child (a positive number, default 1). */
    public static final String TIMEOUT_SCALE_PROPERTY = "robustmutex.test.timeoutScale";

    private final Process process;
    private final List<String> out = new CopyOnWriteArrayList<>();
    private final List<String> err = new CopyOnWriteArrayList<>();
    private final List<Thread> pumps = new ArrayList<>();

    /**
     * Starts a command.
     *
     * @param command the program and its arguments
     * @return the running child
     */
    public static ChildProcess command(List<String> command) {
        try {
            return new ChildProcess(new ProcessBuilder(command).start());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private ChildProcess(Process process) {
        this.process = process;
        pumps.add(pump(process.getInputStream(), out, "child-stdout-" + process.pid()));
        pumps.add(pump(process.getErrorStream(), err, "child-stderr-" + process.pid()));
    }

    /**
     * Starts {@code main} in a new JVM with this JVM's class path and java executable.
     *
     * @param main the class whose {@code main} runs
     * @param jvmOptions extra JVM options (system properties, for instance)
     * @param args program arguments
     * @return the running child
     */
    public static ChildProcess start(Class<?> main, List<String> jvmOptions, String... args) {
        return command(javaCommand(main, jvmOptions, args));
    }

    /**
     * The command that runs {@code main} as another user and group ({@code setpriv}, with no supplementary
     * groups), with a copy of this JVM's class path that every user can read (this JVM's may lie under a
     * private home directory). The copy is made once per JVM.
     *
     * @param uid the user id
     * @param gid the group id
     * @param main the class whose {@code main} runs
     * @param args program arguments
     * @return the command line
     */
    public static List<String> javaCommandAs(int uid, int gid, Class<?> main, String... args) {
        List<String> command = new ArrayList<>(List.of("setpriv", "--reuid=" + uid, "--regid=" + gid,
                "--clear-groups", "--"));
        List<String> java = javaCommand(main, List.of("-XX:-UsePerfData"), args);
        int cp = java.indexOf("-cp");
        java.set(cp + 1, SharedClassPath.get());
        command.addAll(java);
        return command;
    }

    /** This JVM's class path copied where every user can read it. */
    private static final class SharedClassPath {
        private static String path;

        static synchronized String get() {
            if (path != null) {
                return path;
            }
            try {
                Path root = java.nio.file.Files.createTempDirectory("robust-mutex-cp");
                java.nio.file.Files.setPosixFilePermissions(root,
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
                List<String> copies = new ArrayList<>();
                int n = 0;
                for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                    Path source = Path.of(entry);
                    if (!java.nio.file.Files.exists(source)) {
                        continue;
                    }
                    Path target = root.resolve(n++ + (java.nio.file.Files.isDirectory(source) ? "" : ".jar"));
                    try (var files = java.nio.file.Files.walk(source)) {
                        for (Path file : files.toList()) {
                            Path to = target.resolve(source.relativize(file).toString());
                            if (java.nio.file.Files.isDirectory(file)) {
                                java.nio.file.Files.createDirectories(to);
                            } else {
                                java.nio.file.Files.copy(file, java.nio.file.Files.isDirectory(source) ? to : target);
                            }
                            java.nio.file.Files.setPosixFilePermissions(java.nio.file.Files.isDirectory(source)
                                    ? to : target, java.nio.file.attribute.PosixFilePermissions.fromString(
                                    java.nio.file.Files.isDirectory(file) ? "rwxr-xr-x" : "rw-r--r--"));
                        }
                    }
                    copies.add(target.toString());
                }
                path = String.join(java.io.File.pathSeparator, copies);
                return path;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot copy the class path for another user", e);
            }
        }
    }

    /**
     * The command that {@link #start(Class, List, String...)} runs, for a test that runs it under another
     * program (for example {@code unshare -p -f --mount-proc}, to put the JVM in a new PID namespace).
     *
     * @param main the class whose {@code main} runs
     * @param jvmOptions extra JVM options
     * @param args program arguments
     * @return the java command line
     */
    public static List<String> javaCommand(Class<?> main, List<String> jvmOptions, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        // Start fast and small: these JVMs take a lock, print, and usually die by SIGKILL.
        command.add("-XX:TieredStopAtLevel=1");
        command.add("-XX:+UseSerialGC");
        command.add("-Xmx64m");
        command.add("-Xss1m");
        // No /tmp/hsperfdata file: a JVM that finds its pid's file still locked by an earlier holder of the pid
        // prints a warning on standard output, which tests read line by line.
        command.add("-XX:-UsePerfData");
        if (Runtime.version().feature() >= 22) {
            command.add("--enable-native-access=ALL-UNNAMED");
        }
        command.addAll(jvmOptions);
        command.add(main.getName());
        command.addAll(List.of(args));
        return command;
    }

    /**
     * Starts {@code main} without extra JVM options.
     *
     * @param main the class whose {@code main} runs
     * @param args program arguments
     * @return the running child
     */
    public static ChildProcess start(Class<?> main, String... args) {
        return start(main, List.of(), args);
    }

    private static Thread pump(InputStream stream, List<String> lines, String name) {
        Thread thread = new Thread(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    lines.add(line);
                }
            } catch (IOException e) {
                // The child was killed; its pipe is gone.
            }
        }, name);
        thread.setDaemon(true);
        thread.start();
        return thread;
    }

    /**
     * The child's process id.
     *
     * @return the pid
     */
    public long pid() {
        return process.pid();
    }

    /**
     * The process.
     *
     * @return the process
     */
    public Process process() {
        return process;
    }

    /**
     * Lines printed to standard output so far.
     *
     * @return a snapshot of the lines
     */
    public List<String> lines() {
        return List.copyOf(out);
    }

    /**
     * Lines printed to standard error so far.
     *
     * @return a snapshot of the lines
     */
    public List<String> errorLines() {
        return List.copyOf(err);
    }

    /**
     * Waits until a line matching the predicate has been printed.
     *
     * @param line what to wait for
     * @param timeout the longest wait
     * @return the first matching line
     */
    public String awaitLine(Predicate<String> line, Duration timeout) {
        Awaitility.await("child " + pid() + " output; stdout=" + out + ", stderr=" + err)
                .atMost(scaled(timeout))
                .pollInterval(Duration.ofMillis(5))
                .until(() -> out.stream().anyMatch(line) || !process.isAlive() && out.stream().noneMatch(line)
                        && failFast());
        return out.stream().filter(line).findFirst().orElseThrow();
    }

    /**
     * Waits until a line equal to {@code text} has been printed.
     *
     * @param text the exact line
     * @param timeout the longest wait
     */
    public void awaitLine(String text, Duration timeout) {
        awaitLine(text::equals, timeout);
    }

    private boolean failFast() {
        throw new AssertionError("child " + pid() + " exited with " + process.exitValue() + " before printing the"
                + " expected line; stdout=" + out + ", stderr=" + err);
    }

    /**
     * Sends SIGKILL and waits for the process to be gone.
     */
    public void kill() {
        process.destroyForcibly();
        waitFor(Duration.ofSeconds(30));
    }

    /**
     * Waits for the child to exit, and for everything it printed to be collected.
     *
     * @param timeout the longest wait
     * @return the exit code
     */
    public int waitFor(Duration timeout) {
        try {
            if (!process.waitFor(scaled(timeout).toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("child " + pid() + " did not exit within " + timeout + "; stdout=" + out
                        + ", stderr=" + err);
            }
            // The pipes end when the child (and any process it left holding them) is gone.
            for (Thread pump : pumps) {
                pump.join(TimeUnit.SECONDS.toMillis(10));
            }
            return process.exitValue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /**
     * A bound multiplied by the {@value #TIMEOUT_SCALE_PROPERTY} system property.
     *
     * @param timeout the bound on an unemulated machine
     * @return the bound to use here
     */
    public static Duration scaled(Duration timeout) {
        double scale = Double.parseDouble(System.getProperty(TIMEOUT_SCALE_PROPERTY, "1"));
        if (!(scale > 0)) {
            throw new IllegalArgumentException(TIMEOUT_SCALE_PROPERTY + " must be positive: " + scale);
        }
        return Duration.ofNanos((long) Math.min(Long.MAX_VALUE, timeout.toNanos() * scale));
    }

    /** Kills the child if it is still running. */
    @Override
    public void close() {
        if (process.isAlive()) {
            kill();
        }
    }
}
