/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for core/loader.c: guest image placement and blob placement.
 *
 * ELF files and Linux Image headers are crafted here, field by field, from the
 * ELF64 layout and Documentation/arch/riscv/boot-image-header.rst. Every image
 * handed to the loader sits in a heap buffer of exactly its size, so under ASan
 * any read past the file is caught. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loader.h"
#include "lib/err.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x8000000ull /* 128 MiB: 0x80000000-0x87ffffff */

#define PT_NULL 0u
#define PT_LOAD 1u
#define PT_NOTE 4u

static char err[256];
static struct load_plan plan;

/* ---- helpers ---------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t *dup_exact(const void *src, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);

    assert_non_null(p);
    if (n)
        memcpy(p, src, n);
    return p;
}

struct phdr {
    uint32_t type;
    uint64_t off, vaddr, paddr, filesz, memsz;
};

/* Writes an ELF64 RISC-V executable header and its program headers (at offset
 * 64) into buf, which the caller sized and zeroed; contents stay as they are. */
static void elf_write(uint8_t *buf, uint64_t entry, const struct phdr *ph, int n)
{
    memcpy(buf,
           "\x7f"
           "ELF",
           4);
    buf[4] = 2;           /* ELFCLASS64 */
    buf[5] = 1;           /* ELFDATA2LSB */
    buf[6] = 1;           /* EV_CURRENT */
    put16(buf + 16, 2);   /* ET_EXEC */
    put16(buf + 18, 243); /* EM_RISCV */
    put32(buf + 20, 1);
    put64(buf + 24, entry);
    put64(buf + 32, 64); /* e_phoff */
    put16(buf + 52, 64); /* e_ehsize */
    put16(buf + 54, 56); /* e_phentsize */
    put16(buf + 56, (uint16_t)n);
    for (int i = 0; i < n; i++) {
        uint8_t *p = buf + 64 + 56 * i;

        put32(p, ph[i].type);
        put32(p + 4, 5); /* R|X; the loader ignores flags */
        put64(p + 8, ph[i].off);
        put64(p + 16, ph[i].vaddr);
        put64(p + 24, ph[i].paddr);
        put64(p + 32, ph[i].filesz);
        put64(p + 40, ph[i].memsz);
        put64(p + 48, 0x1000);
    }
}

/* The reference ELF: text, a PT_NOTE, an empty PT_LOAD, and data with BSS. */
#define ELF_LEN 0x1200
static const struct phdr ref_ph[] = {
    {PT_LOAD, 0x1000, 0x80200000, 0x80200000, 0x100, 0x100},
    {PT_NOTE, 0x1100, 0, 0, 0x20, 0},
    {PT_LOAD, 0x1100, 0x80300000, 0x80300000, 0, 0}, /* skipped: memsz 0 */
    {PT_LOAD, 0x1100, 0x80201000, 0x80201000, 0x100, 0x2000},
};
#define REF_NPH 4

static uint8_t *ref_elf(void)
{
    uint8_t *buf = calloc(1, ELF_LEN);

    assert_non_null(buf);
    elf_write(buf, 0x80200000, ref_ph, REF_NPH);
    for (int i = 0x1000; i < ELF_LEN; i++)
        buf[i] = (uint8_t)i;
    return buf;
}

static struct phdr *ph_copy(void)
{
    static struct phdr ph[REF_NPH];

    memcpy(ph, ref_ph, sizeof(ph));
    return ph;
}

static int plan_of(const uint8_t *img, size_t len)
{
    uint8_t *copy = dup_exact(img, len);
    int r = loader_plan(copy, len, RAM_BASE, RAM_SIZE, &plan, err, sizeof(err));

    free(copy);
    return r;
}

static void assert_plan_zero(void)
{
    static const struct load_plan zero;

    assert_memory_equal(&plan, &zero, sizeof(zero));
}

/* The plan fails with a message containing want. */
static void expect_fail(const uint8_t *img, size_t len, const char *want)
{
    int r = plan_of(img, len);

    if (r != ERR_INVAL)
        fail_msg("expected failure \"%s\", got success (format %s)", want,
                 plan.format ? plan.format : "?");
    if (!strstr(err, want))
        fail_msg("expected an error containing \"%s\", got \"%s\"", want, err);
    assert_plan_zero();
}

