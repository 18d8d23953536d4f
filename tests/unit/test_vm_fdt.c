/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for core/vm_fdt.c: the guest's device tree.
 *
 * Each tree is read back three ways: with the FDT reader (the exact properties
 * Linux looks for), with Vireo's own platform_parse() (which must see the same
 * VM the parameters describe), and, when dtc is installed, by dtc itself, whose
 * checks (unit addresses vs reg, phandles, interrupt providers, simple-bus
 * children) must print nothing. VM_FDT_SAMPLE_OUT=file dumps the full sample. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen, popen */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/platform.h"
#include "core/vm_fdt.h"
#include "lib/fdt.h"

#define BUF_CAP 65536

static char err[256];
static uint8_t buf[BUF_CAP];
static struct platform plat;

static const char *const exts_full[] = {"i", "m",     "a",        "f",    "d",
                                        "c", "zicsr", "zifencei", "sstc", NULL};

static struct vm_fdt_params full_params(void)
{
    struct vm_fdt_params p = {
        .model = "vireo,vm",
        .nvcpus = 4,
        .isa = "rv64imafdc_zicsr_zifencei_sstc",
        .isa_exts = exts_full,
        .mmu = "riscv,sv48",
        .timebase_hz = 10000000,
        .mem_base = 0x80000000,
        .mem_size = 0x8000000,
        .bootargs = "console=ttyS0 earlycon",
        .initrd_start = 0x87000000,
        .initrd_end = 0x87123456,
        .uart_base = 0x10000000,
        .uart_irq = 10,
        .plic_base = 0xc000000,
        .plic_size = 0x600000,
        .plic_ndev = 31,
        .virtio_base = {0x10002000, 0x10001000, 0x10003000},
        .virtio_irq = {2, 1, 3},
        .nvirtio = 3,
    };

    return p;
}

static struct vm_fdt_params minimal_params(void)
{
    struct vm_fdt_params p = {
        .nvcpus = 1,
        .isa = "rv64ima",
        .mmu = "riscv,sv39",
        .timebase_hz = 1000000,
        .mem_base = 0x80000000,
        .mem_size = 0x1000000,
    };

    return p;
}

/* Builds into buf and opens the result; returns its size. */
static int build_open(const struct vm_fdt_params *p, struct fdt *fdt)
{
    int n = vm_fdt_build(buf, sizeof(buf), p, err, sizeof(err));

    if (n < 0)
        fail_msg("vm_fdt_build failed: %s", err);
    assert_string_equal(err, "");
    assert_int_equal(fdt_open(fdt, buf, (size_t)n), 0);
    assert_int_equal(fdt_header_totalsize(buf), n);
    return n;
}

static void parse_platform(const struct fdt *fdt)
{
    char perr[256];

    if (platform_parse(fdt, &plat, perr, sizeof(perr)))
        fail_msg("platform_parse rejected the guest tree: %s", perr);
}

static int node_at(const struct fdt *fdt, const char *path)
{
    int n = fdt_find_path(fdt, path);

    if (n < 0)
        fail_msg("no node %s", path);
    return n;
}

static void assert_str_prop(const struct fdt *fdt, const char *path, const char *name,
                            const char *want)
{
    const char *s = fdt_prop_str(fdt, node_at(fdt, path), name);

    if (!s)
        fail_msg("%s has no string property %s", path, name);
    assert_string_equal(s, want);
}

static uint32_t u32_prop(const struct fdt *fdt, const char *path, const char *name)
{
    uint32_t v;

    if (!fdt_prop_u32(fdt, node_at(fdt, path), name, &v))
        fail_msg("%s has no u32 property %s", path, name);
    return v;
}

static bool has_prop(const struct fdt *fdt, const char *path, const char *name)
{
    return fdt_prop(fdt, node_at(fdt, path), name, NULL) != NULL;
}

/* Every phandle is unique and non-zero, and every phandle reference
 * (interrupt-parent, interrupts-extended targets) resolves. */
