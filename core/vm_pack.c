/* SPDX-License-Identifier: Apache-2.0 */
/* A boot-bundle VM's own run-time bundle (vm_pack.h): what a migration
 * sends ahead of a VM that came with the boot bundle, so the destination
 * builds it exactly as it builds a VM added with `vireoctl create`.
 *
 * The configuration is the VM's node of the boot bundle's vireo.dtb,
 * copied property by property and node by node (not rebuilt from the
 * parsed struct vm_config: the node is what config_load accepted, so the
 * destination parses the very same words), under a root of its own; the
 * files its kernel, initrd and disk image properties name are copied from
 * the boot bundle under the same names.  Disk images are copied as they
 * are now (writes land in the bundle in place); the final state carries
 * them again as they are at the pause. */
#include "core/vm_pack.h"

#include "core/config.h"
#include "core/pmem.h"
#include "lib/cpio.h"
#include "lib/err.h"
#include "lib/fdt.h"
#include "lib/printf.h"
#include "lib/string.h"

#define PACK_FILES (2 + CONFIG_MAX_DEVS)

static const void *boot_bundle;
static size_t boot_size;

void vm_pack_set_boot_bundle(const void *bundle, size_t size)
{
    boot_bundle = bundle;
    boot_size = size;
}

struct pack {
    struct fdt fdt;
    struct fdt_writer w;
    const char *files[PACK_FILES]; /* names, into the boot dtb */
    unsigned nfiles;
    int err;
    char *why;
    size_t whylen;
};

/* A property that names a file of the bundle (docs/config.md): the VM's
 * kernel and initrd, a disk's image. */
static bool names_file(const char *prop, int depth)
{
    if (depth == 0)
        return strcmp(prop, "kernel") == 0 || strcmp(prop, "initrd") == 0;
    return strcmp(prop, "image") == 0;
}

static void note_file(struct pack *pk, const char *name, const void *val, int len)
{
    const char *s = val;

    if (len < 2 || s[len - 1] != '\0' || strlen(s) + 1 != (size_t)len) {
        fmt_snprintf(pk->why, pk->whylen, "property %s is not one string", name);
        pk->err = ERR_INVAL;
        return;
    }
    for (unsigned i = 0; i < pk->nfiles; i++)
        if (strcmp(pk->files[i], s) == 0)
            return; /* several properties may name one file */
    if (pk->nfiles == PACK_FILES) {
        fmt_snprintf(pk->why, pk->whylen, "more than %u files", PACK_FILES);
        pk->err = ERR_NOSPC;
        return;
    }
    pk->files[pk->nfiles++] = s;
}

/* Node (depth 0: the VM's) and everything under it, as it is. */
static void copy_node(struct pack *pk, int node, const char *name, int depth)
{
    fdtw_begin_node(&pk->w, name);
    for (int p = fdt_first_prop(&pk->fdt, node); p >= 0 && !pk->err;
         p = fdt_next_prop(&pk->fdt, p)) {
        const char *pname;
        const void *val;
        int len;
        if (fdt_prop_at(&pk->fdt, p, &pname, &val, &len) < 0) {
            pk->err = ERR_STRUCTURE;
            fmt_snprintf(pk->why, pk->whylen, "a property of %s cannot be read", name);
            return;
        }
        if (names_file(pname, depth))
            note_file(pk, pname, val, len);
        fdtw_prop(&pk->w, pname, val, (size_t)len);
    }
    if (depth + 2 >= FDT_MAX_DEPTH) {
        pk->err = ERR_DEPTH;
        fmt_snprintf(pk->why, pk->whylen, "nodes nested too deep");
        return;
    }
    for (int c = fdt_first_child(&pk->fdt, node); c >= 0 && !pk->err;
         c = fdt_next_sibling(&pk->fdt, c))
        copy_node(pk, c, fdt_node_name(&pk->fdt, c), depth + 1);
    fdtw_end_node(&pk->w);
}

