package io.robustmutex.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A parsed in-memory ELF64 shared object (the vDSO), reduced to what symbol lookup needs: its dynamic
 * symbols with their versions (kernel-abi.md section 4.4).
 *
 * <h2>Overview</h2>
 *
 * <p>The image is the memory the kernel mapped, so the dynamic section's pointers are virtual addresses
 * that are turned into image offsets through the first {@code PT_LOAD} segment: {@code offset = vaddr -
 * p_vaddr + p_offset}. The symbol count comes from {@code DT_HASH}'s {@code nchain} or, without it, from
 * walking {@code DT_GNU_HASH}'s chains. A symbol's version is {@code versym[i] & 0x7fff} looked up among the
 * {@code DT_VERDEF} entries (the base entry excluded), as in the kernel's
 * {@code tools/testing/selftests/vDSO/parse_vdso.c}; without {@code DT_VERSYM} every symbol is unversioned.
 *
 * <p>Every read goes through one bounds-checked accessor and every loop is bounded by the image size, so a
 * malformed image gives an {@link ElfFormatException} naming the field and value, never a read outside the
 * buffer or a hang.
 */
public final class ElfImage {

    /** {@code e_machine} of x86_64. */
    public static final int EM_X86_64 = 62;
    /** {@code e_machine} of aarch64. */
    public static final int EM_AARCH64 = 183;

    static final int EHDR_SIZE = 64;
    static final int PHDR_SIZE = 56;
    static final int DYN_SIZE = 16;
    static final int SYM_SIZE = 24;
    static final int PT_LOAD = 1;
    static final int PT_DYNAMIC = 2;
    static final long DT_NULL = 0;
    static final long DT_HASH = 4;
    static final long DT_STRTAB = 5;
    static final long DT_SYMTAB = 6;
    static final long DT_STRSZ = 10;
    static final long DT_GNU_HASH = 0x6ffffef5L;
    static final long DT_VERSYM = 0x6ffffff0L;
    static final long DT_VERDEF = 0x6ffffffcL;
    static final long DT_VERDEFNUM = 0x6ffffffdL;
    static final int STT_FUNC = 2;
    static final int STB_GLOBAL = 1;
    static final int STB_WEAK = 2;
    static final int VER_FLG_BASE = 1;

    private final ByteBuffer image;
    private final List<DynamicSymbol> symbols;

    /**
     * A dynamic symbol.
     *
     * @param name the symbol name
     * @param version the version name, or empty when the symbol is unversioned
     * @param offset the symbol's offset from the start of the image
     * @param function whether it is a defined global or weak function (the only kind looked up)
     */
    public record DynamicSymbol(String name, Optional<String> version, long offset, boolean function) {
    }

    private ElfImage(ByteBuffer image, List<DynamicSymbol> symbols) {
        this.image = image;
        this.symbols = List.copyOf(symbols);
    }

    /**
     * Parses an image.
     *
     * @param image the whole image, from its ELF header to the end of its mapping; its position and limit
     *     are ignored, its capacity bounds every read
     * @param expectedMachine the {@code e_machine} the image must have
     * @return the parsed image
     * @throws ElfFormatException naming the field and value when the image is not a valid ELF64
     *     little-endian shared object for this machine with dynamic symbols
     */
    public static ElfImage parse(ByteBuffer image, int expectedMachine) throws ElfFormatException {
        Objects.requireNonNull(image, "image");
        ByteBuffer view = image.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
        return new Parser(view, expectedMachine).parse();
    }

    /**
     * The dynamic symbols, in symbol-table order (index 0, the null symbol, excluded).
     *
     * @return the symbols
     */
    public List<DynamicSymbol> symbols() {
        return symbols;
    }

    /**
     * Finds a defined function symbol by name and version.
     *
     * @param name the symbol name
     * @param version the required version name; a symbol without version information matches any version
     * @return the symbol's offset from the start of the image, or empty when absent
     */
    public Optional<Long> findFunction(String name, String version) {
        for (DynamicSymbol symbol : symbols) {
            if (symbol.function() && symbol.name().equals(name)
                    && symbol.version().map(version::equals).orElse(true)) {
                return Optional.of(symbol.offset());
            }
        }
        return Optional.empty();
    }

