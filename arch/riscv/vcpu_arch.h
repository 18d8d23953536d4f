/* SPDX-License-Identifier: Apache-2.0 */
/* The vCPU half of the arch contract: a vCPU's architectural state (the
 * world switch's register image, the VS-level CSRs, virtual interrupt
 * lines, FP and vector registers) as plain data that portable code may
 * read and set, and the calls that act on it.  The hart half (timer, IPIs,
 * fences, power) is arch/arch.h.  arch/riscv/vcpu_arch.c and vcpu_switch.c
 * implement these; tests/unit/fake_arch.c stands in for them on the host.
 *
 * Calling context, unless a comment says otherwise: "own exit" means from
 * the handler of that vCPU's exit, on the hart it runs on, with its CSRs
 * loaded (interrupts are off in Vireo); "not loaded" means the vCPU is on
 * no hart (offline, or before its first run). */
#ifndef VIREO_ARCH_RISCV_VCPU_ARCH_H
#define VIREO_ARCH_RISCV_VCPU_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/riscv/encoding.h"
#include "arch/riscv/vcpu_ctx.h"

/* The hypervisor controls a vCPU runs under, from its VM's ISA (core/isa.c):
 * set when the VM is built, kept by vcpu_arch_reset, written on every load. */
struct vcpu_hctl {
    uint64_t henvcfg;
    uint64_t hstateen0; /* written only when the host has Smstateen */
    uint32_t hcounteren;
    /* The guest's clock is the host's plus this (mod 2^64): 0, unless the
     * VM was restored from a snapshot, whose guest time it continues. */
    uint64_t htimedelta;
};

/* Debug triggers a vCPU may have, at most (the SBI DBTR slots, core/sbi/dbtr.c). */
#define VCPU_TRIG_MAX 8
/* Slots after those for a debugger's breakpoints and watchpoints on the
 * vCPU (core/vm_debug.c): armed before the guest's own, so the guest's
 * are the ones left out on a hart with too few triggers for both. */
#define VCPU_TRIG_DEBUG 4
#define VCPU_TRIG_SLOTS (VCPU_TRIG_MAX + VCPU_TRIG_DEBUG)

/* One of a vCPU's debug triggers as the hardware gets it: Sdtrig mcontrol6
 * matching in VS/VU-mode only, action "breakpoint exception" (which hedeleg
 * hands to the guest), translated from the guest's own configuration by
 * core/sbi/dbtr.c. */
struct vcpu_trig {
    uint64_t tdata1, tdata2, tdata3;
};

/* The FP token of the reset state: every FP and vector register zero.
 * Every vCPU that has not dirtied its registers since its reset shares
 * it, so a hart switching between such vCPUs (guests that never use FP)
 * restores nothing; a save gives a vCPU a token of its own. */
#define VCPU_FP_TOKEN_RESET 0

struct vcpu_arch {
    struct vcpu_ctx ctx; /* must stay first */
    uint64_t vsstatus, vsie, vstvec, vsscratch, vsepc, vscause, vstval, vsatp;
    /* S-level CSRs with no VS copy: VS-mode reaches the real ones, so they
     * are the vCPU's and switched with it. */
    uint64_t senvcfg, scounteren;
    struct vcpu_hctl hctl;
    uint64_t hvip;         /* owned by the hart running the vCPU */
    uint32_t eip_in;       /* the PLIC line (struct vcpu's eip, 0 or 1) hvip.VSEIP was set from */
    uint64_t hvip_pending; /* bits other harts assert (atomic OR); merged before entry */
    uint64_t vstimecmp;    /* with Sstc: the guest's own timer compare */
    /* The exceptions the guest takes itself, set through SBI FWFT
     * (MISALIGNED_EXC_DELEG) and written on load. */
    uint64_t hedeleg;
    /* Debug triggers: trig_on names the slots of trig[] armed on the hart
     * while the vCPU runs (through the firmware's SBI DBTR, on load);
     * trig_fw the firmware's indices of those armed now, while loaded. */
    struct vcpu_trig trig[VCPU_TRIG_SLOTS];
    uint32_t trig_on;
    uint64_t trig_fw;
    struct fp_state fp;
    void *vec;         /* vector save area (VEC_HEADER + 32 * vlenb bytes), NULL without V */
    uint64_t fp_token; /* names this vCPU's FP state; a hart whose token matches holds it
                        * (VCPU_FP_TOKEN_RESET: the reset state, shared by all) */
    int last_hart;     /* hart it last ran on (-1: none), for VS-stage TLB flushes */
    uint32_t fences;   /* VCPU_FENCE_* requested by other vCPUs: done before next entry */
    uint32_t in_guest; /* 1 from just before the fence check to the exit (see
                        * vcpu_arch_exit_fast for the fast path) */
    uint64_t entries;  /* entries from the scheduler: lets a requester see an exit */
    /* Set when vcpu_arch_exit_fast() already handled the exit but the vCPU
     * must go back to the scheduler (see vcpu_arch_exit_handled). */
    uint32_t exit_done;
    uint32_t exit_act;
    /* A register the exit path does not reload by itself (gp, s1-s11)
     * was changed (vcpu_arch_set_gpr): reload them all. */
    uint32_t reload_all;
};

