/* SPDX-License-Identifier: Apache-2.0 */
/* A virtual CPU: one guest hart.  Its architectural state is in
 * struct vcpu_arch; the rest is scheduling and bookkeeping. */
#ifndef VIREO_CORE_VCPU_H
#define VIREO_CORE_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/riscv/vcpu_arch.h"
#include "core/insn.h"

enum vcpu_state {
    VCPU_OFFLINE,  /* SBI HSM stopped (or the VM is not running) */
    VCPU_RUNNABLE, /* in the run queue */
    VCPU_RUNNING,  /* on a hart */
    VCPU_BLOCKED,  /* in WFI (or HSM suspend) until an interrupt or its timer */
};

/* Why a vCPU is kept off the harts (struct vcpu's hold; 0: it may run).
 * One byte the run loop reads at each exit, whatever the reason. */
#define VCPU_HOLD_PAUSE 1u /* its VM is paused (vm->paused, sched_pause_vm) */
#define VCPU_HOLD_DEBUG 2u /* a debugger stopped it (core/vm_debug.c) */

/* Exit reasons counted per vCPU (shown by the management layer). */
enum exit_kind {
    EXIT_SBI,
    EXIT_WFI,
    EXIT_WRS,         /* Zawrs WRS.NTO: a yield */
    EXIT_GUEST_FAULT, /* outside RAM and devices (those are EXIT_MMIO) */
    EXIT_MMIO,
    EXIT_VIRTUAL_INSN,
    EXIT_TIMER,
    EXIT_IPI,
    EXIT_EXTERNAL,
    EXIT_OTHER,
    EXIT_DIRTY, /* a store to a page write-protected for dirty logging */
    EXIT_KINDS
};

struct vm;
struct mmio_dev;

/* A vCPU's last MMIO access, decoded and checked: a driver polling a
 * register (a status bit, a FIFO level) repeats the same access, which
 * then skips the device lookup, the decode and the checks (core/mmio.c).
 * Written and read only by the vCPU's own exits.  What it caches depends
 * only on the key (the fault's address, htinst and direction) and on the
 * VM's bus, which does not change while the VM exists. */
#define MMIO_HIT_NONE UINT64_MAX /* gpa of an empty entry: no fault has it */
struct mmio_hit {
    uint64_t gpa;
    uint64_t key;       /* htinst, bit 63 set for a store fault */
    struct mmio_dev *d; /* also the first device tried on a miss (NULL: none) */
    uint64_t off;       /* gpa - d->base */
    struct mmio_insn in;
    /* A load's result from the device's bytes: (value << shift) >> shift,
     * arithmetic when in.sign_extend (insn_load_result, worked out once);
     * live: in.reg (a load's rd, a store's rs2) is one of
     * VCPU_ARCH_LIVE_GPRS, which the exit path neither reloads nor, for
     * these faults, stores by itself (vcpu_exit_partial). */
    uint8_t shift;
    bool live;
};

/* SBI DBTR: the vCPU's debug triggers as its guest configured and reads
 * them (core/sbi/dbtr.c); what the hardware gets is vcpu_arch's trig[]. */
struct vcpu_dbtr {
    uint64_t shmem; /* guest physical address of the shared memory; UINT64_MAX: none */
    struct {
        uint64_t state; /* trig_state: mapped, saved U/S copies, index */
        uint64_t tdata1, tdata2, tdata3;
    } trig[VCPU_TRIG_MAX];
};

