package io.robustmutex;

import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Who may open a file the library creates. Every process that can write a mutex file is trusted: it writes
 * list pointers the kernel follows when our threads exit (design.md section 7), so files are never created
 * world-writable. Permissions apply only when the library creates the file, and the process umask may
 * narrow them further.
 */
public enum FileAccess {

    /** {@code rw-------}: processes of the file owner's user only (the default). */
    OWNER(PosixFilePermissions.fromString("rw-------")),

    /** {@code rw-rw----}: the owner's user and the file's group. */
    GROUP(PosixFilePermissions.fromString("rw-rw----"));

    private final Set<PosixFilePermission> permissions;

    FileAccess(Set<PosixFilePermission> permissions) {
        this.permissions = Set.copyOf(permissions);
    }

    /**
     * The permissions a new file gets.
     *
     * @return the POSIX permissions
     */
    public Set<PosixFilePermission> permissions() {
        return permissions;
    }
}