/* Everything loader.h promises about a successful plan. */
static void assert_plan_sane(size_t len, uint64_t ram_base, uint64_t ram_size)
{
    bool entry_in = false;

    assert_true(plan.nsegs >= 1 && plan.nsegs <= LOADER_MAX_SEGS);
    assert_non_null(plan.format);
    for (int i = 0; i < plan.nsegs; i++) {
        const struct load_seg *s = &plan.segs[i];

        assert_true(s->mem_size >= s->file_size);
        assert_true(s->mem_size > 0);
        assert_true(s->file_off <= len && s->file_size <= len - s->file_off);
        assert_true(s->gpa >= ram_base && s->mem_size <= ram_size);
        assert_true(s->gpa - ram_base <= ram_size - s->mem_size);
        assert_true(s->gpa >= plan.image_start && s->gpa + s->mem_size <= plan.image_end);
        for (int j = 0; j < i; j++) {
            const struct load_seg *t = &plan.segs[j];

            assert_false(s->gpa < t->gpa + t->mem_size && t->gpa < s->gpa + s->mem_size);
        }
        if (plan.entry >= s->gpa && plan.entry - s->gpa < s->mem_size)
            entry_in = true;
    }
    assert_true(entry_in);
}

/* ---- ELF ---------------------------------------------------------------------- */

static void test_elf_basic(void **state)
{
    (void)state;
    uint8_t *img = ref_elf();

    assert_int_equal(plan_of(img, ELF_LEN), 0);
    assert_string_equal(err, "");
    assert_string_equal(plan.format, "elf");
    assert_int_equal(plan.nsegs, 2);
    assert_int_equal(plan.segs[0].gpa, 0x80200000);
    assert_int_equal(plan.segs[0].file_off, 0x1000);
    assert_int_equal(plan.segs[0].file_size, 0x100);
    assert_int_equal(plan.segs[0].mem_size, 0x100);
    assert_int_equal(plan.segs[1].gpa, 0x80201000);
    assert_int_equal(plan.segs[1].file_off, 0x1100);
    assert_int_equal(plan.segs[1].file_size, 0x100);
    assert_int_equal(plan.segs[1].mem_size, 0x2000);
    assert_int_equal(plan.entry, 0x80200000);
    assert_int_equal(plan.image_start, 0x80200000);
    assert_int_equal(plan.image_end, 0x80203000);
    assert_plan_sane(ELF_LEN, RAM_BASE, RAM_SIZE);
    free(img);
}

/* Linked high (vaddr != paddr): segments go by paddr, and the entry is the
 * physical copy of e_entry. */
static void test_elf_vaddr_entry(void **state)
{
    (void)state;
    uint8_t *img = ref_elf();
    struct phdr *ph = ph_copy();

    ph[0].vaddr = 0xffffffff80000000ull;
    ph[3].vaddr = 0xffffffff80001000ull;
    elf_write(img, 0xffffffff80001040ull, ph, REF_NPH);
    assert_int_equal(plan_of(img, ELF_LEN), 0);
    assert_int_equal(plan.segs[0].gpa, 0x80200000);
    assert_int_equal(plan.entry, 0x80201040);

    /* An entry in BSS is still inside the segment. */
    elf_write(img, 0xffffffff80002ffeull, ph, REF_NPH);
    assert_int_equal(plan_of(img, ELF_LEN), 0);
    assert_int_equal(plan.entry, 0x80202ffe);
    free(img);
}

/* Segments touching both ends of RAM, and exactly LOADER_MAX_SEGS of them. */
static void test_elf_limits(void **state)
{
    (void)state;
    struct phdr ph[LOADER_MAX_SEGS];
    size_t len = 64 + 56 * LOADER_MAX_SEGS;
    uint8_t *img = calloc(1, len);

    assert_non_null(img);
    for (int i = 0; i < LOADER_MAX_SEGS; i++)
        ph[i] = (struct phdr){
            PT_LOAD, 0,     RAM_BASE + 0x1000 * (uint64_t)i, RAM_BASE + 0x1000 * (uint64_t)i,
            0,       0x1000};
    ph[LOADER_MAX_SEGS - 1].paddr = RAM_BASE + RAM_SIZE - 0x1000;
    ph[0].filesz = len; /* the whole file, headers included */
    elf_write(img, RAM_BASE, ph, LOADER_MAX_SEGS);
    assert_int_equal(plan_of(img, len), 0);
    assert_int_equal(plan.nsegs, LOADER_MAX_SEGS);
    assert_int_equal(plan.image_start, RAM_BASE);
    assert_int_equal(plan.image_end, RAM_BASE + RAM_SIZE);
    assert_plan_sane(len, RAM_BASE, RAM_SIZE);

    /* One segment covering all of RAM. */
    ph[0] = (struct phdr){PT_LOAD, 0, RAM_BASE, RAM_BASE, 64, RAM_SIZE};
    elf_write(img, RAM_BASE + 4, ph, 1);
    assert_int_equal(plan_of(img, len), 0);
    assert_int_equal(plan.segs[0].mem_size, RAM_SIZE);
    assert_int_equal(plan.entry, RAM_BASE + 4);
    free(img);
}