    /**
     * The size of the image in bytes.
     *
     * @return the image capacity
     */
    public int size() {
        return image.capacity();
    }

    /** Parsing state; every read is bounds-checked against the image. */
    private static final class Parser {
        private final ByteBuffer image;
        private final int expectedMachine;
        private long loadVaddr;
        private long loadOffset;
        private long loadSize;

        Parser(ByteBuffer image, int expectedMachine) {
            this.image = image;
            this.expectedMachine = expectedMachine;
        }

        ElfImage parse() throws ElfFormatException {
            if (image.capacity() < EHDR_SIZE) {
                throw new ElfFormatException("image size=" + image.capacity() + " is smaller than an ELF64 header ("
                        + EHDR_SIZE + " bytes)");
            }
            int magic = image.getInt(0);
            if (magic != 0x464c457f) {
                throw new ElfFormatException(String.format("e_ident magic=0x%08x (expected 0x464c457f, \"\\177ELF\")",
                        magic));
            }
            int elfClass = u8(4);
            if (elfClass != 2) {
                throw new ElfFormatException("e_ident[EI_CLASS]=" + elfClass + " (expected 2, ELFCLASS64)");
            }
            int data = u8(5);
            if (data != 1) {
                throw new ElfFormatException("e_ident[EI_DATA]=" + data + " (expected 1, ELFDATA2LSB)");
            }
            int machine = u16(18, "e_machine");
            if (machine != expectedMachine) {
                throw new ElfFormatException("e_machine=" + machine + " (expected " + expectedMachine + ")");
            }
            long phoff = u64(32, "e_phoff");
            int phentsize = u16(54, "e_phentsize");
            int phnum = u16(56, "e_phnum");
            if (phentsize != PHDR_SIZE) {
                throw new ElfFormatException("e_phentsize=" + phentsize + " (expected " + PHDR_SIZE + ")");
            }
            requireRange("program headers (e_phoff=" + phoff + ", e_phnum=" + phnum + ")", phoff,
                    (long) phnum * PHDR_SIZE);

            boolean haveLoad = false;
            long dynamicOffset = -1;
            long dynamicSize = 0;
            for (int i = 0; i < phnum; i++) {
                long ph = phoff + (long) i * PHDR_SIZE;
                long type = u32(ph, "p_type");
                if (type == PT_LOAD && !haveLoad) {
                    haveLoad = true;
                    loadOffset = u64(ph + 8, "p_offset");
                    loadVaddr = u64(ph + 16, "p_vaddr");
                    loadSize = u64(ph + 32, "p_filesz");
                } else if (type == PT_DYNAMIC) {
                    dynamicOffset = u64(ph + 8, "p_offset");
                    dynamicSize = u64(ph + 32, "p_filesz");
                }
            }
            if (!haveLoad) {
                throw new ElfFormatException("no PT_LOAD program header among e_phnum=" + phnum);
            }
            if (dynamicOffset < 0) {
                throw new ElfFormatException("no PT_DYNAMIC program header among e_phnum=" + phnum);
            }
            requireRange("PT_DYNAMIC (p_offset=" + dynamicOffset + ", p_filesz=" + dynamicSize + ")",
                    dynamicOffset, dynamicSize);

            long symtab = -1;
            long strtab = -1;
            long strsz = -1;
            long hash = -1;
            long gnuHash = -1;
            long versym = -1;
            long verdef = -1;
            long verdefnum = -1;
            for (long d = dynamicOffset; d + DYN_SIZE <= dynamicOffset + dynamicSize; d += DYN_SIZE) {
                long tag = image.getLong(checked(d, 8, "d_tag"));
                long value = u64(d + 8, "d_val");
                if (tag == DT_NULL) {
                    break;
                } else if (tag == DT_SYMTAB) {
                    symtab = toOffset(value, "DT_SYMTAB");
                } else if (tag == DT_STRTAB) {
                    strtab = toOffset(value, "DT_STRTAB");
                } else if (tag == DT_STRSZ) {
                    strsz = value;
                } else if (tag == DT_HASH) {
                    hash = toOffset(value, "DT_HASH");
                } else if (tag == DT_GNU_HASH) {
                    gnuHash = toOffset(value, "DT_GNU_HASH");
                } else if (tag == DT_VERSYM) {
                    versym = toOffset(value, "DT_VERSYM");
                } else if (tag == DT_VERDEF) {
                    verdef = toOffset(value, "DT_VERDEF");
                } else if (tag == DT_VERDEFNUM) {
                    verdefnum = value;
                }
            }
            if (symtab < 0) {
                throw new ElfFormatException("dynamic section has no DT_SYMTAB");
            }
            if (strtab < 0) {
                throw new ElfFormatException("dynamic section has no DT_STRTAB");
            }
            long stringsEnd = strsz < 0 ? image.capacity() : strtab + strsz;
            requireRange("string table (DT_STRTAB offset=" + strtab + ", DT_STRSZ=" + strsz + ")", strtab,
                    stringsEnd - strtab);
            if (versym >= 0 && verdef < 0) {
                throw new ElfFormatException("dynamic section has DT_VERSYM but no DT_VERDEF");
            }

            long count = symbolCount(hash, gnuHash, symtab);
            requireRange("symbol table (DT_SYMTAB offset=" + symtab + ", " + count + " symbols)", symtab,
                    count * SYM_SIZE);
            if (versym >= 0) {
                requireRange("version table (DT_VERSYM offset=" + versym + ", " + count + " entries)", versym,
                        count * 2);
            }

            List<DynamicSymbol> result = new ArrayList<>();
            for (long i = 1; i < count; i++) {
                long sym = symtab + i * SYM_SIZE;
                long nameIndex = u32(sym, "st_name");
                int info = u8(sym + 4);
                int shndx = u16(sym + 6, "st_shndx");
                long value = u64(sym + 8, "st_value");
                String name = string(strtab, stringsEnd, nameIndex, "st_name of symbol " + i);
                Optional<String> version = Optional.empty();
                if (versym >= 0) {
                    int ver = u16(versym + i * 2, "versym") & 0x7fff;
                    version = versionName(verdef, verdefnum, ver, strtab, stringsEnd);
                }
                int type = info & 0xf;
                int bind = info >>> 4;
                boolean function = type == STT_FUNC && (bind == STB_GLOBAL || bind == STB_WEAK) && shndx != 0;
                long offset = function ? toOffset(value, "st_value of " + name) : -1;
                result.add(new DynamicSymbol(name, version, offset, function));
            }
            return new ElfImage(image, result);
        }

