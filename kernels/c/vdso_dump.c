/*
 * Prints the vDSO of the running process as the kernel mapped it, for the host-side check of the register
 * model (kernels/vdso-check.sh). The vDSO is found through getauxval(AT_SYSINFO_EHDR) (kernel-abi.md
 * section 4.4); the whole ELF image is mapped, so its section headers locate .dynsym and .dynstr.
 *
 * Output, one line each (the host reads the lines starting with "==== harness vdso:"):
 *   ==== harness vdso: image base=0x... size=N machine=N
 *   ==== harness vdso: export NAME value=0x... size=N          every function the vDSO exports
 *   ==== harness vdso: bytes NAME HEX                           the bytes of every futex-related export
 *   ==== harness vdso: none of the exports mentions futex       when there is none (kernels before 7.2)
 * Exit status 0 when the vDSO was read, 1 otherwise.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>

static int in_image(uint64_t offset, uint64_t length, uint64_t size) {
    return offset <= size && length <= size - offset;
}

int main(void) {
    const unsigned char *base = (const unsigned char *) getauxval(AT_SYSINFO_EHDR);
    if (base == NULL) {
        printf("==== harness vdso: no AT_SYSINFO_EHDR: this process has no vDSO\n");
        return 1;
    }
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *) base;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64) {
        printf("==== harness vdso: AT_SYSINFO_EHDR does not point at a 64-bit ELF image\n");
        return 1;
    }
    /* The image ends with its section headers; the mapping is at least that long. */
    uint64_t size = eh->e_shoff + (uint64_t) eh->e_shnum * eh->e_shentsize;
    printf("==== harness vdso: image base=%p size=%llu machine=%u\n", (const void *) base,
           (unsigned long long) size, eh->e_machine);

    /* The load bias: symbol values are relative to the first PT_LOAD's p_vaddr. */
    const Elf64_Phdr *ph = (const Elf64_Phdr *) (base + eh->e_phoff);
    uint64_t load_vaddr = 0;
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD) {
            load_vaddr = ph[i].p_vaddr - ph[i].p_offset;
            break;
        }
    }

    const Elf64_Shdr *sh = (const Elf64_Shdr *) (base + eh->e_shoff);
    const Elf64_Shdr *dynsym = NULL;
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_DYNSYM) {
            dynsym = &sh[i];
        }
    }
    if (dynsym == NULL || dynsym->sh_link >= eh->e_shnum || dynsym->sh_entsize != sizeof(Elf64_Sym)) {
        printf("==== harness vdso: no usable .dynsym section\n");
        return 1;
    }
    const Elf64_Shdr *dynstr = &sh[dynsym->sh_link];
    if (!in_image(dynsym->sh_offset, dynsym->sh_size, size) || !in_image(dynstr->sh_offset, dynstr->sh_size, size)) {
        printf("==== harness vdso: .dynsym or .dynstr outside the image\n");
        return 1;
    }
    const Elf64_Sym *syms = (const Elf64_Sym *) (base + dynsym->sh_offset);
    const char *strings = (const char *) (base + dynstr->sh_offset);
    size_t count = dynsym->sh_size / sizeof(Elf64_Sym);
    int futex_exports = 0;
    for (size_t i = 0; i < count; i++) {
        if (ELF64_ST_TYPE(syms[i].st_info) != STT_FUNC || syms[i].st_shndx == SHN_UNDEF
                || syms[i].st_name >= dynstr->sh_size) {
            continue;
        }
        const char *name = strings + syms[i].st_name;
        uint64_t offset = syms[i].st_value - load_vaddr;
        printf("==== harness vdso: export %s value=0x%llx size=%llu\n", name,
               (unsigned long long) syms[i].st_value, (unsigned long long) syms[i].st_size);
        if (strstr(name, "futex") == NULL) {
            continue;
        }
        futex_exports++;
        if (!in_image(offset, syms[i].st_size, size)) {
            printf("==== harness vdso: %s lies outside the image\n", name);
            return 1;
        }
        printf("==== harness vdso: bytes %s ", name);
        for (uint64_t b = 0; b < syms[i].st_size; b++) {
            printf("%02x", base[offset + b]);
        }
        printf("\n");
    }
    if (futex_exports == 0) {
        printf("==== harness vdso: none of the exports mentions futex\n");
    }
    fflush(stdout);
    return 0;
}
