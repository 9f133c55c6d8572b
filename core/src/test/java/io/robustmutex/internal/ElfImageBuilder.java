package io.robustmutex.internal;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds small ELF64 shared-object images shaped like a vDSO (one PT_LOAD at an arbitrary virtual address,
 * a PT_DYNAMIC, DT_HASH and/or DT_GNU_HASH, a symbol table, versions), with switches to break each part.
 */
final class ElfImageBuilder {

    /** A symbol to put in the image. */
    record Symbol(String name, String version, int type) {
    }

    private final List<Symbol> symbols = new ArrayList<>();
    private int machine = ElfImage.EM_X86_64;
    private int elfClass = 2;
    private int data = 1;
    private long loadVaddr;
    private boolean dynamic = true;
    private boolean hash = true;
    private boolean gnuHash = true;
    private boolean versym = true;
    private boolean verdef = true;
    private boolean strsz = true;
    private int nameOffsetBias;

    ElfImageBuilder symbol(String name, String version) {
        symbols.add(new Symbol(name, version, ElfImage.STT_FUNC));
        return this;
    }

    ElfImageBuilder object(String name, String version) {
        symbols.add(new Symbol(name, version, 1));
        return this;
    }

    ElfImageBuilder machine(int value) {
        this.machine = value;
        return this;
    }

    ElfImageBuilder elfClass(int value) {
        this.elfClass = value;
        return this;
    }

    ElfImageBuilder data(int value) {
        this.data = value;
        return this;
    }

    ElfImageBuilder loadVaddr(long value) {
        this.loadVaddr = value;
        return this;
    }

    ElfImageBuilder withoutDynamic() {
        this.dynamic = false;
        return this;
    }

    ElfImageBuilder withoutHash() {
        this.hash = false;
        return this;
    }

    ElfImageBuilder withoutGnuHash() {
        this.gnuHash = false;
        return this;
    }

    ElfImageBuilder withoutVersym() {
        this.versym = false;
        return this;
    }

    ElfImageBuilder withoutVerdef() {
        this.verdef = false;
        return this;
    }

    ElfImageBuilder withoutStrsz() {
        this.strsz = false;
        return this;
    }

    /** Adds a bias to every symbol's st_name, pushing names outside the string table. */
    ElfImageBuilder nameOffsetBias(int bias) {
        this.nameOffsetBias = bias;
        return this;
    }

    /** The offset of symbol {@code i} (1-based) from the image start, as built. */
    static long functionOffset(int index) {
        return 0x800 + index * 16L;
    }

