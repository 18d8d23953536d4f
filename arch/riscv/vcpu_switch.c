/* SPDX-License-Identifier: Apache-2.0 */
/* The C half of the world switch: a vCPU's state into the hart's CSRs
 * (vcpu_arch_load), into the guest and back (vcpu_arch_run, around
 * switch.S), the exit fast path that switch.S calls on every exit, and the
 * state out again (vcpu_arch_put).
 *
 * Lazy FP/vector: Vireo itself never uses these registers, so they keep
 * a vCPU's values across its exits.  They are saved only when the guest
 * dirtied them (sstatus.FS/VS = Dirty) and the vCPU leaves the hart, and
 * restored only when a different vCPU used them since (a per-hart token).
 * The HS-level FS/VS stay on while a guest runs, so the guest's own
 * vsstatus alone decides whether it may use them.
 *
 * This file and switch.S are part of the vCPU run loop: the exit fast
 * path calls vcpu_exit() (core/exit.c). */
#include "arch/arch.h"
#include "arch/riscv/cpu.h"
#include "arch/riscv/csr.h"
#include "arch/riscv/dbtr.h"
#include "arch/riscv/switch.h"
#include "arch/riscv/vcpu_arch.h"
#include "core/hart.h"
#include "core/hart_loop.h"
#include "core/panic.h"
#include "core/sched.h"
#include "core/vm.h"

/* vcpu_arch_load on hart h, inlined into the fast path's switch. */
static inline __attribute__((always_inline)) void arch_load(struct hart *h, struct vcpu *v)
{
    struct vcpu_arch *a = &v->arch;
    struct vm *vm = v->vm;
    unsigned slot = vm->vmid % HART_VMID_SLOTS;
    uint64_t gen = __atomic_load_n(&vm->gs.gen, __ATOMIC_ACQUIRE);

    csr_write(hgatp, vm->hgatp);
    /* G-stage entries of this VMID may belong to an earlier VM that had it
     * (VMIDs are reused), or predate permissions dirty logging took away
     * (gs.gen moved since this hart last flushed for the VM); VS-stage
     * entries may belong to another vCPU of this VM, or be stale from this
     * vCPU's last visit here. */
    if (h->vmid_uid[slot] != vm->uid) {
        arch_hfence_gvma_vmid(vm->vmid);
        arch_hfence_vvma_vmid(vm->vmid);
        h->vmid_uid[slot] = vm->uid;
        h->vmid_gen[slot] = gen;
        h->vmid_vcpu[slot] = v;
    } else {
        if (h->vmid_gen[slot] != gen) {
            arch_hfence_gvma_vmid(vm->vmid);
            h->vmid_gen[slot] = gen;
        }
        if (h->vmid_vcpu[slot] != v || a->last_hart != (int)h->index) {
            arch_hfence_vvma_vmid(vm->vmid);
            h->vmid_vcpu[slot] = v;
        }
    }

    csr_write(vsstatus, a->vsstatus);
    csr_write(vsie, a->vsie);
    csr_write(vstvec, a->vstvec);
    csr_write(vsscratch, a->vsscratch);
    csr_write(vsepc, a->vsepc);
    csr_write(vscause, a->vscause);
    csr_write(vstval, a->vstval);
    csr_write(vsatp, a->vsatp);
    csr_write(senvcfg, a->senvcfg);
    csr_write(scounteren, a->scounteren);
    csr_write(henvcfg, a->hctl.henvcfg);
    csr_write(hcounteren, a->hctl.hcounteren);
    csr_write(htimedelta, a->hctl.htimedelta);
    if (riscv_cpu.hstateen)
        csr_write(hstateen0, a->hctl.hstateen0);
    csr_write(hedeleg, a->hedeleg);
    if (riscv_cpu.sstc)
        csr_write(vstimecmp, a->vstimecmp);
    if (a->trig_on)
        dbtr_arm(a);

    /* Lazy FP: the registers are reloaded only when another vCPU used them
     * since this one last ran here. */
    if (h->fp_token != a->fp_token) {
        csr_set(sstatus, SSTATUS_FS_INITIAL);
        fp_restore(&a->fp);
        if (a->vec) {
            csr_set(sstatus, SSTATUS_VS_INITIAL);
            vec_restore(a->vec);
        }
        h->fp_token = a->fp_token;
    }
    /* The context's FS (and VS) say Clean here, as they do whenever the
     * vCPU is off a hart: its reset and a restore set them, the hardware
     * only ever makes them Dirty, and arch_put cleans that. */
}

