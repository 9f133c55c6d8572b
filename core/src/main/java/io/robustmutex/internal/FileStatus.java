package io.robustmutex.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * What {@code statx} says of an open descriptor: the fields the file layer checks. {@code struct statx} has
 * one layout on every architecture (include/uapi/linux/stat.h), unlike {@code struct stat}.
 *
 * @param mode the file type and permission bits ({@code stx_mode})
 * @param uid the owner ({@code stx_uid})
 * @param gid the group ({@code stx_gid})
 * @param links the number of hard links ({@code stx_nlink}); 0 once the file was deleted
 * @param inode the inode number ({@code stx_ino})
 * @param size the size in bytes ({@code stx_size})
 * @param deviceMajor the major number of the device holding the file ({@code stx_dev_major})
 * @param deviceMinor its minor number ({@code stx_dev_minor})
 */
public record FileStatus(int mode, int uid, int gid, int links, long inode, long size, int deviceMajor,
        int deviceMinor) {

    /** The size of {@code struct statx}. */
    public static final int STATX_SIZE = 256;

    /** {@code S_IFMT}: the file type bits. */
    public static final int S_IFMT = 0170000;
    /** {@code S_IFREG}: a regular file. */
    public static final int S_IFREG = 0100000;

    /**
     * Decodes a {@code struct statx}.
     *
     * @param statx the 256 bytes the kernel filled
     * @return the status
     */
    public static FileStatus decode(ByteBuffer statx) {
        ByteBuffer b = statx.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        return new FileStatus(Short.toUnsignedInt(b.getShort(28)), b.getInt(20), b.getInt(24), b.getInt(16),
                b.getLong(32), b.getLong(40), b.getInt(136), b.getInt(140));
    }

    /**
     * Whether this is a regular file.
     *
     * @return true for a regular file
     */
    public boolean isRegularFile() {
        return (mode & S_IFMT) == S_IFREG;
    }

    /**
     * The permission bits, including set-user-id, set-group-id and sticky.
     *
     * @return {@code mode & 07777}
     */
    public int permissions() {
        return mode & 07777;
    }

    /**
     * What kind of file this is, in words, for messages.
     *
     * @return e.g. {@code "a regular file"}, {@code "a FIFO"}
     */
    public String typeName() {
        return switch (mode & S_IFMT) {
            case S_IFREG -> "a regular file";
            case 0040000 -> "a directory";
            case 0010000 -> "a FIFO";
            case 0140000 -> "a socket";
            case 0020000 -> "a character device";
            case 0060000 -> "a block device";
            case 0120000 -> "a symbolic link";
            default -> String.format("a file of type 0%o", mode & S_IFMT);
        };
    }
}