static void test_elf_header_errors(void **state)
{
    (void)state;
    uint8_t *img = ref_elf();
    uint8_t *m = malloc(ELF_LEN);

    assert_non_null(m);
#define MUTATE(stmt, want)                                                                         \
    do {                                                                                           \
        memcpy(m, img, ELF_LEN);                                                                   \
        stmt;                                                                                      \
        expect_fail(m, ELF_LEN, want);                                                             \
    } while (0)

    expect_fail(img, 40, "ELF image is 40 bytes, shorter than the 64-byte ELF64 header");
    expect_fail(img, 4, "shorter than");
    MUTATE(m[4] = 1, "ELF class 1 is not ELF64");
    MUTATE(m[4] = 0, "not ELF64");
    MUTATE(m[5] = 2, "ELF data encoding 2 is not little-endian");
    MUTATE(m[6] = 0, "ELF version 0/1 is not 1");
    MUTATE(put32(m + 20, 2), "ELF version 1/2 is not 1");
    MUTATE(put16(m + 16, 3), "ELF type 3 is not an executable");
    MUTATE(put16(m + 16, 1), "ELF type 1 is not an executable");
    MUTATE(put16(m + 18, 62), "ELF machine 62 is not RISC-V (243)");
    MUTATE(put16(m + 56, 0), "ELF has no program headers");
    MUTATE(put16(m + 56, 0xffff), "PN_XNUM");
    MUTATE(put16(m + 54, 32), "ELF program header size 32 is not 56");
    MUTATE(put16(m + 54, 64), "ELF program header size 64 is not 56");
    MUTATE(put64(m + 32, ELF_LEN), "ELF program headers at offset 0x1200 (4 x 56 bytes) run past "
                                   "the end of the 4608-byte file");
    MUTATE(put64(m + 32, ELF_LEN - 56 * 4 + 1), "run past the end");
    MUTATE(put64(m + 32, UINT64_MAX - 8), "run past the end");
    MUTATE(put16(m + 56, 1000), "run past the end");
    /* The headers may sit exactly at the end of the file. */
    memcpy(m, img, ELF_LEN);
    memcpy(m + ELF_LEN - 56 * REF_NPH, m + 64, 56 * REF_NPH);
    put64(m + 32, ELF_LEN - 56 * REF_NPH);
    assert_int_equal(plan_of(m, ELF_LEN), 0);
#undef MUTATE
    free(m);
    free(img);
}

static void expect_seg_fail(const struct phdr *ph, int n, uint64_t entry, const char *want)
{
    size_t len = ELF_LEN;
    uint8_t *img = ref_elf();

    assert_true(64 + 56 * (size_t)n <= 0x1000);
    memset(img, 0, 0x1000);
    elf_write(img, entry, ph, n);
    expect_fail(img, len, want);
    free(img);
}

