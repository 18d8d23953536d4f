/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for core/config.c.
 *
 * Each case describes a config (root, /vms, VM nodes, raw extra properties) and a
 * bundle (which files, and ways to break it); the test writes the FDT with the
 * writer in lib/fdt.h, wraps it in a newc archive together with a standard set of
 * files, and loads it from a heap buffer of exactly its size (so ASan catches any
 * read past it). Error cases compare the whole message: it must name the node
 * path and the property. $VIREO_FIXTURES/config-example.dtb, compiled by dtc from
 * tests/unit/data/config-example.dts (the example in docs/config.md), is loaded
 * too when present. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/vdev/blk.h"
#include "core/vdev/net.h"
#include "core/vdev/vdev.h"
#include "core/vdev/vsock.h"
#include "lib/cpio.h"
#include "lib/err.h"
#include "lib/fdt.h"

#define DTB_CAP    65536
#define BUNDLE_CAP 131072
#define MiB        (1ull << 20)
#define GiB        (1ull << 30)

/* ---- describing a config ----------------------------------------------------- */

struct tprop {
    const char *name;
    const void *val;
    size_t len;
};

#define BYTES(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})
#define RAW(n, ...)                                                                                \
    {                                                                                              \
        n, BYTES(__VA_ARGS__)                                                                      \
    }
#define RAW_STR(n, s)                                                                              \
    {                                                                                              \
        n, s, sizeof(s)                                                                            \
    }

/* A device child node of a VM, with up to 4 raw properties. */
struct tdev {
    const char *name;
    struct tprop props[4];
};

/* Zero fields mean the usual: 2-cell memory of 128 MiB, vcpus and pin absent,
 * kernel "k0", no initrd, bootargs or autostart. */
struct tvm {
    const char *name;
    bool no_memory;
    int mem_cells;  /* 1 writes one cell; anything else two */
    uint64_t mem;   /* 0: 128 MiB */
    uint32_t vcpus; /* 0: absent */
    const uint32_t *pin;
    int npin; /* 0: absent */
    bool no_kernel;
    const char *kernel; /* NULL: "k0" */
    const char *initrd, *bootargs;
    struct tprop raw[3]; /* written after the above */
    const char *child;
    const struct tdev *devs; /* device child nodes */
    int ndevs;
};

struct tcfg {
    bool no_compatible;
    const char *compatible; /* NULL: "vireo,config" */
    struct tprop root_raw;
    const char *root_child;
    bool no_vms, vms_twice;
    struct tprop vms_raw;
    const struct tvm *vms;
    int nvms;
    /* bundle */
    bool no_dtb, dtb_twice, dtb_as_dir, dtb_garbage;
    size_t cut; /* bytes dropped from the bundle's end */
    const uint8_t *dtb_override;
    size_t dtb_override_len;
};

#define D8      "DDDDDDDD"
#define D64     D8 D8 D8 D8 D8 D8 D8 D8
#define DISK512 D64 D64 D64 D64 D64 D64 D64 D64

/* The files every bundle holds besides vireo.dtb. */
static const struct {
    const char *name;
    const char *data;
    uint32_t mode;
} std_files[] = {
    {"k0", "KERNEL0", 0100644},      {"./k1", "KERNEL-ONE", 0100644},
    {"/k2", "K2", 0100755},          {"i0", "INITRD0", 0100644},
    {"empty", "", 0100644},          {"dir", "", 0040755},
    {"dup", "first", 0100644},       {"dup", "second", 0100644},
    {"vm0/kernel", "VM0K", 0100644}, {"vm0/initrd", "VM0I", 0100644},
    {"vm1/kernel", "VM1K", 0100644}, {"disk.img", DISK512, 0100644},
    {"odd.img", "ODD", 0100644},
};

/* ---- building bundles ---------------------------------------------------------- */

static uint8_t dtb_buf[DTB_CAP];
static uint8_t bundle_buf[BUNDLE_CAP];
static uint8_t *bundle; /* the exact-size copy under test */
static size_t bundle_len;

static void put(struct fdt_writer *w, const struct tprop *p)
{
    if (p->name)
        fdtw_prop(w, p->name, p->val, p->len);
}

static void vm_write(struct fdt_writer *w, const struct tvm *vm)
{
    fdtw_begin_node(w, vm->name);
    if (!vm->no_memory) {
        uint64_t mem = vm->mem ? vm->mem : 128 * MiB;

        if (vm->mem_cells == 1)
            fdtw_prop_u32(w, "memory", (uint32_t)mem);
        else
            fdtw_prop_u64(w, "memory", mem);
    }
    if (vm->vcpus)
        fdtw_prop_u32(w, "vcpus", vm->vcpus);
    if (vm->npin)
        fdtw_prop_cells(w, "pin", vm->pin, (size_t)vm->npin);
    if (!vm->no_kernel)
        fdtw_prop_str(w, "kernel", vm->kernel ? vm->kernel : "k0");
    if (vm->initrd)
        fdtw_prop_str(w, "initrd", vm->initrd);
    if (vm->bootargs)
        fdtw_prop_str(w, "bootargs", vm->bootargs);
    for (int i = 0; i < 3; i++)
        put(w, &vm->raw[i]);
    if (vm->child) {
        fdtw_begin_node(w, vm->child);
        fdtw_end_node(w);
    }
    for (int i = 0; i < vm->ndevs; i++) {
        fdtw_begin_node(w, vm->devs[i].name);
        for (int k = 0; k < 4; k++)
            put(w, &vm->devs[i].props[k]);
        fdtw_end_node(w);
    }
    fdtw_end_node(w);
}

static size_t dtb_build(const struct tcfg *tc)
{
    struct fdt_writer w;
    int len;

    fdtw_init(&w, dtb_buf, sizeof(dtb_buf));
    fdtw_begin_node(&w, "");
    if (!tc->no_compatible)
        fdtw_prop_str(&w, "compatible", tc->compatible ? tc->compatible : "vireo,config");
    put(&w, &tc->root_raw);
    if (tc->root_child) {
        fdtw_begin_node(&w, tc->root_child);
        fdtw_end_node(&w);
    }
    for (int k = 0; !tc->no_vms && k < (tc->vms_twice ? 2 : 1); k++) {
        fdtw_begin_node(&w, "vms");
        put(&w, &tc->vms_raw);
        for (int i = 0; i < tc->nvms; i++)
            vm_write(&w, &tc->vms[i]);
        fdtw_end_node(&w);
    }
    fdtw_end_node(&w);
    len = fdtw_finish(&w);
    assert_true(len > 0);
    return (size_t)len;
}

static size_t ar_entry(size_t off, const char *name, uint32_t mode, const void *data, size_t size)
{
    size_t namesize = strlen(name) + 1;
    int n;

    assert_true(off + CPIO_HEADER_SIZE + namesize + size + 8 <= BUNDLE_CAP);
    n = snprintf((char *)bundle_buf + off, CPIO_HEADER_SIZE + 1,
                 "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 0u, mode, 0u, 0u, 1u,
                 0u, (unsigned)size, 0u, 0u, 0u, 0u, (unsigned)namesize, 0u);
    assert_int_equal(n, CPIO_HEADER_SIZE);
    off += CPIO_HEADER_SIZE;
    memcpy(bundle_buf + off, name, namesize);
    off += namesize;
    while (off % 4)
        bundle_buf[off++] = 0;
    if (size)
        memcpy(bundle_buf + off, data, size);
    off += size;
    while (off % 4)
        bundle_buf[off++] = 0;
    return off;
}

