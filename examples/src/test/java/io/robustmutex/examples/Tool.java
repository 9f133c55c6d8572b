package io.robustmutex.examples;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** Runs the command-line tool in this JVM, capturing what it prints. */
final class Tool {

    private Tool() {
    }

    /**
     * Output and exit code of one command.
     *
     * @param exit the exit status
     * @param out standard output
     * @param err standard error
     */
    record Run(int exit, String out, String err) {
    }

    /**
     * Runs one command.
     *
     * @param args the command and its arguments
     * @return what it printed and its exit status
     */
    static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = RobustMutexTool.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * The fields of the table row whose first column is {@code first}.
     *
     * @param output a command's output
     * @param first the first column
     * @return the row's fields
     */
    static String[] row(String output, String first) {
        return output.lines().filter(l -> l.startsWith(first + " ")).findFirst().orElseThrow(
                () -> new AssertionError("no row " + first + " in\n" + output)).trim().split("\\s+");
    }
}
