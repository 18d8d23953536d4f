/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/fdt.c and lib/fdt_write.c.
 *
 * Blobs come from the writer (round trips), from a tiny raw assembler in this file
 * (malformed trees the writer refuses to make), and from QEMU when one is at hand:
 * FDT_QEMU_DTB names a file made with
 *   qemu-system-riscv64 -M virt,dumpdtb=virt.dtb -cpu rv64,h=true -smp 4 -m 2G
 * and without it $VIREO_FIXTURES/virt-smp4.dtb is used if present; else that test
 * is skipped.
 * Every malformed or mutated blob sits in a heap buffer of exactly its size, so
 * under ASan any read past it is caught. FDT_SAMPLE_OUT=file dumps the writer's
 * sample tree, for inspection with dtc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>

#include "lib/fdt.h"
#include "lib/string.h"

#define SAMPLE_CAP 4096

/* ---- helpers ---------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint8_t *dup_exact(const void *src, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);

    assert_non_null(p);
    if (n)
        memcpy(p, src, n);
    return p;
}

static uint8_t *load_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n > 0);
    rewind(fp);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* Upper bound on steps of any walk over f: one token is at least 4 bytes. */
static int walk_limit(const struct fdt *f)
{
    return (int)(f->struct_size / 4) + 2;
}

static void assert_err(int r)
{
    assert_true(r < 0);
    assert_true(r >= ERR_DEPTH);
}

static void assert_node_or_err(const struct fdt *f, int r)
{
    if (r < 0) {
        assert_err(r);
        return;
    }
    assert_int_equal(r % 4, 0);
    assert_true((uint32_t)r < f->struct_size);
    assert_non_null(fdt_node_name(f, r));
}

static void assert_in_struct(const struct fdt *f, const void *v, int len)
{
    const uint8_t *p = v;
    const uint8_t *lo = f->blob + f->struct_off;

    assert_true(len >= 0);
    assert_true(p >= lo);
    assert_true(p + len <= lo + f->struct_size);
}

/* ---- the sample tree ---------------------------------------------------------- */

static const uint32_t mem_reg[] = {0x0, 0x80000000, 0x0, 0x40000000, 0x1, 0x0, 0x0, 0x10000000};

static void build_sample(struct fdt_writer *w)
{
    static const char root_compat[] = "vireo,test\0vireo,base";
    static const char uart2_compat[] = "vendor,uart\0ns16550a";
    static const uint32_t serial0_reg[] = {0x10000000, 0x100};
    static const uint32_t serial1_reg[] = {0x10001000, 0x100};
    static const uint32_t dev_reg[] = {0x3, 0x0, 0x1000, 0x4, 0x8, 0x2000};
    static const uint32_t item_reg[] = {5, 6};
    static const uint32_t big_reg[] = {1, 2, 3, 4};
    static const uint8_t bad_reg[6] = {0};

    fdtw_reserve(w, 0x80000000, 0x200000);
    fdtw_reserve(w, 0x90000000, 0x1000);
    fdtw_set_boot_cpuid(w, 1);
    fdtw_begin_node(w, "");
    fdtw_prop_u32(w, "#address-cells", 2);
    fdtw_prop_u32(w, "#size-cells", 2);
    fdtw_prop(w, "compatible", root_compat, sizeof(root_compat));
    fdtw_prop_str(w, "model", "Vireo test");
    fdtw_prop_u64(w, "vireo,u64", 0x123456789abcdef0ull);

    fdtw_begin_node(w, "chosen");
    fdtw_prop_str(w, "bootargs", "console=hvc0");
    fdtw_prop_str(w, "stdout-path", "/soc/serial@10000000");
    fdtw_end_node(w);

    fdtw_begin_node(w, "cpus");
    fdtw_prop_u32(w, "#address-cells", 1);
    fdtw_prop_u32(w, "#size-cells", 0);
    fdtw_prop_u32(w, "timebase-frequency", 10000000);
    for (uint32_t i = 0; i < 2; i++) {
        fdtw_begin_node(w, i ? "cpu@1" : "cpu@0");
        fdtw_prop_str(w, "device_type", "cpu");
        fdtw_prop_u32(w, "reg", i);
        fdtw_prop_str(w, "riscv,isa", "rv64imafdch");
        fdtw_prop_str(w, "status", i ? "disabled" : "okay");
        fdtw_prop_str(w, "compatible", "riscv");
        fdtw_begin_node(w, "interrupt-controller");
        fdtw_prop_u32(w, "#interrupt-cells", 1);
        fdtw_prop(w, "interrupt-controller", NULL, 0);
        fdtw_prop_str(w, "compatible", "riscv,cpu-intc");
        fdtw_prop_u32(w, i ? "linux,phandle" : "phandle", 1 + i);
        fdtw_end_node(w);
        fdtw_end_node(w);
    }
    fdtw_end_node(w);

    fdtw_begin_node(w, "memory@80000000");
    fdtw_prop_str(w, "device_type", "memory");
    fdtw_prop_cells(w, "reg", mem_reg, 8);
    fdtw_end_node(w);

    fdtw_begin_node(w, "soc");
    fdtw_prop_u32(w, "#address-cells", 1);
    fdtw_prop_u32(w, "#size-cells", 1);
    fdtw_prop_str(w, "compatible", "simple-bus");
    fdtw_prop(w, "ranges", NULL, 0);
    fdtw_begin_node(w, "serial@10000000");
    fdtw_prop_str(w, "compatible", "ns16550a");
    fdtw_prop_cells(w, "reg", serial0_reg, 2);
    fdtw_prop_u32(w, "phandle", 3);
    fdtw_prop_str(w, "status", "ok");
    fdtw_end_node(w);
    fdtw_begin_node(w, "serial@10001000");
    fdtw_prop(w, "compatible", uart2_compat, sizeof(uart2_compat));
    fdtw_prop_cells(w, "reg", serial1_reg, 2);
    fdtw_prop_str(w, "status", "disabled");
    fdtw_end_node(w);
    fdtw_begin_node(w, "bus@20000000");
    fdtw_prop_u32(w, "#address-cells", 2);
    fdtw_begin_node(w, "dev@3,0");
    fdtw_prop_cells(w, "reg", dev_reg, 6); /* 2 address cells, default 1 size cell */
    fdtw_end_node(w);
    fdtw_end_node(w);
    fdtw_begin_node(w, "badreg@0");
    fdtw_prop(w, "reg", bad_reg, sizeof(bad_reg));
    fdtw_prop(w, "status", "okay", 4); /* not NUL-terminated */
    fdtw_end_node(w);
    fdtw_end_node(w);

    fdtw_begin_node(w, "sizeless");
    fdtw_prop_u32(w, "#address-cells", 1);
    fdtw_prop_u32(w, "#size-cells", 0);
    fdtw_begin_node(w, "item@5");
    fdtw_prop_cells(w, "reg", item_reg, 2);
    fdtw_end_node(w);
    fdtw_end_node(w);

    fdtw_begin_node(w, "addrless");
    fdtw_prop_u32(w, "#address-cells", 0);
    fdtw_begin_node(w, "z");
    fdtw_prop_u32(w, "reg", 0x10);
    fdtw_end_node(w);
    fdtw_end_node(w);

    fdtw_begin_node(w, "cellless");
    fdtw_prop_u32(w, "#address-cells", 0);
    fdtw_prop_u32(w, "#size-cells", 0);
    fdtw_begin_node(w, "q");
    fdtw_prop(w, "reg", NULL, 0);
    fdtw_end_node(w);
    fdtw_end_node(w);

    fdtw_begin_node(w, "wide");
    fdtw_prop_u32(w, "#address-cells", 3);
    fdtw_prop(w, "#size-cells", "\0\0\0\1\0", 5);
    fdtw_begin_node(w, "c");
    fdtw_prop_cells(w, "reg", big_reg, 4);
    fdtw_end_node(w);
    fdtw_end_node(w);

    fdtw_begin_node(w, "empty");
    fdtw_end_node(w);
    fdtw_end_node(w);
}

static int make_sample(uint8_t *buf, size_t cap)
{
    struct fdt_writer w;

    fdtw_init(&w, buf, cap);
    build_sample(&w);
    return fdtw_finish(&w);
}

static uint8_t sample_buf[SAMPLE_CAP];
static int sample_len;

/* Built once in main(); tests only read it. */
static int setup_sample(void)
{
    const char *out = getenv("FDT_SAMPLE_OUT");

    sample_len = make_sample(sample_buf, sizeof(sample_buf));
    if (sample_len <= 0)
        return -1;
    if (out) {
        FILE *fp = fopen(out, "wb");

        if (!fp || fwrite(sample_buf, 1, (size_t)sample_len, fp) != (size_t)sample_len)
            return -1;
        fclose(fp);
    }
    return 0;
}

static void open_sample(struct fdt *f)
{
    assert_int_equal(fdt_open(f, sample_buf, (size_t)sample_len), 0);
}

static int path(const struct fdt *f, const char *p)
{
    int n = fdt_find_path(f, p);

    assert_true(n >= 0);
    return n;
}

/* ---- the raw assembler, for trees the writer would refuse ----------------------- */

struct raw {
    uint8_t st[16384];
    size_t sl;
    uint8_t str[1024];
    size_t strl;
};

static void raw_tok(struct raw *r, uint32_t v)
{
    assert_true(r->sl + 4 <= sizeof(r->st));
    put_be32(r->st + r->sl, v);
    r->sl += 4;
}

static void raw_bytes(struct raw *r, const void *p, size_t n, bool pad)
{
    assert_true(r->sl + n + 3 <= sizeof(r->st));
    memcpy(r->st + r->sl, p, n);
    r->sl += n;
    while (pad && (r->sl & 3))
        r->st[r->sl++] = 0;
}

static void raw_begin(struct raw *r, const char *name)
{
    raw_tok(r, FDT_BEGIN_NODE);
    raw_bytes(r, name, strlen(name) + 1, true);
}

static uint32_t raw_str(struct raw *r, const char *s, size_t n)
{
    uint32_t off = (uint32_t)r->strl;

    assert_true(r->strl + n <= sizeof(r->str));
    memcpy(r->str + r->strl, s, n);
    r->strl += n;
    return off;
}

static void raw_prop(struct raw *r, uint32_t nameoff, uint32_t len, const void *val, size_t n)
{
    raw_tok(r, FDT_PROP);
    raw_tok(r, len);
    raw_tok(r, nameoff);
    raw_bytes(r, val, n, true);
}

/* Header, empty reservation map, struct block, strings block; exact-size heap copy. */
static uint8_t *raw_blob(const struct raw *r, size_t *len)
{
    size_t total = 40 + 16 + r->sl + r->strl;
    uint8_t *b = calloc(1, total);

    assert_non_null(b);
    put_be32(b + 0, FDT_MAGIC);
    put_be32(b + 4, (uint32_t)total);
    put_be32(b + 8, 56);
    put_be32(b + 12, (uint32_t)(56 + r->sl));
    put_be32(b + 16, 40);
    put_be32(b + 20, 17);
    put_be32(b + 24, 16);
    put_be32(b + 32, (uint32_t)r->strl);
    put_be32(b + 36, (uint32_t)r->sl);
    memcpy(b + 56, r->st, r->sl);
    memcpy(b + 56 + r->sl, r->str, r->strl);
    *len = total;
    return b;
}