/* Builds the bundle into the exact-size heap copy `bundle`. */
static void bundle_build(const struct tcfg *tc)
{
    const uint8_t *dtb = dtb_buf;
    size_t dtb_len, off = 0;

    if (tc->dtb_override) {
        dtb = tc->dtb_override;
        dtb_len = tc->dtb_override_len;
    } else {
        dtb_len = dtb_build(tc);
    }
    if (tc->dtb_garbage)
        dtb_len = 64;
    if (tc->dtb_as_dir)
        off = ar_entry(off, CONFIG_DTB_NAME, 0040755, NULL, 0);
    else if (!tc->no_dtb)
        off = ar_entry(off, CONFIG_DTB_NAME, 0100644, tc->dtb_garbage ? bundle_buf : dtb, dtb_len);
    for (size_t i = 0; i < sizeof(std_files) / sizeof(std_files[0]); i++)
        off = ar_entry(off, std_files[i].name, std_files[i].mode, std_files[i].data,
                       strlen(std_files[i].data));
    if (tc->dtb_twice)
        off = ar_entry(off, "./" CONFIG_DTB_NAME, 0100644, dtb, dtb_len);
    off = ar_entry(off, CPIO_TRAILER, 0, NULL, 0);
    assert_true(tc->cut <= off);
    off -= tc->cut;

    free(bundle);
    bundle = malloc(off ? off : 1);
    assert_non_null(bundle);
    memcpy(bundle, bundle_buf, off);
    bundle_len = off;
}

static int load(const struct tcfg *tc, unsigned nharts, struct config *cfg, char *err,
                size_t errlen)
{
    bundle_build(tc);
    memset(cfg, 0xa5, sizeof(*cfg)); /* whatever was there must not survive */
    return config_load(bundle, bundle_len, nharts, cfg, err, errlen);
}

static bool in_bundle(const void *p, size_t size)
{
    const uint8_t *b = p;

    return b >= bundle && size <= bundle_len && b + size <= bundle + bundle_len;
}

static void assert_zeroed(const struct config *cfg)
{
    static const struct config zero;

    assert_memory_equal(cfg, &zero, sizeof(zero));
}

static void load_ok(const struct tcfg *tc, unsigned nharts, struct config *cfg)
{
    char err[256] = "untouched";
    int r = load(tc, nharts, cfg, err, sizeof(err));

    if (r != 0)
        fail_msg("config_load failed: %s", err);
    assert_string_equal(err, "");
    assert_true(cfg->nvms >= 1 && cfg->nvms <= CONFIG_MAX_VMS);
    for (int i = 0; i < cfg->nvms; i++) {
        const struct vm_config *vm = &cfg->vms[i];

        assert_true(in_bundle(vm->kernel, vm->kernel_size) && vm->kernel_size > 0);
        assert_true(vm->initrd == NULL ? vm->initrd_size == 0
                                       : in_bundle(vm->initrd, vm->initrd_size));
        assert_non_null(vm->bootargs);
        assert_true(vm->bootargs[0] == '\0' || in_bundle(vm->bootargs, strlen(vm->bootargs) + 1));
    }
}

static void assert_file(const void *data, size_t size, const char *want)
{
    assert_int_equal(size, strlen(want));
    assert_memory_equal(data, want, size);
}

/* ---- valid configs ----------------------------------------------------------- */

static void test_one_vm_defaults(void **state)
{
    (void)state;
    static const struct tvm vms[] = {{.name = "vm0"}};
    const struct tcfg tc = {.vms = vms, .nvms = 1};
    struct config cfg;

    load_ok(&tc, 4, &cfg);
    assert_int_equal(cfg.nvms, 1);
    assert_string_equal(cfg.vms[0].name, "vm0");
    assert_int_equal(cfg.vms[0].mem_size, 128 * MiB);
    assert_int_equal(cfg.vms[0].vcpus, 1);
    for (int i = 0; i < CONFIG_MAX_VCPUS; i++)
        assert_int_equal(cfg.vms[0].pin[i], CONFIG_PIN_FLOAT);
    assert_file(cfg.vms[0].kernel, cfg.vms[0].kernel_size, "KERNEL0");
    assert_null(cfg.vms[0].initrd);
    assert_int_equal(cfg.vms[0].initrd_size, 0);
    assert_string_equal(cfg.vms[0].bootargs, "");
    assert_true(cfg.vms[0].autostart);
    assert_false(cfg.vms[0].control);
}

static void test_three_vms(void **state)
{
    (void)state;
    static const uint32_t pin0[] = {0, 1};
    static const uint32_t pin1[] = {3, 0xffffffffu, 2, 3};
    const struct tvm vms[] = {
        {.name = "vm0",
         .mem_cells = 1,
         .mem = 0x8000000,
         .vcpus = 2,
         .pin = pin0,
         .npin = 2,
         .initrd = "i0",
         .bootargs = "console=hvc0 root=/dev/vda",
         .raw = {RAW("autostart", 0, 0, 0, 0), RAW("control", 0, 0, 0, 1)}},
        {.name = "web-1",
         .mem = 4 * GiB,
         .vcpus = 4,
         .pin = pin1,
         .npin = 4,
         .kernel = "k1",
         .raw = {RAW("autostart", 0, 0, 0, 1), RAW("control", 0, 0, 0, 1)}},
        {.name = "db_2-abcdefghijklmnopqrstuvwxyz", /* 31 characters */
         .mem = 64 * GiB,
         .vcpus = 8,
         .kernel = "./k2",
         .initrd = "/k1"},
    };
    const struct tcfg tc = {.vms = vms, .nvms = 3};
    struct config cfg;

    load_ok(&tc, 4, &cfg);
    assert_int_equal(cfg.nvms, 3);

    assert_string_equal(cfg.vms[0].name, "vm0");
    assert_int_equal(cfg.vms[0].mem_size, 0x8000000);
    assert_int_equal(cfg.vms[0].vcpus, 2);
    assert_int_equal(cfg.vms[0].pin[0], 0);
    assert_int_equal(cfg.vms[0].pin[1], 1);
    assert_int_equal(cfg.vms[0].pin[2], CONFIG_PIN_FLOAT);
    assert_file(cfg.vms[0].kernel, cfg.vms[0].kernel_size, "KERNEL0");
    assert_file(cfg.vms[0].initrd, cfg.vms[0].initrd_size, "INITRD0");
    assert_string_equal(cfg.vms[0].bootargs, "console=hvc0 root=/dev/vda");
    assert_false(cfg.vms[0].autostart);
    assert_true(cfg.vms[0].control); /* several VMs may have it */

    assert_string_equal(cfg.vms[1].name, "web-1");
    assert_int_equal(cfg.vms[1].mem_size, 4 * GiB);
    assert_int_equal(cfg.vms[1].vcpus, 4);
    assert_int_equal(cfg.vms[1].pin[0], 3);
    assert_int_equal(cfg.vms[1].pin[1], CONFIG_PIN_FLOAT);
    assert_int_equal(cfg.vms[1].pin[2], 2);
    assert_int_equal(cfg.vms[1].pin[3], 3);
    assert_file(cfg.vms[1].kernel, cfg.vms[1].kernel_size, "KERNEL-ONE");
    assert_null(cfg.vms[1].initrd);
    assert_true(cfg.vms[1].autostart);
    assert_true(cfg.vms[1].control);

    assert_string_equal(cfg.vms[2].name, "db_2-abcdefghijklmnopqrstuvwxyz");
    assert_int_equal(cfg.vms[2].mem_size, 64 * GiB);
    assert_int_equal(cfg.vms[2].vcpus, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(cfg.vms[2].pin[i], CONFIG_PIN_FLOAT);
    assert_file(cfg.vms[2].kernel, cfg.vms[2].kernel_size, "K2");
    assert_file(cfg.vms[2].initrd, cfg.vms[2].initrd_size, "KERNEL-ONE");
    assert_string_equal(cfg.vms[2].bootargs, "");
    assert_false(cfg.vms[2].control);
}

static void test_memory_forms(void **state)
{
    (void)state;
    static const uint64_t sizes[] = {2 * MiB,       4 * MiB, 0x80000000ull,
                                     0xffe00000ull, 4 * GiB, 64 * GiB};
    struct config cfg;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int cells = 1; cells <= 2; cells++) {
            struct tvm vm = {.name = "m", .mem = sizes[i], .mem_cells = cells};
            const struct tcfg tc = {.vms = &vm, .nvms = 1};

            if (cells == 1 && sizes[i] > 0xffffffffull)
                continue;
            load_ok(&tc, 1, &cfg);
            assert_int_equal(cfg.vms[0].mem_size, sizes[i]);
        }
    }
}

