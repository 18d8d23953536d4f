/* SPDX-License-Identifier: Apache-2.0 */
/* A boot-bundle VM packed into a run-time bundle of its own (vm_pack.c):
 * what a migration sends ahead of a VM that came with the boot bundle
 * (docs/migration.md).  A VM added at run time has its bundle already
 * (vm_admin_bundle).
 *
 * Calling context: management work, one call at a time. */
#ifndef VIREO_CORE_VM_PACK_H
#define VIREO_CORE_VM_PACK_H

#include <stddef.h>

#include "core/vm.h"

/* The boot bundle (QEMU's initrd), which stays in place while Vireo runs:
 * set once at boot, before any VM starts. */
void vm_pack_set_boot_bundle(const void *bundle, size_t size);

/* vm's node of the boot bundle's vireo.dtb under a root of its own, and
 * the files it names (kernel, initrd, disk images) under the same names,
 * as one cpio newc archive that vm_add accepts: 0 with *bundle (pmem,
 * *size bytes: the caller frees it with pmem_free(*bundle, *size)), or a
 * negative ERR_* with err saying why (no boot bundle, no node of that
 * name, a file it names missing, no memory). */
int vm_pack(const struct vm *vm, void **bundle, size_t *size, char *err, size_t errlen);

#endif