/* A view of a blob whose header we built ourselves, skipping fdt_check(): this is
 * how the accessors' own checks are exercised on malformed trees. */
static void lax_view(struct fdt *f, const uint8_t *b)
{
    f->blob = b;
    f->size = fdt_be32(b + 4);
    f->struct_off = fdt_be32(b + 8);
    f->strings_off = fdt_be32(b + 12);
    f->rsvmap_off = fdt_be32(b + 16);
    f->strings_size = fdt_be32(b + 32);
    f->struct_size = fdt_be32(b + 36);
}

/* ---- exercising every API on whatever a blob holds ------------------------------ */

static const char *const probe_props[] = {
    "compatible",  "reg",           "status", "phandle", "#address-cells",
    "#size-cells", "linux,phandle", "name",   "",        "device_type",
};
static const char *const probe_paths[] = {
    "/",           "/chosen",
    "/cpus/cpu@0", "/cpus/cpu",
    "/soc/serial", "/soc/serial@10000000",
    "//soc//",     "/a/b/c/d/e",
    "/memory",     "/cpus/cpu@1/interrupt-controller",
};

static void exercise_props(const struct fdt *f, int node)
{
    int p, steps = 0;

    for (p = fdt_first_prop(f, node); p >= 0; p = fdt_next_prop(f, p)) {
        const char *name, *e;
        const void *val, *v2;
        int len, len2, c, i;

        assert_true(++steps <= walk_limit(f));
        assert_int_equal(fdt_prop_at(f, p, &name, &val, &len), 0);
        assert_non_null(name);
        assert_in_struct(f, val, len);
        /* Same walk from the node's start: the name must be found at or before p. */
        v2 = fdt_prop(f, node, name, &len2);
        assert_non_null(v2);
        assert_in_struct(f, v2, len2);
        c = fdt_stringlist_count(val, len);
        if (c < 0) {
            assert_int_equal(c, ERR_INVAL);
            c = 0;
        }
        for (i = 0; i < c; i++) {
            e = fdt_stringlist_get(val, len, i);
            assert_non_null(e);
            assert_true(fdt_stringlist_contains(val, len, e));
        }
        assert_null(fdt_stringlist_get(val, len, c ? c : len + 1));
    }
    assert_err(p);
}

/* Every node- and property-level call on one offset, which may be anything. */
static void exercise_offset(const struct fdt *f, int n)
{
    const char *s;
    const void *v;
    uint32_t u32;
    uint64_t u64, a, sz;
    int d = 0, len, r, i;
    size_t k;

    s = fdt_node_name(f, n);
    if (s)
        assert_true((const uint8_t *)s >= f->blob + f->struct_off);
    assert_node_or_err(f, fdt_next_node(f, n, &d));
    assert_true(d <= 1);
    assert_node_or_err(f, fdt_next_node(f, n, NULL));
    assert_node_or_err(f, fdt_first_child(f, n));
    assert_node_or_err(f, fdt_next_sibling(f, n));
    assert_node_or_err(f, fdt_parent(f, n));
    assert_node_or_err(f, fdt_find_compatible(f, n, "ns16550a"));
    r = fdt_first_prop(f, n);
    if (r < 0)
        assert_err(r);
    else
        exercise_props(f, n);
    r = fdt_next_prop(f, n);
    if (r < 0)
        assert_err(r);
    r = fdt_prop_at(f, n, &s, &v, &len);
    if (r == 0)
        assert_in_struct(f, v, len);
    else
        assert_err(r);
    for (k = 0; k < sizeof(probe_props) / sizeof(probe_props[0]); k++) {
        v = fdt_prop(f, n, probe_props[k], &len);
        if (v)
            assert_in_struct(f, v, len);
        else
            assert_err(len);
        (void)fdt_prop_u32(f, n, probe_props[k], &u32);
        (void)fdt_prop_u64(f, n, probe_props[k], &u64);
        s = fdt_prop_str(f, n, probe_props[k]);
        if (s) {
            v = fdt_prop(f, n, probe_props[k], &len);
            assert_non_null(memchr(s, 0, (size_t)len));
        }
    }
    (void)fdt_node_is_compatible(f, n, "ns16550a");
    (void)fdt_node_is_okay(f, n);
    r = fdt_address_cells(f, n);
    assert_true(r <= FDT_MAX_CELLS);
    r = fdt_size_cells(f, n);
    assert_true(r <= FDT_MAX_CELLS);
    for (i = 0; i <= walk_limit(f); i++) {
        r = fdt_reg(f, n, i, &a, &sz);
        if (r < 0)
            break;
    }
    assert_err(r);
}

/* Walk everything reachable. `valid` means fdt_open() accepted the blob, so the
 * walks must also be mutually consistent. Returns the node count. */
static int exercise(const struct fdt *f, bool valid)
{
    int n, d = 0, count = 0, count2 = 0, r, i;
    uint64_t a, s;
    size_t k;

    n = fdt_root(f);
    if (valid)
        assert_int_equal(n, 0);
    while (n >= 0) {
        assert_true(++count <= walk_limit(f));
        assert_node_or_err(f, n);
        exercise_offset(f, n);
        if (valid) {
            int c = fdt_first_child(f, n), p = fdt_parent(f, n);

            assert_true(d >= 0 && d < FDT_MAX_DEPTH);
            if (c >= 0)
                assert_int_equal(fdt_parent(f, c), n);
            if (n == 0) {
                assert_int_equal(p, ERR_NOENT);
            } else {
                r = fdt_next_sibling(f, n);
                assert_true(p >= 0);
                if (r >= 0)
                    assert_int_equal(fdt_parent(f, r), p);
                else
                    assert_int_equal(r, ERR_NOENT);
            }
        }
        n = fdt_next_node(f, n, &d);
    }
    assert_err(n);
    if (valid)
        assert_int_equal(n, ERR_NOENT);

    for (n = fdt_root(f); n >= 0; n = fdt_next_node(f, n, NULL))
        assert_true(++count2 <= walk_limit(f));
    if (valid)
        assert_int_equal(count, count2);

    for (k = 0; k < sizeof(probe_paths) / sizeof(probe_paths[0]); k++)
        assert_node_or_err(f, fdt_find_path(f, probe_paths[k]));
    i = 0;
    for (n = fdt_find_compatible(f, -1, "ns16550a"); n >= 0;
         n = fdt_find_compatible(f, n, "ns16550a")) {
        assert_true(++i <= walk_limit(f));
        assert_true(fdt_node_is_compatible(f, n, "ns16550a"));
    }
    assert_err(n);
    for (i = 1; i < 6; i++)
        assert_node_or_err(f, fdt_node_by_phandle(f, (uint32_t)i));
    for (i = 0; i <= (int)(f->size / 16); i++) {
        r = fdt_rsv_entry(f, i, &a, &s);
        if (r < 0)
            break;
    }
    assert_err(r);
    if (valid) {
        assert_int_equal(r, ERR_NOENT);
        assert_int_equal(fdt_check(f), 0);
    } else {
        r = fdt_check(f);
        assert_true(r <= 0);
    }
    return count;
}

/* ---- round trips through the writer -------------------------------------------- */

static void test_be_loads_unaligned(void **state)
{
    uint8_t b[16] = {0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11};

    (void)state;
    assert_int_equal(fdt_be32(b + 1), 0x12345678u);
    assert_int_equal(fdt_be32(b + 3), 0x56789abcu);
    assert_true(fdt_be64(b + 1) == 0x123456789abcdef0ull);
    assert_true(fdt_be64(b + 2) == 0x3456789abcdef011ull);
}

static void test_header_roundtrip(void **state)
{
    struct fdt f;
    const uint8_t *b = sample_buf;

    (void)state;
    open_sample(&f);
    assert_int_equal(fdt_be32(b), FDT_MAGIC);
    assert_int_equal(fdt_header_totalsize(b), (uint32_t)sample_len);
    assert_int_equal(f.size, (uint32_t)sample_len);
    assert_int_equal(fdt_be32(b + 20), 17);
    assert_int_equal(fdt_be32(b + 24), 16);
    assert_int_equal(fdt_boot_cpuid(&f), 1);
    assert_int_equal(f.rsvmap_off, 40);
    assert_int_equal(f.struct_off, 40 + 3 * 16);
    assert_int_equal(f.strings_off, f.struct_off + f.struct_size);
    assert_int_equal(f.strings_off + f.strings_size, f.size);
    assert_int_equal(fdt_check(&f), 0);
    assert_int_equal(fdt_root(&f), 0);
    assert_string_equal(fdt_node_name(&f, 0), "");
    assert_string_equal(err_str(ERR_NOENT), "not found");
    assert_string_equal(err_str(0), "success");
    assert_string_equal(err_str(-100), "unknown error");
    assert_string_equal(err_str(1), "unknown error");
    /* Every code has a name of its own. */
    for (int e = ERR_FIRST; e < 0; e++) {
        assert_string_not_equal(err_str(e), "unknown error");
        for (int e2 = e + 1; e2 < 0; e2++)
            assert_string_not_equal(err_str(e), err_str(e2));
    }
    assert_string_equal(err_str(ERR_FIRST - 1), "unknown error");
}