static void test_max_vms_and_bootargs_limit(void **state)
{
    (void)state;
    static char names[CONFIG_MAX_VMS + 1][8];
    static char args[CONFIG_BOOTARGS_MAX];
    struct tvm vms[CONFIG_MAX_VMS + 1];
    struct tcfg tc = {.vms = vms, .nvms = CONFIG_MAX_VMS};
    struct config cfg;
    char err[256];

    memset(args, 'a', sizeof(args) - 1); /* the longest allowed: 1023 characters */
    memset(vms, 0, sizeof(vms));
    for (int i = 0; i <= CONFIG_MAX_VMS; i++) {
        snprintf(names[i], sizeof(names[i]), "vm%d", i);
        vms[i].name = names[i];
        vms[i].kernel = i % 2 ? "k1" : "k0";
        vms[i].bootargs = args;
    }
    load_ok(&tc, 1, &cfg);
    assert_int_equal(cfg.nvms, CONFIG_MAX_VMS);
    assert_string_equal(cfg.vms[15].name, "vm15");
    assert_int_equal(strlen(cfg.vms[15].bootargs), CONFIG_BOOTARGS_MAX - 1);
    /* The kernels of several VMs may be one file. */
    assert_ptr_equal(cfg.vms[0].kernel, cfg.vms[14].kernel);

    tc.nvms = CONFIG_MAX_VMS + 1;
    assert_int_equal(load(&tc, 1, &cfg, err, sizeof(err)), ERR_INVAL);
    assert_string_equal(err, "config: /vms: too many VMs (at most 16)");
    assert_zeroed(&cfg);
}

/* The example of docs/config.md, compiled by dtc rather than by our writer. */
static void test_dtc_fixture(void **state)
{
    (void)state;
    const char *dir = getenv("VIREO_FIXTURES");
    static uint8_t dtb[DTB_CAP];
    char path[512];
    struct config cfg;
    size_t n;
    FILE *fp;

    if (!dir)
        dir = "build/fixtures";
    snprintf(path, sizeof(path), "%s/config-example.dtb", dir);
    fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "test_config: %s missing; skipping\n", path);
        skip();
    }
    n = fread(dtb, 1, sizeof(dtb), fp);
    fclose(fp);
    assert_true(n > 0 && n < sizeof(dtb));
    {
        const struct tcfg tc = {.dtb_override = dtb, .dtb_override_len = n};

        load_ok(&tc, 4, &cfg);
    }
    assert_int_equal(cfg.nvms, 2);
    assert_string_equal(cfg.vms[0].name, "vm0");
    assert_int_equal(cfg.vms[0].mem_size, 0x8000000);
    assert_int_equal(cfg.vms[0].vcpus, 2);
    assert_int_equal(cfg.vms[0].pin[0], 0);
    assert_int_equal(cfg.vms[0].pin[1], 1);
    assert_file(cfg.vms[0].kernel, cfg.vms[0].kernel_size, "VM0K");
    assert_file(cfg.vms[0].initrd, cfg.vms[0].initrd_size, "VM0I");
    assert_string_equal(cfg.vms[0].bootargs, "console=hvc0");
    assert_true(cfg.vms[0].autostart);
    assert_string_equal(cfg.vms[1].name, "vm1");
    assert_int_equal(cfg.vms[1].mem_size, 64 * MiB);
    assert_int_equal(cfg.vms[1].vcpus, 1);
    assert_int_equal(cfg.vms[1].pin[0], CONFIG_PIN_FLOAT);
    assert_file(cfg.vms[1].kernel, cfg.vms[1].kernel_size, "VM1K");
    assert_null(cfg.vms[1].initrd);
    assert_false(cfg.vms[1].autostart);
}

/* ---- errors ------------------------------------------------------------------------ */

struct err_case {
    struct tcfg tc;
    unsigned nharts; /* 0: 4 */
    const char *msg;
    bool prefix; /* msg is only the start of the message */
};

#define VMS(...)                                                                                   \
    .vms = (const struct tvm[]){__VA_ARGS__},                                                      \
    .nvms = sizeof((const struct tvm[]){__VA_ARGS__}) / sizeof(struct tvm)
#define VM0(...) VMS({.name = "vm0", __VA_ARGS__})
#define PIN(...)                                                                                   \
    .pin = (const uint32_t[]){__VA_ARGS__}, .npin = sizeof((const uint32_t[]){__VA_ARGS__}) / 4

#define P_VM0 "config: /vms/vm0: "
#define PROPS                                                                                      \
    "memory, vcpus, pin, kernel, initrd, bootargs, autostart, control, isa-withhold, "             \
    "snapshot-disk, snapshot-offset or snapshot-size"

