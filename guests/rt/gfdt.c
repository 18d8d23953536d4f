/* SPDX-License-Identifier: Apache-2.0 */
#include "guests/rt/gfdt.h"

#include "lib/string.h"

static struct fdt tree;
static uint64_t blob_addr;

int gfdt_init(const void *blob)
{
    blob_addr = (uint64_t)(uintptr_t)blob;
    if (!blob)
        return ERR_BADMAGIC;
    /* The header's own size bounds the blob: the guest trusts its firmware,
     * and fdt_open still checks that every block lies inside it. */
    return fdt_open(&tree, blob, fdt_header_totalsize(blob));
}

const struct fdt *gfdt(void)
{
    return &tree;
}

uint64_t gfdt_blob_addr(void)
{
    return blob_addr;
}

uint64_t gfdt_blob_size(void)
{
    return tree.size;
}

/* Append every reg entry of node to out (up to max), counting all of them. */
static int add_regs(int node, struct mem_range *out, int max, int n)
{
    uint64_t addr, size;

    for (int i = 0; fdt_reg(&tree, node, i, &addr, &size) == 0; i++, n++) {
        if (n < max)
            out[n] = (struct mem_range){addr, addr + size};
    }
    return n;
}

static bool name_is(const char *name, const char *base)
{
    size_t len = strlen(base);

    return name && strncmp(name, base, len) == 0 && (name[len] == '\0' || name[len] == '@');
}

static bool device_type_is(int node, const char *type)
{
    const char *t = fdt_prop_str(&tree, node, "device_type");

    return t && strcmp(t, type) == 0;
}

int gfdt_memory(struct mem_range *out, int max)
{
    int n = 0;

    for (int node = fdt_first_child(&tree, fdt_root(&tree)); node >= 0;
         node = fdt_next_sibling(&tree, node)) {
        if ((name_is(fdt_node_name(&tree, node), "memory") || device_type_is(node, "memory")) &&
            fdt_node_is_okay(&tree, node))
            n = add_regs(node, out, max, n);
    }
    return n;
}

int gfdt_reserved(struct mem_range *out, int max)
{
    uint64_t addr, size;
    int n = 0;

    for (int i = 0; fdt_rsv_entry(&tree, i, &addr, &size) == 0; i++, n++) {
        if (n < max)
            out[n] = (struct mem_range){addr, addr + size};
    }
    int parent = fdt_find_path(&tree, "/reserved-memory");
    if (parent < 0)
        return n;
    for (int node = fdt_first_child(&tree, parent); node >= 0;
         node = fdt_next_sibling(&tree, node)) {
        /* A disabled reservation still covers memory someone else may own;
         * staying off it costs a test guest nothing. */
        n = add_regs(node, out, max, n);
    }
    return n;
}

bool gfdt_initrd(struct mem_range *out)
{
    int chosen = fdt_find_path(&tree, "/chosen");
    uint64_t start, end;

    if (chosen < 0 || !fdt_prop_u64(&tree, chosen, "linux,initrd-start", &start) ||
        !fdt_prop_u64(&tree, chosen, "linux,initrd-end", &end) || end <= start)
        return false;
    *out = (struct mem_range){start, end};
    return true;
}

const char *gfdt_bootargs(void)
{
    int chosen = fdt_find_path(&tree, "/chosen");
    const char *args = chosen >= 0 ? fdt_prop_str(&tree, chosen, "bootargs") : NULL;

    return args ? args : "";
}

int gfdt_harts(uint64_t *out, int max)
{
    int cpus = fdt_find_path(&tree, "/cpus");
    int n = 0;
    uint64_t id;

    if (cpus < 0)
        return 0;
    for (int node = fdt_first_child(&tree, cpus); node >= 0; node = fdt_next_sibling(&tree, node)) {
        if (!device_type_is(node, "cpu") || !fdt_node_is_okay(&tree, node) ||
            fdt_reg(&tree, node, 0, &id, NULL) != 0)
            continue;
        if (n < max)
            out[n] = id;
        n++;
    }
    return n;
}

int gfdt_cpu_node(uint64_t hartid)
{
    int cpus = fdt_find_path(&tree, "/cpus");
    uint64_t id;

    if (cpus < 0)
        return cpus;
    for (int node = fdt_first_child(&tree, cpus); node >= 0; node = fdt_next_sibling(&tree, node)) {
        if (device_type_is(node, "cpu") && fdt_reg(&tree, node, 0, &id, NULL) == 0 && id == hartid)
            return node;
    }
    return ERR_NOENT;
}

int gfdt_plic_s_context(int plic_node, uint64_t hartid)
{
    int len;
    const uint8_t *ie = fdt_prop(&tree, plic_node, "interrupts-extended", &len);
    int cpu = gfdt_cpu_node(hartid);

    if (!ie || cpu < 0)
        return ERR_NOENT;
    for (int i = 0; (i + 1) * 8 <= len; i++) {
        int intc = fdt_node_by_phandle(&tree, fdt_be32(ie + 8 * i));
        if (intc >= 0 && fdt_parent(&tree, intc) == cpu && fdt_be32(ie + 8 * i + 4) == 9)
            return i; /* 9: the S-mode external interrupt */
    }
    return ERR_NOENT;
}

/* riscv,isa: "rv64" then single-letter extensions up to the first '_', then
 * multi-letter ones separated by '_'.  Case-insensitive, as the ISA manual's
 * naming rules are. */
static bool isa_string_has(const char *isa, const char *ext)
{
    size_t elen = strlen(ext);
    const char *p = isa;

    if (strlen(isa) < 4 || (strncmp(isa, "rv", 2) != 0 && strncmp(isa, "RV", 2) != 0))
        return false;
    p += 4; /* "rv32" / "rv64" */
    if (elen == 1) {
        for (; *p && *p != '_'; p++) {
            if ((*p | 0x20) == (ext[0] | 0x20))
                return true;
        }
        return false;
    }
    while ((p = strchr(p, '_')) != NULL) {
        p++;
        size_t i = 0;
        while (i < elen && p[i] && (p[i] | 0x20) == (ext[i] | 0x20))
            i++;
        if (i == elen && (p[i] == '_' || p[i] == '\0'))
            return true;
    }
    return false;
}

bool gfdt_hart_has_ext(uint64_t hartid, const char *ext)
{
    int node = gfdt_cpu_node(hartid);
    int len;
    const char *list;

    if (node < 0)
        return false;
    list = fdt_prop(&tree, node, "riscv,isa-extensions", &len);
    if (list)
        return fdt_stringlist_contains(list, len, ext);
    list = fdt_prop_str(&tree, node, "riscv,isa");
    return list && isa_string_has(list, ext);
}

uint64_t gfdt_timebase(uint64_t hartid)
{
    int cpus = fdt_find_path(&tree, "/cpus");
    int node = gfdt_cpu_node(hartid);
    uint64_t hz;

    if (cpus >= 0 && fdt_prop_u64(&tree, cpus, "timebase-frequency", &hz) && hz)
        return hz;
    if (node >= 0 && fdt_prop_u64(&tree, node, "timebase-frequency", &hz) && hz)
        return hz;
    return 0;
}
