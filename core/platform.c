/* SPDX-License-Identifier: Apache-2.0 */
/* Reading the platform from the firmware's device tree.  The tree is
 * trusted (it comes from the firmware) but still parsed defensively: a bad
 * tree gives a clear error rather than a crash. */
#include "core/platform.h"

#include "arch/riscv/encoding.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

static const struct {
    const char *name;
    uint32_t bit;
} isa_bit_names[] = {
    {"f", ISA_F},
    {"d", ISA_D},
    {"c", ISA_C},
    {"v", ISA_V},
    {"h", ISA_H},
    {"sstc", ISA_SSTC},
    {"ssaia", ISA_AIA},
    {"svadu", ISA_SVADU},
    {"zicbom", ISA_ZICBOM},
    {"zicboz", ISA_ZICBOZ},
    {"zkr", ISA_ZKR},
    {"svnapot", ISA_SVNAPOT},
    {"svpbmt", ISA_SVPBMT},
    {"zawrs", ISA_ZAWRS},
    {"sscofpmf", ISA_SSCOFPMF},
    {"zihintpause", ISA_ZIHINTPAUSE},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Compares name[0..n) case-insensitively with a lower-case table entry. */
static bool ext_equal(const char *name, size_t n, const char *entry)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (!entry[i] || lower(name[i]) != entry[i])
            return false;
    }
    return entry[i] == '\0';
}

static uint32_t isa_bit_lookup(const char *name, size_t n)
{
    if (n == 1 && lower(name[0]) == 'g')
        return ISA_F | ISA_D;
    for (size_t i = 0; i < ARRAY_LEN(isa_bit_names); i++) {
        if (ext_equal(name, n, isa_bit_names[i].name))
            return isa_bit_names[i].bit;
    }
    return 0;
}

uint32_t isa_parse_extension(const char *name)
{
    return isa_bit_lookup(name, strlen(name));
}

/* The feature bits of an extension set (after isa_set_expand). */
static uint32_t isa_set_bits(const struct isa_set *exts)
{
    uint32_t bits = 0;

    for (size_t i = 0; i < ARRAY_LEN(isa_bit_names); i++) {
        if (isa_has_name(exts, isa_bit_names[i].name))
            bits |= isa_bit_names[i].bit;
    }
    return bits;
}

uint32_t isa_parse_string(const char *isa)
{
    /* One reader of ISA strings: core/isa.c's, which the guest ISA uses. */
    struct isa_set exts = {0};

    isa_set_add_string(&exts, isa);
    isa_set_expand(&exts);
    return isa_set_bits(&exts);
}

int isa_format(uint32_t isa, char *buf, size_t len)
{
    int n = 0;

    if (len)
        buf[0] = '\0';
    /* The features the banner is about, in a fixed order. */
    static const char *const order[] = {"h", "sstc", "ssaia", "v", "svadu", "zkr"};
    for (size_t i = 0; i < ARRAY_LEN(order); i++) {
        uint32_t bit = isa_parse_extension(order[i]);
        if (!(isa & bit))
            continue;
        const char *label = bit == ISA_AIA ? "aia" : order[i];
        size_t used = (size_t)n < len ? (size_t)n : len;
        n += fmt_snprintf(buf + used, len - used, "%s%s", n ? " " : "", label);
    }
    return n;
}

int platform_hart_index(const struct platform *p, unsigned long hartid)
{
    for (int i = 0; i < p->nharts; i++) {
        if (p->harts[i].hartid == hartid)
            return i;
    }
    return ERR_NOENT;
}

struct parse {
    const struct fdt *fdt;
    struct platform *p;
    char *err;
    size_t errlen;
};

static int fail(struct parse *ps, int node, const char *what)
{
    char path[96] = "?";
    const char *name = node >= 0 ? fdt_node_name(ps->fdt, node) : NULL;

    if (name)
        fmt_snprintf(path, sizeof(path), "%s", *name ? name : "/");
    if (ps->errlen)
        fmt_snprintf(ps->err, ps->errlen, "device tree node %s: %s", path, what);
    return ERR_INVAL;
}

/* Translates a bus address of `node` to a CPU physical address by walking
 * the "ranges" of each ancestor bus.  Fails when a bus has no ranges. */