static void assert_phandles(const struct fdt *fdt, unsigned want_count)
{
    uint32_t seen[VM_FDT_MAX_VCPUS + 2];
    unsigned count = 0;
    int depth = 0;

    for (int n = fdt_root(fdt); n >= 0; n = fdt_next_node(fdt, n, &depth)) {
        uint32_t ph, parent;
        int len;
        const uint8_t *ie;

        if (fdt_prop_u32(fdt, n, "phandle", &ph)) {
            assert_true(ph != 0 && ph != UINT32_MAX);
            for (unsigned i = 0; i < count; i++)
                assert_true(seen[i] != ph);
            assert_true(count < VM_FDT_MAX_VCPUS + 2);
            seen[count++] = ph;
        }
        if (fdt_prop_u32(fdt, n, "interrupt-parent", &parent))
            assert_true(fdt_node_by_phandle(fdt, parent) >= 0);
        ie = fdt_prop(fdt, n, "interrupts-extended", &len);
        if (ie) {
            assert_int_equal(len % 8, 0);
            for (int off = 0; off < len; off += 8) {
                int target = fdt_node_by_phandle(fdt, fdt_be32(ie + off));

                assert_true(target >= 0);
                assert_true(fdt_node_is_compatible(fdt, target, "riscv,cpu-intc"));
                assert_int_equal(fdt_be32(ie + off + 4), 9);
            }
        }
    }
    assert_int_equal(count, want_count);
}

/* dtc's own checks on the blob: it must decompile it and say nothing. Skipped
 * (returns false) when dtc is not installed. */
static bool dtc_clean(const uint8_t *blob, int n)
{
    char path[] = "/tmp/vireo-vm-fdt-XXXXXX";
    char cmd[256], out[4096];
    size_t got;
    FILE *f, *p;
    int fd;

    if (system("command -v dtc >/dev/null 2>&1") != 0)
        return false;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(blob, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    /* dtc wants #address-cells in every interrupt provider, but the
     * riscv,cpu-intc binding (additionalProperties: false) does not allow it
     * there; QEMU's trees leave it out too. */
    snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -Wno-interrupt_provider -o /dev/null %s 2>&1",
             path);
    p = popen(cmd, "r");
    assert_non_null(p);
    got = fread(out, 1, sizeof(out) - 1, p);
    out[got] = '\0';
    int status = pclose(p);
    unlink(path);
    if (status != 0 || got != 0)
        fail_msg("dtc (status %d) complained:\n%s", status, out);
    return true;
}

/* ---- the full VM ------------------------------------------------------------ */

static void test_full_platform(void **state)
{
    (void)state;
    struct vm_fdt_params p = full_params();
    struct fdt fdt;

    build_open(&p, &fdt);
    parse_platform(&fdt);

    assert_int_equal(plat.nmem, 1);
    assert_int_equal(plat.mem[0].base, 0x80000000);
    assert_int_equal(plat.mem[0].size, 0x8000000);
    assert_int_equal(plat.nresv, 0);
    assert_int_equal(plat.nharts, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(plat.harts[i].hartid, (unsigned long)i);
        assert_int_equal(plat.harts[i].plic_s_context, i); /* context i is vCPU i's S context */
        assert_int_equal(plat.harts[i].satp_max, 48);
    }
    assert_int_equal(plat.isa, ISA_F | ISA_D | ISA_C | ISA_SSTC);
    assert_int_equal(plat.satp_max, 48);
    assert_int_equal(plat.timebase_hz, 10000000);

    assert_true(plat.uart.present);
    assert_int_equal(plat.uart.dev.base, 0x10000000);
    assert_int_equal(plat.uart.dev.size, 0x100);
    assert_int_equal(plat.uart.dev.irq, 10);
    assert_int_equal(plat.uart.clock_hz, 3686400);
    assert_int_equal(plat.uart.reg_shift, 0);
    assert_int_equal(plat.uart.io_width, 1);
    assert_true(plat.plic.present);
    assert_int_equal(plat.plic.dev.base, 0xc000000);
    assert_int_equal(plat.plic.dev.size, 0x600000);
    assert_int_equal(plat.plic.ndev, 31);
    assert_false(plat.clint.present);
    assert_false(plat.imsic.present);

    /* platform_parse sorts by address; the parameters were not. */
    assert_int_equal(plat.nvirtio, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(plat.virtio[i].base, 0x10001000 + 0x1000 * (uint64_t)i);
        assert_int_equal(plat.virtio[i].size, 0x1000);
        assert_int_equal(plat.virtio[i].irq, (uint32_t)i + 1);
    }
    assert_string_equal(plat.bootargs, "console=ttyS0 earlycon");
    assert_true(plat.has_initrd);
    assert_int_equal(plat.initrd_start, 0x87000000);
    assert_int_equal(plat.initrd_end, 0x87123456);
}

