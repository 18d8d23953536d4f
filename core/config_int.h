/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between the parts of the configuration parser (config.c: the
 * bundle, the root and the VM nodes; config_dev.c: a VM's devices). */
#ifndef VIREO_CORE_CONFIG_INT_H
#define VIREO_CORE_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "lib/err.h"
#include "lib/fdt.h"
#include "lib/printf.h"

#define SHOW_MAX  40 /* characters of an untrusted string echoed in a message */
#define SHOW_SIZE (SHOW_MAX + 4)
#define PATH_SIZE (sizeof("/vms//") + 2 * SHOW_SIZE)

enum bundle_lookup {
    BUNDLE_FILE_OK,
    BUNDLE_FILE_MISSING,
    BUNDLE_FILE_DUPLICATE,
    BUNDLE_FILE_NOT_REGULAR,
};

struct loader {
    const void *bundle;
    size_t bundle_size;
    unsigned nharts;
    unsigned vm_index; /* the VM being parsed: its place among /vms's children, from 0 */
    struct fdt fdt;
    char *err;
    size_t errlen;
};

/* Formats "config: PATH: property PROP: MESSAGE" (without the property part
 * when prop is NULL) and returns ERR_INVAL: every configuration error is a
 * value of the wrong form, and the message says which. */
int loader_fail(struct loader *ld, const char *path, const char *prop, const char *fmt, ...)
    FMT_PRINTF(4, 5);
/* An untrusted string made printable and cut at SHOW_MAX characters. */
const char *show(char buf[SHOW_SIZE], const char *s);
/* Exactly one NUL-terminated string. */
bool prop_is_string(const uint8_t *val, int len);
/* The bundle file a property names: present once, regular, not empty. */
enum bundle_lookup bundle_file(const struct loader *ld, const char *name, const void **data,
                               size_t *size);
int vm_file(struct loader *ld, const char *path, const char *prop, const char *fname,
            const void **data, size_t *size);

/* A node's properties, by index into the caller's table of names. */
#define PROPS_MAX 12
struct props {
    bool present[PROPS_MAX];
    const uint8_t *val[PROPS_MAX];
    int len[PROPS_MAX];
};

/* Gathers the node's properties: names[i] (i < count <= PROPS_MAX, bit i
 * set in allowed) may appear once each; any other is refused as
 * "unknown EXPECTED", a repeated one as "given more than once". */
int props_collect(struct loader *ld, int node, const char *path, const char *const *names,
                  unsigned count, unsigned allowed, const char *expected, struct props *p);

/* Parses the device nodes (children) of the VM node at `node` into vm->devs. */
int config_devices(struct loader *ld, int node, const char *path, struct vm_config *vm);
/* Checks what VMs' devices must not share: disk images, host disk regions, MACs. */
int config_devices_check(struct loader *ld, const struct config *cfg);
/* The same between every device of a (a VM that exists) and every device
 * of b (one being added); the error names b's device first. */
int config_devices_check_pair(struct loader *ld, const struct vm_config *a,
                              const struct vm_config *b);

#endif