struct vcpu {
    struct vcpu_arch arch; /* must stay first */
    struct vm *vm;
    unsigned id;             /* the guest's hart id */
    enum vcpu_state state;   /* changed under the scheduler lock */
    uint8_t hold;            /* VCPU_HOLD_*: changed under the scheduler lock */
    int pin;                 /* host hart index, or -1 to float */
    int hart;                /* hart it runs on, or last ran on; -1: never ran */
    uint64_t timer_deadline; /* SBI set_timer deadline in host time; UINT64_MAX: none */
    bool stop_requested;     /* HSM hart_stop: go offline on leaving the hart */
    /* What an SBI handler asked for besides its answer (enum exit_action;
     * 0 = EXIT_RESUME); sbi_dispatch returns it and clears it. */
    uint8_t sbi_action;
    /* HSM hart_suspend / SUSP: blocked until an interrupt; a non-retentive
     * suspend resumes at resume_pc with a0 = hart id, a1 = resume_opaque. */
    enum { VCPU_AWAKE, VCPU_SUSPENDED, VCPU_SUSPENDED_NONRET } suspend;
    uint64_t resume_pc, resume_opaque;
    /* SBI STA: steal-time record in guest RAM (UINT64_MAX: none). */
    uint64_t sta_gpa;
    uint64_t steal_ns;
    uint64_t runnable_since; /* host time it last became runnable */
    /* Throttling (sched_throttle_vm): when it last took a hart, and, while
     * throttled (blocked for it, not for an interrupt), until when. */
    uint64_t picked_at, throttle_until;
    bool throttled;
    uint32_t eip;          /* external interrupt line from the virtual PLIC (VSEIP) */
    uint32_t fwft_locked;  /* SBI FWFT: features locked by the guest (bit = feature) */
    struct vcpu_dbtr dbtr; /* SBI DBTR */
    struct vcpu *next;     /* run queue */
    uint64_t exits[EXIT_KINDS];
    uint64_t run_ticks;       /* time on a hart since its VM booted */
    struct mmio_hit mmio_hit; /* its last MMIO access (core/mmio.c) */
};

/* The exit fast path turns the world switch's struct vcpu_ctx pointer
 * back into its vCPU (vcpu_arch_exit_fast). */
_Static_assert(offsetof(struct vcpu, arch) == 0, "arch must stay first in struct vcpu");

/* A time on the guest's clock (its time CSR, deadlines it asks for) as
 * host time: guest = host + htimedelta (mod 2^64, the delta taken as
 * signed).  A guest time before host time 0 is 0 (due now); one past the
 * host's range, and UINT64_MAX, are UINT64_MAX (never). */
static inline uint64_t vcpu_host_time(const struct vcpu *v, uint64_t guest)
{
    int64_t delta = (int64_t)v->arch.hctl.htimedelta;

    if (guest == UINT64_MAX)
        return UINT64_MAX;
    if (delta >= 0)
        return guest >= (uint64_t)delta ? guest - (uint64_t)delta : 0;
    uint64_t back = 0 - (uint64_t)delta;
    return guest > UINT64_MAX - back ? UINT64_MAX : guest + back;
}

/* A hart's DBTR state at its start (VM boot, HSM hart_start): no triggers,
 * no shared memory.  The vCPU is not loaded (vcpu_arch_reset disarms). */
static inline void vcpu_dbtr_reset(struct vcpu *v)
{
    for (unsigned i = 0; i < VCPU_TRIG_MAX; i++)
        v->dbtr.trig[i].state = v->dbtr.trig[i].tdata1 = v->dbtr.trig[i].tdata2 =
            v->dbtr.trig[i].tdata3 = 0;
    v->dbtr.shmem = UINT64_MAX;
}

/* What an exit handler wants next. */
enum exit_action {
    EXIT_RESUME, /* re-enter the guest */
    EXIT_BLOCK,  /* wait for an interrupt (WFI) */
    EXIT_YIELD,  /* give the hart to someone else */
    EXIT_LEAVE,  /* the vCPU stopped or its VM ended: leave the hart */
    /* vcpu_exit_partial only: the exit needs the registers its context
     * lacks; nothing was done: store them and call vcpu_exit. */
    EXIT_NEED_REGS,
};

/* Handles the exit recorded in v->arch.ctx (the one dispatch table). */
enum exit_action vcpu_exit(struct vcpu *v);
/* The same for a load or store guest-page fault whose context lacks the
 * registers of VCPU_ARCH_LIVE_GPRS (the world switch stores them only
 * when needed): an MMIO access that names one of them, or one that is
 * not the vCPU's last access again, returns EXIT_NEED_REGS having done
 * nothing.  Any other exit is handled as vcpu_exit() does. */
enum exit_action vcpu_exit_partial(struct vcpu *v);
/* The same with tracing (core/trace.h): the exit path calls it instead
 * when its hart's trace_on is set. */
enum exit_action vcpu_exit_traced(struct vcpu *v);

/* True when the vCPU has an interrupt pending that it has enabled in vsie:
 * what ends a WFI. now is the host time. */
bool vcpu_has_wakeup(const struct vcpu *v, uint64_t now);

/* The deadline at which a blocked vCPU must wake for its timer. */
uint64_t vcpu_wake_deadline(const struct vcpu *v);

#endif