static const struct err_case err_cases[] = {
    /* the bundle */
    {.tc = {VM0(.kernel = "k0"), .cut = 4},
     .msg = "config: bundle: not a valid cpio newc archive: entry name runs past the end of the "
            "archive",
     .prefix = true},
    {.tc = {VM0(.kernel = "k0"), .cut = 124},
     .msg =
         "config: bundle: not a valid cpio newc archive: archive ends without a TRAILER!!! entry "
         "(entry at offset 0x",
     .prefix = true},
    {.tc = {VM0(.kernel = "k0"), .no_dtb = true},
     .msg =
         "config: bundle: no vireo.dtb (the VM configuration; make bundles with tools/vireo pack)"},
    {.tc = {VM0(.kernel = "k0"), .dtb_twice = true},
     .msg = "config: bundle: vireo.dtb appears more than once"},
    {.tc = {VM0(.kernel = "k0"), .dtb_as_dir = true},
     .msg = "config: bundle: vireo.dtb is not a regular file"},
    {.tc = {VM0(.kernel = "k0"), .dtb_garbage = true},
     .msg = "config: vireo.dtb: not a valid device tree blob (",
     .prefix = true},
    /* the root and /vms */
    {.tc = {VM0(.kernel = "k0"), .no_compatible = true},
     .msg = "config: /: property compatible: missing (required: \"vireo,config\"; is this a Vireo "
            "config?)"},
    {.tc = {VM0(.kernel = "k0"), .compatible = "riscv-virtio"},
     .msg = "config: /: property compatible: must be \"vireo,config\""},
    {.tc = {VM0(.kernel = "k0"), .root_raw = RAW_STR("model", "x")},
     .msg = "config: /: property model: unknown (the root has only compatible and the vms node)"},
    {.tc = {VM0(.kernel = "k0"), .root_child = "chosen"},
     .msg = "config: /chosen: unknown node (the root has only the vms node)"},
    {.tc = {VM0(.kernel = "k0"), .no_vms = true},
     .msg = "config: /: no vms node (expected /vms with one child node per VM)"},
    {.tc = {VM0(.kernel = "k0"), .vms_twice = true},
     .msg = "config: /vms: node given more than once"},
    {.tc = {VM0(.kernel = "k0"), .vms_raw = RAW("#address-cells", 0, 0, 0, 1)},
     .msg = "config: /vms: property #address-cells: unknown (/vms has no properties, only one "
            "child node "
            "per VM)"},
    {.tc = {.nvms = 0}, .msg = "config: /vms: no VM defined (expected one child node per VM)"},
    {.tc = {VMS({.name = "a"}, {.name = "b"}, {.name = "a"})},
     .msg = "config: /vms: VM name \"a\" used more than once"},
    /* VM names */
    {.tc = {VMS({.name = "VM0"})},
     .msg = "config: /vms/VM0: bad VM name: must be 1..31 characters from a-z, 0-9, '_' and '-'"},
    {.tc = {VMS({.name = "vm@1"})},
     .msg = "config: /vms/vm@1: bad VM name: must be 1..31 characters from a-z, 0-9, '_' and '-'"},
    {.tc = {VMS({.name = "vm.1"})},
     .msg = "config: /vms/vm.1: bad VM name: must be 1..31 characters from a-z, 0-9, '_' and '-'"},
    {.tc = {VMS({.name = "abcdefghijklmnopqrstuvwxyz012345"})},
     .msg = "config: /vms/abcdefghijklmnopqrstuvwxyz012345: bad VM name: must be 1..31 characters "
            "from "
            "a-z, 0-9, '_' and '-'"},
    {.tc = {VMS({.name = "\x1b[2Jx"})},
     .msg = "config: /vms/?[2Jx: bad VM name: must be 1..31 characters from a-z, 0-9, '_' and '-'"},
    {.tc = {VMS({.name = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})},
     .msg = "config: /vms/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...: bad VM name: must be 1..31 "
            "characters from a-z, 0-9, '_' and '-'"},
    /* structure of a VM node */
    {.tc = {VM0(.child = "gpu")},
     .msg = "config: /vms/vm0/gpu: unknown device node (expected rng, console, disk or diskN, net "
            "or netN, vsock)"},
    {.tc = {VM0(.raw = {RAW("memroy", 0, 0, 0, 0)})},
     .msg = P_VM0 "property memroy: unknown (expected " PROPS ")"},
    {.tc = {VM0(.raw = {RAW_STR("compatible", "x")})},
     .msg = P_VM0 "property compatible: unknown (expected " PROPS ")"},
    {.tc = {VM0(.vcpus = 1, .raw = {RAW("vcpus", 0, 0, 0, 2)})},
     .msg = P_VM0 "property vcpus: given more than once"},
    {.tc = {VM0(.raw = {RAW_STR("kernel", "k0")})},
     .msg = P_VM0 "property kernel: given more than once"},
    /* Which error is reported does not depend on the order properties appear in. */
    {.tc = {VM0(.no_memory = true, .vcpus = 9, .raw = {RAW("memory", 0, 0, 0, 1)})},
     .msg = P_VM0 "property memory: must be a multiple of 2 MiB (got 0x1)"},
    /* memory */
    {.tc = {VM0(.no_memory = true)},
     .msg = P_VM0
     "property memory: missing (required: the VM's RAM size in bytes, e.g. <0x0 0x8000000>)"},
    {.tc = {VMS({.name = "vm1", .mem = 0x100000, .mem_cells = 1})},
     .msg = "config: /vms/vm1: property memory: must be a multiple of 2 MiB (got 0x100000)"},
    {.tc = {VM0(.mem = 0x100100000ull)},
     .msg = P_VM0 "property memory: must be a multiple of 2 MiB (got 0x100100000)"},
    {.tc = {VM0(.no_memory = true, .raw = {RAW("memory", 0, 0, 0, 0)})},
     .msg = P_VM0 "property memory: must be at least 2 MiB (got 0)"},
    {.tc = {VM0(.mem = 64 * GiB + 2 * MiB)},
     .msg = P_VM0 "property memory: must be at most 64 GiB (got 0x1000200000)"},
    {.tc = {VM0(.mem = 0xffffffffffe00000ull)},
     .msg = P_VM0 "property memory: must be at most 64 GiB (got 0xffffffffffe00000)"},
    {.tc = {VM0(.no_memory = true, .raw = {RAW("memory", 0, 0x20, 0)})},
     .msg = P_VM0 "property memory: must be 1 or 2 cells (got 3 bytes)"},
    {.tc = {VM0(.no_memory = true, .raw = {RAW("memory", 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0)})},
     .msg = P_VM0 "property memory: must be 1 or 2 cells (got 12 bytes)"},
    {.tc = {VM0(.no_memory = true, .raw = {{"memory", "", 0}})},
     .msg = P_VM0 "property memory: must be 1 or 2 cells (got 0 bytes)"},
    /* vcpus and pin */
    {.tc = {VM0(.raw = {RAW("vcpus", 0, 0, 0, 0)})},
     .msg = P_VM0 "property vcpus: must be 1..8 (got 0)"},
    {.tc = {VM0(.vcpus = 9)}, .msg = P_VM0 "property vcpus: must be 1..8 (got 9)"},
    {.tc = {VM0(.vcpus = 0xffffffffu)},
     .msg = P_VM0 "property vcpus: must be 1..8 (got 4294967295)"},
    {.tc = {VM0(.raw = {RAW("vcpus", 0, 0, 0, 0, 0, 0, 0, 1)})},
     .msg = P_VM0 "property vcpus: must be one cell (got 8 bytes)"},
    {.tc = {VM0(PIN(0, 1))},
     .msg = P_VM0
     "property pin: needs one cell per vCPU (vcpus is 1; got 8 bytes): a host hart index, or "
     "-1 to float"},
    {.tc = {VM0(.vcpus = 3, PIN(0, 1))},
     .msg = P_VM0
     "property pin: needs one cell per vCPU (vcpus is 3; got 8 bytes): a host hart index, or "
     "-1 to float"},
    {.tc = {VM0(.raw = {RAW("pin", 0, 0, 0, 0, 1)})},
     .msg = P_VM0
     "property pin: needs one cell per vCPU (vcpus is 1; got 5 bytes): a host hart index, or "
     "-1 to float"},
    {.tc = {VM0(.raw = {{"pin", "", 0}})},
     .msg = P_VM0
     "property pin: needs one cell per vCPU (vcpus is 1; got 0 bytes): a host hart index, or "
     "-1 to float"},
    {.tc = {VM0(.vcpus = 2, PIN(0, 4))},
     .msg = P_VM0
     "property pin: vCPU 1: host hart 4 does not exist (the machine has 4 harts; -1 floats)"},
    {.tc = {VM0(PIN(0xfffffffeu))},
     .msg = P_VM0
     "property pin: vCPU 0: host hart 4294967294 does not exist (the machine has 4 harts; -1 "
     "floats)"},
    {.tc = {VM0(PIN(1))},
     .nharts = 1,
     .msg = P_VM0
     "property pin: vCPU 0: host hart 1 does not exist (the machine has 1 harts; -1 floats)"},
    /* kernel and initrd */
    {.tc = {VM0(.no_kernel = true)},
     .msg =
         P_VM0 "property kernel: missing (required: the guest kernel's file name in the bundle)"},
    {.tc = {VM0(.kernel = "nope")},
     .msg = P_VM0 "property kernel: file \"nope\" is not in the bundle"},
    {.tc = {VM0(.kernel = "vm0/kernel/")},
     .msg = P_VM0 "property kernel: file \"vm0/kernel/\" is not in the bundle"},
    {.tc = {VM0(.kernel = "empty")},
     .msg = P_VM0 "property kernel: file \"empty\" in the bundle is empty"},
    {.tc = {VM0(.kernel = "dir")},
     .msg = P_VM0 "property kernel: \"dir\" in the bundle is not a regular file"},
    {.tc = {VM0(.kernel = "dup")},
     .msg = P_VM0 "property kernel: file \"dup\" appears more than once in the bundle"},
    {.tc = {VM0(.kernel = "")},
     .msg = P_VM0 "property kernel: must not be empty (a file name in the bundle)"},
    {.tc = {VM0(.kernel = "./")}, .msg = P_VM0 "property kernel: file \"./\" is not in the bundle"},
    {.tc = {VM0(.no_kernel = true, .raw = {RAW_STR("kernel", "k0\0k1")})},
     .msg = P_VM0 "property kernel: must be one string (a file name in the bundle)"},
    {.tc = {VM0(.no_kernel = true, .raw = {{"kernel", "k0", 2}})},
     .msg = P_VM0 "property kernel: must be one string (a file name in the bundle)"},
    {.tc = {VM0(.no_kernel = true, .raw = {RAW("kernel", 0, 0, 0, 1)})},
     .msg = P_VM0 "property kernel: must be one string (a file name in the bundle)"},
    {.tc = {VM0(.kernel = "no\tpe\x7f")},
     .msg = P_VM0 "property kernel: file \"no?pe?\" is not in the bundle"},
    {.tc = {VM0(.initrd = "i1")}, .msg = P_VM0 "property initrd: file \"i1\" is not in the bundle"},
    {.tc = {VM0(.initrd = "empty")},
     .msg = P_VM0 "property initrd: file \"empty\" in the bundle is empty"},
    {.tc = {VM0(.raw = {RAW_STR("initrd", "i0\0")})},
     .msg = P_VM0 "property initrd: must be one string (a file name in the bundle)"},
    /* bootargs and autostart */
    {.tc = {VM0(.raw = {RAW("bootargs", 0, 0, 0, 1)})},
     .msg = P_VM0 "property bootargs: must be one string (the guest's command line)"},
    {.tc = {VM0(.raw = {RAW_STR("bootargs", "a\0b")})},
     .msg = P_VM0 "property bootargs: must be one string (the guest's command line)"},
    {.tc = {VM0(.raw = {RAW("autostart", 0, 0, 0, 2)})},
     .msg = P_VM0 "property autostart: must be <0> or <1> (got 2)"},
    {.tc = {VM0(.raw = {{"autostart", "", 0}})},
     .msg = P_VM0 "property autostart: must be one cell (got 0 bytes)"},
    {.tc = {VM0(.raw = {RAW("control", 0, 0, 0, 2)})},
     .msg = P_VM0 "property control: must be <0> or <1> (got 2)"},
    {.tc = {VM0(.raw = {RAW("control", 0, 0, 1)})},
     .msg = P_VM0 "property control: must be one cell (got 3 bytes)"},
    /* isa-withhold */
    {.tc = {VM0(.raw = {RAW_STR("isa-withhold", "zbc\0zfoo")})},
     .msg = P_VM0 "property isa-withhold: unknown extension \"zfoo\" (docs/isa.md lists the "
                  "ones Vireo knows)"},
    {.tc = {VM0(.raw = {RAW_STR("isa-withhold", "zicsr")})},
     .msg = P_VM0 "property isa-withhold: \"zicsr\" cannot be withheld: the guest cannot do "
                  "without it"},
    {.tc = {VM0(.raw = {RAW_STR("isa-withhold", "zbc\0")})},
     .msg = P_VM0 "property isa-withhold: entry 1 is empty"},
    {.tc = {VM0(.raw = {RAW("isa-withhold", 0, 0, 0, 1)})},
     .msg = P_VM0 "property isa-withhold: must be one or more strings (extension names, e.g. "
                  "\"zbc\", \"zicboz\")"},
};