_Static_assert(offsetof(struct vcpu_arch, ctx) == 0, "ctx must stay first in struct vcpu_arch");

/* Exceptions the guest handles itself (hedeleg) from its reset on: what a
 * real S-mode kernel expects to see directly, misaligned accesses
 * included (SBI FWFT MISALIGNED_EXC_DELEG may take those away). */
#define VCPU_HEDELEG_RESET                                                                         \
    (HEDELEG_MISALIGNED | (1ULL << CAUSE_ILLEGAL_INSN) | (1ULL << CAUSE_BREAKPOINT) |              \
     (1ULL << CAUSE_USER_ECALL) | (1ULL << CAUSE_FETCH_PAGE_FAULT) |                               \
     (1ULL << CAUSE_LOAD_PAGE_FAULT) | (1ULL << CAUSE_STORE_PAGE_FAULT))

/* The guest registers the exit fast path keeps live in the hart instead of
 * reloading them from the context (see switch.S): gp, s1, s2-s11. */
#define VCPU_ARCH_LIVE_GPRS ((1u << 3) | (1u << 9) | (0x3ffu << 18))

/* Sets guest register reg (1..31) from the handler of the vCPU's exit. */
static inline void vcpu_arch_set_gpr(struct vcpu_arch *a, unsigned reg, uint64_t value)
{
    a->ctx.gpr[reg] = value;
    if ((VCPU_ARCH_LIVE_GPRS >> reg) & 1)
        a->reload_all = 1;
}

#define VCPU_FENCE_I    1u /* FENCE.I */
#define VCPU_FENCE_VVMA 2u /* all VS-stage translations of the VM */
#define VCPU_FENCE_GVMA 4u /* all G-stage translations of the VM (dirty logging took W away) */

static inline void vcpu_arch_request_fence(struct vcpu_arch *a, uint32_t fences)
{
    __atomic_fetch_or(&a->fences, fences, __ATOMIC_RELEASE);
}

/* Asserts VS-level interrupt bits (HVIP_*) from any hart. */
static inline void vcpu_arch_raise(struct vcpu_arch *a, uint64_t bits)
{
    __atomic_fetch_or(&a->hvip_pending, bits, __ATOMIC_RELEASE);
}

struct vcpu;
struct vm;

/* After vcpu_arch_run(): true if the exit fast path already handled the
 * exit, with what it decided in *act (an enum exit_action). */
static inline bool vcpu_arch_exit_handled(struct vcpu_arch *a, int *act)
{
    if (!a->exit_done)
        return false;
    a->exit_done = 0;
    *act = (int)a->exit_act;
    return true;
}

/* Withdraws VS-level interrupt bits (HVIP_*) Vireo asserted.  Own exit. */
void vcpu_arch_lower(struct vcpu_arch *a, uint64_t bits);

/* One-time setup of a vCPU about to start at pc with a0/a1 (guest boot or
 * HSM hart_start): everything else architectural is reset.  Not loaded. */
void vcpu_arch_reset(struct vcpu_arch *a, uint64_t pc, uint64_t a0, uint64_t a1);

/* The hstatus and HS sstatus a vCPU enters its guest with after a reset
 * (VS-mode, 64-bit, WFI trapping); SPVP/GVA and SPP/SPIE then follow the
 * guest's last exit. */
#define VCPU_HSTATUS_RESET (HSTATUS_VSXL_64 | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_VTW)

/* The vCPU's state was replaced wholesale (a snapshot restore): whatever a
 * hart still holds of it (its FP and vector registers, VS-stage TLB
 * entries, instructions in a cache) is stale and must be reloaded or
 * flushed before it runs again.  Not loaded. */