/* The properties Linux reads, as the bindings spell them. */
static void test_full_properties(void **state)
{
    (void)state;
    struct vm_fdt_params p = full_params();
    struct fdt fdt;
    int len;

    build_open(&p, &fdt);
    assert_int_equal(fdt_boot_cpuid(&fdt), 0);
    assert_int_equal(u32_prop(&fdt, "/", "#address-cells"), 2);
    assert_int_equal(u32_prop(&fdt, "/", "#size-cells"), 2);
    assert_str_prop(&fdt, "/", "model", "vireo,vm");
    assert_str_prop(&fdt, "/", "compatible", "vireo,vm");

    assert_str_prop(&fdt, "/chosen", "bootargs", "console=ttyS0 earlycon");
    assert_str_prop(&fdt, "/chosen", "stdout-path", "/soc/serial@10000000");
    assert_str_prop(&fdt, "/aliases", "serial0", "/soc/serial@10000000");
    fdt_prop(&fdt, node_at(&fdt, "/chosen"), "linux,initrd-start", &len);
    assert_int_equal(len, 8); /* u64, as Linux's early code prefers */
    fdt_prop(&fdt, node_at(&fdt, "/chosen"), "linux,initrd-end", &len);
    assert_int_equal(len, 8);

    assert_str_prop(&fdt, "/memory@80000000", "device_type", "memory");

    assert_int_equal(u32_prop(&fdt, "/cpus", "#address-cells"), 1);
    assert_int_equal(u32_prop(&fdt, "/cpus", "#size-cells"), 0);
    assert_int_equal(u32_prop(&fdt, "/cpus", "timebase-frequency"), 10000000);
    for (unsigned i = 0; i < 4; i++) {
        char path[64], intc[96];

        snprintf(path, sizeof(path), "/cpus/cpu@%x", i);
        snprintf(intc, sizeof(intc), "%s/interrupt-controller", path);
        assert_str_prop(&fdt, path, "device_type", "cpu");
        assert_str_prop(&fdt, path, "compatible", "riscv");
        assert_str_prop(&fdt, path, "status", "okay");
        assert_str_prop(&fdt, path, "riscv,isa", "rv64imafdc_zicsr_zifencei_sstc");
        assert_str_prop(&fdt, path, "riscv,isa-base", "rv64i");
        assert_str_prop(&fdt, path, "mmu-type", "riscv,sv48");
        assert_int_equal(u32_prop(&fdt, path, "reg"), i);
        assert_false(has_prop(&fdt, path, "timebase-frequency"));
        const char *list = fdt_prop(&fdt, node_at(&fdt, path), "riscv,isa-extensions", &len);
        assert_non_null(list);
        assert_int_equal(fdt_stringlist_count(list, len), 9);
        for (int e = 0; e < 9; e++)
            assert_string_equal(fdt_stringlist_get(list, len, e), exts_full[e]);

        assert_str_prop(&fdt, intc, "compatible", "riscv,cpu-intc");
        assert_int_equal(u32_prop(&fdt, intc, "#interrupt-cells"), 1);
        assert_true(has_prop(&fdt, intc, "interrupt-controller"));
        assert_int_equal(u32_prop(&fdt, intc, "phandle"), i + 1);
    }

    assert_str_prop(&fdt, "/soc", "compatible", "simple-bus");
    fdt_prop(&fdt, node_at(&fdt, "/soc"), "ranges", &len);
    assert_int_equal(len, 0);

    const char *plic = "/soc/interrupt-controller@c000000";
    int pn = node_at(&fdt, plic);
    assert_true(fdt_node_is_compatible(&fdt, pn, "sifive,plic-1.0.0"));
    assert_true(fdt_node_is_compatible(&fdt, pn, "riscv,plic0"));
    assert_int_equal(u32_prop(&fdt, plic, "#address-cells"), 0);
    assert_int_equal(u32_prop(&fdt, plic, "#interrupt-cells"), 1);
    assert_int_equal(u32_prop(&fdt, plic, "riscv,ndev"), 31);
    assert_true(has_prop(&fdt, plic, "interrupt-controller"));
    const uint8_t *ie = fdt_prop(&fdt, pn, "interrupts-extended", &len);
    assert_non_null(ie);
    assert_int_equal(len, 4 * 8);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fdt_be32(ie + 8 * i), (uint32_t)i + 1);
        assert_int_equal(fdt_be32(ie + 8 * i + 4), 9);
    }
    uint32_t plic_ph = u32_prop(&fdt, plic, "phandle");

    assert_str_prop(&fdt, "/soc/serial@10000000", "compatible", "ns16550a");
    assert_int_equal(u32_prop(&fdt, "/soc/serial@10000000", "interrupt-parent"), plic_ph);
    assert_int_equal(u32_prop(&fdt, "/soc/serial@10000000", "interrupts"), 10);
    assert_str_prop(&fdt, "/soc/virtio@10002000", "compatible", "virtio,mmio");
    assert_int_equal(u32_prop(&fdt, "/soc/virtio@10002000", "interrupt-parent"), plic_ph);
    assert_int_equal(u32_prop(&fdt, "/soc/virtio@10002000", "interrupts"), 2);

    assert_phandles(&fdt, 5);
}

