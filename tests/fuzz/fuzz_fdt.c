/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the FDT reader (lib/fdt.h) on an untrusted blob.
 * fdt_open() the input, then walk every node and every property with every
 * accessor. The reader promises no out-of-bounds read and no endless loop on
 * any input; the sanitizers and libFuzzer's timeout check that. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fdt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_NODES   4096 /* bounds the walk; fdt_parent is O(tree) per call */
#define MAX_PARENTS 16
#define MAX_REG     64

static volatile uint64_t sink;

static void use_str(const char *s)
{
    if (s)
        sink += strlen(s);
}

static void walk_stringlist(const char *list, int len)
{
    if (!list || len < 0)
        return;
    int n = fdt_stringlist_count(list, len);
    sink += (uint64_t)n;
    for (int i = 0; i < 8; i++) {
        const char *s = fdt_stringlist_get(list, len, i);
        if (!s)
            break;
        use_str(s);
        if (!fdt_stringlist_contains(list, len, s))
            abort(); /* an entry it returned must be contained */
    }
    fdt_stringlist_contains(list, len, "");
    fdt_stringlist_contains(list, len, "okay");
}

static void walk_props(const struct fdt *fdt, int node)
{
    int n = 0;
    for (int prop = fdt_first_prop(fdt, node); prop >= 0 && n < MAX_NODES;
         prop = fdt_next_prop(fdt, prop), n++) {
        const char *name = NULL;
        const void *val = NULL;
        int len = -1;
        if (fdt_prop_at(fdt, prop, &name, &val, &len) < 0)
            continue;
        fdt_prop_at(fdt, prop, NULL, NULL, NULL);
        if (!name)
            continue;
        use_str(name);
        if (val && len > 0)
            sink += ((const uint8_t *)val)[len - 1];
        int len2 = -1;
        const void *v2 = fdt_prop(fdt, node, name, &len2);
        if (v2)
            sink += (uint64_t)len2;
        uint32_t u32;
        uint64_t u64;
        if (fdt_prop_u32(fdt, node, name, &u32))
            sink += u32;
        if (fdt_prop_u64(fdt, node, name, &u64))
            sink += u64;
        use_str(fdt_prop_str(fdt, node, name));
        walk_stringlist(val, len);
        if (len == 4 && val) {
            /* Treat any u32 as a phandle reference. */
            int target = fdt_node_by_phandle(fdt, fdt_be32(val));
            sink += (uint64_t)target;
        }
    }
}

static void walk_node(const struct fdt *fdt, int node, int index)
{
    const char *name = fdt_node_name(fdt, node);
    use_str(name);
    sink += (uint64_t)fdt_first_child(fdt, node);
    sink += (uint64_t)fdt_next_sibling(fdt, node);
    if (index < MAX_PARENTS)
        sink += (uint64_t)fdt_parent(fdt, node);
    walk_props(fdt, node);

    int len;
    const char *compat = fdt_prop(fdt, node, "compatible", &len);
    if (compat && len > 0) {
        const char *first = fdt_stringlist_get(compat, len, 0);
        if (first) {
            fdt_node_is_compatible(fdt, node, first);
            if (index < MAX_PARENTS)
                sink += (uint64_t)fdt_find_compatible(fdt, -1, first);
            sink += (uint64_t)fdt_find_compatible(fdt, node, first);
        }
    }
    fdt_node_is_okay(fdt, node);
    sink += (uint64_t)fdt_address_cells(fdt, node);
    sink += (uint64_t)fdt_size_cells(fdt, node);
    for (int i = 0; i < MAX_REG; i++) {
        uint64_t addr, sz;
        if (fdt_reg(fdt, node, i, &addr, &sz) < 0)
            break;
        sink += addr + sz;
    }
    fdt_reg(fdt, node, 0, NULL, NULL);
    uint32_t ph;
    if (fdt_prop_u32(fdt, node, "phandle", &ph))
        sink += (uint64_t)fdt_node_by_phandle(fdt, ph);

    /* A path of the node's own name under the root, and with the unit
     * address dropped. */
    if (name && index < MAX_PARENTS) {
        char path[FDT_MAX_NAME + 8];
        snprintf(path, sizeof(path), "/%s", name);
        sink += (uint64_t)fdt_find_path(fdt, path);
        char *at = strchr(path, '@');
        if (at) {
            *at = '\0';
            sink += (uint64_t)fdt_find_path(fdt, path);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fdt fdt;
    int err = fdt_open(&fdt, data, size);
    use_str(err_str(err));
    if (size >= FDT_HEADER_SIZE)
        sink += fdt_header_totalsize(data);
    sink += fdt_boot_cpuid(&fdt);
    if (err < 0) {
        /* A failed open zeroes the view: accessors must still fail cleanly. */
        sink += (uint64_t)fdt_root(&fdt);
        sink += (uint64_t)fdt_next_node(&fdt, 0, NULL);
        sink += (uint64_t)fdt_first_prop(&fdt, 0);
        fdt_prop(&fdt, 0, "compatible", NULL);
        sink += (uint64_t)fdt_find_path(&fdt, "/chosen");
        sink += (uint64_t)fdt_rsv_entry(&fdt, 0, NULL, NULL);
        return 0;
    }
    if (fdt_check(&fdt) != 0)
        abort(); /* fdt_open already passed it */

    for (int i = 0; i < MAX_NODES; i++) {
        uint64_t addr, sz;
        if (fdt_rsv_entry(&fdt, i, &addr, &sz) < 0)
            break;
        sink += addr + sz;
    }

    int depth = 0, index = 0;
    for (int node = fdt_root(&fdt); node >= 0 && index < MAX_NODES;
         node = fdt_next_node(&fdt, node, &depth), index++)
        walk_node(&fdt, node, index);
    /* The same walk without depth tracking, and the plain lookups. */
    index = 0;
    for (int node = fdt_root(&fdt); node >= 0 && index < MAX_NODES;
         node = fdt_next_node(&fdt, node, NULL), index++)
        ;
    static const char *const paths[] = {"/",    "/chosen",       "/cpus",     "/memory", "/soc",
                                        "/vms", "//cpus//cpu@0", "/cpus/cpu", "chosen",  ""};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        sink += (uint64_t)fdt_find_path(&fdt, paths[i]);
    /* Arbitrary offsets must be rejected, not followed. */
    for (int off = -8; off < 64; off += 3) {
        use_str(fdt_node_name(&fdt, off));
        sink += (uint64_t)fdt_first_prop(&fdt, off);
        sink += (uint64_t)fdt_next_prop(&fdt, off);
        sink += (uint64_t)fdt_prop_at(&fdt, off, NULL, NULL, NULL);
        sink += (uint64_t)fdt_first_child(&fdt, off);
        sink += (uint64_t)fdt_next_sibling(&fdt, off);
    }
    sink += (uint64_t)fdt_node_by_phandle(&fdt, 0);
    sink += (uint64_t)fdt_node_by_phandle(&fdt, ~0u);
    return 0;
}