void vcpu_arch_load(struct vcpu *v)
{
    arch_load(arch_this_hart(), v);
}

/* Before each entry, from the loop or the fast path's switch. */
static inline __attribute__((always_inline)) void vcpu_arch_enter(struct vcpu *v)
{
    struct vcpu_arch *a = &v->arch;
    /* in_guest goes up before the looks below: a requester that sets a
     * fence or an interrupt bit and then sees in_guest down knows they
     * come before the next entry; one that sees it up sends an IPI.  The
     * fence orders the store before the loads, as for the fast path's
     * re-entry (vcpu_arch_reenter). */
    __atomic_store_n(&a->in_guest, 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);

    if (__atomic_load_n(&a->fences, __ATOMIC_RELAXED)) {
        uint32_t f = __atomic_exchange_n(&a->fences, 0, __ATOMIC_ACQUIRE);
        if (f & VCPU_FENCE_GVMA)
            arch_hfence_gvma_vmid(v->vm->vmid);
        if (f & VCPU_FENCE_VVMA)
            arch_hfence_vvma_vmid(v->vm->vmid);
        if (f & VCPU_FENCE_I)
            arch_fence_i();
    }

    uint64_t hvip = a->hvip;
    if (__atomic_load_n(&a->hvip_pending, __ATOMIC_RELAXED)) /* seldom anything there */
        hvip |= __atomic_exchange_n(&a->hvip_pending, 0, __ATOMIC_ACQUIRE);
    /* VSEIP follows the virtual PLIC's output for this vCPU: a level. */
    uint32_t eip = __atomic_load_n(&v->eip, __ATOMIC_RELAXED);
    a->eip_in = eip;
    hvip = eip ? hvip | HVIP_VSEIP : hvip & ~HVIP_VSEIP;
    a->hvip = hvip;
    csr_write(hvip, hvip);
    __atomic_store_n(&a->entries, a->entries + 1, __ATOMIC_RELAXED);
    /* Entry loads every register from the context (a debugger's write
     * included): nothing left for the fast path to reload. */
    a->reload_all = 0;
}

/* After an exit that leaves the fast path (to the loop or to the next
 * vCPU). */
static inline __attribute__((always_inline)) void vcpu_arch_left(struct vcpu_arch *a)
{
    __atomic_store_n(&a->in_guest, 0, __ATOMIC_RELEASE);
    /* The guest clears its own VSSIP through sip, which is hvip's bit. */
    a->hvip = csr_read(hvip);
}

struct vcpu *vcpu_arch_run(struct vcpu *v)
{
    vcpu_arch_enter(v);
    struct vcpu_ctx *back = vcpu_ctx_enter(&v->arch.ctx);
    if (!back)
        return NULL;
    /* ctx is first in vcpu_arch, arch first in vcpu */
    struct vcpu *w = (struct vcpu *)back;
    vcpu_arch_left(&w->arch);
    return w;
}

_Static_assert(offsetof(struct vcpu_arch, ctx) == 0 && offsetof(struct vcpu, arch) == 0,
               "a context is its vCPU");
_Static_assert(offsetof(struct hart, world_save) == HART_WORLD_SAVE, "HART_WORLD_SAVE");

/* The exit was handled but the scheduler's loop has more to do: it
 * takes act from here (vcpu_arch_exit_handled) and reloads every
 * register on entry. */
static long vcpu_arch_exit_slow(struct vcpu *v, enum exit_action act)
{
    v->arch.reload_all = 0;
    v->arch.exit_act = act;
    v->arch.exit_done = 1;
    return 0;
}

/* vcpu_arch_put on hart h; next: another vCPU is loaded at once (the fast
 * path's switch), which overwrites what an idle hart must clear. */
