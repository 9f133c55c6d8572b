package io.robustmutex.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The vDSO of the running process: where it is, its parsed ELF image, and its functions' addresses
 * (kernel-abi.md section 4.4).
 *
 * <p>The image address comes from the auxiliary vector ({@code AT_SYSINFO_EHDR} in {@code /proc/self/auxv});
 * its size from the {@code [vdso]} line of {@code /proc/self/maps}, so that the buffer over it never reaches
 * past the mapping. A process without a vDSO, or with one that cannot be parsed, gets a {@code Vdso} that
 * finds nothing and says why.
 */
public final class Vdso {

    /** The auxiliary-vector key of the vDSO's ELF header. */
    public static final long AT_SYSINFO_EHDR = 33;

    private final long base;
    private final ElfImage image;
    private final String problem;

    private Vdso(long base, ElfImage image, String problem) {
        this.base = base;
        this.image = image;
        this.problem = problem;
    }

    /**
     * Reads and parses this process's vDSO.
     *
     * @param elfMachine the ELF machine the image must have
     * @return the vDSO, or one that finds nothing and carries the reason
     */
    public static Vdso current(int elfMachine) {
        OptionalLong base;
        List<String> maps;
        try {
            base = sysinfoEhdr(Files.readAllBytes(Path.of("/proc/self/auxv")));
            maps = Files.readAllLines(Path.of("/proc/self/maps"));
        } catch (IOException | RuntimeException e) {
            return new Vdso(0, null, "cannot read /proc/self: " + e);
        }
        if (base.isEmpty() || base.getAsLong() == 0) {
            return new Vdso(0, null, "no AT_SYSINFO_EHDR in the auxiliary vector: this process has no vDSO");
        }
        long start = base.getAsLong();
        OptionalLong end = mappingEnd(maps, start);
        if (end.isEmpty()) {
            return new Vdso(start, null, String.format("no mapping starting at AT_SYSINFO_EHDR=0x%x in /proc/self/maps",
                    start));
        }
        long size = end.getAsLong() - start;
        if (size <= 0 || size > Integer.MAX_VALUE) {
            return new Vdso(start, null, "vDSO mapping size=" + size + " is not plausible");
        }
        return of(start, NativeMemory.view(start, (int) size), elfMachine);
    }

    /**
     * Parses a vDSO image found at an address.
     *
     * @param base the image's address
     * @param image the image bytes
     * @param elfMachine the ELF machine the image must have
     * @return the vDSO, or one that finds nothing and carries the reason
     */
    public static Vdso of(long base, ByteBuffer image, int elfMachine) {
        try {
            return new Vdso(base, ElfImage.parse(image, elfMachine), null);
        } catch (ElfFormatException e) {
            return new Vdso(base, null, "the vDSO image is not usable: " + e.getMessage());
        }
    }

    /**
     * Finds {@code AT_SYSINFO_EHDR} in the raw auxiliary vector (pairs of 64-bit little-endian words, ended
     * by {@code AT_NULL}).
     *
     * @param auxv the contents of {@code /proc/self/auxv}
     * @return the value, or empty when absent
     */
    static OptionalLong sysinfoEhdr(byte[] auxv) {
        ByteBuffer words = ByteBuffer.wrap(auxv).order(ByteOrder.LITTLE_ENDIAN);
        while (words.remaining() >= 16) {
            long key = words.getLong();
            long value = words.getLong();
            if (key == 0) {
                break;
            }
            if (key == AT_SYSINFO_EHDR) {
                return OptionalLong.of(value);
            }
        }
        return OptionalLong.empty();
    }

    /**
     * The end address of the mapping that starts at {@code start}, from {@code /proc/self/maps} lines.
     *
     * @param maps the lines
     * @param start the mapping's first address
     * @return its end address (exclusive), or empty
     */
    static OptionalLong mappingEnd(List<String> maps, long start) {
        for (String line : maps) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash <= 0 || space <= dash) {
                continue;
            }
            try {
                if (Long.parseUnsignedLong(line.substring(0, dash), 16) == start) {
                    return OptionalLong.of(Long.parseUnsignedLong(line.substring(dash + 1, space), 16));
                }
            } catch (NumberFormatException e) {
                // Not an address range line; keep looking.
            }
        }
        return OptionalLong.empty();
    }

    /**
     * Whether the image was found and parsed.
     *
     * @return true when symbols can be looked up
     */
    public boolean isPresent() {
        return image != null;
    }

    /**
     * Why the image is not usable.
     *
     * @return the reason, or empty when it is usable
     */
    public Optional<String> problem() {
        return Optional.ofNullable(problem);
    }

    /**
     * The image's address.
     *
     * @return the address of the ELF header, 0 when there is no vDSO
     */
    public long base() {
        return base;
    }

    /**
     * The parsed image.
     *
     * @return the image, or empty when it is not usable
     */
    public Optional<ElfImage> image() {
        return Optional.ofNullable(image);
    }

    /**
     * The address of a defined function with the given name and version.
     *
     * @param name the symbol name
     * @param version the version name
     * @return its address, or empty when the vDSO has no such function
     */
    public OptionalLong functionAddress(String name, String version) {
        if (image == null) {
            return OptionalLong.empty();
        }
        Optional<Long> offset = image.findFunction(name, version);
        return offset.isPresent() ? OptionalLong.of(base + offset.get()) : OptionalLong.empty();
    }
}
