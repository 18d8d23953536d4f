/* SPDX-License-Identifier: Apache-2.0 */
/* A run-time bundle of one VM (cpio newc: vireo.dtb written with
 * lib/fdt.h, a raw kernel of nops), in pmem as vm_add takes it: for the
 * migration test and fuzz target; its cpio writer for test_vm_admin too. */
#ifndef VIREO_TESTS_UNIT_BUNDLE_TESTLIB_H
#define VIREO_TESTS_UNIT_BUNDLE_TESTLIB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/pmem.h"
#include "lib/cpio.h"
#include "lib/fdt.h"

#define BUNDLE_TESTLIB_KERNEL 8192

static uint8_t bundle_testlib_ar[32768];
/* Set: the VM gets a NIC (net0, its MAC derived from its name). */
static bool bundle_testlib_nic;

/* Appends one cpio newc entry (a regular file) at off of ar (cap bytes):
 * the offset after it, or 0 if it does not fit. */
static inline size_t bundle_testlib_cpio(uint8_t *ar, size_t cap, size_t off, const char *name,
                                         const void *data, size_t size)
{
    size_t namesize = strlen(name) + 1;

    if (off + CPIO_HEADER_SIZE + namesize + size + 8 > cap)
        return 0;
    snprintf((char *)ar + off, CPIO_HEADER_SIZE + 1,
             "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", 0u, 0100644u, 0u, 0u, 1u,
             0u, (unsigned)size, 0u, 0u, 0u, 0u, (unsigned)namesize, 0u);
    off += CPIO_HEADER_SIZE;
    memcpy(ar + off, name, namesize);
    off += namesize;
    while (off % 4)
        ar[off++] = 0;
    if (size)
        memcpy(ar + off, data, size);
    off += size;
    while (off % 4)
        ar[off++] = 0;
    return off;
}

static inline size_t bundle_testlib_entry(size_t off, const char *name, const void *data,
                                          size_t size)
{
    return bundle_testlib_cpio(bundle_testlib_ar, sizeof(bundle_testlib_ar), off, name, data, size);
}

/* The bundle of VM name (mem bytes of RAM, vcpus vCPUs) in pmem; *size
 * its length.  NULL if it does not fit or pmem is out of memory. */
static inline void *bundle_testlib_make(const char *name, uint64_t mem, unsigned vcpus,
                                        size_t *size)
{
    static uint8_t kernel[BUNDLE_TESTLIB_KERNEL];
    static uint8_t dtb[4096];
    struct fdt_writer w;

    memset(kernel, 0x13, sizeof(kernel)); /* a raw image of nops */
    fdtw_init(&w, dtb, sizeof(dtb));
    fdtw_begin_node(&w, "");
    fdtw_prop_str(&w, "compatible", CONFIG_COMPATIBLE);
    fdtw_begin_node(&w, "vms");
    fdtw_begin_node(&w, name);
    fdtw_prop_u64(&w, "memory", mem);
    fdtw_prop_u32(&w, "vcpus", vcpus);
    fdtw_prop_str(&w, "kernel", "kernel");
    if (bundle_testlib_nic) {
        fdtw_begin_node(&w, "net0");
        fdtw_end_node(&w);
    }
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    fdtw_end_node(&w);
    int len = fdtw_finish(&w);
    if (len <= 0)
        return NULL;
    size_t off = bundle_testlib_entry(0, CONFIG_DTB_NAME, dtb, (size_t)len);
    off = off ? bundle_testlib_entry(off, "kernel", kernel, sizeof(kernel)) : 0;
    off = off ? bundle_testlib_entry(off, CPIO_TRAILER, NULL, 0) : 0;
    if (!off)
        return NULL;
    void *b = pmem_alloc(off, 4096);
    if (b)
        memcpy(b, bundle_testlib_ar, off);
    *size = off;
    return b;
}

#endif
