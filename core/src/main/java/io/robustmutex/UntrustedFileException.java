package io.robustmutex;

import java.nio.file.FileSystemException;

/**
 * A file the library refuses to trust, before writing a byte of it: a symbolic link, not a regular file, owned
 * by someone else, or readable or writable by more users than the {@link FileAccess} asked for. Every process
 * that can write a mutex file is trusted with list pointers the kernel follows when threads of the processes
 * using it exit, so the file must be exactly as private as asked. The message names the file, its owner and
 * its mode.
 */
public class UntrustedFileException extends FileSystemException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param file the file
     * @param reason what was found and what to do
     */
    public UntrustedFileException(String file, String reason) {
        super(file, null, reason);
    }
}
