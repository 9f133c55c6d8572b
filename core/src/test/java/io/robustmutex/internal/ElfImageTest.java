package io.robustmutex.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Symbol lookup in crafted ELF images, good and bad. */
class ElfImageTest {

    private static final String V26 = "LINUX_2.6";

    private static ElfImageBuilder vdsoLike() {
        return new ElfImageBuilder()
                .symbol("__vdso_clock_gettime", V26)
                .symbol("__vdso_getcpu", V26)
                .object("__vdso_data", V26)
                .symbol("__vdso_futex_robust_list64_try_unlock", V26);
    }

    private static String malformed(ByteBuffer image, int machine) {
        return assertThrows(ElfFormatException.class, () -> ElfImage.parse(image, machine)).getMessage();
    }

    /** A well-formed image yields each function at its offset, with its version. */
    @Test
    void findsVersionedFunctions() throws ElfFormatException {
        ElfImage image = ElfImage.parse(vdsoLike().build(), ElfImage.EM_X86_64);
        assertEquals(4, image.symbols().size());
        assertEquals(Optional.of(ElfImageBuilder.functionOffset(2)), image.findFunction("__vdso_getcpu", V26));
        assertEquals(Optional.of(ElfImageBuilder.functionOffset(4)),
                image.findFunction("__vdso_futex_robust_list64_try_unlock", V26));
        assertEquals(Optional.of(V26), image.symbols().get(0).version());
    }

    /** A name that is absent, a wrong version, or a data object is not found. */
    @Test
    void absentWrongVersionAndObjectsAreNotFound() throws ElfFormatException {
        ElfImage image = ElfImage.parse(vdsoLike().build(), ElfImage.EM_X86_64);
        assertEquals(Optional.empty(), image.findFunction("__vdso_futex_robust_list32_try_unlock", V26));
        assertEquals(Optional.empty(), image.findFunction("__vdso_getcpu", "LINUX_2.5"));
        assertEquals(Optional.empty(), image.findFunction("__vdso_data", V26));
    }

    /** Addresses in the dynamic section are translated through PT_LOAD's p_vaddr. */
    @Test
    void translatesThroughLoadVaddr() throws ElfFormatException {
        ElfImage image = ElfImage.parse(vdsoLike().loadVaddr(0xffffffffff700000L >>> 4).build(),
                ElfImage.EM_X86_64);
        assertEquals(Optional.of(ElfImageBuilder.functionOffset(1)), image.findFunction("__vdso_clock_gettime", V26));
    }

    /** The symbol count comes from DT_GNU_HASH when DT_HASH is absent, and from DT_HASH alone too. */
    @Test
    void countsSymbolsFromEitherHashTable() throws ElfFormatException {
        assertEquals(4, ElfImage.parse(vdsoLike().withoutHash().build(), ElfImage.EM_X86_64).symbols().size());
        assertEquals(4, ElfImage.parse(vdsoLike().withoutGnuHash().build(), ElfImage.EM_X86_64).symbols().size());
    }

    /** Without DT_VERSYM symbols are unversioned and match any version, as in the kernel's parse_vdso.c. */
    @Test
    void unversionedImageMatchesByName() throws ElfFormatException {
        ElfImage image = ElfImage.parse(vdsoLike().withoutVersym().withoutVerdef().build(), ElfImage.EM_X86_64);
        assertEquals(Optional.empty(), image.symbols().get(0).version());
        assertTrue(image.findFunction("__vdso_getcpu", V26).isPresent());
    }

    /** A truncated image is refused at every truncation point, with the field named. */
    @Test
    void truncatedImagesAreRefused() {
        ByteBuffer whole = vdsoLike().build();
        String header = malformed(ByteBuffer.wrap(new byte[40]), ElfImage.EM_X86_64);
        assertTrue(header.contains("smaller than an ELF64 header"), header);
        for (int size = 0; size < 0x400; size += 8) {
            ByteBuffer cut = ByteBuffer.allocate(size);
            cut.put(whole.duplicate().clear().limit(size));
            assertThrows(ElfFormatException.class, () -> ElfImage.parse(cut, ElfImage.EM_X86_64), "size " + size);
        }
    }

    /** A 32-bit or big-endian image is refused. */
    @Test
    void wrongClassOrByteOrderIsRefused() {
        assertTrue(malformed(vdsoLike().elfClass(1).build(), ElfImage.EM_X86_64).contains("e_ident[EI_CLASS]=1"));
        assertTrue(malformed(vdsoLike().data(2).build(), ElfImage.EM_X86_64).contains("e_ident[EI_DATA]=2"));
    }

    /** An image for another machine is refused, naming both machines. */
    @Test
    void wrongMachineIsRefused() {
        String message = malformed(vdsoLike().machine(ElfImage.EM_AARCH64).build(), ElfImage.EM_X86_64);
        assertTrue(message.contains("e_machine=183 (expected 62)"), message);
    }

    /** An image without a dynamic segment is refused. */
    @Test
    void missingDynamicSectionIsRefused() {
        assertTrue(malformed(vdsoLike().withoutDynamic().build(), ElfImage.EM_X86_64).contains("PT_DYNAMIC"));
    }

    /** DT_VERSYM without DT_VERDEF is refused rather than guessed. */
    @Test
    void missingVersionDefinitionsAreRefused() {
        assertTrue(malformed(vdsoLike().withoutVerdef().build(), ElfImage.EM_X86_64).contains("DT_VERDEF"));
    }

    /** Without any hash table the symbols cannot be counted. */
    @Test
    void missingHashTablesAreRefused() {
        String message = malformed(vdsoLike().withoutHash().withoutGnuHash().build(), ElfImage.EM_X86_64);
        assertTrue(message.contains("DT_HASH"), message);
    }

    /** Symbol names that point outside the string table are refused. */
    @Test
    void badStringOffsetsAreRefused() {
        String message = malformed(vdsoLike().nameOffsetBias(1 << 20).build(), ElfImage.EM_X86_64);
        assertTrue(message.contains("outside the string table"), message);
        String unbounded = malformed(vdsoLike().withoutStrsz().nameOffsetBias(1 << 20).build(), ElfImage.EM_X86_64);
        assertTrue(unbounded.contains("st_name"), unbounded);
    }

    /** Random corruption gives a result or an ElfFormatException: never another exception, never a hang. */
    @Test
    void corruptedImagesNeverEscapeWithAnotherException() {
        ByteBuffer original = vdsoLike().build();
        Random random = new Random(42);
        int parsed = 0;
        for (int round = 0; round < 20_000; round++) {
            ByteBuffer copy = ByteBuffer.allocate(original.capacity());
            copy.put(original.duplicate().clear()).clear();
            int flips = 1 + random.nextInt(4);
            for (int i = 0; i < flips; i++) {
                // Mostly the metadata at the front, where a flip matters.
                int at = random.nextInt(random.nextBoolean() ? 0x400 : copy.capacity());
                copy.put(at, (byte) random.nextInt(256));
            }
            try {
                ElfImage image = ElfImage.parse(copy, ElfImage.EM_X86_64);
                image.findFunction("__vdso_getcpu", V26);
                parsed++;
            } catch (ElfFormatException expected) {
                assertFalse(expected.getMessage().isBlank());
            }
        }
        assertTrue(parsed > 0, "some corruptions land in bytes that do not matter");
    }
}
