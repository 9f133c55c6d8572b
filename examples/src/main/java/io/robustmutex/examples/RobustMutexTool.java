package io.robustmutex.examples;

import io.robustmutex.LibraryVersion;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The robust-mutex command-line tool: {@code java -jar examples/target/robust-mutex.jar <command> [args]}.
 *
 * <p>Each command is a small class with a {@code run(String[] args, PrintStream out, PrintStream err)} method
 * returning the exit status: 0 for success, 1 for a failure (the message names the file), 2 for a usage error
 * (the message names the argument). {@code COMMAND --help} (or {@code -h}) prints the command's help and
 * {@code --version} the library's version.
 */
public final class RobustMutexTool {

    /** The name users type before a command. */
    static final String INVOCATION = "java -jar robust-mutex.jar";

    /** A subcommand. */
    interface Command {
        /**
         * Runs the command.
         *
         * @param args the arguments after the command name
         * @param out standard output
         * @param err standard error
         * @return the exit code
         * @throws UsageException when the arguments are wrong (exit code 2)
         * @throws Exception on failure (printed, exit code 1)
         */
        int run(String[] args, PrintStream out, PrintStream err) throws Exception;

        /**
         * One line of help.
         *
         * @return the description
         */
        String summary();

        /**
         * The arguments the command takes, as in a usage line (empty when none).
         *
         * @return for example {@code "FILE INDEX"}
         */
        default String arguments() {
            return "";
        }

        /**
         * What {@code COMMAND --help} prints after the usage line: what the command does, its options,
         * and its exit status.
         *
         * @return the help text, lines separated by {@code \n}
         */
        String help();
    }

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("demo", new DemoCommand());
        COMMANDS.put("doctor", new DoctorCommand());
        COMMANDS.put("inspect", new InspectCommand());
        COMMANDS.put("reinitialize", new ReinitializeCommand());
        COMMANDS.put("model-check", new ModelCheckCommand());
        COMMANDS.put("torture", new TortureCommand());
        COMMANDS.put("queue", new QueueCommand());
        COMMANDS.put("unlock-cost", new UnlockCostCommand());
        COMMANDS.put("example-file-lock", new FileLockExample());
        COMMANDS.put("example-embedded", new EmbeddedMutexExample());
        COMMANDS.put("example-queue", new QueueExample());
    }

    private RobustMutexTool() {
    }

    /**
     * Entry point. Bad {@code -Dio.robustmutex.*} values are reported and replaced by their defaults before
     * the command runs (docs/configuration.md).
     *
     * @param args the command and its arguments
     */
    public static void main(String[] args) {
        LibraryProperties.apply(System.err);
        System.exit(run(args, System.out, System.err));
    }

    /**
     * Runs a command and returns its exit code.
     *
     * @param args the command and its arguments
     * @param out standard output
     * @param err standard error
     * @return the exit code
     */
    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            usage(err);
            return 2;
        }
        String name = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        switch (name) {
            case "help", "--help", "-h" -> {
                return help(rest, out, err);
            }
            case "--version" -> {
                if (rest.length > 0) {
                    err.println("--version: unexpected argument '" + rest[0] + "'");
                    return 2;
                }
                out.println("robust-mutex " + LibraryVersion.current());
                return 0;
            }
            default -> {
            }
        }
        Command command = COMMANDS.get(name);
        if (command == null) {
            err.println(name.startsWith("-D") ? "unknown option: " + name + " (JVM options go before -jar)"
                    : (name.startsWith("-") ? "unknown option: " : "unknown command: ") + name);
            usage(err);
            return 2;
        }
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            commandHelp(name, command, out);
            return 0;
        }
        try {
            return command.run(rest, out, err);
        } catch (UsageException e) {
            err.println(name + ": " + e.getMessage());
            err.println("usage: " + usageLine(name, command));
            err.println("(" + INVOCATION + " " + name + " --help describes it)");
            return 2;
        } catch (Exception e) {
            err.println(name + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            return 1;
        }
    }

    /** {@code help} alone lists the commands; {@code help COMMAND} is {@code COMMAND --help}. */
    private static int help(String[] rest, PrintStream out, PrintStream err) {
        if (rest.length == 0) {
            usage(out);
            return 0;
        }
        Command command = COMMANDS.get(rest[0]);
        if (command == null || rest.length > 1) {
            err.println("help: " + (command == null ? "unknown command: " + rest[0]
                    : "unexpected argument '" + rest[1] + "'"));
            usage(err);
            return 2;
        }
        commandHelp(rest[0], command, out);
        return 0;
    }

    private static String usageLine(String name, Command command) {
        return INVOCATION + " " + name + (command.arguments().isEmpty() ? "" : " " + command.arguments());
    }

    private static void commandHelp(String name, Command command, PrintStream out) {
        out.println("usage: " + usageLine(name, command));
        out.println();
        out.println(command.summary());
        out.println();
        out.println(command.help());
    }

    private static void usage(PrintStream out) {
        out.println("usage: " + INVOCATION + " <command> [arguments]");
        out.println("       " + INVOCATION + " <command> --help    (that command's help)");
        out.println("       " + INVOCATION + " --version");
        out.println("commands:");
        COMMANDS.forEach((name, command) -> out.printf("  %-18s %s%n", name, command.summary()));
    }
}
