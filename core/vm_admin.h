/* SPDX-License-Identifier: Apache-2.0 */
/* VMs added and deleted while Vireo runs (vm_admin.c): the VM table is
 * filled at boot from the boot bundle (vm_start_all), and afterwards a VM
 * can be added from a bundle of its own and any VM that is not running
 * deleted, leaving its slot free for the next one.
 *
 * Calling context: management work (the shell, the control plane), one
 * call at a time: these calls, vm_boot of an off VM and the shell's
 * commands must not run concurrently on the table.  Guests' own endings
 * (vm_end, vm_finish) may run alongside on any hart. */
#ifndef VIREO_CORE_VM_ADMIN_H
#define VIREO_CORE_VM_ADMIN_H

#include <stddef.h>

#include "core/vm.h"

/* Adds the VM a run-time bundle describes (the boot bundle's format: cpio
 * newc with vireo.dtb and the images it names; exactly one VM), off:
 * configured but not booted (autostart is not looked at).  Takes ownership
 * of bundle (allocated with pmem_alloc; freed with the VM, or at once on
 * failure).  Refused, with err naming what, when: the bundle is malformed
 * (config_load's errors, ERR_INVAL), it holds not exactly one VM
 * (ERR_INVAL), the name is taken (ERR_EXIST), a device conflicts with an
 * existing VM's (the kinds' conflict hooks, snapshot regions: ERR_EXIST),
 * pins out of range (nharts: the host's harts; ERR_INVAL), no free slot
 * (ERR_NOSPC).  Returns the VM's slot index or a negative ERR_*. */
int vm_add(void *bundle, size_t size, unsigned nharts, char *err, size_t errlen);

/* The same, the VM named name instead of the bundle's name (NULL: as the
 * bundle says): a VM migrated into the host that already has its name
 * (docs/migration.md).  beside (or NULL): a VM whose devices the new one
 * may share (its MAC, its host-disk region): the VM migrating out of this
 * very host into the new one, which it replaces. */
int vm_add_as(void *bundle, size_t size, unsigned nharts, const char *name, const struct vm *beside,
              char *err, size_t errlen);

/* Withholds the extensions in more from a VM added at run time, on top of
 * its configuration's isa-withhold (a VM migrated in gets exactly the ISA
 * it had at its source, docs/migration.md).  Before it is built: 0, or
 * ERR_NOENT for a boot-bundle VM. */
int vm_admin_withhold(struct vm *vm, const struct isa_set *more);

/* The run-time bundle a VM was added from (what a migration sends ahead):
 * 0, or ERR_NOENT for a boot-bundle VM (its images are the boot bundle's)
 * or a free slot. */
int vm_admin_bundle(const struct vm *vm, const void **bundle, size_t *size);

/* Deletes a VM that is off or stopped: its slot becomes free, its
 * configuration and run-time bundle are freed, and everything it held goes
 * back to pmem (its in-memory snapshot through the delete hook).  ERR_STATE
 * with err saying so when it is running, paused, stopping or rebooting;
 * ERR_NOENT for a free slot.  A boot-bundle VM can be deleted too (its
 * images stay in the boot bundle's memory). */
int vm_delete(struct vm *vm, char *err, size_t errlen);

/* What a layer above keeps per VM slot and must forget when its VM is
 * deleted (the in-memory snapshot: snapshot_mem_drop), called by
 * vm_delete with the VM off.  Registered at boot (core/main.c), and by
 * tests; NULL: nothing. */
void vm_set_delete_hook(void (*drop)(const struct vm *vm));

#endif