static inline __attribute__((always_inline)) void arch_put(struct hart *h, struct vcpu *v,
                                                           bool next)
{
    struct vcpu_arch *a = &v->arch;

    a->vsstatus = csr_read(vsstatus);
    a->vsie = csr_read(vsie);
    a->vstvec = csr_read(vstvec);
    a->vsscratch = csr_read(vsscratch);
    a->vsepc = csr_read(vsepc);
    a->vscause = csr_read(vscause);
    a->vstval = csr_read(vstval);
    a->vsatp = csr_read(vsatp);
    a->senvcfg = csr_read(senvcfg);
    a->scounteren = csr_read(scounteren);
    if (riscv_cpu.sstc) {
        a->vstimecmp = csr_read(vstimecmp);
        if (!next)
            csr_write(vstimecmp, UINT64_MAX);
    }
    /* A VS-level interrupt left pending in the CSRs (a stale vstimecmp, an
     * hvip bit) would keep waking this hart's wfi once it idles. */
    if (!next)
        csr_write(hvip, 0);
    /* Its debug triggers leave with it: one left armed would fire in
     * whatever runs here next. */
    if (a->trig_fw) {
        long err = dbtr_disarm(a);
        if (err)
            panic("firmware refused to uninstall debug triggers (SBI error %ld)", err);
    }
    bool saved = false;
    if ((a->ctx.sstatus & SSTATUS_FS) == SSTATUS_FS_DIRTY) {
        csr_set(sstatus, SSTATUS_FS_INITIAL);
        fp_save(&a->fp);
        a->ctx.sstatus = (a->ctx.sstatus & ~SSTATUS_FS) | SSTATUS_FS_CLEAN;
        saved = true;
    }
    if (a->vec && (a->ctx.sstatus & SSTATUS_VS) == SSTATUS_VS_DIRTY) {
        csr_set(sstatus, SSTATUS_VS_INITIAL);
        vec_save(a->vec);
        a->ctx.sstatus = (a->ctx.sstatus & ~SSTATUS_VS) | SSTATUS_VS_CLEAN;
        saved = true;
    }
    /* Another hart this vCPU ran on before may still hold its older
     * registers under the old token: a new token makes that hart reload
     * them; this hart holds exactly what was saved. */
    if (saved)
        h->fp_token = a->fp_token = vcpu_arch_fp_token_new();
    /* The next entry's sret sets them from its context anyway. */
    if (!next)
        csr_clear(sstatus, SSTATUS_FS | SSTATUS_VS);
    a->last_hart = (int)h->index;
}

void vcpu_arch_put(struct vcpu *v)
{
    arch_put(arch_this_hart(), v, false);
}

/* The exit fast path's switch: v (every register in its context: a
 * virtual-instruction exit) blocks or yields, and the hart goes straight
 * to the next vCPU the scheduler gives it (hart_loop_switch), without
 * returning through the loop; when the loop must decide, or nothing
 * follows, back to it (vcpu_ctx_return).  It never returns: nothing of the
 * guest's lives in the registers any more, and no epilogue runs. */
static inline __attribute__((always_inline, noreturn)) void vcpu_arch_switch(struct vcpu *v,
                                                                             enum exit_action act)
{
    struct hart *h;
    uint64_t sp = v->arch.ctx.host_sp;

    __asm__("mv %0, tp" : "=r"(h)); /* arch_this_hart(), without the call */
    vcpu_arch_left(&v->arch);
    if (!hart_loop_switch_ok(v)) {
        vcpu_arch_exit_slow(v, act); /* vcpu_arch_run repeats vcpu_arch_left */
        vcpu_ctx_return(&v->arch.ctx, sp);
    }
    /* A WFI with an interrupt the hart already shows the guest (hip, as
     * enabled in vsie) does not wait: the vCPU stays runnable without the
     * scheduler's fuller look under its lock (vcpu_has_wakeup). */
    bool woken = act == EXIT_BLOCK && ((csr_read(hip) >> 1) & csr_read(vsie));
    arch_put(h, v, true);
    struct vcpu *n = hart_loop_switch(h, v, act, woken);
    if (!n) {
        /* Nothing follows: what an idle hart must not keep (arch_put). */
        if (riscv_cpu.sstc)
            csr_write(vstimecmp, UINT64_MAX);
        csr_write(hvip, 0);
        csr_clear(sstatus, SSTATUS_FS | SSTATUS_VS);
        vcpu_ctx_return(NULL, sp);
    }
    arch_load(h, n);
    n->arch.ctx.host_sp = sp;
    n->arch.ctx.host_tp = (uintptr_t)h;
    vcpu_arch_enter(n);
    vcpu_ctx_resume(&n->arch.ctx);
}