int vm_pack(const struct vm *vm, void **bundle, size_t *size, char *err, size_t errlen)
{
    static struct pack pk; /* management work, one call at a time */
    const void *dtb, *data;
    size_t dtb_size, fsize;
    char path[16 + CONFIG_NAME_MAX];

    *bundle = NULL;
    *size = 0;
    if (!boot_bundle || !vm->cfg) {
        fmt_snprintf(err, errlen, "vm %s: no boot bundle to pack it from", vm->name);
        return ERR_NOENT;
    }
    memset(&pk, 0, sizeof(pk));
    pk.why = err;
    pk.whylen = errlen;
    if (cpio_find(boot_bundle, boot_size, CONFIG_DTB_NAME, &dtb, &dtb_size) < 0 ||
        fdt_open(&pk.fdt, dtb, dtb_size) < 0) {
        fmt_snprintf(err, errlen, "the boot bundle's %s cannot be read", CONFIG_DTB_NAME);
        return ERR_STRUCTURE;
    }
    fmt_snprintf(path, sizeof(path), "/vms/%s", vm->cfg->name);
    int node = fdt_find_path(&pk.fdt, path);
    if (node < 0 || strcmp(fdt_node_name(&pk.fdt, node), vm->cfg->name) != 0) {
        fmt_snprintf(err, errlen, "the boot bundle has no node %s", path);
        return ERR_NOENT;
    }
    /* The copy is never larger than the whole boot configuration, plus a
     * header and a root of its own. */
    size_t cap = dtb_size + 512;
    uint8_t *out = pmem_alloc(cap, 8);
    if (!out) {
        fmt_snprintf(err, errlen, "no memory to pack vm %s's configuration", vm->name);
        return ERR_NOMEM;
    }
    fdtw_init(&pk.w, out, cap);
    fdtw_begin_node(&pk.w, "");
    fdtw_prop_str(&pk.w, "compatible", CONFIG_COMPATIBLE);
    fdtw_begin_node(&pk.w, "vms");
    copy_node(&pk, node, vm->cfg->name, 0);
    fdtw_end_node(&pk.w);
    fdtw_end_node(&pk.w);
    int len = pk.err ? pk.err : fdtw_finish(&pk.w);
    if (len < 0) {
        if (!pk.err)
            fmt_snprintf(err, errlen, "its configuration: %s", err_str(len));
        pmem_free(out, cap);
        return len;
    }
    /* The files, found before anything is allocated for them. */
    const void *fdata[PACK_FILES];
    size_t fsizes[PACK_FILES];
    size_t total = cpio_entry_size(CONFIG_DTB_NAME, (size_t)len) + cpio_entry_size(CPIO_TRAILER, 0);
    for (unsigned i = 0; i < pk.nfiles; i++) {
        if (cpio_find(boot_bundle, boot_size, pk.files[i], &data, &fsize) < 0) {
            fmt_snprintf(err, errlen, "file %s is not in the boot bundle", pk.files[i]);
            pmem_free(out, cap);
            return ERR_NOENT;
        }
        fdata[i] = data;
        fsizes[i] = fsize;
        total += cpio_entry_size(pk.files[i], fsize);
    }
    uint8_t *ar = pmem_alloc(total, 4096);
    if (!ar) {
        fmt_snprintf(err, errlen, "no memory to pack vm %s's bundle (%lu KiB)", vm->name,
                     (unsigned long)(total >> 10));
        pmem_free(out, cap);
        return ERR_NOMEM;
    }
    size_t off = cpio_write_entry(ar, total, 0, CONFIG_DTB_NAME, out, (size_t)len);
    for (unsigned i = 0; i < pk.nfiles && off; i++)
        off = cpio_write_entry(ar, total, off, pk.files[i], fdata[i], fsizes[i]);
    off = off ? cpio_write_entry(ar, total, off, CPIO_TRAILER, NULL, 0) : 0;
    pmem_free(out, cap);
    if (off != total) {
        fmt_snprintf(err, errlen, "its bundle: %lu bytes written of %lu", (unsigned long)off,
                     (unsigned long)total);
        pmem_free(ar, total);
        return ERR_NOSPC;
    }
    *bundle = ar;
    *size = total;
    return 0;
}