    ByteBuffer build() {
        // String table: "\0" + library name + version names + symbol names.
        ByteArrayOutputStream strings = new ByteArrayOutputStream();
        strings.write(0);
        Map<String, Integer> stringIndex = new LinkedHashMap<>();
        List<String> versions = new ArrayList<>();
        versions.add("linux-vdso.so.1");
        for (Symbol s : symbols) {
            if (s.version() != null && !versions.contains(s.version())) {
                versions.add(s.version());
            }
        }
        for (String v : versions) {
            intern(strings, stringIndex, v);
        }
        for (Symbol s : symbols) {
            intern(strings, stringIndex, s.name());
        }
        byte[] strtab = strings.toByteArray();
        int nsym = symbols.size() + 1;

        int phoff = ElfImage.EHDR_SIZE;
        int phnum = dynamic ? 2 : 1;
        int dynOff = phoff + phnum * ElfImage.PHDR_SIZE;
        int dynCount = 10;
        int hashOff = align(dynOff + dynCount * ElfImage.DYN_SIZE, 8);
        int hashSize = 8 + 4 + nsym * 4;
        int gnuOff = align(hashOff + hashSize, 8);
        int gnuSize = 16 + 8 + 4 + (nsym - 1) * 4;
        int symOff = align(gnuOff + gnuSize, 8);
        int strOff = symOff + nsym * ElfImage.SYM_SIZE;
        int versymOff = align(strOff + strtab.length, 2);
        int verdefOff = align(versymOff + nsym * 2, 4);
        int verdefSize = versions.size() * 28;
        int size = Math.max(align(verdefOff + verdefSize, 16), (int) functionOffset(nsym) + 16);
        size = align(size, 4096);

        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        // ELF header.
        b.putInt(0, 0x464c457f);
        b.put(4, (byte) elfClass);
        b.put(5, (byte) data);
        b.put(6, (byte) 1);
        b.putShort(16, (short) 3);
        b.putShort(18, (short) machine);
        b.putInt(20, 1);
        b.putLong(32, phoff);
        b.putShort(52, (short) ElfImage.EHDR_SIZE);
        b.putShort(54, (short) ElfImage.PHDR_SIZE);
        b.putShort(56, (short) phnum);
        // PT_LOAD covering the whole image.
        b.putInt(phoff, ElfImage.PT_LOAD);
        b.putInt(phoff + 4, 5);
        b.putLong(phoff + 8, 0);
        b.putLong(phoff + 16, loadVaddr);
        b.putLong(phoff + 24, loadVaddr);
        b.putLong(phoff + 32, size);
        b.putLong(phoff + 40, size);
        b.putLong(phoff + 48, 4096);
        if (dynamic) {
            int ph = phoff + ElfImage.PHDR_SIZE;
            b.putInt(ph, ElfImage.PT_DYNAMIC);
            b.putInt(ph + 4, 4);
            b.putLong(ph + 8, dynOff);
            b.putLong(ph + 16, loadVaddr + dynOff);
            b.putLong(ph + 32, dynCount * ElfImage.DYN_SIZE);
            b.putLong(ph + 40, dynCount * ElfImage.DYN_SIZE);
        }
        int d = dynOff;
        d = dyn(b, d, ElfImage.DT_SYMTAB, loadVaddr + symOff);
        d = dyn(b, d, ElfImage.DT_STRTAB, loadVaddr + strOff);
        if (strsz) {
            d = dyn(b, d, ElfImage.DT_STRSZ, strtab.length);
        }
        if (hash) {
            d = dyn(b, d, ElfImage.DT_HASH, loadVaddr + hashOff);
        }
        if (gnuHash) {
            d = dyn(b, d, ElfImage.DT_GNU_HASH, loadVaddr + gnuOff);
        }
        if (versym) {
            d = dyn(b, d, ElfImage.DT_VERSYM, loadVaddr + versymOff);
        }
        if (verdef) {
            d = dyn(b, d, ElfImage.DT_VERDEF, loadVaddr + verdefOff);
            d = dyn(b, d, ElfImage.DT_VERDEFNUM, versions.size());
        }
        dyn(b, d, ElfImage.DT_NULL, 0);
        // DT_HASH: one bucket, chains in symbol order.
        b.putInt(hashOff, 1);
        b.putInt(hashOff + 4, nsym);
        b.putInt(hashOff + 8, nsym > 1 ? 1 : 0);
        for (int i = 1; i < nsym; i++) {
            b.putInt(hashOff + 12 + i * 4, i + 1 < nsym ? i + 1 : 0);
        }
        // DT_GNU_HASH: one bucket, a permissive bloom filter, one chain ending at the last symbol.
        b.putInt(gnuOff, 1);
        b.putInt(gnuOff + 4, 1);
        b.putInt(gnuOff + 8, 1);
        b.putInt(gnuOff + 12, 6);
        b.putLong(gnuOff + 16, -1L);
        b.putInt(gnuOff + 24, nsym > 1 ? 1 : 0);
        for (int i = 1; i < nsym; i++) {
            int h = gnuHash(symbols.get(i - 1).name()) & ~1;
            b.putInt(gnuOff + 28 + (i - 1) * 4, i == nsym - 1 ? h | 1 : h);
        }
        // Symbols.
        for (int i = 1; i < nsym; i++) {
            Symbol s = symbols.get(i - 1);
            int sym = symOff + i * ElfImage.SYM_SIZE;
            b.putInt(sym, stringIndex.get(s.name()) + nameOffsetBias);
            b.put(sym + 4, (byte) ((ElfImage.STB_GLOBAL << 4) | s.type()));
            b.putShort(sym + 6, (short) 7);
            b.putLong(sym + 8, loadVaddr + functionOffset(i));
            b.putLong(sym + 16, 16);
        }
        b.put(strOff, strtab);
        // Versions: versym[i] names the verdef with vd_ndx = index in versions + 1.
        for (int i = 1; i < nsym; i++) {
            String v = symbols.get(i - 1).version();
            b.putShort(versymOff + i * 2, (short) (v == null ? 1 : versions.indexOf(v) + 1));
        }
        for (int i = 0; i < versions.size(); i++) {
            int def = verdefOff + i * 28;
            b.putShort(def, (short) 1);
            b.putShort(def + 2, (short) (i == 0 ? ElfImage.VER_FLG_BASE : 0));
            b.putShort(def + 4, (short) (i + 1));
            b.putShort(def + 6, (short) 1);
            b.putInt(def + 12, 20);
            b.putInt(def + 16, i + 1 < versions.size() ? 28 : 0);
            b.putInt(def + 20, stringIndex.get(versions.get(i)));
        }
        return b;
    }

    private static int dyn(ByteBuffer b, int at, long tag, long value) {
        b.putLong(at, tag);
        b.putLong(at + 8, value);
        return at + ElfImage.DYN_SIZE;
    }

    private static void intern(ByteArrayOutputStream strings, Map<String, Integer> index, String s) {
        if (!index.containsKey(s)) {
            index.put(s, strings.size());
            strings.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            strings.write(0);
        }
    }

    private static int align(int value, int alignment) {
        return (value + alignment - 1) / alignment * alignment;
    }

    private static int gnuHash(String name) {
        int h = 5381;
        for (byte c : name.getBytes(StandardCharsets.UTF_8)) {
            h = h * 33 + (c & 0xff);
        }
        return h;
    }
}
