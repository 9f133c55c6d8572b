package io.robustmutex.examples;

import io.robustmutex.Acquisition;
import io.robustmutex.MutexKind;
import io.robustmutex.RobustMutex;
import io.robustmutex.SharedMemory;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code example-embedded [FILE]}: a robust mutex kept next to the data it protects, in one mapped file.
 *
 * <pre>
 *   offset 0    the mutex record (64 bytes, 64-byte aligned)
 *   offset 64   sequence number     offset 72   price (double)     offset 80   price * 2 (a check value)
 * </pre>
 *
 * <p>Writers update the three fields under the mutex; readers, under the mutex too, never see a torn update.
 * Give a file on {@code /dev/shm} and run the command in two terminals at once: the processes share the
 * mutex and the data.
 */
final class EmbeddedMutexExample implements RobustMutexTool.Command {

    private static final int SEQUENCE = 64;
    private static final int PRICE = 72;
    private static final int CHECK = 80;

    @Override
    public String summary() {
        return "example: a mutex embedded next to its data in one mapped file";
    }

    @Override
    public String arguments() {
        return "[FILE]";
    }

    @Override
    public String help() {
        return """
                Maps FILE (default: a temporary file), keeps a robust mutex at offset 0 and a price with a check
                value after it, and runs a writer and a reader thread that both take the mutex; the reader counts
                the torn updates it sees (there must be none). Give a file on /dev/shm and run the command in two
                terminals at once: the two processes share the mutex and the data. The file is created (mode
                rw-------) when absent; an existing one must be yours, private, and hold the example's layout.

                Exit status: 0 when no torn update was seen, 1 otherwise or when the file cannot be used.""";
    }

    @Override
    public int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        List<String> files = Arguments.parse(args).positional(0, 1, "[FILE]");
        boolean temporary = files.isEmpty();
        Path path = temporary ? Files.createTempFile("robust-mutex-prices", ".shm") : Path.of(files.get(0));
        try {
            return run(path, out);
        } catch (Exception e) {
            throw new IllegalStateException(FileErrors.describe(path, e), e);
        } finally {
            if (temporary) {
                Files.deleteIfExists(path);
            }
        }
    }

    private static int run(Path path, PrintStream out) throws Exception {
        try (SharedMemory region = SharedMemory.map(path, 4096)) {
            RobustMutex lock = region.mutex(0, MutexKind.PI);
            ByteBuffer data = region.buffer();
            AtomicLong torn = new AtomicLong();
            int updates = 100_000;
            Thread writer = new Thread(() -> {
                for (int i = 0; i < updates; i++) {
                    try (Acquisition held = lock.acquire()) {
                        if (held.ownerDied()) {
                            // Another process died mid-update: rewrite the check value from the price.
                            data.putDouble(CHECK, data.getDouble(PRICE) * 2);
                            held.markConsistent();
                        }
                        double price = 100 + (i % 1000) / 100.0;
                        data.putLong(SEQUENCE, data.getLong(SEQUENCE) + 1);
                        data.putDouble(PRICE, price);
                        data.putDouble(CHECK, price * 2);
                    }
                }
            });
            Thread reader = new Thread(() -> {
                for (int i = 0; i < updates; i++) {
                    try (Acquisition held = lock.acquire()) {
                        if (held.ownerDied()) {
                            data.putDouble(CHECK, data.getDouble(PRICE) * 2);
                            held.markConsistent();
                        }
                        if (data.getDouble(CHECK) != data.getDouble(PRICE) * 2) {
                            torn.incrementAndGet();
                        }
                    }
                }
            });
            writer.start();
            reader.start();
            writer.join();
            reader.join();
            out.printf("%s: sequence=%d, price=%.2f; the reader saw %d torn updates in %d reads%n", path,
                    data.getLong(SEQUENCE), data.getDouble(PRICE), torn.get(), updates);
            return torn.get() == 0 ? 0 : 1;
        }
    }
}