static void test_elf_segment_errors(void **state)
{
    (void)state;
    struct phdr *ph;

    ph = ph_copy();
    ph[3].filesz = 0x2001;
    expect_seg_fail(ph, REF_NPH, 0x80200000,
                    "ELF segment 3: file size 0x2001 exceeds memory size 0x2000");

    ph = ph_copy();
    ph[3].filesz = 0x101;
    expect_seg_fail(ph, REF_NPH, 0x80200000,
                    "ELF segment 3: file bytes at offset 0x1100+0x101 run past the end of the "
                    "4608-byte file");
    ph = ph_copy();
    ph[0].off = ELF_LEN + 1;
    ph[0].filesz = 0;
    expect_seg_fail(ph, REF_NPH, 0x80200000, "ELF segment 0: file bytes");
    ph = ph_copy();
    ph[0].off = UINT64_MAX - 0x10;
    expect_seg_fail(ph, REF_NPH, 0x80200000, "run past the end");
    ph = ph_copy();
    ph[0].filesz = UINT64_MAX;
    ph[0].memsz = UINT64_MAX;
    expect_seg_fail(ph, REF_NPH, 0x80200000, "run past the end");

    ph = ph_copy();
    ph[0].paddr = 0x90000000;
    ph[0].memsz = 0x1000;
    ph[0].filesz = 0x100;
    expect_seg_fail(ph, REF_NPH, 0x80200000,
                    "ELF segment 0 at 0x90000000+0x1000 is outside guest RAM "
                    "0x80000000-0x87ffffff");
    ph = ph_copy();
    ph[3].paddr = 0x7ffff000; /* below RAM */
    expect_seg_fail(ph, REF_NPH, 0x80200000, "ELF segment 3 at 0x7ffff000+0x2000 is outside");
    ph = ph_copy();
    ph[3].paddr = RAM_BASE + RAM_SIZE - 0x1000; /* straddles the end */
    expect_seg_fail(ph, REF_NPH, 0x80200000, "is outside guest RAM");
    ph = ph_copy();
    ph[3].paddr = 0xfffffffffffff000ull; /* wraps */
    expect_seg_fail(ph, REF_NPH, 0x80200000, "is outside guest RAM");
    ph = ph_copy();
    ph[3].memsz = UINT64_MAX;
    expect_seg_fail(ph, REF_NPH, 0x80200000, "is outside guest RAM");
    ph = ph_copy();
    ph[0].paddr = 0; /* no fall-back to vaddr */
    expect_seg_fail(ph, REF_NPH, 0x80200000, "ELF segment 0 at 0x0+0x100 is outside");

    ph = ph_copy();
    ph[3].paddr = 0x802000ff;
    expect_seg_fail(ph, REF_NPH, 0x80200000,
                    "ELF segments 0 (0x80200000+0x100) and 3 (0x802000ff+0x2000) overlap");
    ph = ph_copy();
    ph[3].paddr = 0x801fe100; /* ends inside segment 0 */
    expect_seg_fail(ph, REF_NPH, 0x80200000, "overlap");
    ph = ph_copy();
    ph[3].paddr = 0x80100000; /* contains segment 0 */
    ph[3].memsz = 0x200000;
    expect_seg_fail(ph, REF_NPH, 0x80200000, "overlap");

    ph = ph_copy();
    for (int i = 0; i < REF_NPH; i++)
        ph[i].type = PT_NOTE;
    expect_seg_fail(ph, REF_NPH, 0x80200000, "ELF has no loadable (PT_LOAD) segment");
    ph = ph_copy();
    ph[0].memsz = 0;
    ph[0].filesz = 0;
    ph[3].memsz = 0;
    ph[3].filesz = 0;
    expect_seg_fail(ph, REF_NPH, 0x80200000, "no loadable");

    expect_seg_fail(ref_ph, REF_NPH, 0x80200100,
                    "ELF entry point 0x80200100 is not inside any loadable segment");
    expect_seg_fail(ref_ph, REF_NPH, 0x80300000, "not inside any loadable segment");
    expect_seg_fail(ref_ph, REF_NPH, 0, "not inside any loadable segment");
    expect_seg_fail(ref_ph, REF_NPH, 0x80200001,
                    "ELF entry point 0x80200001 is not 2-byte aligned");

    struct phdr many[LOADER_MAX_SEGS + 1];
    for (int i = 0; i <= LOADER_MAX_SEGS; i++)
        many[i] = (struct phdr){
            PT_LOAD, 0x1000, RAM_BASE + 0x1000 * (uint64_t)i, RAM_BASE + 0x1000 * (uint64_t)i,
            0x10,    0x1000};
    expect_seg_fail(many, LOADER_MAX_SEGS + 1, RAM_BASE, "ELF has more than 8 loadable segments");
}

/* ---- Linux Image ---------------------------------------------------------------- */

#define IMG_LEN 0x3000

static uint8_t *linux_image(uint64_t text_offset, uint64_t image_size, bool magic, bool magic2)
{
    uint8_t *buf = calloc(1, IMG_LEN);

    assert_non_null(buf);
    put32(buf, 0x0100006f);      /* code0: a jump, as Linux puts there */
    put64(buf + 8, text_offset); /* little-endian, per the document */
    put64(buf + 16, image_size);
    put64(buf + 24, 0);               /* flags: little-endian kernel */
    put32(buf + 32, (0u << 16) | 2u); /* version 0.2 */
    if (magic)
        memcpy(buf + 48, "RISCV\0\0\0", 8);
    if (magic2)
        memcpy(buf + 56, "RSC\x05", 4);
    for (int i = 64; i < IMG_LEN; i++)
        buf[i] = (uint8_t)(i * 7);
    return buf;
}