static void test_navigation(void **state)
{
    static const struct {
        const char *name;
        int depth;
    } order[] = {
        {"", 0},
        {"chosen", 1},
        {"cpus", 1},
        {"cpu@0", 2},
        {"interrupt-controller", 3},
        {"cpu@1", 2},
        {"interrupt-controller", 3},
        {"memory@80000000", 1},
        {"soc", 1},
        {"serial@10000000", 2},
        {"serial@10001000", 2},
        {"bus@20000000", 2},
        {"dev@3,0", 3},
        {"badreg@0", 2},
        {"sizeless", 1},
        {"item@5", 2},
        {"addrless", 1},
        {"z", 2},
        {"cellless", 1},
        {"q", 2},
        {"wide", 1},
        {"c", 2},
        {"empty", 1},
    };
    struct fdt f;
    int n, d = 0, i = 0, cpus, cpu0, cpu1, soc, ser;

    (void)state;
    open_sample(&f);
    for (n = fdt_root(&f); n >= 0; n = fdt_next_node(&f, n, &d), i++) {
        assert_true(i < (int)(sizeof(order) / sizeof(order[0])));
        assert_string_equal(fdt_node_name(&f, n), order[i].name);
        assert_int_equal(d, order[i].depth);
    }
    assert_int_equal(n, ERR_NOENT);
    assert_int_equal(i, (int)(sizeof(order) / sizeof(order[0])));

    cpus = path(&f, "/cpus");
    cpu0 = fdt_first_child(&f, cpus);
    assert_string_equal(fdt_node_name(&f, cpu0), "cpu@0");
    cpu1 = fdt_next_sibling(&f, cpu0);
    assert_string_equal(fdt_node_name(&f, cpu1), "cpu@1");
    assert_int_equal(fdt_next_sibling(&f, cpu1), ERR_NOENT);
    assert_int_equal(fdt_parent(&f, cpu1), cpus);
    assert_int_equal(fdt_parent(&f, cpus), 0);
    assert_int_equal(fdt_parent(&f, 0), ERR_NOENT);
    assert_int_equal(fdt_next_sibling(&f, 0), ERR_NOENT);
    assert_int_equal(fdt_first_child(&f, path(&f, "/empty")), ERR_NOENT);
    assert_int_equal(fdt_next_sibling(&f, path(&f, "/empty")), ERR_NOENT);
    assert_int_equal(fdt_first_child(&f, path(&f, "/chosen")), ERR_NOENT);
    assert_int_equal(fdt_next_sibling(&f, path(&f, "/chosen")), cpus);
    /* Siblings skip whole subtrees. */
    soc = path(&f, "/soc");
    assert_int_equal(fdt_next_sibling(&f, cpus), path(&f, "/memory@80000000"));
    assert_int_equal(fdt_next_sibling(&f, soc), path(&f, "/sizeless"));
    ser = fdt_first_child(&f, soc);
    assert_int_equal(fdt_parent(&f, ser), soc);
    assert_int_equal(fdt_parent(&f, path(&f, "/soc/bus@20000000/dev@3,0")),
                     path(&f, "/soc/bus@20000000"));

    /* Subtree walk idiom: stop once depth drops to 0. */
    d = 0;
    i = 0;
    for (n = fdt_next_node(&f, cpus, &d); n >= 0 && d > 0; n = fdt_next_node(&f, n, &d))
        i++;
    assert_int_equal(i, 4);
    assert_int_equal(n, path(&f, "/memory"));
    assert_int_equal(d, 0);

    /* Offsets that are not nodes. */
    assert_null(fdt_node_name(&f, 2));
    assert_null(fdt_node_name(&f, -4));
    assert_null(fdt_node_name(&f, (int)f.struct_size));
    assert_int_equal(fdt_first_child(&f, 3), ERR_OFFSET);
    assert_int_equal(fdt_parent(&f, fdt_first_prop(&f, 0)), ERR_OFFSET);
    assert_int_equal(fdt_next_node(&f, 0x7ffffffc, NULL), ERR_OFFSET);
    d = FDT_MAX_DEPTH - 1;
    assert_int_equal(fdt_next_node(&f, 0, &d), ERR_DEPTH);
    d = 0x7fffffff;
    assert_int_equal(fdt_next_node(&f, 0, &d), ERR_DEPTH);
    /* Leaving two levels from the most negative depth would overflow an int. */
    d = -0x7fffffff - 1;
    assert_int_equal(fdt_next_node(&f, path(&f, "/cpus/cpu@1/interrupt-controller"), &d),
                     ERR_INVAL);
    assert_int_equal(d, -0x7fffffff - 1);
}

static void test_paths(void **state)
{
    struct fdt f;
    int ser0, ser1;

    (void)state;
    open_sample(&f);
    assert_int_equal(fdt_find_path(&f, "/"), 0);
    assert_int_equal(fdt_find_path(&f, "//"), 0);
    ser0 = path(&f, "/soc/serial@10000000");
    ser1 = path(&f, "/soc/serial@10001000");
    assert_true(ser0 != ser1);
    assert_int_equal(path(&f, "/soc/serial"), ser0); /* first match without unit */
    assert_int_equal(path(&f, "//soc///serial@10001000//"), ser1);
    assert_string_equal(fdt_node_name(&f, path(&f, "/memory")), "memory@80000000");
    assert_string_equal(fdt_node_name(&f, path(&f, "/cpus/cpu")), "cpu@0");
    assert_string_equal(fdt_node_name(&f, path(&f, "/cpus/cpu@1/interrupt-controller")),
                        "interrupt-controller");
    assert_string_equal(fdt_node_name(&f, path(&f, "/soc/bus/dev")), "dev@3,0");
    assert_string_equal(fdt_node_name(&f, path(&f, "/chosen")), "chosen");
    assert_int_equal(fdt_find_path(&f, "/soc/serial@1"), ERR_NOENT);
    assert_int_equal(fdt_find_path(&f, "/soc/serial@"), ERR_NOENT);
    assert_int_equal(fdt_find_path(&f, "/soc/seria"), ERR_NOENT);
    assert_int_equal(fdt_find_path(&f, "/soc/serial@100000000"), ERR_NOENT);
    assert_int_equal(fdt_find_path(&f, "/nope"), ERR_NOENT);
    assert_int_equal(fdt_find_path(&f, "/chosen/x"), ERR_NOENT);
    assert_int_equal(fdt_find_path(&f, "/empty/x/y"), ERR_NOENT);
    assert_int_equal(fdt_find_path(&f, "soc"), ERR_INVAL);
    assert_int_equal(fdt_find_path(&f, ""), ERR_INVAL);
    assert_int_equal(fdt_find_path(&f, NULL), ERR_INVAL);
}

static void test_props(void **state)
{
    static const char *const root_props[] = {"#address-cells", "#size-cells", "compatible", "model",
                                             "vireo,u64"};
    struct fdt f;
    const char *name;
    const void *v;
    uint32_t u32;
    uint64_t u64;
    int len, p, i = 0, intc, root = 0;

    (void)state;
    open_sample(&f);
    for (p = fdt_first_prop(&f, root); p >= 0; p = fdt_next_prop(&f, p), i++) {
        assert_int_equal(fdt_prop_at(&f, p, &name, NULL, &len), 0);
        assert_string_equal(name, root_props[i]);
    }
    assert_int_equal(p, ERR_NOENT);
    assert_int_equal(i, 5);
    assert_int_equal(fdt_first_prop(&f, path(&f, "/empty")), ERR_NOENT);
    assert_int_equal(fdt_next_prop(&f, 0), ERR_OFFSET);
    assert_int_equal(fdt_prop_at(&f, 0, NULL, NULL, NULL), ERR_OFFSET);
    assert_int_equal(fdt_prop_at(&f, -8, NULL, NULL, NULL), ERR_OFFSET);
    assert_int_equal(fdt_first_prop(&f, 1), ERR_OFFSET);

    v = fdt_prop(&f, root, "model", &len);
    assert_non_null(v);
    assert_int_equal(len, 11);
    assert_string_equal(fdt_prop_str(&f, root, "model"), "Vireo test");
    assert_null(fdt_prop(&f, root, "nope", &len));
    assert_int_equal(len, ERR_NOENT);
    assert_null(fdt_prop(&f, root, "nope", NULL));
    assert_null(fdt_prop(&f, 5, "model", &len));
    assert_int_equal(len, ERR_OFFSET);
    assert_null(fdt_prop(&f, root, NULL, &len));
    assert_int_equal(len, ERR_INVAL);

    /* Exact sizes: a u32 is 4 bytes; a u64 is 4 or 8. */
    assert_true(fdt_prop_u32(&f, root, "#address-cells", &u32));
    assert_int_equal(u32, 2);
    assert_false(fdt_prop_u32(&f, root, "vireo,u64", &u32));
    assert_false(fdt_prop_u32(&f, root, "model", &u32));
    assert_false(fdt_prop_u32(&f, root, "nope", &u32));
    assert_true(fdt_prop_u64(&f, root, "vireo,u64", &u64));
    assert_true(u64 == 0x123456789abcdef0ull);
    assert_true(fdt_prop_u64(&f, root, "#size-cells", &u64));
    assert_true(u64 == 2);
    assert_false(fdt_prop_u64(&f, root, "model", &u64));
    assert_true(fdt_prop_u32(&f, path(&f, "/cpus"), "timebase-frequency", NULL));

    /* Empty property: present, zero length, non-NULL. */
    intc = path(&f, "/cpus/cpu@0/interrupt-controller");
    v = fdt_prop(&f, intc, "interrupt-controller", &len);
    assert_non_null(v);
    assert_int_equal(len, 0);
    assert_null(fdt_prop_str(&f, intc, "interrupt-controller"));
    /* A string without its NUL is no string. */
    assert_null(fdt_prop_str(&f, path(&f, "/soc/badreg@0"), "status"));
    assert_string_equal(fdt_prop_str(&f, path(&f, "/cpus/cpu@0"), "riscv,isa"), "rv64imafdch");

    /* Property names are shared in the strings block. */
    assert_int_equal(fdt_prop_at(&f, fdt_first_prop(&f, path(&f, "/cpus")), &name, &v, &len), 0);
    assert_string_equal(name, "#address-cells");
    assert_ptr_equal(name, (const char *)f.blob + f.strings_off +
                               fdt_be32(f.blob + f.struct_off + fdt_first_prop(&f, 0) + 8));
}

static void test_stringlists(void **state)
{
    static const char list[] = "a\0bc\0\0def"; /* "a", "bc", "", "def" + final NUL */
    int n = (int)sizeof(list);

    (void)state;
    assert_int_equal(fdt_stringlist_count(list, n), 4);
    assert_string_equal(fdt_stringlist_get(list, n, 0), "a");
    assert_string_equal(fdt_stringlist_get(list, n, 1), "bc");
    assert_string_equal(fdt_stringlist_get(list, n, 2), "");
    assert_string_equal(fdt_stringlist_get(list, n, 3), "def");
    assert_null(fdt_stringlist_get(list, n, 4));
    assert_null(fdt_stringlist_get(list, n, -1));
    assert_true(fdt_stringlist_contains(list, n, "bc"));
    assert_true(fdt_stringlist_contains(list, n, "def"));
    assert_true(fdt_stringlist_contains(list, n, ""));
    assert_false(fdt_stringlist_contains(list, n, "b"));
    assert_false(fdt_stringlist_contains(list, n, "de"));
    assert_false(fdt_stringlist_contains(list, n, NULL));
    /* Unterminated last entry: malformed, but earlier entries are still usable. */
    assert_int_equal(fdt_stringlist_count(list, n - 1), ERR_INVAL);
    assert_null(fdt_stringlist_get(list, n - 1, 3));
    assert_string_equal(fdt_stringlist_get(list, n - 1, 1), "bc");
    assert_false(fdt_stringlist_contains(list, n - 1, "def"));
    assert_false(fdt_stringlist_contains(list, n - 2, "de"));
    assert_int_equal(fdt_stringlist_count(list, 0), 0);
    assert_int_equal(fdt_stringlist_count(list, -1), ERR_INVAL);
    assert_int_equal(fdt_stringlist_count(NULL, 0), 0);
    assert_int_equal(fdt_stringlist_count(NULL, 3), ERR_INVAL);
    assert_null(fdt_stringlist_get(NULL, 3, 0));
    assert_null(fdt_stringlist_get(list, -5, 0));
    assert_false(fdt_stringlist_contains(list, -5, "a"));
    assert_false(fdt_stringlist_contains(NULL, 5, "a"));
}