static void test_isa_withhold(void **state)
{
    (void)state;
    struct config cfg;
    char err[512];
    struct tcfg tc = {VM0(.raw = {RAW_STR("isa-withhold", "zbc\0ZICBOZ")})};

    assert_int_equal(load(&tc, 4, &cfg, err, sizeof(err)), 0);
    assert_true(isa_has_name(&cfg.vms[0].isa_withhold, "zbc"));
    assert_true(isa_has_name(&cfg.vms[0].isa_withhold, "zicboz"));
    assert_false(isa_has_name(&cfg.vms[0].isa_withhold, "zicbom"));
}

static void test_errors(void **state)
{
    (void)state;
    struct config cfg;
    char err[512];

    for (size_t i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const struct err_case *c = &err_cases[i];
        int r = load(&c->tc, c->nharts ? c->nharts : 4, &cfg, err, sizeof(err));

        if (r != ERR_INVAL)
            fail_msg("case %zu: loaded, expected \"%s\"", i, c->msg);
        if (c->prefix ? strncmp(err, c->msg, strlen(c->msg)) != 0 : strcmp(err, c->msg) != 0)
            fail_msg("case %zu:\n  got      \"%s\"\n  expected \"%s\"%s", i, err, c->msg,
                     c->prefix ? "..." : "");
        assert_null(strchr(err, '\n'));
        assert_zeroed(&cfg);
    }
}

/* ---- devices ------------------------------------------------------------------------ */

#define DEVS(...)                                                                                  \
    .devs = (const struct tdev[]){__VA_ARGS__},                                                    \
    .ndevs = sizeof((const struct tdev[]){__VA_ARGS__}) / sizeof(struct tdev)
#define U64(n, v) U64_((n), (uint64_t)(v))
#define U64_(n, v)                                                                                 \
    RAW(n, (uint8_t)((v) >> 56), (uint8_t)((v) >> 48), (uint8_t)((v) >> 40), (uint8_t)((v) >> 32), \
        (uint8_t)((v) >> 24), (uint8_t)((v) >> 16), (uint8_t)((v) >> 8), (uint8_t)(v))
#define U32(n, v)                                                                                  \
    RAW(n, (uint8_t)((v) >> 24), (uint8_t)((v) >> 16), (uint8_t)((v) >> 8), (uint8_t)(v))
#define FLAG(n)                                                                                    \
    {                                                                                              \
        n, "", 0                                                                                   \
    }

