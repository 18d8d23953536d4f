/* SPDX-License-Identifier: Apache-2.0 */
/* Guest image placement; see loader.h for the formats and the policy.
 *
 * The image is untrusted. Every header field is read byte by byte (the image may
 * sit at any alignment, and the host may be of either endianness), every offset
 * and size is checked against the file before it is used, and every sum of two
 * untrusted values is checked by subtraction so that nothing can wrap. */
#include "core/loader.h"

#include <stdarg.h>
#include <stdbool.h>

#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

/* ELF: System V ABI, "ELF header" and "Program header" (64-bit layouts). */
#define ELF_EHDR_SIZE 64u
#define ELF_PHDR_SIZE 56u
#define ELFCLASS64    2u
#define ELFDATA2LSB   1u
#define EV_CURRENT    1u
#define ET_EXEC       2u
#define EM_RISCV      243u
#define PT_LOAD       1u
#define PN_XNUM       0xffffu /* the real count is in section header 0 */

/* Linux RISC-V boot image header (Documentation/arch/riscv/boot-image-header.rst). */
#define LINUX_HDR_SIZE     64u
#define LINUX_TEXT_OFFSET  8u
#define LINUX_IMAGE_SIZE   16u
#define LINUX_FLAGS        24u
#define LINUX_MAGIC        48u
#define LINUX_MAGIC2       56u
#define LINUX_FLAG_BE      1u
#define LINUX_KERNEL_ALIGN 0x200000u /* RV64 kernels start on a PMD boundary */

struct loader_ctx {
    const uint8_t *img;
    size_t len;
    uint64_t ram_base, ram_size;
    struct load_plan *plan;
    char *err;
    size_t errlen;
};

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)rd16(p) | ((uint32_t)rd16(p + 2) << 16);
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

/* Every way a plan fails is an image or a RAM layout that cannot be loaded:
 * ERR_INVAL, with the reason in err. */
static int loader_fail(struct loader_ctx *c, const char *fmt, ...) FMT_PRINTF(2, 3);