static void test_reg_and_cells(void **state)
{
    struct fdt f;
    uint64_t a, s;
    int n;

    (void)state;
    open_sample(&f);
    assert_int_equal(fdt_address_cells(&f, 0), 2);
    assert_int_equal(fdt_size_cells(&f, 0), 2);
    assert_int_equal(fdt_address_cells(&f, path(&f, "/chosen")), 2); /* defaults */
    assert_int_equal(fdt_size_cells(&f, path(&f, "/chosen")), 1);
    assert_int_equal(fdt_address_cells(&f, path(&f, "/cpus")), 1);
    assert_int_equal(fdt_size_cells(&f, path(&f, "/cpus")), 0);
    assert_int_equal(fdt_address_cells(&f, path(&f, "/wide")), ERR_INVAL);
    assert_int_equal(fdt_size_cells(&f, path(&f, "/wide")), ERR_INVAL);
    assert_int_equal(fdt_address_cells(&f, 3), ERR_OFFSET);

    /* 2 + 2 cells, two entries. */
    n = path(&f, "/memory");
    assert_int_equal(fdt_reg(&f, n, 0, &a, &s), 0);
    assert_true(a == 0x80000000ull && s == 0x40000000ull);
    assert_int_equal(fdt_reg(&f, n, 1, &a, &s), 0);
    assert_true(a == 0x100000000ull && s == 0x10000000ull);
    assert_int_equal(fdt_reg(&f, n, 2, &a, &s), ERR_NOENT);
    assert_int_equal(fdt_reg(&f, n, -1, &a, &s), ERR_INVAL);
    assert_int_equal(fdt_reg(&f, n, 1, NULL, NULL), 0);

    /* 1 + 0 cells. */
    n = path(&f, "/cpus/cpu@1");
    assert_int_equal(fdt_reg(&f, n, 0, &a, &s), 0);
    assert_true(a == 1 && s == 0);
    assert_int_equal(fdt_reg(&f, n, 1, &a, &s), ERR_NOENT);
    n = path(&f, "/sizeless/item@5");
    assert_int_equal(fdt_reg(&f, n, 1, &a, &s), 0);
    assert_true(a == 6 && s == 0);

    /* 1 + 1 cells. */
    n = path(&f, "/soc/serial@10001000");
    assert_int_equal(fdt_reg(&f, n, 0, &a, &s), 0);
    assert_true(a == 0x10001000 && s == 0x100);

    /* 2 + default 1 cells. */
    n = path(&f, "/soc/bus/dev@3,0");
    assert_int_equal(fdt_reg(&f, n, 0, &a, &s), 0);
    assert_true(a == 0x300000000ull && s == 0x1000);
    assert_int_equal(fdt_reg(&f, n, 1, &a, &s), 0);
    assert_true(a == 0x400000008ull && s == 0x2000);
    assert_int_equal(fdt_reg(&f, n, 2, &a, &s), ERR_NOENT);

    /* 0 + default 1 cells. */
    n = path(&f, "/addrless/z");
    assert_int_equal(fdt_reg(&f, n, 0, &a, &s), 0);
    assert_true(a == 0 && s == 0x10);

    /* Malformed: no cells at all, too many cells, partial entries. */
    assert_int_equal(fdt_reg(&f, path(&f, "/cellless/q"), 0, &a, &s), ERR_INVAL);
    assert_int_equal(fdt_reg(&f, path(&f, "/wide/c"), 0, &a, &s), ERR_INVAL);
    assert_int_equal(fdt_reg(&f, path(&f, "/soc/badreg@0"), 0, &a, &s), ERR_INVAL);

    /* No reg, root, not a node. */
    assert_int_equal(fdt_reg(&f, path(&f, "/chosen"), 0, &a, &s), ERR_NOENT);
    assert_int_equal(fdt_reg(&f, 0, 0, &a, &s), ERR_NOENT);
    assert_int_equal(fdt_reg(&f, 1, 0, &a, &s), ERR_OFFSET);
}

static void test_phandles(void **state)
{
    struct fdt f;

    (void)state;
    open_sample(&f);
    assert_int_equal(fdt_node_by_phandle(&f, 1), path(&f, "/cpus/cpu@0/interrupt-controller"));
    assert_int_equal(fdt_node_by_phandle(&f, 2), path(&f, "/cpus/cpu@1/interrupt-controller"));
    assert_int_equal(fdt_node_by_phandle(&f, 3), path(&f, "/soc/serial@10000000"));
    assert_int_equal(fdt_node_by_phandle(&f, 4), ERR_NOENT);
    assert_int_equal(fdt_node_by_phandle(&f, 0), ERR_INVAL);
    assert_int_equal(fdt_node_by_phandle(&f, 0xffffffffu), ERR_INVAL);
}

static void test_compatible_and_status(void **state)
{
    struct fdt f;
    int n;

    (void)state;
    open_sample(&f);
    /* The root itself is a candidate from -1. */
    assert_int_equal(fdt_find_compatible(&f, -1, "vireo,base"), 0);
    assert_int_equal(fdt_find_compatible(&f, 0, "vireo,base"), ERR_NOENT);
    n = fdt_find_compatible(&f, -1, "ns16550a");
    assert_int_equal(n, path(&f, "/soc/serial@10000000"));
    n = fdt_find_compatible(&f, n, "ns16550a");
    assert_int_equal(n, path(&f, "/soc/serial@10001000"));
    assert_int_equal(fdt_find_compatible(&f, n, "ns16550a"), ERR_NOENT);
    assert_int_equal(fdt_find_compatible(&f, -1, "ns1655"), ERR_NOENT);
    assert_int_equal(fdt_find_compatible(&f, -1, "riscv,cpu-intc"),
                     path(&f, "/cpus/cpu@0/interrupt-controller"));
    assert_int_equal(fdt_find_compatible(&f, -2, "riscv"), ERR_OFFSET);
    assert_int_equal(fdt_find_compatible(&f, -1, NULL), ERR_INVAL);
    assert_true(fdt_node_is_compatible(&f, n, "vendor,uart"));
    assert_false(fdt_node_is_compatible(&f, n, "vendor"));
    assert_false(fdt_node_is_compatible(&f, path(&f, "/chosen"), "chosen"));

    assert_true(fdt_node_is_okay(&f, path(&f, "/cpus/cpu@0")));          /* "okay" */
    assert_false(fdt_node_is_okay(&f, path(&f, "/cpus/cpu@1")));         /* "disabled" */
    assert_true(fdt_node_is_okay(&f, path(&f, "/soc/serial@10000000"))); /* "ok" */
    assert_true(fdt_node_is_okay(&f, path(&f, "/memory")));              /* absent */
    assert_false(fdt_node_is_okay(&f, path(&f, "/soc/badreg@0")));       /* unterminated */
    assert_false(fdt_node_is_okay(&f, 2));
}

static void test_rsvmap(void **state)
{
    struct fdt f;
    uint64_t a, s;
    uint8_t *b;
    int len;

    (void)state;
    open_sample(&f);
    assert_int_equal(fdt_rsv_entry(&f, 0, &a, &s), 0);
    assert_true(a == 0x80000000ull && s == 0x200000);
    assert_int_equal(fdt_rsv_entry(&f, 1, &a, &s), 0);
    assert_true(a == 0x90000000ull && s == 0x1000);
    assert_int_equal(fdt_rsv_entry(&f, 2, &a, &s), ERR_NOENT);
    assert_int_equal(fdt_rsv_entry(&f, 3, &a, &s), ERR_NOENT);
    assert_int_equal(fdt_rsv_entry(&f, -1, &a, &s), ERR_INVAL);
    assert_int_equal(fdt_rsv_entry(&f, 1, NULL, NULL), 0);

    /* A map without terminator that runs into the end of the blob. */
    len = sample_len;
    b = dup_exact(sample_buf, (size_t)len);
    put_be32(b + 16, f.strings_off); /* strings are not all zero */
    assert_int_equal(fdt_open(&f, b, (size_t)len), ERR_TRUNCATED);
    lax_view(&f, b);
    assert_int_equal(fdt_rsv_entry(&f, 0, &a, &s), 0);
    assert_int_equal(fdt_rsv_entry(&f, 1000, &a, &s), ERR_TRUNCATED);
    assert_int_equal(fdt_check(&f), ERR_TRUNCATED);
    put_be32(b + 16, (uint32_t)len - 8); /* room for less than one entry */
    assert_int_equal(fdt_open(&f, b, (size_t)len), ERR_TRUNCATED);
    lax_view(&f, b);
    assert_int_equal(fdt_rsv_entry(&f, 0, &a, &s), ERR_TRUNCATED);
    f.rsvmap_off = f.size + 16; /* a hand-filled view must not make us read past it */
    assert_int_equal(fdt_rsv_entry(&f, 0, &a, &s), ERR_TRUNCATED);
    assert_int_equal(fdt_check(&f), ERR_TRUNCATED);
    free(b);
}

static void test_exhaustive_offsets(void **state)
{
    struct fdt f;
    int off;

    (void)state;
    open_sample(&f);
    assert_int_equal(exercise(&f, true), 23);
    for (off = -9; off <= (int)f.struct_size + 9; off++)
        exercise_offset(&f, off);
    exercise_offset(&f, 0x7fffffff);
    exercise_offset(&f, -0x7fffffff - 1);
}

/* A zeroed view (what a failed fdt_open leaves) answers every call with an error. */
static void test_failed_open_view(void **state)
{
    struct fdt f;

    (void)state;
    assert_int_equal(fdt_open(&f, NULL, 100), ERR_INVAL);
    assert_int_equal(f.size, 0);
    assert_int_equal(fdt_open(NULL, sample_buf, (size_t)sample_len), ERR_INVAL);
    assert_int_equal(fdt_root(&f), ERR_OFFSET);
    assert_int_equal(fdt_find_path(&f, "/"), ERR_OFFSET);
    assert_int_equal(fdt_rsv_entry(&f, 0, NULL, NULL), ERR_TRUNCATED);
    assert_int_equal(fdt_boot_cpuid(&f), 0);
    assert_true(fdt_check(&f) < 0);
    assert_int_equal(exercise(&f, false), 0);
    exercise_offset(&f, 0);
}

static void test_version16(void **state)
{
    uint8_t *b = dup_exact(sample_buf, (size_t)sample_len);
    struct fdt f, g;

    (void)state;
    open_sample(&g);
    put_be32(b + 20, 16);
    put_be32(b + 36, 0xdeadbeef); /* not a v16 field: must be ignored */
    assert_int_equal(fdt_open(&f, b, (size_t)sample_len), 0);
    assert_int_equal(f.struct_size, g.struct_size);
    assert_int_equal(exercise(&f, true), 23);
    /* Future versions that stay compatible with 17 are fine too. */
    put_be32(b + 20, 20);
    put_be32(b + 36, g.struct_size);
    assert_int_equal(fdt_open(&f, b, (size_t)sample_len), 0);
    free(b);
}

/* ---- malformed headers ----------------------------------------------------------- */

/* fdt_open() on the sample with one or two header fields replaced (field2 = 0:
 * none). An accepted blob must also walk cleanly. */
static int open_patched2(size_t field, uint32_t v, size_t field2, uint32_t v2)
{
    uint8_t *b = dup_exact(sample_buf, (size_t)sample_len);
    struct fdt f;
    int r;

    put_be32(b + field, v);
    if (field2)
        put_be32(b + field2, v2);
    r = fdt_open(&f, b, (size_t)sample_len);
    if (r == 0)
        exercise(&f, true);
    free(b);
    return r;
}

static int open_patched(size_t field, uint32_t v)
{
    return open_patched2(field, v, 0, 0);
}

