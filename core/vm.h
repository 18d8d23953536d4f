/* SPDX-License-Identifier: Apache-2.0 */
/* A virtual machine: guest RAM behind a G-stage table, vCPUs, and how it
 * ended.  Guest memory is reached only through gpa_read()/gpa_write(). */
#ifndef VIREO_CORE_VM_H
#define VIREO_CORE_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/dirty.h"
#include "core/gstage.h"
#include "core/guest_mem.h"
#include "core/mmio_bus.h"
#include "core/vcpu.h"
#include "core/vm_debug.h"
#include "core/vconsole.h"
#include "devices/mmio.h"
#include "devices/vplic.h"
#include "devices/vuart.h"
#include "lib/printf.h"
#include "lib/spinlock.h"

#define VM_RAM_BASE 0x80000000ULL /* as on QEMU virt */
#define VM_MAX      CONFIG_MAX_VMS
#define VM_MAX_DEVS 16

/* The guest's devices sit where QEMU's virt board has them, so a kernel
 * built for QEMU virt finds them where it expects (the FDT says so too). */
#define VM_PLIC_BASE 0x0c000000ULL
#define VM_PLIC_SIZE 0x600000ULL
#define VM_PLIC_NDEV 95
#define VM_UART_BASE 0x10000000ULL
#define VM_UART_IRQ  10
/* virtio-mmio slots, as QEMU virt has them: slot i at BASE + i * STRIDE,
 * PLIC source IRQ0 + i. */
#define VM_VIRTIO_BASE   0x10001000ULL
#define VM_VIRTIO_STRIDE 0x1000ULL
#define VM_VIRTIO_IRQ0   1

enum vm_state {
    VM_EMPTY,    /* slot unused */
    VM_RUNNING,  /* vCPUs may run */
    VM_STOPPING, /* ending: waiting for its vCPUs to leave their harts */
    VM_DONE,     /* ended; memory freed; end and reason say how */
};

enum vm_end {
    VM_END_NONE,
    VM_END_SHUTDOWN, /* SBI shutdown, no failure */
    VM_END_FAILURE,  /* SBI shutdown with reason "system failure" */
    VM_END_STOPPED,  /* Vireo stopped it: reason says why */
    VM_END_REBOOT,   /* SBI reboot: Vireo recreates it */
};

struct vm_vdev;
struct virtio_console;

struct vm {
    char name[32];
    unsigned index;
    enum vm_state state;
    /* How its last boot ended, and why (VM_END_NONE: it never ended).
     * vm_create leaves them: a VM that reboots stays VM_END_REBOOT while
     * it is built again, so the shell shows it as rebooting (and lets the
     * console be bound to it) until it runs. */
    enum vm_end end;
    char reason[192];
    const struct vm_config *cfg;
    struct gstage gs;
    unsigned vmid;
    uint64_t hgatp; /* gs and vmid as the hgatp CSR takes them, worked out once */
    uint64_t uid;   /* never reused: tells harts when a VMID changed owner */
    uint64_t ram_base, ram_size;
    uint64_t fdt_gpa;
    unsigned pieces[3]; /* guest RAM in 4 KiB, 2 MiB and 1 GiB pieces (and G-stage leaves) */
    unsigned nvcpus;
    unsigned running;     /* vCPUs on a hart right now */
    unsigned boots;       /* 1 + reboots so far */
    bool paused;          /* by the shell: vCPUs are not run */
    bool migrating;       /* a migration out of this host runs (core/migrate_src.c) */
    uint8_t throttle_pct; /* share of hart time withheld from its vCPUs (sched_throttle_vm) */
    uint64_t started;     /* host time of the last (re)boot */
    /* Guest time minus host time (mod 2^64): 0, unless restored from a
     * snapshot; every vCPU's hctl.htimedelta. */
    uint64_t time_offset;
    struct vcpu vcpus[CONFIG_MAX_VCPUS];
    /* Its ISA (core/vmm.c, vmm_vm_isa): the extensions, riscv,isa and
     * riscv,isa-extensions of its device tree. */
    struct isa_guest isa;
    char isa_str[2048];
    const char *isa_exts[ISA_MAX_EXTS + 1];
    /* The device bus: sorted by base, never overlapping RAM or each other. */
    struct mmio_dev *devs[VM_MAX_DEVS];
    unsigned ndevs;
    struct vplic plic;
    struct mmio_dev plic_dev;
    struct vuart uart;
    struct mmio_dev uart_dev;
    /* virtio devices (core/vm_dev.c), in slot order */
    struct vm_vdev *vdevs[CONFIG_MAX_DEVS];
    unsigned nvdevs;
    struct virtio_console *vcon; /* the virtio console, if any */
    /* Its console: input queue, output log (kept across reboots). */
    struct vconsole_port con;
    /* G-stage dirty logging (core/dirty.c). */
    struct vm_dirty dirty;
    /* A debugger's hold on it (core/vm_debug.c); cleared by each boot. */
    struct vm_debug debug;
};

/* The VM slots (core/vm_table.c).  Every VM is in vms[0..vm_count); a
 * slot there whose state is VM_EMPTY is free (its VM was deleted,
 * core/vm_admin.c) and is skipped by every walk of the table.  A slot is
 * filled completely before it leaves VM_EMPTY and vm_count grows. */
extern struct vm vms[VM_MAX];
extern unsigned vm_count;

/* Whether a slot holds a VM (off, running or anything in between). */
static inline bool vm_in_use(const struct vm *vm)
{
    return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_EMPTY;
}

/* The VM named name, among the slots in use; NULL if none. */
struct vm *vm_find(const char *name);

/* Makes slot index a VM that is off (VM_DONE, never booted) with cfg, a
 * fresh console port and nothing left of the slot's previous VM; grows
 * vm_count to cover it.  The slot must be free; cfg must outlive it. */
void vm_slot_init(unsigned index, const struct vm_config *cfg);

/* Builds a VM from its configuration: RAM, G-stage, kernel, initrd, FDT,
 * vCPU 0 ready to run.  0, or a negative ERR_* code (ERR_NOMEM, ERR_NOSPC:
 * the images do not fit its RAM, ERR_INVAL: a kernel image Vireo cannot
 * load, ...) with err saying what; nothing is left allocated then. */
int vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen);

/* Frees everything vm_create() took.  No vCPU may be on a hart. */
void vm_destroy(struct vm *vm);

#endif
