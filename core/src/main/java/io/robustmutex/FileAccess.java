package io.robustmutex;

import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Who may use a file the library maps. Every process that can write a mutex file is trusted: it writes list
 * pointers the kernel follows when our threads exit (design.md section 7). A new file gets exactly this mode,
 * whatever the umask; an existing file is refused ({@link UntrustedFileException}) unless it is exactly as
 * private: for {@link #OWNER}, owned by this process's effective user with no permission for group or others;
 * for {@link #GROUP}, belonging to one of this process's groups (whoever owns it) with no permission for
 * others. Never world-readable or world-writable.
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