/* The host timer interrupt, when it is this vCPU's own SBI deadline: what
 * the scheduler's loop would do (VSTIP, the deadline spent, the timer
 * re-armed for the slice's end or a blocked vCPU's wake-up) without going
 * there.  False, with nothing changed, when the loop has more to do: the
 * slice is over, a blocked vCPU is due, the vCPU must leave or be held,
 * or tracing is on (the loop writes the injection's record). */
static inline bool vcpu_arch_timer_fast(struct vcpu *v)
{
    struct hart *h;

    __asm__("mv %0, tp" : "=r"(h)); /* arch_this_hart(), without the call */
    uint64_t now = arch_time();
    if (__atomic_load_n(&h->trace_on, __ATOMIC_RELAXED) || v->timer_deadline > now)
        return false;
    uint64_t next = sched_blocked_next(); /* one due is the loop's to wake */
    if (h->slice_end < next)
        next = h->slice_end;
    if (next <= now || v->stop_requested || __atomic_load_n(&v->hold, __ATOMIC_RELAXED) ||
        __atomic_load_n(&v->vm->state, __ATOMIC_RELAXED) != VM_RUNNING)
        return false;
    v->exits[EXIT_TIMER]++;
    v->timer_deadline = UINT64_MAX;
    csr_set(hvip, HVIP_VSTIP);
    h->timer = next;
    arch_timer_set(next);
    return true;
}

/* The exit fast path.  The exit was stored in ctx and Vireo's sp and
 * tp are back; the host registers vcpu_ctx_enter saved stay where they
 * are.  Interrupts (timer, IPI, external) go straight back to the
 * scheduler, which owns the slice and the host timer.  Exceptions are
 * handled here through the one table, vcpu_exit(); the guest is then
 * re-entered at once unless the scheduler's loop would have done more
 * than re-enter: the vCPU blocks, yields or leaves, its VM is ending, its
 * SBI deadline is already due, or it has work of its own pending (an
 * interrupt it raised for itself, a fence it asked of itself, a change of
 * its PLIC line).
 *
 * in_guest stays 1 throughout: to another hart this vCPU is still in the
 * guest, so whatever it asks of it (fences, interrupts, leaving) comes
 * with an IPI, which this hart takes the moment it re-enters the guest
 * (HS interrupts are always enabled while V=1), and `entries` does not
 * move, so sched_sync_vcpu() keeps waiting until that real exit.  A
 * handler that itself waits for another vCPU (sched_sync_vcpu) clears
 * in_guest first, so two vCPUs fencing each other cannot deadlock; it is
 * then raised again here with the same ordering as vcpu_arch_run. */
/* The end of the fast path, once the exit was handled (act): back into
 * the guest unless the scheduler's loop has more to do.  Inlined into
 * both callers below. */
static inline __attribute__((always_inline)) long vcpu_arch_reenter(struct vcpu *v,
                                                                    enum exit_action act)
{
    struct vcpu_arch *a = &v->arch;

    if (!__atomic_load_n(&a->in_guest, __ATOMIC_RELAXED)) {
        __atomic_store_n(&a->in_guest, 1, __ATOMIC_RELAXED);
        /* Orders the store before the loads below, as the sequentially
         * consistent store and loads of vcpu_arch_run do. */
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
    }
    /* Seeing one of these is enough: the scheduler's path takes them with
     * the proper ordering (vcpu_arch_run). */
    if (__atomic_load_n(&a->fences, __ATOMIC_RELAXED) ||
        __atomic_load_n(&a->hvip_pending, __ATOMIC_RELAXED) ||
        __atomic_load_n(&v->eip, __ATOMIC_RELAXED) != a->eip_in)
        return vcpu_arch_exit_slow(v, act);
    /* Only the registers a C call may clobber need reloading, unless the
     * exit changed one of the others (never an SBI call: it writes a0, a1). */
    if (a->reload_all) {
        a->reload_all = 0;
        return 2;
    }
    return 1;
}