static void test_bad_headers(void **state)
{
    struct fdt f;
    uint32_t so, ss, sto, sts;

    (void)state;
    open_sample(&f);
    so = f.struct_off;
    ss = f.struct_size;
    sto = f.strings_off;
    sts = f.strings_size;

    assert_int_equal(open_patched(0, 0xedfe0dd0), ERR_BADMAGIC);
    assert_int_equal(open_patched(0, 0), ERR_BADMAGIC);
    assert_int_equal(open_patched(20, 15), ERR_VERSION);
    assert_int_equal(open_patched(20, 0), ERR_VERSION);
    assert_int_equal(open_patched(24, 18), ERR_VERSION);
    assert_int_equal(open_patched(24, 0xffffffff), ERR_VERSION);
    assert_int_equal(open_patched(24, 2), 0);

    /* totalsize: larger than the buffer, smaller than the header, absurd. */
    assert_int_equal(open_patched(4, (uint32_t)sample_len + 1), ERR_TRUNCATED);
    assert_int_equal(open_patched(4, 0xffffffff), ERR_TRUNCATED);
    assert_int_equal(open_patched(4, 39), ERR_STRUCTURE);
    assert_int_equal(open_patched(4, 0), ERR_STRUCTURE);
    assert_int_equal(open_patched(4, (uint32_t)sample_len - 1), ERR_TRUNCATED);

    /* Blocks outside the blob, wrapping, overlapping the header or each other. */
    assert_int_equal(open_patched(8, (uint32_t)sample_len + 4), ERR_TRUNCATED);
    assert_int_equal(open_patched(8, 0xfffffffc), ERR_TRUNCATED);
    assert_int_equal(open_patched(36, 0xfffffffc), ERR_TRUNCATED);
    assert_int_equal(open_patched(36, ss + sts + 4), ERR_TRUNCATED);
    assert_int_equal(open_patched(12, (uint32_t)sample_len + 1), ERR_TRUNCATED);
    assert_int_equal(open_patched(12, 0xffffffff), ERR_TRUNCATED);
    assert_int_equal(open_patched(32, 0xffffffff), ERR_TRUNCATED);
    assert_int_equal(open_patched(32, sts + 1), ERR_TRUNCATED);
    assert_int_equal(open_patched(16, (uint32_t)sample_len + 16), ERR_TRUNCATED);
    assert_int_equal(open_patched(8, 0), ERR_OFFSET);
    assert_int_equal(open_patched(8, 36), ERR_OFFSET);
    assert_int_equal(open_patched(12, 8), ERR_OFFSET);
    assert_int_equal(open_patched(16, 0), ERR_OFFSET);
    assert_int_equal(open_patched(8, so + 2), ERR_OFFSET); /* misaligned */
    assert_int_equal(open_patched(36, ss - 2), ERR_OFFSET);
    assert_int_equal(open_patched(12, sto - 8), ERR_OFFSET); /* overlaps struct */
    /* Struct block shifted so it no longer starts at the root's BEGIN_NODE. */
    assert_int_equal(open_patched(8, so - 16), ERR_STRUCTURE);
    assert_int_equal(open_patched2(8, so + 4, 36, ss - 4), ERR_STRUCTURE);
    assert_int_equal(open_patched(8, so + 4), ERR_OFFSET); /* now overlaps strings */
    /* Struct block cut short: no FDT_END. */
    assert_int_equal(open_patched(36, ss - 4), ERR_TRUNCATED);
    assert_int_equal(open_patched(36, 0), ERR_TRUNCATED);
    /* Strings block cut short: names fall outside it. */
    assert_int_equal(open_patched(32, 0), ERR_STRUCTURE);
    assert_int_equal(open_patched(32, sts - 1), ERR_STRUCTURE);

    /* Short buffers. */
    assert_int_equal(fdt_open(&f, sample_buf, 39), ERR_TRUNCATED);
    assert_int_equal(fdt_open(&f, sample_buf, 0), ERR_TRUNCATED);
    assert_int_equal(fdt_open(&f, sample_buf, (size_t)sample_len - 1), ERR_TRUNCATED);
    assert_int_equal(fdt_open(&f, sample_buf, (size_t)-1), 0); /* maxsize is only a bound */
}

/* Every prefix of the blob, in a buffer of exactly that size: fdt_open must refuse
 * both the honest header (totalsize too big for maxsize) and one whose totalsize
 * was cut down to match. */
static void check_truncations(const uint8_t *blob, size_t total)
{
    struct fdt f;
    size_t l;

    for (l = 0; l <= total; l++) {
        uint8_t *b = dup_exact(blob, l);
        int r = fdt_open(&f, b, l);

        if (l < total) {
            assert_err(r);
            if (l >= FDT_HEADER_SIZE) {
                assert_int_equal(fdt_header_totalsize(b), total);
                put_be32(b + 4, (uint32_t)l);
                r = fdt_open(&f, b, l);
                assert_err(r);
            }
        } else {
            assert_int_equal(r, 0);
        }
        free(b);
    }
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    check_truncations(sample_buf, (size_t)sample_len);
}

/* ---- malformed structure blocks ----------------------------------------------------- */

/* fdt_open() must refuse the raw tree with `want`; then the accessors, on a view
 * that skipped fdt_check(), must survive everything. Returns the blob for more
 * specific checks (caller frees). */
static uint8_t *check_malformed(const struct raw *r, int want, struct fdt *lax)
{
    size_t len;
    uint8_t *b = raw_blob(r, &len);
    struct fdt f;

    assert_int_equal(fdt_open(&f, b, len), want);
    lax_view(lax, b);
    assert_int_equal(fdt_check(lax), want);
    exercise(lax, false);
    for (int off = -4; off <= (int)lax->struct_size + 4; off++)
        exercise_offset(lax, off);
    return b;
}

static void test_bad_first_token(void **state)
{
    static const uint32_t firsts[] = {FDT_NOP, FDT_PROP, FDT_END_NODE, FDT_END, 0, 5, 0x01000000};
    struct fdt f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(firsts) / sizeof(firsts[0]); i++) {
        struct raw r = {.sl = 0};
        uint8_t *b;

        raw_tok(&r, firsts[i]);
        raw_begin(&r, "");
        raw_tok(&r, FDT_END_NODE);
        raw_tok(&r, FDT_END);
        b = check_malformed(&r, ERR_STRUCTURE, &f);
        assert_true(fdt_root(&f) < 0);
        assert_true(fdt_find_path(&f, "/") < 0);
        free(b);
    }
}

static void test_unterminated_node_name(void **state)
{
    struct raw r = {.sl = 0};
    struct fdt f;
    uint8_t *b;

    (void)state;
    raw_begin(&r, "");
    raw_tok(&r, FDT_BEGIN_NODE);
    raw_bytes(&r, "abcdefgh", 8, false); /* no NUL before the block ends */
    b = check_malformed(&r, ERR_TRUNCATED, &f);
    assert_int_equal(fdt_first_child(&f, 0), ERR_TRUNCATED);
    assert_int_equal(fdt_next_node(&f, 0, NULL), ERR_TRUNCATED);
    assert_null(fdt_node_name(&f, 8));
    assert_int_equal(fdt_first_prop(&f, 0), ERR_TRUNCATED);
    free(b);

    /* Root name unterminated. */
    memset(&r, 0, sizeof(r));
    raw_tok(&r, FDT_BEGIN_NODE);
    raw_bytes(&r, "root", 4, false);
    b = check_malformed(&r, ERR_TRUNCATED, &f);
    assert_null(fdt_node_name(&f, 0));
    assert_int_equal(fdt_root(&f), ERR_TRUNCATED);
    free(b);
}

static void test_prop_len_past_block(void **state)
{
    static const uint32_t lens[] = {5, 8, 1000, 0x7fffffff, 0xfffffff4, 0xffffffff};
    struct fdt f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        struct raw r = {.sl = 0};
        uint8_t *b;
        int len;

        raw_begin(&r, "");
        raw_prop(&r, raw_str(&r, "x", 2), lens[i], "abcd", 4);
        /* No END_NODE / END: the value claims everything after it. */
        b = check_malformed(&r, ERR_TRUNCATED, &f);
        assert_int_equal(fdt_first_prop(&f, 0), ERR_TRUNCATED);
        assert_null(fdt_prop(&f, 0, "x", &len));
        assert_int_equal(len, ERR_TRUNCATED);
        assert_int_equal(fdt_prop_at(&f, 8, NULL, NULL, NULL), ERR_TRUNCATED);
        free(b);
    }
}

static void test_bad_nameoff(void **state)
{
    static const uint32_t offs[] = {2, 3, 100, 0x7fffffff, 0xffffffff};
    struct fdt f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        struct raw r = {.sl = 0};
        uint8_t *b;
        int len;

        raw_str(&r, "x", 2);
        raw_begin(&r, "");
        raw_prop(&r, offs[i], 4, "abcd", 4);
        raw_tok(&r, FDT_END_NODE);
        raw_tok(&r, FDT_END);
        b = check_malformed(&r, ERR_STRUCTURE, &f);
        assert_int_equal(fdt_first_prop(&f, 0), ERR_STRUCTURE);
        assert_null(fdt_prop(&f, 0, "x", &len));
        assert_int_equal(len, ERR_STRUCTURE);
        assert_int_equal(fdt_next_node(&f, 0, NULL), ERR_STRUCTURE);
        free(b);
    }
}

static void test_unterminated_prop_name(void **state)
{
    struct raw r = {.sl = 0};
    struct fdt f;
    uint8_t *b;
    int len;

    (void)state;
    raw_str(&r, "ok", 3);
    raw_str(&r, "abc", 3); /* the strings block ends right after "abc" */
    raw_begin(&r, "");
    raw_prop(&r, 0, 4, "abcd", 4);
    raw_prop(&r, 3, 4, "abcd", 4);
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END);
    b = check_malformed(&r, ERR_STRUCTURE, &f);
    assert_int_equal(fdt_first_prop(&f, 0), 8);
    assert_int_equal(fdt_next_prop(&f, 8), ERR_STRUCTURE);
    assert_non_null(fdt_prop(&f, 0, "ok", &len));
    assert_null(fdt_prop(&f, 0, "abc", &len));
    assert_int_equal(len, ERR_STRUCTURE);
    free(b);
}

static void test_missing_end(void **state)
{
    struct raw r = {.sl = 0};
    struct fdt f;
    uint8_t *b;

    (void)state;
    raw_begin(&r, "");
    raw_begin(&r, "a");
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END_NODE);
    b = check_malformed(&r, ERR_TRUNCATED, &f);
    assert_int_equal(fdt_next_node(&f, 8, NULL), ERR_TRUNCATED);
    assert_int_equal(fdt_next_sibling(&f, 8), ERR_TRUNCATED);
    free(b);

    /* FDT_END while nodes are still open. */
    memset(&r, 0, sizeof(r));
    raw_begin(&r, "");
    raw_tok(&r, FDT_END);
    b = check_malformed(&r, ERR_STRUCTURE, &f);
    assert_int_equal(fdt_next_node(&f, 0, NULL), ERR_STRUCTURE);
    assert_int_equal(fdt_first_prop(&f, 0), ERR_STRUCTURE);
    free(b);

    memset(&r, 0, sizeof(r));
    raw_begin(&r, "");
    raw_begin(&r, "a");
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_NOP);
    raw_tok(&r, FDT_END);
    b = check_malformed(&r, ERR_STRUCTURE, &f);
    free(b);
}

static void test_end_node_without_begin(void **state)
{
    struct raw r = {.sl = 0};
    struct fdt f;
    uint8_t *b;
    int x;

    (void)state;
    raw_begin(&r, "");
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END);
    b = check_malformed(&r, ERR_STRUCTURE, &f);
    free(b);

    /* A second top-level node after the root closed. */
    memset(&r, 0, sizeof(r));
    raw_begin(&r, "");
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END_NODE);
    x = (int)r.sl;
    raw_begin(&r, "x");
    raw_prop(&r, raw_str(&r, "phandle", 8), 4, "\0\0\0\7", 4);
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END);
    b = check_malformed(&r, ERR_STRUCTURE, &f);
    assert_int_equal(fdt_parent(&f, x), ERR_STRUCTURE);
    assert_int_equal(fdt_node_by_phandle(&f, 7), ERR_STRUCTURE);
    assert_int_equal(fdt_reg(&f, x, 0, NULL, NULL), ERR_STRUCTURE);
    free(b);
}

