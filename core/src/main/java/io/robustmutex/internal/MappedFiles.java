package io.robustmutex.internal;

import io.robustmutex.FileAccess;
import java.io.IOException;
import java.lang.ref.WeakReference;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Opening and mapping the files the library manages.
 *
 * <p>One JVM maps one file once: every handle to the same file (same device, inode and size)
 * shares one {@link MappedMemory}, so a record has one address in the JVM and re-entrancy and ownership
 * checks by address hold across handles. The mapping is held weakly here and strongly by every handle,
 * mutex and held lock, so the JVM unmaps it only when nothing can reach it (design.md section 5); nothing
 * unmaps explicitly.
 *
 * <p>{@link FileChannel#lock} is one lock per JVM per file, and closing any channel on a file drops the
 * JVM's locks on it, so every use of file locks in the library happens under {@link #FILE_LOCKS}.
 */
public final class MappedFiles {

    /** Serializes the library's file-lock critical sections within this JVM. */
    public static final Object FILE_LOCKS = new Object();

    private static final Map<Key, WeakReference<MappedMemory>> MAPPINGS = new HashMap<>();

    /**
     * A file's identity: device and inode. An inode is not reused while a mapping of its file exists, and
     * the registry only returns live mappings, so the key cannot name a different file's mapping.
     */
    private record Key(Object fileKey, long size) {
    }

    private MappedFiles() {
    }

    /**
     * Opens a file for reading and writing, creating it with the given access when asked.
     *
     * @param path the file
     * @param create whether to create it when absent
     * @param access the permissions of a new file
     * @return the channel
     * @throws IOException when it cannot be opened
     */
    public static FileChannel open(Path path, boolean create, FileAccess access) throws IOException {
        Set<OpenOption> options = create
                ? Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE, StandardOpenOption.CREATE)
                : Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
        return FileChannel.open(path, options, PosixFilePermissions.asFileAttribute(access.permissions()));
    }

    /**
     * Opens a file for reading only.
     *
     * @param path the file
     * @return the channel
     * @throws IOException when it cannot be opened
     */
    public static FileChannel openReadOnly(Path path) throws IOException {
        return FileChannel.open(path, StandardOpenOption.READ);
    }

    /**
     * Maps {@code size} bytes of a file read-write, sharing an existing mapping of the same file.
     *
     * @param path the file (for its identity)
     * @param channel an open read-write channel on it
     * @param size the number of bytes from offset 0
     * @return the mapping
     * @throws IOException when the file cannot be mapped
     */
    public static MappedMemory map(Path path, FileChannel channel, int size) throws IOException {
        Object fileKey = Objects.requireNonNull(Files.readAttributes(path, BasicFileAttributes.class).fileKey(),
                "file key");
        Key key = new Key(fileKey, size);
        synchronized (MAPPINGS) {
            for (Iterator<WeakReference<MappedMemory>> it = MAPPINGS.values().iterator(); it.hasNext(); ) {
                if (it.next().get() == null) {
                    it.remove();
                }
            }
            WeakReference<MappedMemory> existing = MAPPINGS.get(key);
            MappedMemory memory = existing == null ? null : existing.get();
            if (memory == null) {
                MappedByteBuffer buffer = channel.map(FileChannel.MapMode.READ_WRITE, 0, size);
                memory = MappedMemory.of(buffer);
                MAPPINGS.put(key, new WeakReference<>(memory));
            }
            return memory;
        }
    }
}