static void test_full_dtc(void **state)
{
    (void)state;
    struct vm_fdt_params p = full_params();
    struct fdt fdt;
    const char *out = getenv("VM_FDT_SAMPLE_OUT");
    int n = build_open(&p, &fdt);

    if (out) {
        FILE *f = fopen(out, "wb");

        assert_non_null(f);
        assert_int_equal(fwrite(buf, 1, (size_t)n, f), (size_t)n);
        fclose(f);
    }
    if (!dtc_clean(buf, n))
        skip();
    p = minimal_params();
    n = build_open(&p, &fdt);
    assert_true(dtc_clean(buf, n));
}

/* ---- other shapes ------------------------------------------------------------ */

static void test_minimal(void **state)
{
    (void)state;
    struct vm_fdt_params p = minimal_params();
    struct fdt fdt;

    build_open(&p, &fdt);
    parse_platform(&fdt);
    assert_int_equal(plat.nharts, 1);
    assert_int_equal(plat.harts[0].hartid, 0);
    assert_int_equal(plat.harts[0].plic_s_context, -1);
    assert_int_equal(plat.satp_max, 39);
    assert_int_equal(plat.timebase_hz, 1000000);
    assert_int_equal(plat.mem[0].size, 0x1000000);
    assert_false(plat.uart.present);
    assert_false(plat.plic.present);
    assert_int_equal(plat.nvirtio, 0);
    assert_string_equal(plat.bootargs, "");
    assert_false(plat.has_initrd);

    assert_str_prop(&fdt, "/", "model", "vireo,vm");
    assert_false(has_prop(&fdt, "/chosen", "bootargs"));
    assert_false(has_prop(&fdt, "/chosen", "stdout-path"));
    assert_false(has_prop(&fdt, "/chosen", "linux,initrd-start"));
    assert_true(fdt_find_path(&fdt, "/aliases") < 0);
    /* Without isa_exts: riscv,isa only, which Linux falls back to. */
    assert_false(has_prop(&fdt, "/cpus/cpu@0", "riscv,isa-extensions"));
    assert_false(has_prop(&fdt, "/cpus/cpu@0", "riscv,isa-base"));
    assert_str_prop(&fdt, "/cpus/cpu@0", "riscv,isa", "rv64ima");
    assert_true(fdt_find_path(&fdt, "/soc") >= 0);
    assert_phandles(&fdt, 1);

    /* "" bootargs is the same as none. */
    p.bootargs = "";
    p.model = "Another model";
    build_open(&p, &fdt);
    assert_false(has_prop(&fdt, "/chosen", "bootargs"));
    assert_str_prop(&fdt, "/", "model", "Another model");
}

static void test_many_vcpus(void **state)
{
    (void)state;
    struct vm_fdt_params p = full_params();
    struct fdt fdt;

    p.nvcpus = VM_FDT_MAX_VCPUS;
    build_open(&p, &fdt);
    parse_platform(&fdt);
    assert_int_equal(plat.nharts, VM_FDT_MAX_VCPUS);
    for (int i = 0; i < VM_FDT_MAX_VCPUS; i++) {
        assert_int_equal(plat.harts[i].hartid, (unsigned long)i);
        assert_int_equal(plat.harts[i].plic_s_context, i);
    }
    /* Unit addresses are hex, like reg. */
    assert_int_equal(u32_prop(&fdt, "/cpus/cpu@3f", "reg"), 63);
    assert_phandles(&fdt, VM_FDT_MAX_VCPUS + 1);
}