static void test_linux_image(void **state)
{
    (void)state;
    uint8_t *img = linux_image(0x200000, 0x10000, true, true);

    assert_int_equal(plan_of(img, IMG_LEN), 0);
    assert_string_equal(plan.format, "linux-image");
    assert_int_equal(plan.nsegs, 1);
    assert_int_equal(plan.segs[0].gpa, 0x80200000);
    assert_int_equal(plan.segs[0].file_off, 0);
    assert_int_equal(plan.segs[0].file_size, IMG_LEN);
    assert_int_equal(plan.segs[0].mem_size, 0x10000);
    assert_int_equal(plan.entry, 0x80200000);
    assert_int_equal(plan.image_start, 0x80200000);
    assert_int_equal(plan.image_end, 0x80210000);
    assert_plan_sane(IMG_LEN, RAM_BASE, RAM_SIZE);
    free(img);

    /* Either magic alone identifies the header. */
    img = linux_image(0x400000, IMG_LEN, false, true);
    assert_int_equal(plan_of(img, IMG_LEN), 0);
    assert_string_equal(plan.format, "linux-image");
    assert_int_equal(plan.entry, 0x80400000);
    assert_int_equal(plan.segs[0].mem_size, IMG_LEN); /* image_size == file size */
    free(img);
    img = linux_image(0x200000, 0x10000, true, false);
    assert_int_equal(plan_of(img, IMG_LEN), 0);
    assert_string_equal(plan.format, "linux-image");
    free(img);

    /* text_offset 0 (an M-mode kernel's) loads where S-mode RV64 kernels go. */
    img = linux_image(0, 0x10000, true, true);
    assert_int_equal(plan_of(img, IMG_LEN), 0);
    assert_int_equal(plan.entry, RAM_BASE + LOADER_DEFAULT_OFFSET);
    free(img);

    /* Filling RAM to its last byte is fine. */
    img = linux_image(0x200000, RAM_SIZE - 0x200000, true, true);
    assert_int_equal(plan_of(img, IMG_LEN), 0);
    assert_int_equal(plan.image_end, RAM_BASE + RAM_SIZE);
    free(img);

    /* The magic alone, without the rest of the header, is raw data. */
    img = linux_image(0x200000, 0x10000, true, true);
    assert_int_equal(plan_of(img, 63), 0);
    assert_string_equal(plan.format, "raw");
    free(img);
}

static void test_linux_image_errors(void **state)
{
    (void)state;
    uint8_t *img;

    img = linux_image(0x200000, 0x10000, true, true);
    put64(img + 24, 1);
    expect_fail(img, IMG_LEN, "Linux Image is big-endian (header flags 0x1)");
    free(img);

    img = linux_image(0x200000, 0, true, true);
    expect_fail(img, IMG_LEN, "Linux Image header has no image_size");
    free(img);

    img = linux_image(0x200000, IMG_LEN - 1, true, true);
    expect_fail(img, IMG_LEN,
                "Linux Image header says image_size 0x2fff, smaller than the 0x3000-byte file");
    free(img);

    img = linux_image(0x201000, 0x10000, true, true);
    expect_fail(img, IMG_LEN,
                "Linux Image load address 0x80201000 (RAM base + text_offset 0x201000) is not 2 "
                "MiB aligned");
    free(img);

    img = linux_image(RAM_SIZE, 0x10000, true, true);
    expect_fail(img, IMG_LEN,
                "Linux Image text_offset 0x8000000 is beyond guest RAM 0x80000000-0x87ffffff");
    free(img);
    img = linux_image(UINT64_MAX - 0x1fffff, 0x10000, true, true);
    expect_fail(img, IMG_LEN, "is beyond guest RAM");
    free(img);

    img = linux_image(0x200000, RAM_SIZE - 0x200000 + 1, true, true);
    expect_fail(img, IMG_LEN,
                "Linux Image at 0x80200000+0x7e00001 (image_size) is outside guest RAM "
                "0x80000000-0x87ffffff");
    free(img);
    img = linux_image(0x200000, UINT64_MAX, true, true);
    expect_fail(img, IMG_LEN, "is outside guest RAM");
    free(img);

    /* RAM not on a 2 MiB boundary: the kernel cannot be placed as it needs. */
    img = linux_image(0x200000, 0x10000, true, true);
    memset(err, 0, sizeof(err));
    assert_int_equal(
        loader_plan(img, IMG_LEN, RAM_BASE + 0x1000, RAM_SIZE, &plan, err, sizeof(err)), ERR_INVAL);
    assert_non_null(strstr(err, "not 2 MiB aligned"));
    free(img);
}

/* ---- raw and general ------------------------------------------------------------ */