static void test_prop_after_child(void **state)
{
    struct raw r = {.sl = 0};
    struct fdt f;
    uint8_t *b;

    (void)state;
    raw_begin(&r, "");
    raw_begin(&r, "a");
    raw_tok(&r, FDT_END_NODE);
    raw_prop(&r, raw_str(&r, "late", 5), 0, "", 0);
    raw_begin(&r, "b");
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END);
    b = check_malformed(&r, ERR_STRUCTURE, &f);
    assert_int_equal(fdt_first_child(&f, 0), 8);
    assert_int_equal(fdt_next_sibling(&f, 8), ERR_STRUCTURE);
    assert_int_equal(fdt_next_node(&f, 8, NULL), ERR_STRUCTURE);
    assert_int_equal(fdt_find_path(&f, "/b"), ERR_STRUCTURE);
    free(b);
}

static void test_unknown_token(void **state)
{
    struct raw r = {.sl = 0};
    struct fdt f;
    uint8_t *b;

    (void)state;
    raw_begin(&r, "");
    raw_tok(&r, 7);
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END);
    b = check_malformed(&r, ERR_STRUCTURE, &f);
    assert_int_equal(fdt_first_prop(&f, 0), ERR_STRUCTURE);
    assert_int_equal(fdt_next_node(&f, 0, NULL), ERR_STRUCTURE);
    free(b);
}

/* fdt_open() never yields a struct block whose size is not a multiple of 4, but a
 * hand-filled view with one must still keep every read inside it. */
static void test_ragged_struct_size(void **state)
{
    struct raw r = {.sl = 0};
    struct fdt f;
    uint8_t *b;
    size_t len;
    int cut;

    (void)state;
    raw_begin(&r, "");
    raw_prop(&r, raw_str(&r, "p", 2), 3, "abc", 3);
    raw_begin(&r, "abcdef");
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_END);
    b = raw_blob(&r, &len);
    for (cut = 1; cut < (int)r.sl; cut++) {
        lax_view(&f, b);
        f.struct_size = (uint32_t)cut;
        assert_true(fdt_check(&f) < 0);
        exercise(&f, false);
        for (int off = -4; off <= cut + 4; off++)
            exercise_offset(&f, off);
    }
    lax_view(&f, b);
    f.struct_size = 23; /* cuts the property's padding */
    assert_int_equal(fdt_first_prop(&f, 0), ERR_TRUNCATED);
    f.struct_size = 35; /* cuts the child's name padding */
    assert_int_equal(fdt_first_child(&f, 0), ERR_TRUNCATED);
    free(b);
}

/* Names up to FDT_MAX_NAME bytes with their NUL are read and written; longer
 * ones are refused by both sides. */
static void test_name_length_limit(void **state)
{
    static uint8_t wbuf[4096];
    char name[FDT_MAX_NAME + 8];
    struct fdt_writer w;
    struct fdt f;
    uint8_t *b;
    size_t len;
    int r, n;

    (void)state;
    memset(name, 'x', sizeof(name));
    name[FDT_MAX_NAME - 1] = '\0';

    fdtw_init(&w, wbuf, sizeof(wbuf));
    fdtw_begin_node(&w, "");
    fdtw_prop_u32(&w, name, 7);
    fdtw_begin_node(&w, name);
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    r = fdtw_finish(&w);
    assert_true(r > 0);
    assert_int_equal(fdt_open(&f, wbuf, (size_t)r), 0);
    n = fdt_first_child(&f, 0);
    assert_int_equal(strlen(fdt_node_name(&f, n)), FDT_MAX_NAME - 1);
    assert_true(fdt_prop_u32(&f, 0, name, NULL));

    name[FDT_MAX_NAME - 1] = 'x';
    name[FDT_MAX_NAME] = '\0';
    fdtw_init(&w, wbuf, sizeof(wbuf));
    fdtw_begin_node(&w, "");
    fdtw_begin_node(&w, name);
    assert_int_equal(w.err, ERR_INVAL);
    fdtw_init(&w, wbuf, sizeof(wbuf));
    fdtw_begin_node(&w, "");
    fdtw_prop_u32(&w, name, 7);
    assert_int_equal(w.err, ERR_INVAL);

    /* The same names, assembled by hand. */
    {
        struct raw raw = {.sl = 0};

        raw_begin(&raw, "");
        raw_begin(&raw, name);
        raw_tok(&raw, FDT_END_NODE);
        raw_tok(&raw, FDT_END_NODE);
        raw_tok(&raw, FDT_END);
        b = check_malformed(&raw, ERR_STRUCTURE, &f);
        assert_null(fdt_node_name(&f, 8));
        free(b);
    }
    {
        struct raw raw = {.sl = 0};

        raw_begin(&raw, "");
        raw_prop(&raw, raw_str(&raw, name, FDT_MAX_NAME + 1), 0, "", 0);
        raw_tok(&raw, FDT_END_NODE);
        raw_tok(&raw, FDT_END);
        b = check_malformed(&raw, ERR_STRUCTURE, &f);
        assert_int_equal(fdt_first_prop(&f, 0), ERR_STRUCTURE);
        free(b);
    }
    {
        struct raw raw = {.sl = 0};

        name[FDT_MAX_NAME - 1] = '\0';
        raw_begin(&raw, "");
        raw_prop(&raw, raw_str(&raw, name, FDT_MAX_NAME), 0, "", 0);
        raw_tok(&raw, FDT_END_NODE);
        raw_tok(&raw, FDT_END);
        b = raw_blob(&raw, &len);
        assert_int_equal(fdt_open(&f, b, len), 0);
        assert_non_null(fdt_prop(&f, 0, name, NULL));
        free(b);
    }
}

/* NOPs may appear between any tokens. */
static void test_nops(void **state)
{
    struct raw r = {.sl = 0};
    struct fdt f;
    size_t len;
    uint8_t *b;
    int a, p;

    (void)state;
    raw_begin(&r, "");
    raw_tok(&r, FDT_NOP);
    raw_prop(&r, raw_str(&r, "p", 2), 4, "\0\0\0\3", 4);
    raw_tok(&r, FDT_NOP);
    raw_prop(&r, raw_str(&r, "q", 2), 0, "", 0);
    raw_tok(&r, FDT_NOP);
    raw_begin(&r, "a");
    raw_tok(&r, FDT_NOP);
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_NOP);
    raw_tok(&r, FDT_END_NODE);
    raw_tok(&r, FDT_NOP);
    raw_tok(&r, FDT_END);
    b = raw_blob(&r, &len);
    assert_int_equal(fdt_open(&f, b, len), 0);
    assert_int_equal(exercise(&f, true), 2);
    a = path(&f, "/a");
    assert_int_equal(fdt_parent(&f, a), 0);
    p = fdt_first_prop(&f, 0);
    assert_true(p > 0);
    p = fdt_next_prop(&f, p);
    assert_true(p > 0);
    assert_int_equal(fdt_next_prop(&f, p), ERR_NOENT);
    assert_int_equal(fdt_first_prop(&f, a), ERR_NOENT);
    free(b);
}

static void build_nest(struct raw *r, int levels)
{
    int i;

    memset(r, 0, sizeof(*r));
    raw_begin(r, "");
    for (i = 1; i < levels; i++)
        raw_begin(r, "n");
    for (i = 0; i < levels; i++)
        raw_tok(r, FDT_END_NODE);
    raw_tok(r, FDT_END);
}

static void test_depth_limit(void **state)
{
    static struct raw r;
    struct fdt f;
    size_t len;
    uint8_t *b;
    int n, d = 0, last = 0, maxd = 0;

    (void)state;
    build_nest(&r, FDT_MAX_DEPTH);
    b = raw_blob(&r, &len);
    assert_int_equal(fdt_open(&f, b, len), 0);
    for (n = 0; n >= 0; n = fdt_next_node(&f, n, &d)) {
        last = n;
        maxd = d > maxd ? d : maxd;
    }
    assert_int_equal(n, ERR_NOENT);
    assert_int_equal(maxd, FDT_MAX_DEPTH - 1);
    assert_int_equal(fdt_parent(&f, last), last - 8);
    free(b);

    build_nest(&r, FDT_MAX_DEPTH + 1);
    b = check_malformed(&r, ERR_DEPTH, &f);
    d = 0;
    for (n = 0; n >= 0; n = fdt_next_node(&f, n, &d))
        last = n;
    assert_int_equal(n, ERR_DEPTH);
    assert_int_equal(fdt_parent(&f, last + 8), ERR_DEPTH);
    assert_int_equal(fdt_node_by_phandle(&f, 1), ERR_DEPTH);
    free(b);

    /* Far deeper than the limit: still no recursion, still an error. */
    build_nest(&r, 900);
    b = check_malformed(&r, ERR_DEPTH, &f);
    assert_int_equal(fdt_find_path(&f, "/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n/n"), 21 * 8);
    free(b);
}

/* ---- mutation fuzzing ---------------------------------------------------------------- */

static void mutate(uint8_t *b, size_t len)
{
    static const uint32_t words[] = {0,          1,          2,          3,          4,
                                     9,          0xffffffff, 0x7fffffff, 0x80000000, 0xfffffffc,
                                     0xd00dfeed, 16,         17,         40,         0x100};
    int k, nmut = 1 + (int)(rng() % 4);

    for (k = 0; k < nmut; k++) {
        uint64_t x = rng();
        /* One in eight mutations hits the header. */
        size_t pos = (x >> 8) % 8 == 0 ? (size_t)(x >> 16) % 40 : (size_t)(x >> 16) % len;

        switch (x % 5) {
        case 0:
            b[pos] ^= (uint8_t)(1u << ((x >> 40) % 8));
            break;
        case 1:
            b[pos] = (uint8_t)(x >> 48);
            break;
        case 2:
            b[pos] = 0;
            break;
        default:
            pos &= ~(size_t)3;
            if (pos + 4 <= len)
                put_be32(b + pos, words[(x >> 40) % (sizeof(words) / sizeof(words[0]))]);
            break;
        }
    }
}

/* Mode A: mutate, then fdt_open; an accepted blob must walk consistently. Mode B:
 * open the pristine blob, then mutate it under the view, so the accessors meet
 * malformed trees that fdt_open would have refused. Returns how many mutants
 * fdt_open accepted. */
static int fuzz(const uint8_t *base, size_t len, int iters, uint64_t seed)
{
    uint8_t *b = dup_exact(base, len);
    struct fdt f;
    int i, j, accepted = 0;

    rng_state = seed;
    for (i = 0; i < iters; i++) {
        memcpy(b, base, len);
        mutate(b, len);
        if (fdt_open(&f, b, len) == 0) {
            accepted++;
            exercise(&f, true);
        }

        memcpy(b, base, len);
        assert_int_equal(fdt_open(&f, b, len), 0);
        mutate(b, len);
        exercise(&f, false);
        for (j = 0; j < 4; j++)
            exercise_offset(&f, (int)(rng() % (f.struct_size + 8)) - 4);
    }
    free(b);
    return accepted;
}

