package io.robustmutex.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * Identities that decide whether TIDs in a shared file mean anything to this process: the boot id (a TID
 * from another boot means nothing) and the PID namespace (a TID from another namespace is not ours;
 * kernel-abi.md section 5).
 */
public final class HostIdentity {

    private HostIdentity() {
    }

    /**
     * The current boot id, from {@code /proc/sys/kernel/random/boot_id}.
     *
     * @return the boot id
     * @throws IOException when it cannot be read
     */
    public static UUID bootId() throws IOException {
        return UUID.fromString(Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).trim());
    }

    /**
     * The boot stamp region records carry: thirty-one bits folded from the boot id, never 0 (0 marks records
     * that do not keep a stamp); the top bit is left for a claim, a thread stamping the record
     * ({@code RobustMutexProtocol.CLAIM_BIT}).
     *
     * @param bootId the boot id
     * @return the stamp
     */
    public static int bootStamp(UUID bootId) {
        long mixed = bootId.getMostSignificantBits() ^ bootId.getLeastSignificantBits();
        int stamp = (int) (mixed ^ (mixed >>> 32)) & 0x7fff_ffff;
        return stamp == 0 ? 1 : stamp;
    }

    /**
     * This process's PID namespace: the inode number of {@code /proc/self/ns/pid}.
     *
     * @return the namespace identity
     * @throws IOException when it cannot be read
     */
    public static long pidNamespace() throws IOException {
        return parseNamespaceLink(Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString());
    }

    /**
     * The refusal of a mutex used from another PID namespace: why, and what works instead.
     *
     * @param what the file, or the file and offset of a record
     * @param recorded the namespace its users are in
     * @param ours this process's namespace
     * @return the message
     */
    public static String foreignPidNamespace(String what, long recorded, long ours) {
        return what + " is used in PID namespace " + recorded + " and this process is in PID namespace " + ours
                + ". No robust mutex, PI or NORMAL, is safe between PID namespaces: when a thread dies, the kernel"
                + " releases the locks whose word holds its TID as numbered in its own namespace, so a thread of one"
                + " namespace can release a lock that a live thread of the other holds (kernel-abi.md section 5)."
                + " Run the processes that share it in one PID namespace (the host's, or a pod that shares its"
                + " process namespace), or give each namespace its own file";
    }

    /**
     * Parses a namespace link target such as {@code pid:[4026531836]}.
     *
     * @param link the link target
     * @return the inode number
     * @throws IOException when the text is not of that form
     */
    static long parseNamespaceLink(String link) throws IOException {
        int open = link.indexOf('[');
        int close = link.indexOf(']');
        if (open < 0 || close <= open + 1) {
            throw new IOException("unexpected namespace link: " + link);
        }
        try {
            return Long.parseLong(link.substring(open + 1, close));
        } catch (NumberFormatException e) {
            throw new IOException("unexpected namespace link: " + link, e);
        }
    }
}