static void test_devices(void **state)
{
    (void)state;
    const struct tvm vms[] = {
        {.name = "vm0",
         DEVS({.name = "rng"}, {.name = "console"},
              {.name = "disk0", .props = {RAW_STR("image", "disk.img")}},
              {"disk1",
               {U32("host-disk", 1), U64("offset", 0x100000), U32("size", 0x200000),
                FLAG("read-only")}},
              {.name = "net0", .props = {RAW("mac", 0x02, 0, 0, 0, 0, 0x01)}}, {.name = "net1"})},
        {.name = "vm1",
         DEVS({.name = "disk", .props = {U32("host-disk", 1), U64("offset", 0x300000)}},
              {.name = "net"})},
    };
    const struct tcfg tc = {.vms = vms, .nvms = 2};
    struct config cfg;
    uint8_t mac1[6];

    load_ok(&tc, 4, &cfg);
    const struct vm_config *v = &cfg.vms[0];
    struct vdev_blk_settings d2, d3, vm1d0;
    struct vdev_net_settings n4, n5, vm1n1;
    vdev_blk_settings(&v->devs[2], &d2);
    vdev_blk_settings(&v->devs[3], &d3);
    vdev_blk_settings(&cfg.vms[1].devs[0], &vm1d0);
    vdev_net_settings(&v->devs[4], &n4);
    vdev_net_settings(&v->devs[5], &n5);
    vdev_net_settings(&cfg.vms[1].devs[1], &vm1n1);
    assert_int_equal(v->ndevs, 6);
    assert_string_equal(v->devs[0].kind->name, "rng");
    assert_string_equal(v->devs[0].name, "rng");
    assert_string_equal(v->devs[1].kind->model, "virtio-console");
    assert_ptr_equal(v->devs[2].kind, vdev_kind_find("disk"));
    assert_int_equal(d2.host_disk, CONFIG_HOST_DISK_NONE);
    assert_true(in_bundle(d2.image, d2.image_size));
    assert_int_equal(d2.image_size, 512);
    assert_false(d2.read_only);
    assert_int_equal(d3.host_disk, 1);
    assert_int_equal(d3.offset, 0x100000);
    assert_int_equal(d3.size, 0x200000);
    assert_true(d3.read_only);
    assert_null(d3.image);
    assert_ptr_equal(v->devs[4].kind, vdev_kind_find("net"));
    assert_memory_equal(n4.mac, ((const uint8_t[]){2, 0, 0, 0, 0, 1}), 6);
    /* Generated: locally administered unicast, stable, distinct per node and VM. */
    assert_int_equal(n5.mac[0], 0x02);
    assert_int_equal(n5.mac[1], 0x56);
    memcpy(mac1, n5.mac, 6);
    assert_memory_not_equal(mac1, vm1n1.mac, 6);
    assert_int_equal(vm1d0.size, CONFIG_SIZE_REST);
    assert_int_equal(vm1d0.offset, 0x300000);
    load_ok(&tc, 4, &cfg);
    vdev_net_settings(&cfg.vms[0].devs[5], &n5);
    assert_memory_equal(mac1, n5.mac, 6);
    /* No device nodes: no devices. */
    const struct tcfg plain = {VM0(.kernel = "k0")};
    load_ok(&plain, 4, &cfg);
    assert_int_equal(cfg.vms[0].ndevs, 0);
}

/* vsock: guest-cid given, or 3 + the VM's place in /vms. */
static void test_vsock(void **state)
{
    (void)state;
    const struct tvm vms[] = {
        {.name = "vm0", DEVS({.name = "vsock"})},
        {.name = "vm1", DEVS({.name = "rng"}, {.name = "vsock", .props = {U32("guest-cid", 100)}})},
        {.name = "vm2", DEVS({.name = "vsock", .props = {U64("guest-cid", 0xfffffffe)}})},
        {.name = "vm3", DEVS({.name = "vsock"})},
    };
    const struct tcfg tc = {.vms = vms, .nvms = 4};
    struct config cfg;
    struct vdev_vsock_settings s;

    load_ok(&tc, 4, &cfg);
    assert_string_equal(cfg.vms[0].devs[0].kind->model, "virtio-vsock");
    vdev_vsock_settings(&cfg.vms[0].devs[0], &s);
    assert_int_equal(s.guest_cid, 3);
    vdev_vsock_settings(&cfg.vms[1].devs[1], &s);
    assert_int_equal(s.guest_cid, 100);
    vdev_vsock_settings(&cfg.vms[2].devs[0], &s);
    assert_int_equal(s.guest_cid, 0xfffffffe);
    vdev_vsock_settings(&cfg.vms[3].devs[0], &s);
    assert_int_equal(s.guest_cid, 6);
}

#define P_DEV "config: /vms/vm0/"
#define DISK_ONE_OF                                                                                \
    "a disk needs exactly one of image (a file in the bundle) or host-disk (a disk of the host)"

static const struct err_case dev_err_cases[] = {
    {.tc = {VM0(DEVS({.name = "disk@0"}))},
     .msg = P_DEV
     "disk@0: unknown device node (expected rng, console, disk or diskN, net or netN, vsock)"},
    {.tc = {VM0(DEVS({.name = "disk123"}))},
     .msg = P_DEV "disk123: unknown device node (expected rng, console, disk or diskN, net or "
                  "netN, vsock)"},
    {.tc = {VM0(DEVS({.name = "rng0"}))},
     .msg = P_DEV
     "rng0: unknown device node (expected rng, console, disk or diskN, net or netN, vsock)"},
    {.tc = {VM0(DEVS({.name = "net0"}, {.name = "net1"}, {.name = "net2"}, {.name = "net3"},
                     {.name = "net4"}, {.name = "net5"}, {.name = "net6"}, {.name = "net7"},
                     {.name = "net8"}))},
     .msg = P_DEV "net8: too many devices (at most 8 per VM)"},
    {.tc = {VM0(DEVS({.name = "rng", .props = {RAW_STR("image", "disk.img")}}))},
     .msg = P_DEV "rng: property image: unknown (a rng node takes: none)"},
    {.tc = {VM0(DEVS({.name = "net0", .props = {RAW_STR("image", "disk.img")}}))},
     .msg = P_DEV "net0: property image: unknown (a net node takes: mac)"},
    {.tc = {VM0(DEVS({.name = "disk0"}))}, .msg = P_DEV "disk0: " DISK_ONE_OF},
    {.tc = {VM0(
         DEVS({.name = "disk0", .props = {RAW_STR("image", "disk.img"), U32("host-disk", 0)}}))},
     .msg = P_DEV "disk0: " DISK_ONE_OF},
    {.tc = {VM0(
         DEVS({.name = "disk0", .props = {RAW_STR("image", "disk.img"), U32("offset", 512)}}))},
     .msg = P_DEV "disk0: property offset: only for host-disk (an image is used whole)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {RAW_STR("image", "odd.img")}}))},
     .msg = P_DEV "disk0: property image: the image must be a multiple of 512 bytes (it has 3)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {RAW_STR("image", "nope.img")}}))},
     .msg = P_DEV "disk0: property image: file \"nope.img\" is not in the bundle"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {RAW("image", 0, 0, 0, 1)}}))},
     .msg = P_DEV "disk0: property image: must be one string (a file name in the bundle)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {U64("host-disk", 0)}}))},
     .msg = P_DEV "disk0: property host-disk: must be one cell (got 8 bytes)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {U32("host-disk", 8)}}))},
     .msg = P_DEV "disk0: property host-disk: must be 0..7, the index of one of the host's "
                  "virtio-blk disks (got 8)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("offset", 100)}}))},
     .msg = P_DEV "disk0: property offset: must be a multiple of 512 bytes (got 0x64)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {U32("host-disk", 0), RAW("size", 0, 0, 2)}}))},
     .msg = P_DEV "disk0: property size: must be 1 or 2 cells (got 3 bytes)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("size", 0)}}))},
     .msg = P_DEV "disk0: property size: must not be 0 (leave it out for the rest of the disk)"},
    {.tc = {VM0(DEVS({.name = "disk0",
                      .props = {U32("host-disk", 0), U64("offset", 0xfffffffffffffe00ull),
                                U32("size", 0x400)}}))},
     .msg = P_DEV "disk0: property size: offset + size overflows"},
    {.tc = {VM0(
         DEVS({.name = "disk0", .props = {U32("host-disk", 0), RAW("read-only", 0, 0, 0, 1)}}))},
     .msg = P_DEV "disk0: property read-only: takes no value (write `read-only;`)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("host-disk", 1)}}))},
     .msg = P_DEV "disk0: property host-disk: given more than once"},
    {.tc = {VM0(DEVS({.name = "net0", .props = {RAW("mac", 2, 0, 0, 0, 1)}}))},
     .msg = P_DEV "net0: property mac: must be 6 bytes, e.g. [02 00 00 00 00 01] (got 5)"},
    {.tc = {VM0(DEVS({.name = "net0", .props = {RAW("mac", 3, 0, 0, 0, 0, 1)}}))},
     .msg = P_DEV "net0: property mac: must be a unicast address (the first byte's low bit clear)"},
    {.tc = {VM0(DEVS({.name = "net0", .props = {RAW("mac", 0, 0, 0, 0, 0, 0)}}))},
     .msg = P_DEV "net0: property mac: must not be all zeros"},
    /* between devices and VMs */
    {.tc = {VMS({.name = "a", DEVS({.name = "disk0", .props = {RAW_STR("image", "disk.img")}})},
                {.name = "b", DEVS({.name = "disk0", .props = {RAW_STR("image", "./disk.img")}})})},
     .msg = "config: /vms/b/disk0: overlaps /vms/a/disk0 (the same image file)"},
    {.tc = {VMS({.name = "a",
                 DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("size", 0x100000)}})},
                {.name = "b",
                 DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("offset", 0xffe00)}})})},
     .msg = "config: /vms/b/disk0: overlaps /vms/a/disk0 (the same region of a host disk)"},
    {.tc = {VM0(DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("offset", 0x100000)}},
                     {.name = "disk1", .props = {U32("host-disk", 0), U32("offset", 0x200000)}}))},
     .msg = P_DEV "disk1: overlaps /vms/vm0/disk0 (the same region of a host disk)"},
    {.tc = {VMS({.name = "a", DEVS({.name = "net0", .props = {RAW("mac", 2, 0, 0, 0, 0, 9)}})},
                {.name = "b", DEVS({.name = "net0", .props = {RAW("mac", 2, 0, 0, 0, 0, 9)}})})},
     .msg = "config: /vms/b/net0: property mac: same address as /vms/a/net0"},
    {.tc = {VM0(DEVS({.name = "vsock", .props = {U32("guest-cid", 2)}}))},
     .msg = P_DEV "vsock: property guest-cid: must be 3 to 0xfffffffe (0, 1, 2 and 0xffffffff are "
                  "reserved; got 0x2)"},
    {.tc = {VM0(DEVS({.name = "vsock", .props = {U32("guest-cid", 0xffffffff)}}))},
     .msg = P_DEV "vsock: property guest-cid: must be 3 to 0xfffffffe (0, 1, 2 and 0xffffffff are "
                  "reserved; got 0xffffffff)"},
    {.tc = {VM0(DEVS({.name = "vsock", .props = {U64("guest-cid", 0x100000003)}}))},
     .msg = P_DEV "vsock: property guest-cid: must be 3 to 0xfffffffe (0, 1, 2 and 0xffffffff are "
                  "reserved; got 0x100000003)"},
    {.tc = {VM0(DEVS({.name = "vsock", .props = {RAW("guest-cid", 0, 3)}}))},
     .msg = P_DEV "vsock: property guest-cid: must be 1 or 2 cells (got 2 bytes)"},
    {.tc = {VM0(DEVS({.name = "vsock"}, {.name = "vsock"}))},
     .msg = P_DEV "vsock: device node given more than once"},
    {.tc = {VMS({.name = "a", DEVS({.name = "vsock"})},
                {.name = "b", DEVS({.name = "vsock", .props = {U32("guest-cid", 3)}})})},
     .msg = "config: /vms/b/vsock: property guest-cid: CID 3 is also /vms/a/vsock's (a VM without "
            "guest-cid gets 3 + its place in /vms)"},
};

