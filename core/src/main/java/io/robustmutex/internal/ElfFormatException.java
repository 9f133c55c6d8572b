package io.robustmutex.internal;

/**
 * An ELF image is malformed or is not the kind of image expected. The message names the field and the value
 * found.
 */
public final class ElfFormatException extends Exception {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was wrong, naming the field and the value
     */
    public ElfFormatException(String message) {
        super(message);
    }
}
