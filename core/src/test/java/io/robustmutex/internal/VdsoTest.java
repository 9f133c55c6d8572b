package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** Locating the vDSO through the auxiliary vector and /proc/self/maps, and parsing the live image. */
class VdsoTest {

    private static int thisMachine() {
        return Architectures.normalize(System.getProperty("os.arch")).equals("aarch64")
                ? ElfImage.EM_AARCH64 : ElfImage.EM_X86_64;
    }

    /** AT_SYSINFO_EHDR is found among auxv pairs; AT_NULL ends the vector. */
    @Test
    void readsSysinfoEhdrFromAuxv() {
        ByteBuffer auxv = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        auxv.putLong(6).putLong(4096).putLong(Vdso.AT_SYSINFO_EHDR).putLong(0x7fff0000L).putLong(0).putLong(0);
        assertEquals(OptionalLong.of(0x7fff0000L), Vdso.sysinfoEhdr(auxv.array()));

        ByteBuffer ended = ByteBuffer.allocate(48).order(ByteOrder.LITTLE_ENDIAN);
        ended.putLong(0).putLong(0).putLong(Vdso.AT_SYSINFO_EHDR).putLong(1);
        assertEquals(OptionalLong.empty(), Vdso.sysinfoEhdr(ended.array()));
        assertEquals(OptionalLong.empty(), Vdso.sysinfoEhdr(new byte[7]));
    }

    /** The mapping that starts at the image address gives its end; other lines are skipped. */
    @Test
    void findsTheMappingEnd() {
        List<String> maps = List.of(
                "garbage",
                "7ffc1000-7ffc3000 r--p 00000000 00:00 0                          [vvar]",
                "7ffc3000-7ffc5000 r-xp 00000000 00:00 0                          [vdso]");
        assertEquals(OptionalLong.of(0x7ffc5000L), Vdso.mappingEnd(maps, 0x7ffc3000L));
        assertEquals(OptionalLong.empty(), Vdso.mappingEnd(maps, 0x1000L));
    }

    /** A broken image gives a vDSO that finds nothing and says why. */
    @Test
    void brokenImageIsReportedNotThrown() {
        Vdso vdso = Vdso.of(0x1000, ByteBuffer.allocate(16), ElfImage.EM_X86_64);
        assertFalse(vdso.isPresent());
        assertTrue(vdso.problem().orElseThrow().contains("ELF64 header"));
        assertEquals(OptionalLong.empty(), vdso.functionAddress("__vdso_getcpu", "LINUX_2.6"));
    }

    /** This process's vDSO is found, parses, and a heap copy of it parses to the same symbols. */
    @Test
    void parsesTheLiveVdso() throws ElfFormatException {
        Vdso vdso = Vdso.current(thisMachine());
        assertTrue(vdso.isPresent(), () -> vdso.problem().orElse(""));
        ElfImage live = vdso.image().orElseThrow();
        assertFalse(live.symbols().isEmpty());

        ByteBuffer copy = ByteBuffer.allocate(live.size());
        copy.put(NativeMemory.view(vdso.base(), live.size())).clear();
        assertEquals(live.symbols(), ElfImage.parse(copy, thisMachine()).symbols());
        for (ElfImage.DynamicSymbol symbol : live.symbols()) {
            if (symbol.function()) {
                assertTrue(symbol.offset() > 0 && symbol.offset() < live.size(), symbol.toString());
            }
        }
    }
}