static void test_device_errors(void **state)
{
    (void)state;
    struct config cfg;
    char err[512];

    for (size_t i = 0; i < sizeof(dev_err_cases) / sizeof(dev_err_cases[0]); i++) {
        const struct err_case *c = &dev_err_cases[i];

        if (load(&c->tc, 4, &cfg, err, sizeof(err)) != ERR_INVAL)
            fail_msg("case %zu: loaded, expected \"%s\"", i, c->msg);
        if (strcmp(err, c->msg) != 0)
            fail_msg("case %zu:\n  got      \"%s\"\n  expected \"%s\"", i, err, c->msg);
        assert_zeroed(&cfg);
    }
    /* Regions side by side on one disk, and the same region on two disks, are fine. */
    const struct tcfg ok = {
        VMS({.name = "a",
             DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("size", 0x100000)}},
                  {.name = "disk1", .props = {U32("host-disk", 1), U32("size", 0x100000)}})},
            {.name = "b",
             DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("offset", 0x100000)}})})};
    load_ok(&ok, 4, &cfg);
}

/* ---- snapshot regions ------------------------------------------------------------- */

#define SNAP_DISK(d) U32("snapshot-disk", d)
#define SNAP_OFF(o)  U64("snapshot-offset", o)
#define SNAP_SIZE(n) U32("snapshot-size", n)
#define DISK0_AT(o, n)                                                                             \
    DEVS({.name = "disk0", .props = {U32("host-disk", 0), U32("offset", o), U32("size", n)}})

static void test_snapshot_region(void **state)
{
    (void)state;
    /* Beside a disk region on the same host disk, beside another VM's, and
     * the same bytes on another host disk: all fine. */
    const struct tcfg tc = {
        VMS({.name = "a",
             .raw = {SNAP_DISK(0), SNAP_OFF(0x100000), SNAP_SIZE(0x200000)},
             DISK0_AT(0, 0x100000)},
            {.name = "b", .raw = {SNAP_DISK(0), SNAP_OFF(0x300000), SNAP_SIZE(0x2000)}},
            {.name = "c", .raw = {SNAP_DISK(1), SNAP_SIZE(0x300000)}}, {.name = "d"})};
    struct config cfg;

    load_ok(&tc, 4, &cfg);
    assert_true(cfg.vms[0].has_snapshot_region);
    assert_int_equal(cfg.vms[0].snapshot_region.disk, 0);
    assert_int_equal(cfg.vms[0].snapshot_region.offset, 0x100000);
    assert_int_equal(cfg.vms[0].snapshot_region.size, 0x200000);
    assert_int_equal(cfg.vms[1].snapshot_region.offset, 0x300000);
    assert_int_equal(cfg.vms[2].snapshot_region.disk, 1);
    assert_int_equal(cfg.vms[2].snapshot_region.offset, 0);
    assert_false(cfg.vms[3].has_snapshot_region);
}

