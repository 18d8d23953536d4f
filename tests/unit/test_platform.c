/* SPDX-License-Identifier: Apache-2.0 */
/* Platform discovery against device trees QEMU itself produced (dumped with
 * -M virt,dumpdtb=..., compiled from the .dts files in tests/unit/data), and against
 * broken trees built with the FDT writer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"
#include "lib/fdt.h"

static uint8_t *load_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("VIREO_FIXTURES");
    char path[512];

    if (!dir)
        dir = "build/fixtures";
    snprintf(path, sizeof(path), "%s/%s.dtb", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open fixture %s (run through make check)", path);
    uint8_t *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static struct platform plat;
static char err[256];
static uint8_t *fixture; /* plat.bootargs points into the last one parsed */

static void free_fixture(void)
{
    free(fixture);
    fixture = NULL;
}

static int parse_fixture(const char *name)
{
    size_t len;
    struct fdt fdt;

    free_fixture();
    fixture = load_fixture(name, &len);
    assert_int_equal(fdt_open(&fdt, fixture, len), 0);
    int r = platform_parse(&fdt, &plat, err, sizeof(err));
    if (r)
        fail_msg("%s: platform_parse failed: %s", name, err);
    /* bootargs points into the blob: keep it for the test's lifetime. */
    return r;
}

static void test_virt_smp4(void **state)
{
    (void)state;
    parse_fixture("virt-smp4");

    assert_int_equal(plat.nmem, 1);
    assert_int_equal(plat.mem[0].base, 0x80000000);
    assert_int_equal(plat.mem[0].size, 0x80000000);
    assert_int_equal(plat.nharts, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(plat.harts[i].hartid, (unsigned long)i);
        /* QEMU wires context 2i to hart i's M-mode and 2i+1 to its S-mode. */
        assert_int_equal(plat.harts[i].plic_s_context, 2 * i + 1);
    }
    assert_true(plat.isa & ISA_H);
    assert_true(plat.isa & ISA_SSTC);
    assert_true(plat.isa & ISA_F);
    assert_true(plat.isa & ISA_D);
    assert_true(plat.isa & ISA_C);
    assert_true(plat.isa & ISA_SVADU);
    assert_false(plat.isa & ISA_V);
    assert_false(plat.isa & ISA_AIA);
    assert_int_equal(plat.satp_max, 57);
    assert_int_equal(plat.timebase_hz, 10000000);

    assert_true(plat.uart.present);
    assert_int_equal(plat.uart.dev.base, 0x10000000);
    assert_int_equal(plat.uart.dev.irq, 10);
    assert_int_equal(plat.uart.reg_shift, 0);
    assert_int_equal(plat.uart.io_width, 1);
    assert_true(plat.plic.present);
    assert_int_equal(plat.plic.dev.base, 0xc000000);
    assert_int_equal(plat.plic.ndev, 95);
    assert_true(plat.clint.present);
    assert_int_equal(plat.clint.dev.base, 0x2000000);
    assert_false(plat.imsic.present);

    assert_int_equal(plat.nvirtio, 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(plat.virtio[i].base, 0x10001000 + 0x1000 * i);
        assert_int_equal(plat.virtio[i].size, 0x1000);
        assert_int_equal(plat.virtio[i].irq, i + 1);
    }
    assert_string_equal(plat.bootargs, "vireo.poweroff console=x");
    assert_true(plat.has_initrd);
    assert_int_equal(plat.initrd_start, 0xa0200000);
    assert_int_equal(plat.initrd_end, 0xa02186a0);
    assert_int_equal(platform_hart_index(&plat, 3), 3);
    assert_int_equal(platform_hart_index(&plat, 4), ERR_NOENT);
}