static int translate(const struct fdt *fdt, int node, uint64_t *addr)
{
    int bus = fdt_parent(fdt, node);

    for (int guard = 0; bus >= 0 && guard < FDT_MAX_DEPTH; guard++) {
        int up = fdt_parent(fdt, bus);
        if (up < 0)
            return 0; /* bus is the root: addresses are CPU addresses */
        int len;
        const uint8_t *r = fdt_prop(fdt, bus, "ranges", &len);
        if (!r)
            return ERR_INVAL;
        if (len > 0) {
            int ca = fdt_address_cells(fdt, bus);
            int pa = fdt_address_cells(fdt, up);
            int sc = fdt_size_cells(fdt, bus);
            if (ca < 1 || ca > 2 || pa < 1 || pa > 2 || sc < 1 || sc > 2)
                return ERR_INVAL;
            int entry = (ca + pa + sc) * 4;
            bool hit = false;
            for (int off = 0; off + entry <= len; off += entry) {
                uint64_t c = ca == 2 ? fdt_be64(r + off) : fdt_be32(r + off);
                uint64_t pr = pa == 2 ? fdt_be64(r + off + ca * 4) : fdt_be32(r + off + ca * 4);
                uint64_t s =
                    sc == 2 ? fdt_be64(r + off + (ca + pa) * 4) : fdt_be32(r + off + (ca + pa) * 4);
                if (*addr >= c && *addr - c < s) {
                    *addr = *addr - c + pr;
                    hit = true;
                    break;
                }
            }
            if (!hit)
                return ERR_RANGE;
        }
        bus = up;
    }
    return 0;
}

static int read_dev(struct parse *ps, int node, struct plat_dev *d)
{
    uint32_t irq = 0;

    if (fdt_reg(ps->fdt, node, 0, &d->base, &d->size) < 0 || d->size == 0)
        return fail(ps, node, "property reg is missing or malformed");
    if (translate(ps->fdt, node, &d->base) < 0)
        return fail(ps, node, "reg is not reachable through the parent buses' ranges");
    int len;
    const uint8_t *ip = fdt_prop(ps->fdt, node, "interrupts", &len);
    if (ip && len >= 4)
        irq = fdt_be32(ip);
    d->irq = irq;
    return 0;
}

/* Calls fn for each (context index, target node, irq) of an
 * interrupts-extended list whose targets have #interrupt-cells = 1, which
 * is the case for RISC-V hart-local interrupt controllers. */
static int for_each_irq_ext(struct parse *ps, int node,
                            void (*fn)(struct parse *, int ctx, int target, uint32_t irq,
                                       void *arg),
                            void *arg)
{
    int len;
    const uint8_t *v = fdt_prop(ps->fdt, node, "interrupts-extended", &len);

    if (!v || len < 0 || len % 4)
        return fail(ps, node, "property interrupts-extended is missing or malformed");
    int ctx = 0;
    for (int off = 0; off + 4 <= len; ctx++) {
        int target = fdt_node_by_phandle(ps->fdt, fdt_be32(v + off));
        uint32_t cells = 1;
        if (target < 0)
            return fail(ps, node, "interrupts-extended names an unknown phandle");
        if (!fdt_prop_u32(ps->fdt, target, "#interrupt-cells", &cells) || cells < 1 || cells > 4)
            return fail(ps, node, "interrupts-extended target has bad #interrupt-cells");
        if (off + 4 + (int)cells * 4 > len)
            return fail(ps, node, "property interrupts-extended is truncated");
        fn(ps, ctx, target, fdt_be32(v + off + 4), arg);
        off += 4 + (int)cells * 4;
    }
    return 0;
}

/* Maps a hart-local interrupt controller node to its hart's index. */
static int intc_hart(struct parse *ps, int intc)
{
    int cpu = fdt_parent(ps->fdt, intc);
    uint64_t hartid, sz;

    if (cpu < 0 || fdt_reg(ps->fdt, cpu, 0, &hartid, &sz) < 0)
        return ERR_NOENT;
    return platform_hart_index(ps->p, (unsigned long)hartid);
}

