package io.robustmutex.examples;

/**
 * A command was given arguments it does not accept: the tool prints the message, the command's usage line,
 * and exits with status 2. The message names the argument at fault.
 */
final class UsageException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what is wrong, naming the argument
     */
    UsageException(String message) {
        super(message);
    }
}