/* Interrupts: the host timer when it is this vCPU's SBI deadline is
 * handled here (vcpu_arch_timer_fast); every other goes to the
 * scheduler.  Out of line: the exceptions' path stays as short as it was. */
static __attribute__((noinline)) long vcpu_arch_exit_irq(struct vcpu *v)
{
    if (v->arch.ctx.scause != (CAUSE_INTERRUPT | IRQ_S_TIMER) || !vcpu_arch_timer_fast(v))
        return 0;
    return vcpu_arch_reenter(v, EXIT_RESUME);
}

/* full: every register is in ctx (vcpu_arch_exit_full); otherwise a load
 * or store guest-page fault lacks GUEST_SREGS (switch.S), and an exit
 * that needs them returns 3 having done nothing.  virt: a
 * virtual-instruction exit (vcpu_arch_exit_virtual), the one that may
 * switch the hart to the next vCPU. */
static inline __attribute__((always_inline)) long vcpu_arch_exit(struct vcpu_ctx *ctx, bool full,
                                                                 bool virt)
{
    struct vcpu *v = (struct vcpu *)ctx; /* ctx is first in vcpu_arch, arch first in vcpu */

    if (ctx->scause & CAUSE_INTERRUPT)
        return vcpu_arch_exit_irq(v);
    /* The hart's copy of the enabled trace classes (core/trace.h): one
     * load from tp and a branch are all tracing costs here when it is off. */
    long traced; /* its low word is enough (classes fit in 7 bits), little-endian */
    __asm__ volatile("lw %0, %1(tp)" : "=r"(traced) : "i"(offsetof(struct hart, trace_on)));
    /* hvip stays in the CSR (handlers change it with vcpu_arch_lower). */
    enum exit_action act;
    if (__builtin_expect(traced != 0, 0)) {
        /* The traced path is written for a whole context, and never takes
         * the switch (the loop writes the visits' records). */
        if (!full && (ctx->scause == CAUSE_LOAD_GUEST_PAGE_FAULT ||
                      ctx->scause == CAUSE_STORE_GUEST_PAGE_FAULT))
            return 3;
        act = vcpu_exit_traced(v);
        if (act != EXIT_RESUME || v->stop_requested ||
            __atomic_load_n(&v->vm->state, __ATOMIC_RELAXED) != VM_RUNNING)
            return vcpu_arch_exit_slow(v, act);
        return vcpu_arch_reenter(v, act);
    }
    act = full ? vcpu_exit(v) : vcpu_exit_partial(v);
    if (act != EXIT_RESUME || v->stop_requested ||
        __atomic_load_n(&v->vm->state, __ATOMIC_RELAXED) != VM_RUNNING) {
        if (!full && act == EXIT_NEED_REGS)
            return 3;
        if (virt && (act == EXIT_BLOCK || act == EXIT_YIELD) && !v->stop_requested &&
            __atomic_load_n(&v->vm->state, __ATOMIC_RELAXED) == VM_RUNNING)
            vcpu_arch_switch(v, act);
        return vcpu_arch_exit_slow(v, act);
    }
    /* A new SBI deadline was given to the hart's timer by the call itself
     * (sbi_time_set). */
    return vcpu_arch_reenter(v, act);
}

long vcpu_arch_exit_fast(struct vcpu_ctx *ctx)
{
    return vcpu_arch_exit(ctx, false, false);
}

long vcpu_arch_exit_full(struct vcpu_ctx *ctx)
{
    return vcpu_arch_exit(ctx, true, false);
}

long vcpu_arch_exit_virtual(struct vcpu_ctx *ctx)
{
    /* switch.S calls it for this cause alone: the exit table's other
     * tests fold away. */
    if (ctx->scause != CAUSE_VIRTUAL_INSN)
        __builtin_unreachable();
    return vcpu_arch_exit(ctx, true, true);
}