static void plic_ctx(struct parse *ps, int ctx, int target, uint32_t irq, void *arg)
{
    (void)arg;
    int h = intc_hart(ps, target);

    if (h >= 0 && irq == IRQ_S_EXT)
        ps->p->harts[h].plic_s_context = ctx;
}

static void imsic_level(struct parse *ps, int ctx, int target, uint32_t irq, void *arg)
{
    (void)ps;
    (void)ctx;
    (void)target;
    if (irq == IRQ_S_EXT)
        *(bool *)arg = true;
}

static int parse_memory(struct parse *ps)
{
    const struct fdt *fdt = ps->fdt;
    struct platform *p = ps->p;
    int root = fdt_root(fdt);

    for (int n = fdt_first_child(fdt, root); n >= 0; n = fdt_next_sibling(fdt, n)) {
        const char *type = fdt_prop_str(fdt, n, "device_type");
        if (!type || strcmp(type, "memory") || !fdt_node_is_okay(fdt, n))
            continue;
        uint64_t base, size;
        for (int i = 0; fdt_reg(fdt, n, i, &base, &size) == 0; i++) {
            if (!size)
                continue;
            if (p->nmem == PLAT_MAX_MEM)
                return fail(ps, n, "too many memory ranges");
            p->mem[p->nmem++] = (struct plat_range){base, size};
        }
    }
    if (!p->nmem)
        return fail(ps, root, "no memory node with a usable reg");

    uint64_t addr, size;
    for (int i = 0;; i++) {
        int r = fdt_rsv_entry(fdt, i, &addr, &size);
        if (r == ERR_NOENT)
            break;
        if (r < 0)
            return fail(ps, root, "memory reservation map is malformed");
        if (p->nresv == PLAT_MAX_RESV)
            return fail(ps, root, "too many memory reservations");
        p->resv[p->nresv++] = (struct plat_range){addr, size};
    }
    int rm = fdt_find_path(fdt, "/reserved-memory");
    if (rm >= 0) {
        for (int n = fdt_first_child(fdt, rm); n >= 0; n = fdt_next_sibling(fdt, n)) {
            for (int i = 0; fdt_reg(fdt, n, i, &addr, &size) == 0; i++) {
                if (p->nresv == PLAT_MAX_RESV)
                    return fail(ps, n, "too many reserved-memory ranges");
                p->resv[p->nresv++] = (struct plat_range){addr, size};
            }
        }
    }
    return 0;
}

