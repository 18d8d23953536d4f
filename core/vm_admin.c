/* SPDX-License-Identifier: Apache-2.0 */
/* VMs added and deleted at run time (see vm_admin.h).
 *
 * A run-time VM's configuration lives in its slot's entry of added[]: the
 * struct vm_config copied out of config_load's result, its kernel, initrd
 * and bootargs pointing into the bundle the entry owns, so both live
 * exactly as long as the VM.  A boot-bundle VM's configuration stays in
 * main.c's struct config and its images in the boot bundle. */
#include "core/vm_admin.h"

#include "core/config.h"
#include "core/pmem.h"
#include "core/vconsole.h"
#include "core/vm_life.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

static struct {
    struct vm_config cfg;
    void *bundle; /* NULL: the slot's VM (if any) came from the boot bundle */
    size_t size;
} added[VM_MAX];

/* config_load fills a whole struct config (every VM a bundle may hold), too
 * large for a stack; calls are one at a time (vm_admin.h). */
static struct config scratch;

static void (*delete_hook)(const struct vm *vm);

void vm_set_delete_hook(void (*drop)(const struct vm *vm))
{
    delete_hook = drop;
}

/* The new VM against those that exist: name, then devices. */
static int vm_add_check(const struct vm_config *cfg, const struct vm *beside, char *err,
                        size_t errlen)
{
    const struct vm_config *others[VM_MAX];
    unsigned n = 0;

    if (vm_find(cfg->name)) {
        fmt_snprintf(err, errlen, "vm %s exists already (names are unique)", cfg->name);
        return ERR_EXIST;
    }
    for (unsigned i = 0; i < vm_count; i++) {
        if (vm_in_use(&vms[i]) && &vms[i] != beside)
            others[n++] = vms[i].cfg;
    }
    return config_check_added(cfg, others, n, err, errlen);
}

/* The first free slot: a deleted VM's, else one never used; -1 if none. */
static int vm_free_slot(void)
{
    for (unsigned i = 0; i < VM_MAX; i++) {
        if (i >= vm_count || !vm_in_use(&vms[i]))
            return (int)i;
    }
    return -1;
}

int vm_add(void *bundle, size_t size, unsigned nharts, char *err, size_t errlen)
{
    return vm_add_as(bundle, size, nharts, NULL, NULL, err, errlen);
}

int vm_add_as(void *bundle, size_t size, unsigned nharts, const char *name, const struct vm *beside,
              char *err, size_t errlen)
{
    int r, slot;

    if (!bundle || !size) {
        fmt_snprintf(err, errlen,
                     "bundle: empty (a cpio newc archive holding one VM's vireo.dtb and images)");
        r = ERR_INVAL;
        goto refuse;
    }
    r = config_load(bundle, size, nharts, &scratch, err, errlen);
    if (r < 0)
        goto refuse;
    if (scratch.nvms != 1) {
        fmt_snprintf(err, errlen, "bundle: holds %d VMs (a VM added at run time comes alone)",
                     scratch.nvms);
        r = ERR_INVAL;
        goto refuse;
    }
    if (name) {
        size_t n = strlen(name);
        if (n == 0 || n >= sizeof(scratch.vms[0].name)) {
            fmt_snprintf(err, errlen, "vm name '%s': 1 to %u characters", name,
                         (unsigned)sizeof(scratch.vms[0].name) - 1);
            r = ERR_INVAL;
            goto refuse;
        }
        memcpy(scratch.vms[0].name, name, n + 1);
    }
    r = vm_add_check(&scratch.vms[0], beside, err, errlen);
    if (r < 0)
        goto refuse;
    slot = vm_free_slot();
    if (slot < 0) {
        fmt_snprintf(err, errlen, "vm %s: no free VM slot (at most %d VMs)", scratch.vms[0].name,
                     VM_MAX);
        r = ERR_NOSPC;
        goto refuse;
    }
    added[slot].cfg = scratch.vms[0];
    added[slot].bundle = bundle;
    added[slot].size = size;
    vm_slot_init((unsigned)slot, &added[slot].cfg);
    return slot;

refuse:
    pmem_free(bundle, size);
    return r;
}

int vm_admin_withhold(struct vm *vm, const struct isa_set *more)
{
    if (!vm_in_use(vm) || !added[vm->index].bundle)
        return ERR_NOENT;
    for (unsigned i = 0; i < ISA_SET_WORDS; i++)
        added[vm->index].cfg.isa_withhold.bits[i] |= more->bits[i];
    return 0;
}

int vm_admin_bundle(const struct vm *vm, const void **bundle, size_t *size)
{
    if (!vm_in_use(vm) || !added[vm->index].bundle)
        return ERR_NOENT;
    *bundle = added[vm->index].bundle;
    *size = added[vm->index].size;
    return 0;
}

/* Why a VM cannot be deleted now, or NULL. */
static const char *vm_busy_word(const struct vm *vm)
{
    switch (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE)) {
    case VM_RUNNING:
        return __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE) ? "paused" : "running";
    case VM_STOPPING:
        return vm->end == VM_END_REBOOT ? "rebooting" : "stopping";
    default:
        return NULL;
    }
}

int vm_delete(struct vm *vm, char *err, size_t errlen)
{
    const char *busy;

    if (!vm_in_use(vm)) {
        fmt_snprintf(err, errlen, "no VM in slot %u (deleted already)", vm->index);
        return ERR_NOENT;
    }
    busy = vm_busy_word(vm);
    if (busy) {
        fmt_snprintf(err, errlen, "vm %s is %s: only a VM that is off or stopped can be deleted",
                     vm->name, busy);
        return ERR_STATE;
    }
    /* Free first, so that walks of the table skip it from now on; what
     * it held goes after.  An off VM holds no RAM, tables, devices or
     * VMID (vm_destroy returned them when it ended). */
    vm_life_notify(vm, VM_EVENT_DELETED);
    __atomic_store_n(&vm->state, VM_EMPTY, __ATOMIC_RELEASE);
    if (delete_hook)
        delete_hook(vm);
    vm_dirty_release(vm);
    vconsole_port_remove(&vm->con);
    if (added[vm->index].bundle)
        pmem_free(added[vm->index].bundle, added[vm->index].size);
    memset(&added[vm->index], 0, sizeof(added[vm->index]));
    vm->cfg = NULL;
    vm->name[0] = '\0';
    return 0;
}