static void test_virt_aia(void **state)
{
    (void)state;
    parse_fixture("virt-aia");
    assert_int_equal(plat.nharts, 2);
    assert_true(plat.isa & ISA_AIA);
    assert_true(plat.imsic.present);
    assert_int_equal(plat.imsic.dev.base, 0x28000000); /* the S-level files, not M's */
    assert_false(plat.plic.present);
    assert_true(plat.uart.present);
    assert_string_equal(plat.bootargs, "");
    assert_false(plat.has_initrd);
}

static void test_virt_no_h(void **state)
{
    (void)state;
    parse_fixture("virt-noh");
    assert_int_equal(plat.nharts, 1);
    assert_false(plat.isa & ISA_H);
    assert_false(plat.harts[0].isa & ISA_H);
    assert_int_equal(plat.mem[0].size, 256u << 20);
}

static void test_rva23_smp8(void **state)
{
    (void)state;
    parse_fixture("virt-rva23-nosstc-smp8");
    assert_int_equal(plat.nharts, 8);
    assert_true(plat.isa & ISA_H);
    assert_true(plat.isa & ISA_V);
    assert_false(plat.isa & ISA_SSTC);
    assert_int_equal(plat.mem[0].size, 8ull << 30);
    for (int i = 0; i < 8; i++)
        assert_int_equal(plat.harts[i].plic_s_context, 2 * i + 1);
}

static void test_isa_strings(void **state)
{
    (void)state;
    assert_int_equal(isa_parse_string("rv64imafdch_sstc_svadu"),
                     ISA_F | ISA_D | ISA_C | ISA_H | ISA_SSTC | ISA_SVADU);
    assert_int_equal(isa_parse_string("rv64gc"), ISA_F | ISA_D | ISA_C);
    assert_int_equal(isa_parse_string("RV64IMAFDCVH"), ISA_F | ISA_D | ISA_C | ISA_V | ISA_H);
    assert_int_equal(isa_parse_string("rv64imac_zicsr_zifencei"), ISA_C);
    /* "sstc" right after the letters: s starts a multi-letter extension,
     * it is not supervisor mode plus "stc". */
    assert_int_equal(isa_parse_string("rv64imacsstc"), ISA_C | ISA_SSTC);
    assert_int_equal(isa_parse_string("rv64i_h"), ISA_H);
    assert_int_equal(isa_parse_string("rv64imac_hx"), ISA_C);
    assert_int_equal(isa_parse_string("x86"), 0);
    assert_int_equal(isa_parse_string(""), 0);
    assert_int_equal(isa_parse_string("rv64imafdc__ssaia_"), ISA_F | ISA_D | ISA_C | ISA_AIA);

    char buf[64];
    isa_format(ISA_H | ISA_SSTC | ISA_AIA | ISA_V | ISA_F, buf, sizeof(buf));
    assert_string_equal(buf, "h sstc aia v");
    isa_format(0, buf, sizeof(buf));
    assert_string_equal(buf, "");
    int n = isa_format(ISA_H | ISA_SSTC, buf, 4);
    assert_int_equal(n, 6);
    assert_string_equal(buf, "h s");
}

/* Minimal trees with one thing wrong; each must fail naming the cause. */
static uint8_t tree[4096];