        private long symbolCount(long hash, long gnuHash, long symtab) throws ElfFormatException {
            long maxSymbols = (image.capacity() - symtab) / SYM_SIZE;
            if (hash >= 0) {
                long nchain = u32(hash + 4, "DT_HASH nchain");
                if (nchain > maxSymbols) {
                    throw new ElfFormatException("DT_HASH nchain=" + nchain + " exceeds the " + maxSymbols
                            + " symbols that fit in the image");
                }
                return nchain;
            }
            if (gnuHash >= 0) {
                long nbuckets = u32(gnuHash, "DT_GNU_HASH nbuckets");
                long symoffset = u32(gnuHash + 4, "DT_GNU_HASH symoffset");
                long bloomSize = u32(gnuHash + 8, "DT_GNU_HASH bloom_size");
                long buckets = gnuHash + 16 + bloomSize * 8;
                requireRange("DT_GNU_HASH buckets (nbuckets=" + nbuckets + ", bloom_size=" + bloomSize + ")",
                        buckets, nbuckets * 4);
                long chains = buckets + nbuckets * 4;
                long last = 0;
                for (long b = 0; b < nbuckets; b++) {
                    last = Math.max(last, u32(buckets + b * 4, "DT_GNU_HASH bucket"));
                }
                if (last == 0) {
                    return Math.min(symoffset, maxSymbols);
                }
                if (last < symoffset || last - symoffset > maxSymbols) {
                    throw new ElfFormatException("DT_GNU_HASH bucket value=" + last
                            + " is outside the chains (symoffset=" + symoffset + ")");
                }
                // Walk the last chain to its end marker (low bit set); bounded by the symbols that fit.
                while (true) {
                    long entry = u32(chains + (last - symoffset) * 4, "DT_GNU_HASH chain");
                    if ((entry & 1) != 0) {
                        break;
                    }
                    last++;
                    if (last > maxSymbols) {
                        throw new ElfFormatException("DT_GNU_HASH chain has no end marker within the image");
                    }
                }
                return last + 1;
            }
            throw new ElfFormatException("dynamic section has neither DT_HASH nor DT_GNU_HASH: cannot count symbols");
        }