/* A compact tree with one of everything, so that each mutation has a fair chance of
 * hitting structure rather than values, and 20000 rounds stay fast under ASan. */
static int make_fuzz_base(uint8_t *buf, size_t cap)
{
    static const uint32_t reg[] = {0x0, 0x80000000, 0x0, 0x1000};
    struct fdt_writer w;

    fdtw_init(&w, buf, cap);
    fdtw_reserve(&w, 0x80000000, 0x1000);
    fdtw_begin_node(&w, "");
    fdtw_prop_u32(&w, "#address-cells", 2);
    fdtw_prop_str(&w, "compatible", "ns16550a");
    fdtw_begin_node(&w, "cpus");
    fdtw_prop_u32(&w, "#size-cells", 0);
    fdtw_begin_node(&w, "cpu@0");
    fdtw_prop_u32(&w, "reg", 0);
    fdtw_prop_str(&w, "status", "okay");
    fdtw_prop_u32(&w, "phandle", 1);
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    fdtw_begin_node(&w, "soc");
    fdtw_begin_node(&w, "serial@10000000");
    fdtw_prop(&w, "compatible", "x\0ns16550a", 11);
    fdtw_prop_cells(&w, "reg", reg, 4);
    fdtw_prop_u32(&w, "linux,phandle", 2);
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    return fdtw_finish(&w);
}

static void test_fuzz_mutations(void **state)
{
    uint8_t base[512];
    int len, accepted;

    (void)state;
    len = make_fuzz_base(base, sizeof(base));
    assert_true(len > 0);
    accepted = fuzz(base, (size_t)len, 20000, 0x9e3779b97f4a7c15ull);
    /* Many changes land in values or padding, so plenty of mutants stay valid. */
    assert_true(accepted > 1000);
    assert_true(accepted < 20000);
    /* The bigger tree, fewer rounds. */
    accepted = fuzz(sample_buf, (size_t)sample_len, 1000, 0x2545f4914f6cdd1dull);
    assert_true(accepted > 100);
}

/* ---- writer ------------------------------------------------------------------------ */

static void test_writer_nospace_every_capacity(void **state)
{
    size_t cap, i;

    (void)state;
    for (cap = 0; cap <= (size_t)sample_len + 8; cap++) {
        uint8_t *canary = malloc((size_t)sample_len + 72);
        uint8_t *exact = malloc(cap ? cap : 1);
        struct fdt_writer w;
        int r;

        assert_non_null(canary);
        assert_non_null(exact);
        memset(canary, 0xa5, (size_t)sample_len + 72);
        r = make_sample(canary, cap);
        for (i = cap; i < (size_t)sample_len + 72; i++)
            assert_int_equal(canary[i], 0xa5);
        if (cap < (size_t)sample_len) {
            assert_int_equal(r, ERR_NOSPC);
        } else {
            assert_int_equal(r, sample_len);
            assert_memory_equal(canary, sample_buf, (size_t)sample_len);
        }

        /* Exact-size heap buffer: ASan sees any write past cap. */
        fdtw_init(&w, exact, cap);
        build_sample(&w);
        r = fdtw_finish(&w);
        if (cap < (size_t)sample_len) {
            assert_int_equal(r, ERR_NOSPC);
            assert_int_equal(w.err, ERR_NOSPC);
            /* Sticky: more calls change nothing, even ones that would fit. */
            fdtw_end_node(&w);
            assert_int_equal(fdtw_finish(&w), ERR_NOSPC);
        } else {
            assert_int_equal(r, sample_len);
        }
        free(canary);
        free(exact);
    }
}

static int writer_misuse(void (*fn)(struct fdt_writer *))
{
    static uint8_t buf[1024];
    struct fdt_writer w;

    fdtw_init(&w, buf, sizeof(buf));
    fn(&w);
    return fdtw_finish(&w);
}

static void mis_nothing(struct fdt_writer *w)
{
    (void)w;
}
static void mis_prop_before_root(struct fdt_writer *w)
{
    fdtw_prop_u32(w, "x", 1);
    fdtw_begin_node(w, "");
    fdtw_end_node(w);
}
static void mis_reserve_after_node(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_reserve(w, 0x1000, 0x1000);
    fdtw_end_node(w);
}
static void mis_reserve_zero(struct fdt_writer *w)
{
    fdtw_reserve(w, 0x1000, 0);
}
static void mis_reserve_wrap(struct fdt_writer *w)
{
    fdtw_reserve(w, 0xfffffffffffff000ull, 0x2000);
}
static void mis_root_named(struct fdt_writer *w)
{
    fdtw_begin_node(w, "root");
}
static void mis_empty_child(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_begin_node(w, "");
}
static void mis_slash_child(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_begin_node(w, "a/b");
}
static void mis_null_name(struct fdt_writer *w)
{
    fdtw_begin_node(w, NULL);
}
static void mis_second_root(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_end_node(w);
    fdtw_begin_node(w, "");
}
static void mis_extra_end(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_end_node(w);
    fdtw_end_node(w);
}
static void mis_unclosed(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_begin_node(w, "a");
    fdtw_end_node(w);
}
static void mis_prop_after_child(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_begin_node(w, "a");
    fdtw_end_node(w);
    fdtw_prop_u32(w, "late", 1);
    fdtw_end_node(w);
}
static void mis_prop_after_root(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_end_node(w);
    fdtw_prop_u32(w, "late", 1);
}
static void mis_empty_prop_name(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_prop_u32(w, "", 1);
    fdtw_end_node(w);
}
static void mis_null_prop_name(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_prop_u32(w, NULL, 1);
    fdtw_end_node(w);
}
static void mis_null_val(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_prop(w, "x", NULL, 4);
    fdtw_end_node(w);
}
static void mis_null_str(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_prop_str(w, "x", NULL);
    fdtw_end_node(w);
}
static void mis_null_cells(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_prop_cells(w, "x", NULL, 2);
    fdtw_end_node(w);
}
static void mis_huge_prop(struct fdt_writer *w)
{
    static const uint8_t v[4];

    fdtw_begin_node(w, "");
    fdtw_prop(w, "x", v, (size_t)-1);
    fdtw_end_node(w);
}
static void mis_huge_cells(struct fdt_writer *w)
{
    static const uint32_t c[1];

    fdtw_begin_node(w, "");
    fdtw_prop_cells(w, "x", c, (size_t)-1 / 2);
    fdtw_end_node(w);
}
/* The first error sticks even when later calls would each fail differently. */
static void mis_sticky(struct fdt_writer *w)
{
    fdtw_begin_node(w, "");
    fdtw_prop_str(w, "x", NULL);
    fdtw_end_node(w);
    fdtw_end_node(w);
    fdtw_begin_node(w, "");
}

static void test_writer_misuse(void **state)
{
    (void)state;
    assert_int_equal(writer_misuse(mis_nothing), ERR_STRUCTURE);
    assert_int_equal(writer_misuse(mis_prop_before_root), ERR_STRUCTURE);
    assert_int_equal(writer_misuse(mis_reserve_after_node), ERR_STRUCTURE);
    assert_int_equal(writer_misuse(mis_reserve_zero), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_reserve_wrap), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_root_named), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_empty_child), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_slash_child), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_null_name), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_second_root), ERR_STRUCTURE);
    assert_int_equal(writer_misuse(mis_extra_end), ERR_STRUCTURE);
    assert_int_equal(writer_misuse(mis_unclosed), ERR_STRUCTURE);
    assert_int_equal(writer_misuse(mis_prop_after_child), ERR_STRUCTURE);
    assert_int_equal(writer_misuse(mis_prop_after_root), ERR_STRUCTURE);
    assert_int_equal(writer_misuse(mis_empty_prop_name), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_null_prop_name), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_null_val), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_null_str), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_null_cells), ERR_INVAL);
    assert_int_equal(writer_misuse(mis_huge_prop), ERR_NOSPC);
    assert_int_equal(writer_misuse(mis_huge_cells), ERR_NOSPC);
    assert_int_equal(writer_misuse(mis_sticky), ERR_INVAL);
}

static void test_writer_edges(void **state)
{
    static uint8_t buf[8192];
    struct fdt_writer w;
    struct fdt f;
    uint64_t a, s;
    int r, i, n, d;

    (void)state;
    fdtw_init(&w, NULL, 0);
    assert_int_equal(fdtw_finish(&w), ERR_NOSPC);
    fdtw_init(&w, NULL, 100);
    assert_int_equal(fdtw_finish(&w), ERR_INVAL);

    /* Smallest tree; a reservation ending exactly at 2^64. */
    fdtw_init(&w, buf, sizeof(buf));
    fdtw_reserve(&w, 0xfffffffffffff000ull, 0x1000);
    fdtw_begin_node(&w, "");
    fdtw_end_node(&w);
    r = fdtw_finish(&w);
    assert_int_equal(r, 40 + 32 + 16);
    assert_int_equal(fdtw_finish(&w), r); /* idempotent */
    assert_int_equal(fdt_open(&f, buf, (size_t)r), 0);
    assert_int_equal(fdt_rsv_entry(&f, 0, &a, &s), 0);
    assert_true(a == 0xfffffffffffff000ull && s == 0x1000);
    assert_int_equal(fdt_first_prop(&f, 0), ERR_NOENT);
    assert_int_equal(f.strings_size, 0);
    /* Using the writer after finish is misuse. */
    fdtw_prop_u32(&w, "x", 1);
    assert_int_equal(fdtw_finish(&w), ERR_STRUCTURE);
    assert_int_equal(fdt_open(&f, buf, (size_t)r), 0); /* the blob was left alone */

    /* Depth: FDT_MAX_DEPTH levels including the root, no more. */
    fdtw_init(&w, buf, sizeof(buf));
    for (i = 0; i < FDT_MAX_DEPTH; i++)
        fdtw_begin_node(&w, i ? "n" : "");
    assert_int_equal(w.err, 0);
    fdtw_begin_node(&w, "n");
    assert_int_equal(fdtw_finish(&w), ERR_DEPTH);
    fdtw_init(&w, buf, sizeof(buf));
    for (i = 0; i < FDT_MAX_DEPTH; i++)
        fdtw_begin_node(&w, i ? "n" : "");
    for (i = 0; i < FDT_MAX_DEPTH; i++)
        fdtw_end_node(&w);
    r = fdtw_finish(&w);
    assert_true(r > 0);
    assert_int_equal(fdt_open(&f, buf, (size_t)r), 0);
    d = 0;
    for (n = 0, i = 1; (n = fdt_next_node(&f, n, &d)) >= 0; i++)
        assert_int_equal(d, i);
    assert_int_equal(i, FDT_MAX_DEPTH);

    /* Unaligned buffer and a name that needs no padding. */
    fdtw_init(&w, buf + 1, 500);
    fdtw_begin_node(&w, "");
    fdtw_prop(&w, "v", "xyz", 3);
    fdtw_begin_node(&w, "abc"); /* name + NUL is exactly 4 bytes */
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    r = fdtw_finish(&w);
    assert_true(r > 0);
    assert_int_equal(fdt_open(&f, buf + 1, (size_t)r), 0);
    assert_int_equal(path(&f, "/abc"), 8 + 16);
    assert_memory_equal(fdt_prop(&f, 0, "v", &n), "xyz", 3);
    assert_int_equal(n, 3);
}

