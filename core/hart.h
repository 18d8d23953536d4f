/* SPDX-License-Identifier: Apache-2.0 */
/* Per-physical-hart state.  harts[0] is the boot hart; the others are
 * numbered in device-tree order.  Each hart finds its own entry through
 * arch_this_hart(). */
#ifndef VIREO_CORE_HART_H
#define VIREO_CORE_HART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/platform.h"

#define HART_MAX        PLAT_MAX_HARTS
#define HART_STACK_SIZE (16 * 1024)
#define HART_CANARY     0x5669726556697265ULL /* "VireVire" */

#define HART_VMID_SLOTS 64

struct vcpu;

struct hart {
    uintptr_t stack_top; /* must stay first: entry.S loads it */
    uintptr_t stack_base;
    /* The world switch's (arch/riscv/switch.S): Vireo's callee-saved
     * registers while a guest runs here, whichever vCPU it is. */
    uint64_t world_save[13];
    unsigned index;
    unsigned long hartid;
    bool online;
    /* Waiting for work in wfi: set under the scheduler lock, cleared by
     * the hart itself without it (core/sched.c). */
    bool idle;
    struct vcpu *current; /* vCPU on this hart, if any */
    /* The enabled trace classes (core/trace.h), copied here so that the
     * exit path tests them with one load from tp; core/trace_ctl.c keeps
     * every hart's copy equal to trace_on. */
    unsigned long trace_on;           /* a whole register: no sign extension to test it */
    uint64_t fp_token;                /* whose FP state is in this hart's registers (vcpu_arch) */
#define HART_FP_TOKEN_NONE UINT64_MAX /* what the firmware left: nobody's */
    uint64_t timer;                   /* deadline programmed in the host timer */
    /* End of the running vCPU's slice (core/hart_loop.c), for the exit
     * fast path's timer interrupt (vcpu_arch_exit_fast). */
    uint64_t slice_end;
    uint64_t visit_start; /* when the running vCPU came onto this hart */
    /* Which VM (by uid) and vCPU last used each VMID here: decides when this
     * hart's TLB must be flushed for a VMID (see vcpu_arch_load). */
    uint64_t vmid_uid[HART_VMID_SLOTS];
    uint64_t vmid_gen[HART_VMID_SLOTS]; /* the VM's gs.gen at this hart's last HFENCE.GVMA */
    const struct vcpu *vmid_vcpu[HART_VMID_SLOTS];
};

/* entry.S loads sp from the first word of a secondary hart's struct hart. */
_Static_assert(offsetof(struct hart, stack_top) == 0, "stack_top must stay first");

extern struct hart harts[HART_MAX];
extern unsigned hart_count; /* entries of harts[] in use */

/* Starts every other hart the platform lists and waits for each to come
 * up.  Returns how many harts are online, the boot hart included. */
unsigned harts_start(const struct platform *p, unsigned long boot_hartid);

/* Number of harts that reached Vireo's code. */
unsigned harts_online(void);

/* False when the guard word at the bottom of the hart's stack was overwritten. */
bool hart_stack_intact(const struct hart *h);

/* A hart has reached Vireo's code (it then counts in harts_online). */
void hart_set_online(struct hart *h);

#endif