        private Optional<String> versionName(long verdef, long verdefnum, int ver, long strtab, long stringsEnd)
                throws ElfFormatException {
            long def = verdef;
            long limit = verdefnum >= 0 ? verdefnum : image.capacity() / 20;
            for (long n = 0; n < limit; n++) {
                int flags = u16(def + 2, "vd_flags");
                int ndx = u16(def + 4, "vd_ndx");
                long aux = u32(def + 12, "vd_aux");
                long next = u32(def + 16, "vd_next");
                if ((flags & VER_FLG_BASE) == 0 && (ndx & 0x7fff) == ver) {
                    long nameIndex = u32(def + aux, "vda_name");
                    return Optional.of(string(strtab, stringsEnd, nameIndex, "vda_name of version " + ver));
                }
                if (next == 0) {
                    break;
                }
                def += next;
            }
            // A symbol whose version index names no definition (0 local, 1 global) is unversioned.
            return Optional.empty();
        }

        private long toOffset(long vaddr, String what) throws ElfFormatException {
            long offset = vaddr - loadVaddr + loadOffset;
            if (vaddr < loadVaddr || vaddr - loadVaddr >= Math.max(loadSize, 1) || offset < 0
                    || offset >= image.capacity()) {
                throw new ElfFormatException(String.format(
                        "%s=0x%x is outside the image (PT_LOAD p_vaddr=0x%x, size=%d)",
                        what, vaddr, loadVaddr, image.capacity()));
            }
            return offset;
        }

        private String string(long strtab, long stringsEnd, long index, String what) throws ElfFormatException {
            long start = strtab + index;
            if (index < 0 || start >= stringsEnd) {
                throw new ElfFormatException(what + "=" + index + " is outside the string table (size="
                        + (stringsEnd - strtab) + ")");
            }
            long end = start;
            while (end < stringsEnd && image.get((int) end) != 0) {
                end++;
            }
            if (end == stringsEnd) {
                throw new ElfFormatException(what + "=" + index + " is not terminated inside the string table");
            }
            byte[] bytes = new byte[(int) (end - start)];
            image.get((int) start, bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }

        private void requireRange(String what, long offset, long length) throws ElfFormatException {
            if (offset < 0 || length < 0 || offset > image.capacity() || length > image.capacity() - offset) {
                throw new ElfFormatException(what + " lies outside the image of " + image.capacity() + " bytes");
            }
        }

        private int checked(long offset, int size, String field) throws ElfFormatException {
            if (offset < 0 || offset > image.capacity() - size) {
                throw new ElfFormatException(field + " at offset " + offset + " lies outside the image of "
                        + image.capacity() + " bytes");
            }
            return (int) offset;
        }

        private int u8(long offset) throws ElfFormatException {
            return image.get(checked(offset, 1, "byte")) & 0xff;
        }

        private int u16(long offset, String field) throws ElfFormatException {
            return image.getShort(checked(offset, 2, field)) & 0xffff;
        }

        private long u32(long offset, String field) throws ElfFormatException {
            return image.getInt(checked(offset, 4, field)) & 0xffffffffL;
        }

        private long u64(long offset, String field) throws ElfFormatException {
            long value = image.getLong(checked(offset, 8, field));
            if (value < 0) {
                throw new ElfFormatException(field + "=" + Long.toUnsignedString(value) + " is too large");
            }
            return value;
        }
    }
}