void vcpu_arch_invalidate(struct vcpu_arch *a);

/* A fresh lazy-FP token (a vCPU's FP and vector registers as of now). */
uint64_t vcpu_arch_fp_token_new(void);

/* Resumption after a non-retentive suspend: pc, a0, a1, translation off,
 * supervisor interrupts off, in VS-mode; the rest is left as it was (the
 * specification leaves it undefined).  The vCPU must not be loaded. */
void vcpu_arch_resume(struct vcpu_arch *a, uint64_t pc, uint64_t a0, uint64_t a1);

/* The world switch, for the vCPU run loop only (core/hart_loop.c), on the
 * hart that runs the vCPU, interrupts off:
 * vcpu_arch_load puts the vCPU's state into this hart's CSRs (after a
 * different vCPU, or none, ran here); vcpu_arch_run runs it until its next
 * exit that needs the loop (others are handled on the fast path through
 * vcpu_exit()) and keeps its CSRs loaded; vcpu_arch_put takes the state
 * out of the CSRs when it is about to leave the hart.  The fast path may
 * switch the hart from one vCPU to the next by itself (hart_loop_switch):
 * vcpu_arch_run returns the vCPU whose exit needs the loop, loaded, or
 * NULL when the last one left through the switch with nothing to follow. */
void vcpu_arch_load(struct vcpu *v);
struct vcpu *vcpu_arch_run(struct vcpu *v);
void vcpu_arch_put(struct vcpu *v);

/* Makes the guest take an exception (cause, tval) at its current pc, as the
 * hardware would have: used for what VS-mode may not do (hypervisor CSRs).
 * Own exit. */
void vcpu_arch_inject_exception(struct vcpu_arch *a, uint64_t cause, uint64_t tval);

/* Reads a doubleword at a guest virtual address as the guest would (its
 * translation, its privilege).  False if that faults.  Own exit. */
bool vcpu_arch_read_guest_u64(struct vcpu_arch *a, uint64_t va, uint64_t *value);

/* Reads the 16- or 32-bit instruction at guest virtual address pc, through
 * the guest's own translation (HLVX).  False if that faults.  Own exit. */
bool vcpu_arch_read_insn(struct vcpu_arch *a, uint64_t pc, uint32_t *insn);

/* SBI FWFT MISALIGNED_EXC_DELEG: on, misaligned fetches, loads and stores
 * trap straight into the guest (hedeleg); off, they exit to Vireo, which
 * emulates loads and stores (core/misaligned.c).  Own exit. */
void vcpu_arch_set_misaligned_deleg(struct vcpu_arch *a, bool on);

static inline bool vcpu_arch_misaligned_deleg(const struct vcpu_arch *a)
{
    return (a->hedeleg & HEDELEG_MISALIGNED) == HEDELEG_MISALIGNED;
}

/* SBI FWFT PTE_AD_HW_UPDATING: turns hardware A/D bit updating in the
 * VS-stage on or off for one vCPU (henvcfg.ADUE in its hctl), for a VM
 * that was given Svadu (core/isa.c).  Own exit. */
void vcpu_arch_set_adue(struct vcpu_arch *a, bool on);

/* The debug triggers a vCPU may have on this host: the firmware's
 * mcontrol6 triggers (SBI DBTR), at most VCPU_TRIG_MAX; 0 without them.
 * After arch_hart_irq_init on the boot hart. */
unsigned vcpu_arch_trig_max(void);

/* Arms the triggers trig_on names, as trig[] now has them, on this hart in
 * place of those armed before.  Own exit.  Returns 0, or the firmware's
 * (negative SBI) error when it would not uninstall the old ones: they may
 * still be armed, and the caller must not let anything else run here. */
long vcpu_arch_sync_triggers(struct vcpu_arch *a);

/* One byte at a guest virtual address, read (HLV.B) or written (HSV.B) as
 * the guest's own access would be: its translation, its privilege.  True,
 * or false with the exception the access raised in *cause (a load or
 * store page fault of the VS stage, a guest-page fault of the G stage,
 * an access fault).  Own exit. */
bool vcpu_arch_load_guest_u8(struct vcpu_arch *a, uint64_t va, uint8_t *value, uint64_t *cause);
bool vcpu_arch_store_guest_u8(struct vcpu_arch *a, uint64_t va, uint8_t value, uint64_t *cause);

#endif