static int loader_fail(struct loader_ctx *c, const char *fmt, ...)
{
    va_list ap;

    if (c->errlen) {
        va_start(ap, fmt);
        fmt_vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    memset(c->plan, 0, sizeof(*c->plan));
    return ERR_INVAL;
}

/* The last byte of guest RAM (for messages); loader_plan() has checked that RAM
 * is not empty and that its end is representable. */
static uint64_t ram_last(const struct loader_ctx *c)
{
    return c->ram_base + (c->ram_size - 1);
}

/* Whether [gpa, gpa + size) lies in guest RAM; size > 0. */
static bool in_ram(const struct loader_ctx *c, uint64_t gpa, uint64_t size)
{
    return gpa >= c->ram_base && size <= c->ram_size && gpa - c->ram_base <= c->ram_size - size;
}

/* Whether [off, off + size) lies in the file. */
static bool in_file(const struct loader_ctx *c, uint64_t off, uint64_t size)
{
    return off <= c->len && size <= c->len - off;
}

static bool ranges_overlap(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize)
{
    /* Both ranges are non-empty and inside RAM, so neither end wraps. */
    return a < b + bsize && b < a + asize;
}

static void plan_add(struct load_plan *plan, uint64_t gpa, uint64_t off, uint64_t fsize,
                     uint64_t msize)
{
    struct load_seg *s = &plan->segs[plan->nsegs++];

    s->gpa = gpa;
    s->file_off = (size_t)off;
    s->file_size = (size_t)fsize;
    s->mem_size = msize;
    if (plan->nsegs == 1 || gpa < plan->image_start)
        plan->image_start = gpa;
    if (plan->nsegs == 1 || gpa + msize > plan->image_end)
        plan->image_end = gpa + msize;
}

static bool is_elf(const uint8_t *img, size_t len)
{
    return len >= 4 && img[0] == 0x7f && img[1] == 'E' && img[2] == 'L' && img[3] == 'F';
}

static bool is_linux_image(const uint8_t *img, size_t len)
{
    static const uint8_t magic[8] = {'R', 'I', 'S', 'C', 'V', 0, 0, 0};
    static const uint8_t magic2[4] = {'R', 'S', 'C', 0x05};

    return len >= LINUX_HDR_SIZE && (memcmp(img + LINUX_MAGIC, magic, sizeof(magic)) == 0 ||
                                     memcmp(img + LINUX_MAGIC2, magic2, sizeof(magic2)) == 0);
}

/* The ELF header: a 64-bit little-endian RISC-V executable whose program
 * headers lie in the file. */
static int elf_header_check(struct loader_ctx *c, uint64_t *phoff, unsigned *phnum)
{
    const uint8_t *h = c->img;
    unsigned phentsize;

    if (c->len < ELF_EHDR_SIZE)
        return loader_fail(c, "ELF image is %zu bytes, shorter than the %u-byte ELF64 header",
                           c->len, ELF_EHDR_SIZE);
    if (h[4] != ELFCLASS64)
        return loader_fail(c, "ELF class %u is not ELF64 (only 64-bit guests are supported)", h[4]);
    if (h[5] != ELFDATA2LSB)
        return loader_fail(c, "ELF data encoding %u is not little-endian", h[5]);
    if (h[6] != EV_CURRENT || rd32(h + 20) != EV_CURRENT)
        return loader_fail(c, "ELF version %u/%u is not 1", h[6], (unsigned)rd32(h + 20));
    if (rd16(h + 16) != ET_EXEC)
        return loader_fail(c, "ELF type %u is not an executable (ET_EXEC = 2)", rd16(h + 16));
    if (rd16(h + 18) != EM_RISCV)
        return loader_fail(c, "ELF machine %u is not RISC-V (243)", rd16(h + 18));

    *phoff = rd64(h + 32);
    phentsize = rd16(h + 54);
    *phnum = rd16(h + 56);
    if (*phnum == 0)
        return loader_fail(c, "ELF has no program headers");
    if (*phnum == PN_XNUM)
        return loader_fail(c, "ELF uses extended program header numbering (PN_XNUM)");
    if (phentsize != ELF_PHDR_SIZE)
        return loader_fail(c, "ELF program header size %u is not %u", phentsize, ELF_PHDR_SIZE);
    if (!in_file(c, *phoff, (uint64_t)*phnum * ELF_PHDR_SIZE))
        return loader_fail(c,
                           "ELF program headers at offset 0x%llx (%u x %u bytes) run past the "
                           "end of the %zu-byte file",
                           ull(*phoff), *phnum, ELF_PHDR_SIZE, c->len);
    return 0;
}

/* Loadable segment i (program header i): its bytes in the file, its memory
 * in guest RAM and clear of the segments planned so far (seg_phdr: their
 * program header indexes). */
static int elf_segment_check(struct loader_ctx *c, unsigned i, uint64_t off, uint64_t paddr,
                             uint64_t filesz, uint64_t memsz, const unsigned *seg_phdr)
{
    const struct load_plan *plan = c->plan;

    if (plan->nsegs == LOADER_MAX_SEGS)
        return loader_fail(c, "ELF has more than %d loadable segments", LOADER_MAX_SEGS);
    if (filesz > memsz)
        return loader_fail(c, "ELF segment %u: file size 0x%llx exceeds memory size 0x%llx", i,
                           ull(filesz), ull(memsz));
    if (!in_file(c, off, filesz))
        return loader_fail(c,
                           "ELF segment %u: file bytes at offset 0x%llx+0x%llx run past the "
                           "end of the %zu-byte file",
                           i, ull(off), ull(filesz), c->len);
    if (!in_ram(c, paddr, memsz))
        return loader_fail(c,
                           "ELF segment %u at 0x%llx+0x%llx is outside guest RAM "
                           "0x%llx-0x%llx",
                           i, ull(paddr), ull(memsz), ull(c->ram_base), ull(ram_last(c)));
    for (int j = 0; j < plan->nsegs; j++) {
        const struct load_seg *s = &plan->segs[j];

        if (ranges_overlap(s->gpa, s->mem_size, paddr, memsz))
            return loader_fail(c,
                               "ELF segments %u (0x%llx+0x%llx) and %u (0x%llx+0x%llx) "
                               "overlap",
                               seg_phdr[j], ull(s->gpa), ull(s->mem_size), i, ull(paddr),
                               ull(memsz));
    }
    return 0;
}

static int plan_elf(struct loader_ctx *c)
{
    struct load_plan *plan = c->plan;
    uint64_t phoff = 0, e_entry, entry = 0;
    unsigned phnum = 0, i;
    bool entry_found = false;
    unsigned seg_phdr[LOADER_MAX_SEGS]; /* program header index of each segment */

    plan->format = "elf";
    int r = elf_header_check(c, &phoff, &phnum);
    if (r < 0)
        return r;
    e_entry = rd64(c->img + 24);
    for (i = 0; i < phnum; i++) {
        const uint8_t *ph = c->img + phoff + (uint64_t)i * ELF_PHDR_SIZE;
        uint64_t off = rd64(ph + 8), vaddr = rd64(ph + 16), paddr = rd64(ph + 24);
        uint64_t filesz = rd64(ph + 32), memsz = rd64(ph + 40);

        if (rd32(ph) != PT_LOAD || memsz == 0)
            continue;
        r = elf_segment_check(c, i, off, paddr, filesz, memsz, seg_phdr);
        if (r < 0)
            return r;
        /* e_entry is virtual; the guest starts untranslated, so use the
         * physical copy of the instruction it names. */
        if (!entry_found && e_entry >= vaddr && e_entry - vaddr < memsz) {
            entry = paddr + (e_entry - vaddr);
            entry_found = true;
        }
        seg_phdr[plan->nsegs] = i;
        plan_add(plan, paddr, off, filesz, memsz);
    }
    if (plan->nsegs == 0)
        return loader_fail(c, "ELF has no loadable (PT_LOAD) segment with a non-zero size");
    if (!entry_found)
        return loader_fail(c, "ELF entry point 0x%llx is not inside any loadable segment",
                           ull(e_entry));
    if (entry & 1)
        return loader_fail(c, "ELF entry point 0x%llx is not 2-byte aligned", ull(entry));
    plan->entry = entry;
    return 0;
}

static int plan_linux_image(struct loader_ctx *c)
{
    const uint8_t *h = c->img;
    uint64_t text_offset = rd64(h + LINUX_TEXT_OFFSET);
    uint64_t image_size = rd64(h + LINUX_IMAGE_SIZE);
    uint64_t flags = rd64(h + LINUX_FLAGS);
    uint64_t gpa;

    c->plan->format = "linux-image";
    if (flags & LINUX_FLAG_BE)
        return loader_fail(c, "Linux Image is big-endian (header flags 0x%llx)", ull(flags));
    if (image_size == 0)
        return loader_fail(c, "Linux Image header has no image_size (required to load it)");
    if (image_size < c->len)
        return loader_fail(c,
                           "Linux Image header says image_size 0x%llx, smaller than the "
                           "0x%zx-byte file",
                           ull(image_size), c->len);
    if (text_offset == 0)
        text_offset = LOADER_DEFAULT_OFFSET; /* an M-mode kernel: see loader.h */
    if (text_offset >= c->ram_size)
        return loader_fail(c, "Linux Image text_offset 0x%llx is beyond guest RAM 0x%llx-0x%llx",
                           ull(text_offset), ull(c->ram_base), ull(ram_last(c)));
    gpa = c->ram_base + text_offset;
    if (gpa % LINUX_KERNEL_ALIGN)
        return loader_fail(c,
                           "Linux Image load address 0x%llx (RAM base + text_offset 0x%llx) is "
                           "not 2 MiB aligned",
                           ull(gpa), ull(text_offset));
    if (!in_ram(c, gpa, image_size))
        return loader_fail(c,
                           "Linux Image at 0x%llx+0x%llx (image_size) is outside guest RAM "
                           "0x%llx-0x%llx",
                           ull(gpa), ull(image_size), ull(c->ram_base), ull(ram_last(c)));
    plan_add(c->plan, gpa, 0, c->len, image_size);
    c->plan->entry = gpa;
    return 0;
}

static int plan_raw(struct loader_ctx *c)
{
    uint64_t gpa;

    c->plan->format = "raw";
    if (c->ram_size <= LOADER_DEFAULT_OFFSET ||
        !in_ram(c, c->ram_base + LOADER_DEFAULT_OFFSET, c->len))
        return loader_fail(c,
                           "raw image of 0x%zx bytes at RAM base + 0x%x does not fit in guest "
                           "RAM 0x%llx-0x%llx",
                           c->len, LOADER_DEFAULT_OFFSET, ull(c->ram_base), ull(ram_last(c)));
    gpa = c->ram_base + LOADER_DEFAULT_OFFSET;
    plan_add(c->plan, gpa, 0, c->len, c->len);
    c->plan->entry = gpa;
    return 0;
}

int loader_plan(const void *img, size_t len, uint64_t ram_base, uint64_t ram_size,
                struct load_plan *plan, char *err, size_t errlen)
{
    struct loader_ctx c = {img, len, ram_base, ram_size, plan, err, errlen};

    memset(plan, 0, sizeof(*plan));
    if (errlen)
        err[0] = '\0';
    /* RAM's end must be representable, so that no segment end computed below
     * can wrap to 0. */
    if (ram_size == 0 || ram_size > UINT64_MAX - ram_base)
        return loader_fail(&c, "guest RAM at 0x%llx of 0x%llx bytes is empty or wraps",
                           ull(ram_base), ull(ram_size));
    if (!img || len == 0)
        return loader_fail(&c, "guest image is empty");
    if (is_elf(c.img, len))
        return plan_elf(&c);
    if (is_linux_image(c.img, len))
        return plan_linux_image(&c);
    return plan_raw(&c);
}

static uint64_t align_down(uint64_t v, uint64_t align)
{
    return v & ~(align - 1);
}

int loader_place(uint64_t ram_base, uint64_t ram_size, const struct loader_range *avoid, int navoid,
                 uint64_t size, uint64_t align, uint64_t *gpa)
{
    uint64_t at;

    if (size == 0 || align == 0 || (align & (align - 1)) || navoid < 0 || (navoid && !avoid))
        return ERR_INVAL;
    if (ram_size == 0 || ram_size > UINT64_MAX - ram_base)
        return ERR_INVAL;
    if (size > ram_size)
        return ERR_NOSPC;
    at = align_down(ram_base + (ram_size - size), align);
    /* Invariant: no acceptable address lies above `at`. When [at, at + size)
     * overlaps an avoided range r, every address in (r.start - size, at] does
     * too, so the next candidate is the aligned one below r.start - size. Each
     * range can push `at` down only once (afterwards the block ends at or below
     * its start), so navoid + 1 rounds settle it. */
    for (int round = 0; round <= navoid; round++) {
        bool moved = false;

        if (at < ram_base)
            return ERR_NOSPC;
        for (int i = 0; i < navoid; i++) {
            const struct loader_range *r = &avoid[i];

            if (r->start >= r->end || at >= r->end || (r->start > at && r->start - at >= size))
                continue; /* empty, wholly below, or wholly above the block */
            if (r->start < ram_base || r->start - ram_base < size)
                return ERR_NOSPC; /* no room below this range */
            at = align_down(r->start - size, align);
            moved = true;
            break;
        }
        if (!moved) {
            if (at < ram_base)
                return ERR_NOSPC;
            *gpa = at;
            return 0;
        }
    }
    return ERR_NOSPC;
}

int loader_place_blob(uint64_t ram_base, uint64_t ram_size, uint64_t avoid_start,
                      uint64_t avoid_end, size_t size, uint64_t align, uint64_t *gpa)
{
    struct loader_range r = {avoid_start, avoid_end};

    return loader_place(ram_base, ram_size, &r, 1, size, align, gpa);
}
