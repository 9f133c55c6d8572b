package io.robustmutex.examples;

import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * Error messages that always name the file: the JDK's file exceptions often carry only the path, or only a
 * reason, and the library's carry the path in the message.
 */
final class FileErrors {

    private FileErrors() {
    }

    /**
     * What went wrong with a file, starting with its path unless the message already names it.
     *
     * @param path the file the command was working on
     * @param failure what was thrown
     * @return one line
     */
    static String describe(Path path, Throwable failure) {
        String reason = reason(failure);
        String name = path.toString();
        return reason.contains(name) ? reason : name + ": " + reason;
    }

    private static String reason(Throwable failure) {
        if (failure instanceof NoSuchFileException e) {
            return named(e, "no such file");
        }
        if (failure instanceof AccessDeniedException e) {
            return named(e, "permission denied");
        }
        if (failure instanceof NotDirectoryException e) {
            return named(e, "not a directory");
        }
        if (failure instanceof FileSystemException e) {
            return e.getMessage();
        }
        String message = failure.getMessage();
        if (message == null || message.isBlank()) {
            return failure.getClass().getSimpleName();
        }
        // Exceptions thrown by the library explain themselves; others keep their type for a bug report.
        return failure.getClass().getName().startsWith("io.robustmutex.") || failure instanceof RuntimeException
                ? message : failure.getClass().getSimpleName() + ": " + message;
    }

    /** A {@link FileSystemException} whose message is only its file gets the reason added. */
    private static String named(FileSystemException e, String what) {
        String file = e.getFile();
        String reason = e.getReason();
        return (file == null ? "" : file + ": ") + what
                + (reason == null || reason.isBlank() ? "" : " (" + reason + ")");
    }
}