static void test_raw(void **state)
{
    (void)state;
    uint8_t data[100];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(0x13 + i);
    assert_int_equal(plan_of(data, sizeof(data)), 0);
    assert_string_equal(plan.format, "raw");
    assert_int_equal(plan.nsegs, 1);
    assert_int_equal(plan.segs[0].gpa, RAM_BASE + 0x200000);
    assert_int_equal(plan.segs[0].file_off, 0);
    assert_int_equal(plan.segs[0].file_size, 100);
    assert_int_equal(plan.segs[0].mem_size, 100);
    assert_int_equal(plan.entry, RAM_BASE + 0x200000);
    assert_int_equal(plan.image_end, RAM_BASE + 0x200000 + 100);

    /* Too short to be an ELF or an Image: raw, even with a partial magic. */
    assert_int_equal(plan_of((const uint8_t *)"\x7f"
                                              "EL",
                             3),
                     0);
    assert_string_equal(plan.format, "raw");
    assert_int_equal(plan_of(data, 1), 0);

    /* Exactly filling RAM above the load offset, then one byte more. */
    size_t len = 0x1000;
    uint8_t *big = calloc(1, len);
    assert_non_null(big);
    assert_int_equal(loader_plan(big, len, RAM_BASE, 0x201000, &plan, err, sizeof(err)), 0);
    assert_int_equal(loader_plan(big, len, RAM_BASE, 0x200fff, &plan, err, sizeof(err)), ERR_INVAL);
    assert_string_equal(err, "raw image of 0x1000 bytes at RAM base + 0x200000 does not fit in "
                             "guest RAM 0x80000000-0x80200ffe");
    assert_plan_zero();
    assert_int_equal(loader_plan(big, len, RAM_BASE, 0x200000, &plan, err, sizeof(err)), ERR_INVAL);
    assert_int_equal(loader_plan(big, len, RAM_BASE, 0x1000, &plan, err, sizeof(err)), ERR_INVAL);
    free(big);
}

static void test_general_errors(void **state)
{
    (void)state;
    uint8_t data[16] = {0};
    char small[8];

    assert_int_equal(loader_plan(data, 0, RAM_BASE, RAM_SIZE, &plan, err, sizeof(err)), ERR_INVAL);
    assert_string_equal(err, "guest image is empty");
    assert_int_equal(loader_plan(NULL, 16, RAM_BASE, RAM_SIZE, &plan, err, sizeof(err)), ERR_INVAL);
    assert_string_equal(err, "guest image is empty");

    assert_int_equal(loader_plan(data, 16, RAM_BASE, 0, &plan, err, sizeof(err)), ERR_INVAL);
    assert_string_equal(err, "guest RAM at 0x80000000 of 0x0 bytes is empty or wraps");
    assert_int_equal(loader_plan(data, 16, 0xffffffffffff0000ull, 0x10000, &plan, err, sizeof(err)),
                     ERR_INVAL);
    assert_non_null(strstr(err, "empty or wraps"));
    assert_int_equal(loader_plan(data, 16, 1, UINT64_MAX, &plan, err, sizeof(err)), ERR_INVAL);

    /* RAM right below the top of the address space still works. */
    assert_int_equal(
        loader_plan(data, 16, 0xffffffffff000000ull, 0xffffff, &plan, err, sizeof(err)), 0);
    assert_int_equal(plan.image_end, 0xffffffffff200010ull);

    /* A short error buffer truncates; none at all is allowed. */
    assert_int_equal(loader_plan(data, 0, RAM_BASE, RAM_SIZE, &plan, small, sizeof(small)),
                     ERR_INVAL);
    assert_string_equal(small, "guest i");
    assert_int_equal(loader_plan(data, 0, RAM_BASE, RAM_SIZE, &plan, NULL, 0), ERR_INVAL);
    assert_int_equal(loader_plan(data, 16, RAM_BASE, RAM_SIZE, &plan, NULL, 0), 0);
}

/* Random corruption of a valid ELF and a valid Image: nothing crashes or reads
 * outside the file (ASan), and whatever is accepted keeps every promise. */
static void test_mutations(void **state)
{
    (void)state;
    uint8_t *elf = ref_elf();
    uint8_t *image = linux_image(0x200000, 0x10000, true, true);
    int ok = 0, failed = 0;

    rng_state = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 40000; iter++) {
        const uint8_t *src = (iter & 3) == 3 ? image : elf;
        size_t len = (iter & 3) == 3 ? IMG_LEN : ELF_LEN;
        uint8_t *m = malloc(len);
        int flips = 1 + (int)(rng() % 6);

        assert_non_null(m);
        memcpy(m, src, len);
        for (int f = 0; f < flips; f++) {
            /* Mostly the headers, where the loader looks. */
            size_t at = (rng() & 1) ? rng() % (64 + 56 * REF_NPH) : rng() % len;
            uint64_t r = rng();

            switch (r % 4) {
            case 0:
                m[at] ^= (uint8_t)(1u << ((r >> 8) % 8));
                break;
            case 1:
                m[at] = (uint8_t)(r >> 8);
                break;
            case 2:
                m[at] = (r >> 8) & 1 ? 0xff : 0;
                break;
            default:
                /* A plausible field value: small, near RAM, or extreme. */
                if (at + 8 <= len) {
                    static const uint64_t vals[] = {0,          1,          56,         64,
                                                    0x1000,     0x80200000, 0x87fff000, 0x88000000,
                                                    UINT64_MAX, 0x7fffffff};
                    put64(m + (at & ~(size_t)7), vals[(r >> 8) % 10]);
                }
                break;
            }
        }
        if (rng() % 8 == 0)
            len = rng() % (len + 1); /* truncated too */
        uint8_t *exact = dup_exact(m, len);
        uint64_t ram_base = (rng() % 4 == 0) ? 0x80000000ull + ((rng() % 4) << 20) : RAM_BASE;
        uint64_t ram_size = (rng() % 4 == 0) ? 0x100000ull * (rng() % 256) : RAM_SIZE;

        memset(err, 0, sizeof(err));
        int r = loader_plan(len ? exact : NULL, len, ram_base, ram_size, &plan, err, sizeof(err));
        if (r == 0) {
            assert_plan_sane(len, ram_base, ram_size);
            assert_string_equal(err, "");
            ok++;
        } else {
            assert_int_equal(r, ERR_INVAL);
            assert_true(err[0] != '\0');
            assert_plan_zero();
            failed++;
        }
        free(exact);
        free(m);
    }
    /* Both outcomes occur, so the loop explores the checks. */
    assert_true(ok > 1000);
    assert_true(failed > 1000);
    free(image);
    free(elf);
}

