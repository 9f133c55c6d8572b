package io.robustmutex;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A file is not a usable mutex file: not one at all, a newer format, truncated, or not completely
 * initialized. The message names the file, the field and the value found. The file is never modified when
 * this is thrown.
 */
public final class MutexFileFormatException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Path path;

    /**
     * Creates the exception.
     *
     * @param path the file
     * @param problem what was found, naming the field and the value
     */
    public MutexFileFormatException(Path path, String problem) {
        super(path + ": " + problem);
        this.path = path;
    }

    /**
     * The file.
     *
     * @return the path
     */
    public Path path() {
        return path;
    }
}
