package io.robustmutex.examples;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The robust-mutex command-line tool: {@code java -jar examples/target/robust-mutex.jar <command> [args]}.
 *
 * <p>Each command is a small class with a {@code run(String[] args, PrintStream out, PrintStream err)} method
 * returning the exit code.
 */
public final class RobustMutexTool {

    /** A subcommand. */
    interface Command {
        /**
         * Runs the command.
         *
         * @param args the arguments after the command name
         * @param out standard output
         * @param err standard error
         * @return the exit code
         * @throws Exception on failure (printed, exit code 1)
         */
        int run(String[] args, PrintStream out, PrintStream err) throws Exception;

        /**
         * One line of help.
         *
         * @return the description
         */
        String summary();
    }

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("demo", new DemoCommand());
        COMMANDS.put("doctor", new DoctorCommand());
        COMMANDS.put("inspect", new InspectCommand());
        COMMANDS.put("model-check", new ModelCheckCommand());
        COMMANDS.put("torture", new TortureCommand());
        COMMANDS.put("example-file-lock", new FileLockExample());
        COMMANDS.put("example-embedded", new EmbeddedMutexExample());
    }

    private RobustMutexTool() {
    }

    /**
     * Entry point.
     *
     * @param args the command and its arguments
     */
    public static void main(String[] args) {
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
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            usage(args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        Command command = COMMANDS.get(args[0]);
        if (command == null) {
            err.println("unknown command: " + args[0]);
            usage(err);
            return 2;
        }
        try {
            return command.run(Arrays.copyOfRange(args, 1, args.length), out, err);
        } catch (IllegalArgumentException e) {
            err.println(args[0] + ": " + e.getMessage());
            return 2;
        } catch (Exception e) {
            err.println(args[0] + ": " + e);
            return 1;
        }
    }

    private static void usage(PrintStream out) {
        out.println("usage: java -jar robust-mutex.jar <command> [arguments]");
        out.println("commands:");
        COMMANDS.forEach((name, command) -> out.printf("  %-12s %s%n", name, command.summary()));
    }
}
