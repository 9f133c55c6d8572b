package io.robustmutex.examples;

import io.robustmutex.MutexKind;
import io.robustmutex.MutexSnapshot;
import io.robustmutex.MutexState;
import io.robustmutex.internal.HostIdentity;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * A mutex record read from a file's bytes, decoded from its documented layout (design.md section 3), for
 * {@code inspect --region}: the library decodes records only from files it opens itself.
 *
 * <pre>
 *   0 futex word   4 state   8 fencing token   40 kind word (0x100 initialized | 1 PI, 2 NORMAL)
 *   44 owner pid   48 owner-died count   56 PID namespace (unsigned)   60 boot stamp      (little-endian)
 * </pre>
 *
 * @param word the futex word
 * @param state the state field
 * @param fencingToken the fencing token
 * @param kindWord the kind and flags word
 * @param ownerPid the owner's pid as recorded
 * @param ownerDiedCount the owner deaths detected
 * @param pidNamespace the PID namespace of the record's users (inode number), 0 when not recorded
 * @param bootStamp the stamp of the boot in which the word was last acquired from free, 0 when not recorded
 */
record RegionRecord(int word, int state, long fencingToken, int kindWord, int ownerPid, long ownerDiedCount,
        long pidNamespace, int bootStamp) {

    /** The size of a record, and its alignment. */
    static final int SIZE = 64;
    /** The offset of the kind word in a record. */
    static final int KIND = 40;

    private static final int TID_MASK = 0x3fff_ffff;
    private static final int OWNER_DIED = 0x4000_0000;
    private static final int WAITERS = 0x8000_0000;
    private static final int INITIALIZED = 0x100;

    /** This process's boot stamp and PID namespace, to compare records with. */
    record Host(int bootStamp, long pidNamespace) {

        /**
         * Reads them from {@code /proc}.
         *
         * @return this machine's boot and this process's namespace (0 for what cannot be read)
         */
        static Host current() {
            int stamp = 0;
            long namespace = 0;
            try {
                stamp = RegionRecord.bootStamp(UUID.fromString(Files.readString(Path.of(
                        "/proc/sys/kernel/random/boot_id")).trim()));
            } catch (IOException | IllegalArgumentException e) {
                // Unknown: boots are not compared.
            }
            try {
                String link = Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString();
                namespace = Long.parseLong(link.substring(link.indexOf('[') + 1, link.indexOf(']')));
            } catch (IOException | RuntimeException e) {
                // Unknown: namespaces are not compared.
            }
            return new Host(stamp, namespace);
        }
    }

    /**
     * Decodes 64 bytes.
     *
     * @param bytes the record, from its first byte
     * @return the record
     */
    static RegionRecord decode(ByteBuffer bytes) {
        ByteBuffer r = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int base = r.position();
        return new RegionRecord(r.getInt(base), r.getInt(base + 4), r.getLong(base + 8), r.getInt(base + KIND),
                r.getInt(base + 44), r.getLong(base + 48), Integer.toUnsignedLong(r.getInt(base + 56)),
                r.getInt(base + 60));
    }

    /**
     * The boot stamp the library writes into region records.
     *
     * @param bootId the boot id
     * @return the stamp
     */
    static int bootStamp(UUID bootId) {
        return HostIdentity.bootStamp(bootId);
    }

    /**
     * Whether this is an initialized record: the initialized flag and a known kind, nothing else.
     *
     * @return true for a record the library initialized
     */
    boolean initialized() {
        return kind() != null;
    }

    /**
     * The kind.
     *
     * @return PI or NORMAL, or null when the kind word is not that of an initialized record
     */
    MutexKind kind() {
        if ((kindWord & ~(INITIALIZED | 0xff)) != 0 || (kindWord & INITIALIZED) == 0) {
            return null;
        }
        return switch (kindWord & 0xff) {
            case 1 -> MutexKind.PI;
            case 2 -> MutexKind.NORMAL;
            default -> null;
        };
    }

    /**
     * The record as the library's own snapshot type.
     *
     * @return the snapshot
     * @throws IllegalStateException when the record is not initialized
     */
    MutexSnapshot snapshot() {
        MutexKind kind = kind();
        if (kind == null) {
            throw new IllegalStateException(String.format("kind word=0x%08x is not that of an initialized record",
                    kindWord));
        }
        MutexState decoded = switch (state) {
            case 0 -> MutexState.CONSISTENT;
            case 1 -> MutexState.INCONSISTENT;
            case 2 -> MutexState.NOT_RECOVERABLE;
            default -> MutexState.DAMAGED;
        };
        return new MutexSnapshot(kind, decoded, word, word & TID_MASK, ownerPid, (word & WAITERS) != 0,
                (word & OWNER_DIED) != 0, fencingToken, ownerDiedCount);
    }

    /**
     * Whether the record's users are in this process's PID namespace (or none has recorded one yet).
     *
     * @param host this process
     * @return true when TIDs and pids in the record can be checked from here
     */
    boolean sameNamespace(Host host) {
        return pidNamespace == 0 || pidNamespace == host.pidNamespace();
    }

    /**
     * Whether the word was last taken in this boot (or no boot was recorded).
     *
     * @param host this machine
     * @return true when the owner TID may mean something now
     */
    boolean sameBoot(Host host) {
        return bootStamp == 0 || bootStamp == host.bootStamp();
    }

    /**
     * The {@code pid_namespace} column.
     *
     * @param host this process
     * @return {@code this}, {@code other:N}, or {@code -} when not recorded
     */
    String namespaceColumn(Host host) {
        return pidNamespace == 0 ? "-" : pidNamespace == host.pidNamespace() ? "this" : "other:" + pidNamespace;
    }

    /**
     * The {@code boot} column.
     *
     * @param host this machine
     * @return {@code this}, {@code earlier}, or {@code -} when not recorded
     */
    String bootColumn(Host host) {
        if (bootStamp < 0) {
            // The top bit: a claim, a thread stamping the record for its boot right now (or one that died doing so).
            return "claimed by tid " + (bootStamp & 0x7fff_ffff);
        }
        return bootStamp == 0 ? "-" : bootStamp == host.bootStamp() ? "this" : "earlier";
    }
}