static const struct err_case snap_err_cases[] = {
    {.tc = {VM0(.raw = {SNAP_OFF(0), SNAP_SIZE(0x2000)})},
     .msg = P_VM0 "property snapshot-offset: needs snapshot-disk (the host disk the region is on)"},
    {.tc = {VM0(.raw = {SNAP_SIZE(0x2000)})},
     .msg = P_VM0 "property snapshot-size: needs snapshot-disk (the host disk the region is on)"},
    {.tc = {VM0(.raw = {SNAP_DISK(8), SNAP_SIZE(0x2000)})},
     .msg = P_VM0 "property snapshot-disk: must be 0..7, the index of one of the host's "
                  "virtio-blk disks (got 8)"},
    {.tc = {VM0(.raw = {U64("snapshot-disk", 0), SNAP_SIZE(0x2000)})},
     .msg = P_VM0 "property snapshot-disk: must be one cell (got 8 bytes)"},
    {.tc = {VM0(.raw = {SNAP_DISK(0)})},
     .msg = P_VM0 "property snapshot-size: missing (required with snapshot-disk: the region's "
                  "size in bytes)"},
    {.tc = {VM0(.raw = {SNAP_DISK(0), SNAP_SIZE(0x1000)})},
     .msg = P_VM0 "property snapshot-size: must be more than 4096 bytes (a 4 KiB header, then "
                  "the snapshot; got 0x1000)"},
    {.tc = {VM0(.raw = {SNAP_DISK(0), SNAP_OFF(0x200), SNAP_SIZE(0x2000)})},
     .msg = P_VM0 "property snapshot-offset: must be a multiple of 4096 bytes (got 0x200)"},
    {.tc = {VM0(.raw = {SNAP_DISK(0),
                        RAW("snapshot-size", 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0)})},
     .msg = P_VM0 "property snapshot-size: must be 1 or 2 cells (got 12 bytes)"},
    {.tc = {VM0(.raw = {SNAP_DISK(0), SNAP_OFF(0xfffffffffffff000ull), SNAP_SIZE(0x2000)})},
     .msg = P_VM0 "property snapshot-size: snapshot-offset + snapshot-size overflows"},
    /* overlaps */
    {.tc = {VMS({.name = "a", .raw = {SNAP_DISK(0), SNAP_SIZE(0x200000)}},
                {.name = "b", .raw = {SNAP_DISK(0), SNAP_OFF(0x1ff000), SNAP_SIZE(0x2000)}})},
     .msg = "config: /vms/b: property snapshot-offset: the snapshot region overlaps /vms/a's "
            "(on host disk 0)"},
    {.tc = {VMS({.name = "a", DEVS({.name = "disk0", .props = {U32("host-disk", 0)}})},
                {.name = "b", .raw = {SNAP_DISK(0), SNAP_OFF(0x40000000), SNAP_SIZE(0x2000)}})},
     .msg = "config: /vms/b: property snapshot-offset: the snapshot region overlaps /vms/a/disk0 "
            "(the same region of host disk 0)"},
    {.tc = {VM0(.raw = {SNAP_DISK(0), SNAP_OFF(0x100000), SNAP_SIZE(0x2000)},
                DISK0_AT(0xff000, 0x1200))},
     .msg = P_VM0 "property snapshot-offset: the snapshot region overlaps /vms/vm0/disk0 (the "
                  "same region of host disk 0)"},
};

static void test_snapshot_region_errors(void **state)
{
    (void)state;
    struct config cfg;
    char err[512];

    for (size_t i = 0; i < sizeof(snap_err_cases) / sizeof(snap_err_cases[0]); i++) {
        const struct err_case *c = &snap_err_cases[i];

        if (load(&c->tc, 4, &cfg, err, sizeof(err)) != ERR_INVAL)
            fail_msg("case %zu: loaded, expected \"%s\"", i, c->msg);
        if (strcmp(err, c->msg) != 0)
            fail_msg("case %zu:\n  got      \"%s\"\n  expected \"%s\"", i, err, c->msg);
        assert_zeroed(&cfg);
    }
}

static void test_bootargs_too_long(void **state)
{
    (void)state;
    static char args[CONFIG_BOOTARGS_MAX + 1];
    struct tvm vm = {.name = "vm0", .bootargs = args};
    const struct tcfg tc = {.vms = &vm, .nvms = 1};
    struct config cfg;
    char err[256];

    memset(args, 'x', CONFIG_BOOTARGS_MAX);
    assert_int_equal(load(&tc, 4, &cfg, err, sizeof(err)), ERR_INVAL);
    assert_string_equal(err, P_VM0 "property bootargs: must be at most 1023 characters (got 1024)");
}

/* Tiny or missing error buffers and a missing cfg are handled. */
static void test_error_buffer(void **state)
{
    (void)state;
    static const struct tvm vms[] = {{.name = "vm0", .kernel = "nope"}};
    const struct tcfg tc = {.vms = vms, .nvms = 1};
    struct config cfg;
    char err[16];

    memset(err, 'Z', sizeof(err));
    assert_int_equal(load(&tc, 4, &cfg, err, 12), ERR_INVAL);
    assert_string_equal(err, "config: /vm");
    assert_int_equal(err[12], 'Z');
    assert_int_equal(load(&tc, 4, &cfg, err, 1), ERR_INVAL);
    assert_string_equal(err, "");
    assert_int_equal(load(&tc, 4, &cfg, NULL, 0), ERR_INVAL);
    assert_int_equal(load(&tc, 4, &cfg, NULL, 100), ERR_INVAL);
    assert_int_equal(config_load(bundle, bundle_len, 4, NULL, err, sizeof(err)), ERR_INVAL);
    assert_int_equal(config_load(NULL, 0, 4, &cfg, err, sizeof(err)), ERR_INVAL);
    assert_zeroed(&cfg);
}

/* Random damage to a valid bundle: never a crash; either a config whose every
 * pointer lies in the bundle, or a one-line message. */
static void test_fuzz_bundle(void **state)
{
    (void)state;
    const struct tvm vms[] = {
        {.name = "vm0", .vcpus = 2, PIN(0, 1), .initrd = "i0", .bootargs = "console=hvc0"},
        {.name = "vm1", .mem_cells = 1, .kernel = "k1", .raw = {RAW("autostart", 0, 0, 0, 0)}},
    };
    const struct tcfg tc = {.vms = vms, .nvms = 2};
    static uint8_t pristine[BUNDLE_CAP], good[BUNDLE_CAP];
    size_t good_len;
    int ok = 0, bad = 0;

    bundle_build(&tc);
    good_len = bundle_len;
    memcpy(pristine, bundle, good_len);
    rng_state = 0xc0ff1e5eed1234ull;
    for (int iter = 0; iter < 5000; iter++) {
        struct config cfg;
        char err[256];
        size_t len = good_len;
        int r;

        memcpy(good, pristine, good_len);

        for (int k = 1 + (int)(rng() % 3); k > 0; k--) {
            /* Mostly inside vireo.dtb, the first entry, where it matters most. */
            size_t pos = rng() % (rng() % 4 ? 600 : good_len);

            if (rng() % 8 == 0)
                len = rng() % (good_len + 1);
            else
                good[pos] ^= (uint8_t)(1 + rng() % 255);
        }
        free(bundle);
        bundle = malloc(len ? len : 1);
        assert_non_null(bundle);
        memcpy(bundle, good, len);
        bundle_len = len;
        r = config_load(bundle, bundle_len, 4, &cfg, err, sizeof(err));
        if (r == 0) {
            ok++;
            for (int i = 0; i < cfg.nvms; i++) {
                assert_true(in_bundle(cfg.vms[i].kernel, cfg.vms[i].kernel_size));
                assert_true(cfg.vms[i].vcpus >= 1 && cfg.vms[i].vcpus <= CONFIG_MAX_VCPUS);
                assert_true(cfg.vms[i].mem_size >= 2 * MiB && cfg.vms[i].mem_size <= 64 * GiB);
            }
        } else {
            bad++;
            assert_int_equal(r, ERR_INVAL);
            assert_memory_equal(err, "config: ", 8);
            assert_null(strchr(err, '\n'));
        }
    }
    assert_true(ok > 50);
    assert_true(bad > 1000);
}

static int teardown(void **state)
{
    (void)state;
    free(bundle);
    bundle = NULL;
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_vm_defaults),
        cmocka_unit_test(test_three_vms),
        cmocka_unit_test(test_memory_forms),
        cmocka_unit_test(test_max_vms_and_bootargs_limit),
        cmocka_unit_test(test_dtc_fixture),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_isa_withhold),
        cmocka_unit_test(test_bootargs_too_long),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_fuzz_bundle),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_vsock),
        cmocka_unit_test(test_device_errors),
        cmocka_unit_test(test_snapshot_region),
        cmocka_unit_test(test_snapshot_region_errors),
    };

    return cmocka_run_group_tests_name("config", tests, NULL, teardown);
}