/* A UART without an interrupt needs no PLIC; the guest polls it. */
static void test_polled_uart(void **state)
{
    (void)state;
    struct vm_fdt_params p = minimal_params();
    struct fdt fdt;

    p.uart_base = 0x10000000;
    build_open(&p, &fdt);
    parse_platform(&fdt);
    assert_true(plat.uart.present);
    assert_int_equal(plat.uart.dev.irq, 0);
    assert_false(plat.plic.present);
    assert_false(has_prop(&fdt, "/soc/serial@10000000", "interrupt-parent"));
    assert_false(has_prop(&fdt, "/soc/serial@10000000", "interrupts"));
    assert_str_prop(&fdt, "/chosen", "stdout-path", "/soc/serial@10000000");

    /* An initrd filling RAM to its end. */
    p.initrd_start = p.mem_base;
    p.initrd_end = p.mem_base + p.mem_size;
    build_open(&p, &fdt);
    parse_platform(&fdt);
    assert_int_equal(plat.initrd_end, p.mem_base + p.mem_size);
}

/* ---- errors ------------------------------------------------------------------ */

static void expect_error(const struct vm_fdt_params *p, const char *want)
{
    memset(buf, 0xa5, sizeof(buf));
    int n = vm_fdt_build(buf, sizeof(buf), p, err, sizeof(err));

    if (n >= 0)
        fail_msg("expected \"%s\", got a %d-byte tree", want, n);
    if (!strstr(err, want))
        fail_msg("expected an error containing \"%s\", got \"%s\"", want, err);
}

static void test_param_errors(void **state)
{
    (void)state;
    struct vm_fdt_params p;
    static const char *const no_a[] = {"i", "m", "f", NULL};
    static const char *const empty_entry[] = {"i", "m", "a", "", NULL};
    static const char *const none[] = {NULL};
    static const char *long_list[200];
    static char long_name[40];

#define BAD(stmt, want)                                                                            \
    do {                                                                                           \
        p = full_params();                                                                         \
        stmt;                                                                                      \
        expect_error(&p, want);                                                                    \
    } while (0)

    assert_true(vm_fdt_build(buf, sizeof(buf), NULL, err, sizeof(err)) < 0);
    assert_string_equal(err, "no VM parameters");
    BAD(p.nvcpus = 0, "0 vCPUs: must be 1 to 64");
    BAD(p.nvcpus = VM_FDT_MAX_VCPUS + 1, "65 vCPUs");
    BAD(p.isa = NULL, "riscv,isa \"(null)\"");
    BAD(p.isa = "rv64gc", "riscv,isa \"rv64gc\" must be lower case and start with \"rv64ima\"");
    BAD(p.isa = "rv32imac", "must be lower case");
    BAD(p.isa = "RV64IMAC", "must be lower case");
    BAD(p.isa = "rv64imac_Sstc", "must be lower case");
    BAD(p.isa = "", "must be lower case");
    BAD(p.isa_exts = no_a, "riscv,isa-extensions lacks \"i\", \"m\" or \"a\"");
    BAD(p.isa_exts = none, "lacks");
    BAD(p.isa_exts = empty_entry, "riscv,isa-extensions entry 3 is empty");
    for (int i = 0; i < 199; i++)
        long_list[i] = long_name;
    memset(long_name, 'z', sizeof(long_name) - 1);
    BAD(p.isa_exts = long_list, "riscv,isa-extensions is longer than 2048 bytes");
    BAD(p.mmu = NULL, "mmu-type \"(null)\" is not");
    BAD(p.mmu = "riscv,sv32", "mmu-type \"riscv,sv32\" is not riscv,sv39, sv48 or sv57");
    BAD(p.timebase_hz = 0, "timebase-frequency is 0");
    BAD(p.mem_size = 0, "RAM at 0x80000000 of 0x0 bytes is empty or wraps");
    BAD((p.mem_base = UINT64_MAX - 0xfff, p.mem_size = 0x2000), "RAM at 0xfffffffffffff000");
    BAD(p.initrd_end = p.initrd_start, "initrd 0x87000000-0x87000000 is empty or not inside");
    BAD(p.initrd_start = 0, "initrd 0x0-0x87123456");
    BAD(p.initrd_end = 0, "initrd 0x87000000-0x0");
    BAD(p.initrd_end = 0x88000001, "not inside guest RAM at 0x80000000 of 0x8000000 bytes");
    BAD(p.initrd_start = 0x7ffff000, "not inside guest RAM");
    BAD(p.plic_ndev = 0, "PLIC riscv,ndev 0: must be 1 to 1023");
    BAD(p.plic_ndev = 1024, "PLIC riscv,ndev 1024");
    BAD(p.plic_size = 0, "PLIC at 0xc000000 of 0x0 bytes is empty or wraps");
    BAD(p.uart_irq = 32, "UART interrupt 32 needs a PLIC with that source (plic at 0xc000000, "
                         "31 sources)");
    BAD((p.plic_base = 0, p.nvirtio = 0), "UART interrupt 10 needs a PLIC");
    BAD(p.plic_base = 0, "needs a PLIC");
    BAD(p.nvirtio = VM_FDT_MAX_VIRTIO + 1, "9 virtio devices: at most 8");
    BAD(p.virtio_base[1] = 0, "virtio device 1 has base address 0");
    BAD(p.virtio_irq[2] = 0, "virtio device 2: interrupt 0 needs a PLIC");
    BAD(p.virtio_irq[2] = 32, "virtio device 2: interrupt 32");
    BAD(p.virtio_base[2] = 0x10000000,
        "UART at 0x10000000-0x100000ff overlaps virtio device 2 at 0x10000000-0x10000fff");
    BAD(p.virtio_base[2] = 0x10000800, "virtio device 1 at 0x10001000-0x10001fff overlaps "
                                       "virtio device 2 at 0x10000800-0x100017ff");
    BAD(p.virtio_base[0] = 0x10001000, "virtio device 0 at 0x10001000-0x10001fff overlaps "
                                       "virtio device 1");
    BAD(p.virtio_base[0] = 0x87fff000, "RAM at 0x80000000-0x87ffffff overlaps virtio device 0");
    BAD(p.plic_base = 0x7ff00000, "RAM at 0x80000000-0x87ffffff overlaps PLIC at 0x7ff00000");
    BAD(p.uart_base = 0xc5fff00, "PLIC at 0xc000000-0xc5fffff overlaps UART at 0xc5fff00");
    BAD(p.virtio_base[0] = UINT64_MAX - 0x7ff, "virtio device 0 at 0xfffffffffffff800 of 0x1000 "
                                               "bytes is empty or wraps");
#undef BAD

    /* Devices may touch each other and RAM. */
    p = full_params();
    p.uart_base = 0x10000f00;
    p.plic_base = 0x7fa00000;
    assert_true(vm_fdt_build(buf, sizeof(buf), &p, err, sizeof(err)) > 0);

    /* No error buffer at all is allowed; a short one truncates. */
    p = full_params();
    p.nvcpus = 0;
    assert_true(vm_fdt_build(buf, sizeof(buf), &p, NULL, 0) < 0);
    char small[6];
    assert_true(vm_fdt_build(buf, sizeof(buf), &p, small, sizeof(small)) < 0);
    assert_string_equal(small, "0 vCP");
}