static int parse_cpus(struct parse *ps)
{
    const struct fdt *fdt = ps->fdt;
    struct platform *p = ps->p;
    int cpus = fdt_find_path(fdt, "/cpus");

    if (cpus < 0)
        return fail(ps, fdt_root(fdt), "no /cpus node");
    uint64_t tb = 0;
    fdt_prop_u64(fdt, cpus, "timebase-frequency", &tb);

    p->isa = ~0u;
    p->satp_max = 57;
    for (int n = fdt_first_child(fdt, cpus); n >= 0; n = fdt_next_sibling(fdt, n)) {
        const char *type = fdt_prop_str(fdt, n, "device_type");
        if (!type || strcmp(type, "cpu") || !fdt_node_is_okay(fdt, n))
            continue;
        uint64_t hartid, unused;
        if (fdt_reg(fdt, n, 0, &hartid, &unused) < 0)
            return fail(ps, n, "property reg (the hart id) is missing or malformed");
        if (!tb)
            fdt_prop_u64(fdt, n, "timebase-frequency", &tb);

        /* As Linux reads it: riscv,isa-extensions when it is there, else
         * riscv,isa (extensions.yaml). */
        uint32_t isa = 0;
        struct isa_set exts = {0};
        bool first = p->nharts == 0;
        int len;
        const char *list = fdt_prop(fdt, n, "riscv,isa-extensions", &len);
        if (list && fdt_stringlist_count(list, len) > 0) {
            for (int i = 0; i < fdt_stringlist_count(list, len); i++) {
                const char *e = fdt_stringlist_get(list, len, i);
                if (!isa_set_add_name(&exts, e) && first &&
                    p->nexts_unknown < PLAT_MAX_UNKNOWN_EXTS)
                    p->exts_unknown[p->nexts_unknown++] = e;
            }
        } else {
            const char *s = fdt_prop_str(fdt, n, "riscv,isa");
            if (!s)
                return fail(ps, n, "neither riscv,isa-extensions nor riscv,isa is usable");
            isa_set_add_string(&exts, s);
        }
        isa_set_expand(&exts);
        isa = isa_set_bits(&exts);
        if (first) {
            fdt_prop_u32(fdt, n, "riscv,cbom-block-size", &p->cbom_block);
            fdt_prop_u32(fdt, n, "riscv,cboz-block-size", &p->cboz_block);
            fdt_prop_u32(fdt, n, "riscv,cbop-block-size", &p->cbop_block);
        }

        int satp = 0;
        const char *mmu = fdt_prop_str(fdt, n, "mmu-type");
        if (mmu && !strcmp(mmu, "riscv,sv39"))
            satp = 39;
        else if (mmu && !strcmp(mmu, "riscv,sv48"))
            satp = 48;
        else if (mmu && !strcmp(mmu, "riscv,sv57"))
            satp = 57;

        if (p->nharts == PLAT_MAX_HARTS) {
            p->harts_ignored++;
            continue;
        }
        if (platform_hart_index(p, (unsigned long)hartid) >= 0)
            return fail(ps, n, "two cpu nodes have the same hart id");
        p->harts[p->nharts++] = (struct plat_hart){
            .hartid = (unsigned long)hartid,
            .isa = isa,
            .exts = exts,
            .satp_max = satp,
            .plic_s_context = -1,
        };
        p->isa &= isa;
        for (int w = 0; w < ISA_SET_WORDS; w++)
            p->exts.bits[w] = first ? exts.bits[w] : p->exts.bits[w] & exts.bits[w];
        if (satp < p->satp_max)
            p->satp_max = satp;
    }
    if (!p->nharts)
        return fail(ps, cpus, "no usable cpu node");
    if (!tb || tb > UINT32_MAX)
        return fail(ps, cpus, "property timebase-frequency is missing or out of range");
    p->timebase_hz = (uint32_t)tb;
    return 0;
}

static int find_uart(struct parse *ps)
{
    const struct fdt *fdt = ps->fdt;
    int node = -1;
    int chosen = fdt_find_path(fdt, "/chosen");
    const char *out = chosen >= 0 ? fdt_prop_str(fdt, chosen, "stdout-path") : NULL;

    if (out) {
        /* "path:options"; the path may also be an alias. */
        char path[128];
        size_t i = 0;
        for (; out[i] && out[i] != ':' && i + 1 < sizeof(path); i++)
            path[i] = out[i];
        path[i] = '\0';
        if (path[0] != '/') {
            int aliases = fdt_find_path(fdt, "/aliases");
            const char *target = aliases >= 0 ? fdt_prop_str(fdt, aliases, path) : NULL;
            if (target)
                node = fdt_find_path(fdt, target);
        } else {
            node = fdt_find_path(fdt, path);
        }
        if (node >= 0 && !fdt_node_is_compatible(fdt, node, "ns16550a") &&
            !fdt_node_is_compatible(fdt, node, "ns16550"))
            node = -1;
    }
    if (node < 0)
        node = fdt_find_compatible(fdt, -1, "ns16550a");
    if (node < 0)
        node = fdt_find_compatible(fdt, -1, "ns16550");
    if (node < 0 || !fdt_node_is_okay(fdt, node))
        return 0; /* no UART: Vireo prints through the firmware */

    struct platform *p = ps->p;
    int r = read_dev(ps, node, &p->uart.dev);
    if (r < 0)
        return r;
    p->uart.reg_shift = 0;
    p->uart.io_width = 1;
    fdt_prop_u32(fdt, node, "reg-shift", &p->uart.reg_shift);
    fdt_prop_u32(fdt, node, "reg-io-width", &p->uart.io_width);
    fdt_prop_u32(fdt, node, "clock-frequency", &p->uart.clock_hz);
    if (p->uart.reg_shift > 3 || (p->uart.io_width != 1 && p->uart.io_width != 4))
        return fail(ps, node, "reg-shift or reg-io-width is not supported");
    p->uart.present = true;
    return 0;
}