static struct fdt build(int variant)
{
    struct fdt_writer w;
    fdtw_init(&w, tree, sizeof(tree));
    fdtw_begin_node(&w, "");
    fdtw_prop_u32(&w, "#address-cells", 2);
    fdtw_prop_u32(&w, "#size-cells", 2);
    if (variant != 1) {
        fdtw_begin_node(&w, "memory@80000000");
        fdtw_prop_str(&w, "device_type", "memory");
        uint32_t reg[] = {0, 0x80000000, 0, 0x10000000};
        fdtw_prop_cells(&w, "reg", reg, 4);
        fdtw_end_node(&w);
    }
    fdtw_begin_node(&w, "cpus");
    fdtw_prop_u32(&w, "#address-cells", 1);
    fdtw_prop_u32(&w, "#size-cells", 0);
    if (variant != 2)
        fdtw_prop_u32(&w, "timebase-frequency", 1000000);
    for (int i = 0; i < (variant == 4 ? 2 : 1); i++) {
        fdtw_begin_node(&w, i ? "cpu@1" : "cpu@0");
        fdtw_prop_str(&w, "device_type", "cpu");
        if (variant != 3)
            fdtw_prop_u32(&w, "reg", 0); /* variant 4: both say hart 0 */
        if (variant == 5)
            fdtw_prop(&w, "riscv,isa", "rv64imafdch", 11); /* not terminated */
        else
            fdtw_prop_str(&w, "riscv,isa", "rv64imafdch");
        fdtw_end_node(&w);
    }
    fdtw_end_node(&w);
    if (variant == 6) {
        fdtw_begin_node(&w, "plic@c000000");
        fdtw_prop_str(&w, "compatible", "riscv,plic0");
        uint32_t reg[] = {0, 0xc000000, 0, 0x600000};
        fdtw_prop_cells(&w, "reg", reg, 4);
        fdtw_prop_u32(&w, "riscv,ndev", 31);
        uint32_t ie[] = {77, 9}; /* phandle 77 does not exist */
        fdtw_prop_cells(&w, "interrupts-extended", ie, 2);
        fdtw_end_node(&w);
    }
    fdtw_end_node(&w);
    int size = fdtw_finish(&w);
    assert_true(size > 0);
    struct fdt fdt;
    assert_int_equal(fdt_open(&fdt, tree, (size_t)size), 0);
    return fdt;
}

static void expect_error(int variant, const char *node, const char *words)
{
    struct fdt fdt = build(variant);
    assert_int_equal(platform_parse(&fdt, &plat, err, sizeof(err)), ERR_INVAL);
    if (!strstr(err, node) || !strstr(err, words))
        fail_msg("variant %d: expected an error naming \"%s\" and \"%s\", got \"%s\"", variant,
                 node, words, err);
}

static void test_errors_name_node_and_property(void **state)
{
    (void)state;
    struct fdt fdt = build(0);
    assert_int_equal(platform_parse(&fdt, &plat, err, sizeof(err)), 0);
    assert_int_equal(plat.nharts, 1);
    assert_true(plat.isa & ISA_H);
    assert_false(plat.uart.present);

    expect_error(1, "/", "memory");
    expect_error(2, "cpus", "timebase-frequency");
    expect_error(3, "cpu@0", "reg");
    expect_error(4, "cpu@1", "same hart id");
    expect_error(5, "cpu@0", "riscv,isa");
    expect_error(6, "plic@c000000", "phandle");
}

/* Random corruption of a real tree: errors are fine, crashes are not. */
static void test_mutated_trees_never_crash(void **state)
{
    (void)state;
    size_t len;
    uint8_t *orig = load_fixture("virt-smp4", &len);
    uint8_t *blob = malloc(len);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int ok = 0;

    for (int iter = 0; iter < 3000; iter++) {
        memcpy(blob, orig, len);
        int flips = 1 + iter % 8;
        for (int k = 0; k < flips; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            blob[(x >> 8) % len] ^= (uint8_t)(1u << (x & 7));
        }
        struct fdt fdt;
        if (fdt_open(&fdt, blob, len) == 0 && platform_parse(&fdt, &plat, err, sizeof(err)) == 0)
            ok++;
    }
    /* Many single flips land in values that do not matter (rng-seed, ISA
     * names we ignore), so some trees still parse. */
    assert_true(ok > 0);
    free(blob);
    free(orig);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_virt_smp4),
        cmocka_unit_test(test_virt_aia),
        cmocka_unit_test(test_virt_no_h),
        cmocka_unit_test(test_rva23_smp8),
        cmocka_unit_test(test_isa_strings),
        cmocka_unit_test(test_errors_name_node_and_property),
        cmocka_unit_test(test_mutated_trees_never_crash),
    };
    int failed = cmocka_run_group_tests_name("platform", tests, NULL, NULL);
    free_fixture();
    return failed;
}