/* Every buffer shorter than the tree fails cleanly and writes nothing past its
 * end: each sits in a heap block of exactly its size (ASan), followed here by
 * a check of a guard area in a larger block. */
static void test_small_buffers(void **state)
{
    (void)state;
    struct vm_fdt_params p = full_params();
    int full = vm_fdt_build(buf, sizeof(buf), &p, err, sizeof(err));

    assert_true(full > 0);
    for (int cap = 0; cap < full; cap++) {
        uint8_t *b = malloc(cap ? (size_t)cap : 1);
        assert_non_null(b);
        int r = vm_fdt_build(cap ? b : NULL, (size_t)cap, &p, err, sizeof(err));
        if (r >= 0)
            fail_msg("a %d-byte buffer produced a %d-byte tree", cap, r);
        if (cap && !strstr(err, "does not fit"))
            fail_msg("cap %d: unexpected error \"%s\"", cap, err);
        free(b);

        uint8_t *g = malloc((size_t)cap + 64);
        assert_non_null(g);
        memset(g, 0x5a, (size_t)cap + 64);
        assert_true(vm_fdt_build(g, (size_t)cap, &p, err, sizeof(err)) < 0);
        for (int i = cap; i < cap + 64; i++)
            assert_int_equal(g[i], 0x5a);
        free(g);
    }
    uint8_t *exact = malloc((size_t)full);
    assert_non_null(exact);
    assert_int_equal(vm_fdt_build(exact, (size_t)full, &p, err, sizeof(err)), full);
    assert_memory_equal(exact, buf, (size_t)full); /* deterministic */
    free(exact);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_platform), cmocka_unit_test(test_full_properties),
        cmocka_unit_test(test_full_dtc),      cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_many_vcpus),    cmocka_unit_test(test_polled_uart),
        cmocka_unit_test(test_param_errors),  cmocka_unit_test(test_small_buffers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