static int find_devices(struct parse *ps)
{
    const struct fdt *fdt = ps->fdt;
    struct platform *p = ps->p;
    int n, r;

    n = fdt_find_compatible(fdt, -1, "riscv,plic0");
    if (n < 0)
        n = fdt_find_compatible(fdt, -1, "sifive,plic-1.0.0");
    if (n >= 0 && fdt_node_is_okay(fdt, n)) {
        r = read_dev(ps, n, &p->plic.dev);
        if (r < 0)
            return r;
        if (!fdt_prop_u32(fdt, n, "riscv,ndev", &p->plic.ndev) || p->plic.ndev == 0 ||
            p->plic.ndev > 1023)
            return fail(ps, n, "property riscv,ndev is missing or out of range");
        r = for_each_irq_ext(ps, n, plic_ctx, NULL);
        if (r < 0)
            return r;
        p->plic.present = true;
    }

    static const char *const clints[] = {"riscv,clint0", "sifive,clint0", "riscv,aclint-sswi",
                                         "riscv,aclint-mswi"};
    for (size_t i = 0; i < ARRAY_LEN(clints) && !p->clint.present; i++) {
        n = fdt_find_compatible(fdt, -1, clints[i]);
        if (n >= 0 && fdt_node_is_okay(fdt, n)) {
            r = read_dev(ps, n, &p->clint.dev);
            if (r < 0)
                return r;
            p->clint.present = true;
        }
    }

    for (n = fdt_find_compatible(fdt, -1, "riscv,imsics"); n >= 0;
         n = fdt_find_compatible(fdt, n, "riscv,imsics")) {
        bool s_level = false;
        if (!fdt_node_is_okay(fdt, n))
            return ERR_INVAL;
        r = for_each_irq_ext(ps, n, imsic_level, &s_level);
        if (r < 0)
            return r;
        if (s_level) {
            r = read_dev(ps, n, &p->imsic.dev);
            if (r < 0)
                return r;
            p->imsic.present = true;
            break;
        }
    }

    for (n = fdt_find_compatible(fdt, -1, "virtio,mmio"); n >= 0;
         n = fdt_find_compatible(fdt, n, "virtio,mmio")) {
        if (!fdt_node_is_okay(fdt, n))
            continue;
        if (p->nvirtio == PLAT_MAX_VIRTIO)
            return fail(ps, n, "too many virtio-mmio nodes");
        struct plat_dev d;
        r = read_dev(ps, n, &d);
        if (r < 0)
            return r;
        /* Keep them sorted by address: QEMU lists them in reverse. */
        int i = p->nvirtio++;
        while (i > 0 && p->virtio[i - 1].base > d.base) {
            p->virtio[i] = p->virtio[i - 1];
            i--;
        }
        p->virtio[i] = d;
    }
    return 0;
}

static int parse_chosen(struct parse *ps)
{
    const struct fdt *fdt = ps->fdt;
    struct platform *p = ps->p;
    int chosen = fdt_find_path(fdt, "/chosen");

    p->bootargs = "";
    if (chosen < 0)
        return 0;
    const char *args = fdt_prop_str(fdt, chosen, "bootargs");
    if (args)
        p->bootargs = args;

    uint64_t start, end;
    bool has_start = fdt_prop_u64(fdt, chosen, "linux,initrd-start", &start);
    bool has_end = fdt_prop_u64(fdt, chosen, "linux,initrd-end", &end);
    if (has_start != has_end || (has_start && end < start))
        return fail(ps, chosen, "linux,initrd-start/-end are inconsistent");
    if (has_start && end > start) {
        p->has_initrd = true;
        p->initrd_start = start;
        p->initrd_end = end;
    }
    return 0;
}

int platform_parse(const struct fdt *fdt, struct platform *p, char *err, size_t errlen)
{
    struct parse ps = {fdt, p, err, errlen};
    int (*const steps[])(struct parse *) = {parse_memory, parse_cpus, find_uart, find_devices,
                                            parse_chosen};

    memset(p, 0, sizeof(*p));
    if (errlen)
        err[0] = '\0';
    for (size_t i = 0; i < ARRAY_LEN(steps); i++) {
        int r = steps[i](&ps);
        if (r < 0)
            return r;
    }
    if (p->imsic.present)
        p->isa |= ISA_AIA;
    return 0;
}
