package io.robustmutex.examples;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A command's arguments, split into options and positional arguments, with every mistake reported as a
 * {@link UsageException} that names the argument: an unknown option, an option without its value, an option
 * given twice, a positional argument too many or too few, a value that is not a number.
 *
 * <p>An argument that starts with {@code -} is an option; everything else is positional, in order.
 */
final class Arguments {

    private final Set<String> known;
    private final Map<String, String> options = new LinkedHashMap<>();
    private final List<String> positional = new ArrayList<>();

    private Arguments(Set<String> known) {
        this.known = known;
    }

    /**
     * Parses arguments.
     *
     * @param args the arguments after the command name
     * @param flags the options that take no value
     * @param valued the options that take a value (the next argument)
     * @return the parsed arguments
     * @throws UsageException naming an unknown option, one given twice, or one missing its value
     */
    static Arguments parse(String[] args, Set<String> flags, Set<String> valued) {
        Set<String> known = new TreeSet<>(flags);
        known.addAll(valued);
        Arguments parsed = new Arguments(known);
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (!arg.startsWith("-") || arg.equals("-")) {
                parsed.positional.add(arg);
                continue;
            }
            String value;
            if (flags.contains(arg)) {
                value = "";
            } else if (valued.contains(arg)) {
                if (i + 1 >= args.length) {
                    throw new UsageException("option " + arg + " needs a value");
                }
                value = args[++i];
            } else {
                throw new UsageException("unknown option " + arg + (known.isEmpty() ? " (this command takes no options)"
                        : " (options: " + String.join(" ", known) + ")"));
            }
            if (parsed.options.put(arg, value) != null) {
                throw new UsageException("option " + arg + " is given twice");
            }
        }
        return parsed;
    }

    /**
     * Parses the arguments of a command that takes no options.
     *
     * @param args the arguments after the command name
     * @return the parsed arguments
     */
    static Arguments parse(String[] args) {
        return parse(args, Set.of(), Set.of());
    }

    /**
     * The positional arguments, checked against how many the command takes.
     *
     * @param min the fewest allowed
     * @param max the most allowed
     * @param names what the command expects there, for the message when some are missing (e.g. "FILE INDEX")
     * @return the positional arguments
     * @throws UsageException naming the first argument too many, or what is missing
     */
    List<String> positional(int min, int max, String names) {
        if (positional.size() > max) {
            throw new UsageException("unexpected argument '" + positional.get(max) + "'"
                    + (max == 0 ? " (this command takes no arguments)" : " (expected " + names + ")"));
        }
        if (positional.size() < min) {
            throw new UsageException("missing " + names);
        }
        return List.copyOf(positional);
    }

    /**
     * Checks that the command got no positional arguments.
     *
     * @throws UsageException naming the first one
     */
    void noPositional() {
        positional(0, 0, "");
    }

    /**
     * Whether a flag was given.
     *
     * @param flag the option
     * @return true when present
     */
    boolean flag(String flag) {
        requireKnown(flag);
        return options.containsKey(flag);
    }

    /**
     * An option's value.
     *
     * @param option the option
     * @return its value, or empty when absent
     */
    Optional<String> value(String option) {
        requireKnown(option);
        return Optional.ofNullable(options.get(option));
    }

    /**
     * An option's value as a whole number between {@code min} and {@code max}.
     *
     * @param option the option
     * @param defaultValue the value when the option is absent
     * @param min the smallest allowed
     * @param max the largest allowed
     * @return the value
     * @throws UsageException naming the option and the value when it is not such a number
     */
    long number(String option, long defaultValue, long min, long max) {
        Optional<String> text = value(option);
        return text.isEmpty() ? defaultValue : number(option, text.get(), min, max);
    }

    /**
     * Parses a whole number between {@code min} and {@code max} given for an argument.
     *
     * @param name the option or argument name, for the message
     * @param text the text given
     * @param min the smallest allowed
     * @param max the largest allowed
     * @return the value
     * @throws UsageException naming the argument and the value when it is not such a number
     */
    static long number(String name, String text, long min, long max) {
        long value;
        try {
            value = Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new UsageException(name + " " + text + " (expected a whole number)");
        }
        if (value < min) {
            throw new UsageException(name + " " + text + " (must be at least " + min + ")");
        }
        if (value > max) {
            throw new UsageException(name + " " + text + " (must be at most " + max + ")");
        }
        return value;
    }

    private void requireKnown(String option) {
        if (!known.contains(option)) {
            throw new IllegalArgumentException("the command does not declare option " + option);
        }
    }
}
