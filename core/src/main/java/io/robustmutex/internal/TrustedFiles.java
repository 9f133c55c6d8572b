package io.robustmutex.internal;

import io.robustmutex.FileAccess;
import io.robustmutex.UntrustedFileException;
import java.nio.file.Path;

/**
 * The trust boundary of the file layer (design.md section 7): which files the library maps.
 *
 * <p>A file is opened without following a symbolic link and checked through the open descriptor, so the
 * file checked is the file used. It must be a regular file with no set-user-id, set-group-id or sticky bit,
 * and:
 * <ul>
 * <li>with {@link FileAccess#OWNER}: owned by this process's effective user (root included: root does not
 *     trust a file another user made), with mode {@code rw-------} (nothing for group or others);</li>
 * <li>with {@link FileAccess#GROUP}: owned by any user, provided its group is one of this process's groups
 *     (effective or supplementary), and with nothing for others: every member of the group is trusted alike,
 *     so whichever member created the file does not matter.</li>
 * </ul>
 * Anything else is refused with an {@link UntrustedFileException} naming the file, its owner and its mode.
 */
public final class TrustedFiles {

    private TrustedFiles() {
    }

    /**
     * The mode a new file gets.
     *
     * @param access the access asked for
     * @return {@code 0600} or {@code 0660}
     */
    public static int mode(FileAccess access) {
        return access == FileAccess.GROUP ? 0660 : 0600;
    }

    /**
     * Checks an open file against the trust boundary.
     *
     * @param path the file, for the message
     * @param status its status, read through the open descriptor
     * @param access the access asked for
     * @param euid this process's effective user id
     * @param groups this process's groups (effective first)
     * @throws UntrustedFileException naming the file, its owner and its mode when it is refused
     */
    public static void check(Path path, FileStatus status, FileAccess access, int euid, int[] groups)
            throws UntrustedFileException {
        String found = String.format("owner uid %d, group gid %d, mode 0%03o", status.uid(), status.gid(),
                status.permissions());
        if (!status.isRegularFile()) {
            throw new UntrustedFileException(path.toString(), "is " + status.typeName() + ", not a regular file ("
                    + found + ")");
        }
        if ((status.permissions() & 07000) != 0) {
            throw new UntrustedFileException(path.toString(), "has a set-user-id, set-group-id or sticky bit ("
                    + found + "); a mutex file never has one");
        }
        if (access == FileAccess.OWNER) {
            if (status.uid() != euid) {
                throw new UntrustedFileException(path.toString(), "belongs to another user (" + found + "; this"
                        + " process runs as uid " + euid + "). A file someone else made is never trusted: its"
                        + " author could write list pointers the kernel follows when our threads exit. Remove it,"
                        + " or share it deliberately with FileAccess.GROUP");
            }
            if ((status.permissions() & 0077) != 0) {
                throw new UntrustedFileException(path.toString(), "grants access beyond its owner (" + found
                        + "), but FileAccess.OWNER was asked for: expected mode 0600 (rw-------). Open it with"
                        + " FileAccess.GROUP if its group is meant to share it");
            }
            return;
        }
        boolean member = false;
        for (int group : groups) {
            member |= group == status.gid();
        }
        if (!member) {
            throw new UntrustedFileException(path.toString(), "belongs to a group this process is not in (" + found
                    + "); with FileAccess.GROUP the file's group must be one of this process's groups");
        }
        if ((status.permissions() & 0007) != 0) {
            throw new UntrustedFileException(path.toString(), "grants access to every user (" + found + "); a"
                    + " mutex file is never world-readable or world-writable: expected at most mode 0660 (rw-rw----)");
        }
    }
}