/* ---- blob placement --------------------------------------------------------------- */

static void test_place_basic(void **state)
{
    (void)state;
    uint64_t gpa = 0;
    const uint64_t top = RAM_BASE + RAM_SIZE;

    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, 0x1000, 0x1000, &gpa), 0);
    assert_int_equal(gpa, top - 0x1000);
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, 0x1234, 0x1000, &gpa), 0);
    assert_int_equal(gpa, top - 0x2000);
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, 0x1234, 8, &gpa), 0);
    assert_int_equal(gpa, top - 0x1238);
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, 0x1234, 1, &gpa), 0);
    assert_int_equal(gpa, top - 0x1234);
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, 0x1000, 0x200000, &gpa), 0);
    assert_int_equal(gpa, top - 0x200000);

    /* An image low in RAM does not matter; one at the top pushes the blob down. */
    assert_int_equal(
        loader_place_blob(RAM_BASE, RAM_SIZE, 0x80200000, 0x80a00000, 0x1000, 0x1000, &gpa), 0);
    assert_int_equal(gpa, top - 0x1000);
    assert_int_equal(
        loader_place_blob(RAM_BASE, RAM_SIZE, top - 0x100000, top, 0x1000, 0x1000, &gpa), 0);
    assert_int_equal(gpa, top - 0x101000);
    /* The avoided range starts below the candidate and covers it. */
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, RAM_BASE + 0x10000, top - 0x800, 0x1000,
                                       0x1000, &gpa),
                     0);
    assert_int_equal(gpa, RAM_BASE + 0xf000);
    /* Touching the range is not overlapping it. */
    assert_int_equal(
        loader_place_blob(RAM_BASE, RAM_SIZE, RAM_BASE, top - 0x1000, 0x1000, 0x1000, &gpa), 0);
    assert_int_equal(gpa, top - 0x1000);

    /* The initrd avoiding the image, then the FDT avoiding both. */
    struct loader_range avoid[2] = {{0x80200000, 0x80a00000}, {0, 0}};
    uint64_t initrd, fdt;
    assert_int_equal(
        loader_place(RAM_BASE, RAM_SIZE, avoid, 1, 0x123456, LOADER_INITRD_ALIGN, &initrd), 0);
    assert_int_equal(initrd, 0x87edc000);
    avoid[1] = (struct loader_range){initrd, initrd + 0x123456};
    assert_int_equal(loader_place(RAM_BASE, RAM_SIZE, avoid, 2, 0x2000, LOADER_FDT_ALIGN, &fdt), 0);
    assert_int_equal(fdt, 0x87eda000); /* the top 0x2000 bytes hold the initrd's tail */
    assert_true(fdt >= initrd + 0x123456 || fdt + 0x2000 <= initrd);
}

static void test_place_cascade(void **state)
{
    (void)state;
    uint64_t gpa = 0;
    const uint64_t top = RAM_BASE + RAM_SIZE;
    /* Listed so that each move uncovers the next collision. */
    struct loader_range avoid[3] = {
        {top - 0x3000, top - 0x2000},
        {top - 0x2000, top - 0x1000},
        {top - 0x1000, top},
    };

    assert_int_equal(loader_place(RAM_BASE, RAM_SIZE, avoid, 3, 0x1000, 0x1000, &gpa), 0);
    assert_int_equal(gpa, top - 0x4000);
    /* Empty ranges are ignored. */
    avoid[2] = (struct loader_range){top, top - 0x10000};
    assert_int_equal(loader_place(RAM_BASE, RAM_SIZE, avoid, 3, 0x1000, 0x1000, &gpa), 0);
    assert_int_equal(gpa, top - 0x1000);
    assert_int_equal(loader_place(RAM_BASE, RAM_SIZE, NULL, 0, 0x1000, 0x1000, &gpa), 0);
    assert_int_equal(gpa, top - 0x1000);
}