static void test_writer_dedup(void **state)
{
    static uint8_t buf[2048];
    static const char *const names[] = {"reg", "compatible", "reg", "status", "reg", "compatible"};
    struct fdt_writer w;
    struct fdt f;
    const char *pn;
    size_t i;
    int r, p, k;

    (void)state;
    fdtw_init(&w, buf, sizeof(buf));
    fdtw_begin_node(&w, "");
    for (i = 0; i < 3; i++) {
        fdtw_begin_node(&w, "n");
        for (k = 0; k < 2; k++)
            fdtw_prop_u32(&w, names[2 * i + (size_t)k], (uint32_t)(10 * i + (size_t)k));
        fdtw_end_node(&w);
    }
    fdtw_end_node(&w);
    r = fdtw_finish(&w);
    assert_true(r > 0);
    assert_int_equal(fdt_open(&f, buf, (size_t)r), 0);
    assert_int_equal(f.strings_size, sizeof("reg") + sizeof("compatible") + sizeof("status"));
    i = 0;
    for (int n = fdt_first_child(&f, 0); n >= 0; n = fdt_next_sibling(&f, n)) {
        for (p = fdt_first_prop(&f, n); p >= 0; p = fdt_next_prop(&f, p), i++) {
            const void *v;

            assert_int_equal(fdt_prop_at(&f, p, &pn, &v, NULL), 0);
            assert_string_equal(pn, names[i]);
            assert_int_equal(fdt_be32(v), 10 * (i / 2) + i % 2);
        }
    }
    assert_int_equal(i, 6);
}

/* Random writer call sequences at random capacities: whatever succeeds must read
 * back, and nothing may be written past cap. */
static void test_writer_random(void **state)
{
    static const char *const names[] = {"a", "bb", "ccc", "dddd", "compatible", "reg"};
    int it;

    (void)state;
    rng_state = 0x243f6a8885a308d3ull;
    for (it = 0; it < 5000; it++) {
        size_t cap = (size_t)(rng() % 700), i;
        uint8_t *buf = malloc(cap + 32);
        struct fdt_writer w;
        struct fdt f;
        int ops = (int)(rng() % 40), begun = 0, r, k, n;

        assert_non_null(buf);
        memset(buf, 0x5a, cap + 32);
        fdtw_init(&w, buf, cap);
        for (k = 0; k < ops; k++) {
            uint64_t x = rng();
            const char *nm = names[(x >> 8) % 6];

            switch (x % 8) {
            case 0:
                fdtw_reserve(&w, x >> 20, (x >> 4) & 0xffff);
                break;
            case 1:
            case 2:
                fdtw_begin_node(&w, begun == 0 ? "" : nm);
                begun++;
                break;
            case 3:
            case 4:
                fdtw_end_node(&w);
                break;
            case 5:
                fdtw_prop_u32(&w, nm, (uint32_t)x);
                break;
            case 6:
                fdtw_prop(&w, nm, "0123456789", (size_t)(x >> 32) % 11);
                break;
            default:
                fdtw_prop_str(&w, nm, "str");
                break;
            }
        }
        while (w.depth > 0 && !w.err)
            fdtw_end_node(&w);
        r = fdtw_finish(&w);
        for (i = cap; i < cap + 32; i++)
            assert_int_equal(buf[i], 0x5a);
        if (r > 0) {
            assert_true((size_t)r <= cap);
            assert_int_equal(fdt_open(&f, buf, (size_t)r), 0);
            n = exercise(&f, true);
            assert_true(n >= 1 && n <= begun);
        } else {
            assert_err(r);
        }
        free(buf);
    }
}

/* ---- a real QEMU device tree ----------------------------------------------------------- */

/* Rebuild a node's path from its parents; find_path must lead back to it. */
static void check_path_roundtrip(const struct fdt *f, int node)
{
    int chain[FDT_MAX_DEPTH], depth = 0, n = node, i;
    char buf[1024];
    size_t len = 0;

    while (n > 0) {
        assert_true(depth < FDT_MAX_DEPTH);
        chain[depth++] = n;
        n = fdt_parent(f, n);
    }
    assert_int_equal(n, 0);
    buf[len++] = '/';
    for (i = depth - 1; i >= 0; i--) {
        const char *nm = fdt_node_name(f, chain[i]);
        size_t l = strlen(nm);

        assert_true(len + l + 2 < sizeof(buf));
        memcpy(buf + len, nm, l);
        len += l;
        if (i)
            buf[len++] = '/';
    }
    buf[len] = '\0';
    assert_int_equal(fdt_find_path(f, buf), node);
}

/* FDT_QEMU_DTB, else the QEMU dump that `make unit` compiles into $VIREO_FIXTURES
 * when it is there; NULL (skip) otherwise. */
static const char *qemu_dtb_path(void)
{
    static char buf[512];
    const char *env = getenv("FDT_QEMU_DTB");
    const char *dir = getenv("VIREO_FIXTURES");
    FILE *fp;

    if (env && *env)
        return env;
    if (!dir || !*dir)
        return NULL;
    if (snprintf(buf, sizeof(buf), "%s/virt-smp4.dtb", dir) >= (int)sizeof(buf))
        return NULL;
    fp = fopen(buf, "rb");
    if (!fp)
        return NULL;
    fclose(fp);
    return buf;
}

static void test_qemu_virt(void **state)
{
    const char *file = qemu_dtb_path();
    struct fdt f;
    uint8_t *b;
    size_t len;
    const char *s;
    uint32_t u;
    uint64_t a, sz;
    int n, cpus, cpu, ncpu = 0, uart, nodes, virtio = 0, intc;

    (void)state;
    if (!file)
        skip();
    b = load_file(file, &len);
    assert_int_equal(fdt_header_totalsize(b), len);
    assert_int_equal(fdt_open(&f, b, len), 0);
    assert_int_equal(fdt_check(&f), 0);
    assert_true(fdt_node_is_compatible(&f, 0, "riscv-virtio"));
    assert_int_equal(fdt_address_cells(&f, 0), 2);
    assert_int_equal(fdt_size_cells(&f, 0), 2);

    cpus = path(&f, "/cpus");
    assert_int_equal(fdt_address_cells(&f, cpus), 1);
    assert_int_equal(fdt_size_cells(&f, cpus), 0);
    assert_true(fdt_prop_u32(&f, cpus, "timebase-frequency", &u));
    assert_int_equal(u, 10000000);
    for (cpu = fdt_first_child(&f, cpus); cpu >= 0; cpu = fdt_next_sibling(&f, cpu)) {
        s = fdt_prop_str(&f, cpu, "device_type");
        if (!s || strcmp(s, "cpu") != 0)
            continue;
        s = fdt_prop_str(&f, cpu, "riscv,isa");
        assert_non_null(s);
        assert_int_equal(strncmp(s, "rv64ima", 7), 0);
        assert_non_null(strchr(s, 'h'));
        assert_true(fdt_node_is_okay(&f, cpu));
        assert_int_equal(fdt_reg(&f, cpu, 0, &a, &sz), 0);
        assert_true(a == (uint64_t)ncpu && sz == 0);
        intc = fdt_first_child(&f, cpu);
        assert_true(fdt_node_is_compatible(&f, intc, "riscv,cpu-intc"));
        assert_true(fdt_prop_u32(&f, intc, "phandle", &u));
        assert_int_equal(fdt_node_by_phandle(&f, u), intc);
        ncpu++;
    }
    assert_int_equal(cpu, ERR_NOENT);
    assert_int_equal(ncpu, 4);
    assert_string_equal(fdt_node_name(&f, path(&f, "/cpus/cpu@3")), "cpu@3");

    n = path(&f, "/memory");
    assert_string_equal(fdt_prop_str(&f, n, "device_type"), "memory");
    assert_int_equal(fdt_reg(&f, n, 0, &a, &sz), 0);
    assert_true(a == 0x80000000ull && sz == 0x80000000ull);
    assert_int_equal(fdt_reg(&f, n, 1, &a, &sz), ERR_NOENT);

    n = path(&f, "/chosen");
    s = fdt_prop_str(&f, n, "stdout-path");
    assert_non_null(s);
    uart = fdt_find_compatible(&f, -1, "ns16550a");
    assert_true(uart >= 0);
    assert_int_equal(path(&f, s), uart);
    assert_int_equal(path(&f, "/soc/serial"), uart);
    assert_string_equal(fdt_node_name(&f, uart), "serial@10000000");
    assert_int_equal(fdt_reg(&f, uart, 0, &a, &sz), 0);
    assert_true(a == 0x10000000 && sz == 0x100);
    assert_int_equal(fdt_find_compatible(&f, uart, "ns16550a"), ERR_NOENT);

    for (n = fdt_find_compatible(&f, -1, "virtio,mmio"); n >= 0;
         n = fdt_find_compatible(&f, n, "virtio,mmio")) {
        assert_int_equal(fdt_reg(&f, n, 0, &a, &sz), 0);
        assert_true(a >= 0x10001000 && a <= 0x10008000 && sz == 0x1000);
        virtio++;
    }
    assert_int_equal(virtio, 8);
    n = fdt_find_compatible(&f, -1, "pci-host-ecam-generic");
    assert_true(n >= 0);
    assert_int_equal(fdt_address_cells(&f, n), ERR_INVAL); /* 3 */

    nodes = exercise(&f, true);
    assert_true(nodes > 30);
    for (n = 0; n >= 0; n = fdt_next_node(&f, n, NULL))
        check_path_roundtrip(&f, n);
    assert_int_equal(fdt_rsv_entry(&f, 0, &a, &sz), ERR_NOENT);

    check_truncations(b, len);
    assert_true(fuzz(b, len, 300, 0x1234567887654321ull) > 0);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_be_loads_unaligned),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_navigation),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_props),
        cmocka_unit_test(test_stringlists),
        cmocka_unit_test(test_reg_and_cells),
        cmocka_unit_test(test_phandles),
        cmocka_unit_test(test_compatible_and_status),
        cmocka_unit_test(test_rsvmap),
        cmocka_unit_test(test_exhaustive_offsets),
        cmocka_unit_test(test_failed_open_view),
        cmocka_unit_test(test_version16),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_bad_first_token),
        cmocka_unit_test(test_unterminated_node_name),
        cmocka_unit_test(test_prop_len_past_block),
        cmocka_unit_test(test_bad_nameoff),
        cmocka_unit_test(test_unterminated_prop_name),
        cmocka_unit_test(test_missing_end),
        cmocka_unit_test(test_end_node_without_begin),
        cmocka_unit_test(test_prop_after_child),
        cmocka_unit_test(test_unknown_token),
        cmocka_unit_test(test_ragged_struct_size),
        cmocka_unit_test(test_name_length_limit),
        cmocka_unit_test(test_nops),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_fuzz_mutations),
        cmocka_unit_test(test_writer_nospace_every_capacity),
        cmocka_unit_test(test_writer_misuse),
        cmocka_unit_test(test_writer_edges),
        cmocka_unit_test(test_writer_dedup),
        cmocka_unit_test(test_writer_random),
        cmocka_unit_test(test_qemu_virt),
    };

    if (setup_sample() < 0) {
        fprintf(stderr, "test_fdt: cannot build the sample tree\n");
        return 1;
    }
    return cmocka_run_group_tests_name("fdt", tests, NULL, NULL);
}
