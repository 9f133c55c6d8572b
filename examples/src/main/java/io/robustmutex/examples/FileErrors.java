package io.robustmutex.examples;

import io.robustmutex.MutexFileFormatException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Arrays;

/**
 * Error messages that always name the file: the JDK's file exceptions often carry only the path, or only a
 * reason, and the library's carry the path in the message.
 */
final class FileErrors {

    /** The first bytes of every mutex file (design.md section 3). */
    static final byte[] MUTEX_FILE_MAGIC = "RBSTMTX\0".getBytes(StandardCharsets.US_ASCII);

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
        if (failure instanceof MutexFileFormatException && isRegularWithoutMagic(path)) {
            return notAMutexFile(path);
        }
        String reason = reason(failure);
        String name = path.toString();
        return reason.contains(name) ? reason : name + ": " + reason;
    }

    /**
     * What to say about a regular file without the mutex-file magic. It is not a mutex file, and it is not
     * for this tool to call it broken or to suggest deleting it: a {@code SharedMemory} region has no header
     * and looks exactly like this, with the user's data in it.
     *
     * @param path the file
     * @return the message
     */
    static String notAMutexFile(Path path) {
        return path + " is not a mutex file: it does not start with the mutex-file header (magic \"RBSTMTX\\0\")."
                + " It may hold user data: a region mapped with SharedMemory, for one, has no header. It was not"
                + " changed; do not delete it unless you know what it holds. To show the mutex records of a"
                + " region: inspect --region " + path + " --offsets 0,64,...";
    }

    /** Whether a regular file (not followed through a link) lacks the mutex-file magic; false on any doubt. */
    private static boolean isRegularWithoutMagic(Path path) {
        try {
            if (!Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isRegularFile()) {
                return false;  // the library's message (a link, a FIFO, a directory) already says what it is
            }
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
                ByteBuffer start = ByteBuffer.allocate(MUTEX_FILE_MAGIC.length);
                while (start.hasRemaining() && channel.read(start, start.position()) > 0) {
                    continue;
                }
                return !Arrays.equals(start.array(), MUTEX_FILE_MAGIC);
            }
        } catch (IOException e) {
            return false;
        }
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