static void test_place_errors(void **state)
{
    (void)state;
    uint64_t gpa = 0x1234;
    struct loader_range all = {RAM_BASE, RAM_BASE + RAM_SIZE};

    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, 0, 0x1000, &gpa), ERR_INVAL);
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, 0x1000, 0, &gpa), ERR_INVAL);
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, 0x1000, 0x3000, &gpa), ERR_INVAL);
    assert_int_equal(loader_place_blob(RAM_BASE, 0, 0, 0, 0x1000, 0x1000, &gpa), ERR_INVAL);
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, RAM_SIZE + 1, 1, &gpa), ERR_NOSPC);
    assert_int_equal(loader_place_blob(UINT64_MAX - 0xfff, 0x2000, 0, 0, 0x10, 1, &gpa), ERR_INVAL);
    assert_int_equal(loader_place(RAM_BASE, RAM_SIZE, &all, 1, 0x1000, 0x1000, &gpa), ERR_NOSPC);
    assert_int_equal(loader_place(RAM_BASE, RAM_SIZE, NULL, 1, 0x1000, 0x1000, &gpa), ERR_INVAL);
    assert_int_equal(loader_place(RAM_BASE, RAM_SIZE, &all, -1, 0x1000, 0x1000, &gpa), ERR_INVAL);
    /* Room below the image, but not enough. */
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, RAM_BASE + 0xfff, RAM_BASE + RAM_SIZE,
                                       0x1000, 1, &gpa),
                     ERR_NOSPC);
    /* The aligned candidate falls below an unaligned RAM base. */
    assert_int_equal(loader_place_blob(0x80000800, 0x800, 0, 0, 0x800, 0x1000, &gpa), ERR_NOSPC);
    assert_int_equal(gpa, 0x1234); /* untouched on failure */
    assert_int_equal(loader_place_blob(0x80000800, 0x1000, 0, 0, 0x800, 0x1000, &gpa), 0);
    assert_int_equal(gpa, 0x80001000);
    /* All of RAM, exactly. */
    assert_int_equal(loader_place_blob(RAM_BASE, RAM_SIZE, 0, 0, RAM_SIZE, 0x1000, &gpa), 0);
    assert_int_equal(gpa, RAM_BASE);
}

/* loader_place against an exhaustive search, on small random layouts. */
static void test_place_exhaustive(void **state)
{
    (void)state;
    rng_state = 0x243f6a8885a308d3ull;
    for (int iter = 0; iter < 20000; iter++) {
        uint64_t base = 0x1000 + (rng() % 64) * 0x10;
        uint64_t size = 0x10 + (rng() % 128) * 0x10;
        uint64_t blob = 1 + rng() % 0x200;
        uint64_t align = 1ull << (rng() % 9);
        int n = (int)(rng() % 5);
        struct loader_range av[4];
        uint64_t want = 0, got = 0;
        bool found = false;

        for (int i = 0; i < n; i++) {
            uint64_t s = base - 0x100 + rng() % (size + 0x200);
            av[i] = (struct loader_range){s, s + rng() % 0x300};
        }
        for (uint64_t a = base + size - 1; a >= base; a--) {
            bool okay = a % align == 0 && a + blob <= base + size;

            for (int i = 0; okay && i < n; i++) {
                if (av[i].start < av[i].end && a < av[i].end && av[i].start < a + blob)
                    okay = false;
            }
            if (okay) {
                want = a;
                found = true;
                break;
            }
        }
        int r = loader_place(base, size, av, n, blob, align, &got);
        if (!found) {
            assert_int_equal(r, ERR_NOSPC);
        } else {
            if (r != 0 || got != want)
                fail_msg("iteration %d: base %#llx size %#llx blob %#llx align %#llx: got %d "
                         "%#llx, want %#llx",
                         iter, (unsigned long long)base, (unsigned long long)size,
                         (unsigned long long)blob, (unsigned long long)align, r,
                         (unsigned long long)got, (unsigned long long)want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_elf_basic),          cmocka_unit_test(test_elf_vaddr_entry),
        cmocka_unit_test(test_elf_limits),         cmocka_unit_test(test_elf_header_errors),
        cmocka_unit_test(test_elf_segment_errors), cmocka_unit_test(test_linux_image),
        cmocka_unit_test(test_linux_image_errors), cmocka_unit_test(test_raw),
        cmocka_unit_test(test_general_errors),     cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_place_basic),        cmocka_unit_test(test_place_cascade),
        cmocka_unit_test(test_place_errors),       cmocka_unit_test(test_place_exhaustive),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
