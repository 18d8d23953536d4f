/* SPDX-License-Identifier: Apache-2.0 */
/* Every exit from a guest comes through vcpu_exit(): one table by cause. */
#include "arch/arch.h"
#include "core/hart.h"
#include "core/dirty.h"
#include "core/irq.h"
#include "core/misaligned.h"
#include "core/mmio.h"
#include "core/sbi/sbi.h"
#include "core/trace.h"
#include "core/trap.h"
#include "core/vcpu.h"
#include "core/vm.h"
#include "core/vm_debug.h"
#include "core/vm_life.h"
#include "lib/compiler.h"

typedef enum exit_action (*exit_handler)(struct vcpu *v);

static const char *guest_mode(const struct vcpu *v)
{
    return (v->arch.ctx.sstatus & SSTATUS_SPP) ? "VS" : "VU";
}

/* The traced exit path's SBI record: what the guest asked (read before
 * the call, which may change the registers) and what it got. */
static __attribute__((noinline)) enum exit_action exit_ecall_traced(struct vcpu *v)
{
    const uint64_t *x = v->arch.ctx.gpr;
    uint64_t eid = x[17], fid = x[16];
    enum exit_action act = sbi_dispatch(v);

    if (trace_wants(TRACE_SBI))
        trace_emit(TRACE_EV_SBI, (uint16_t)v->vm->index, (uint16_t)v->id, (uint16_t)fid,
                   (eid & 0xffffffffu) | x[10] << 32, x[11]);
    return act;
}

/* traced is a constant wherever this is inlined (here and below): the
 * untraced copy has no hook at all. */
static INLINE_ALWAYS enum exit_action exit_ecall(struct vcpu *v, bool traced)
{
    v->exits[EXIT_SBI]++;
    v->arch.ctx.sepc += 4;
    return traced ? exit_ecall_traced(v) : sbi_dispatch(v);
}

static INLINE_ALWAYS enum exit_action exit_guest_page_fault(struct vcpu *v, bool traced,
                                                            bool partial)
{
    const struct vcpu_ctx *c = &v->arch.ctx;
    /* htval holds the guest physical address shifted right by 2; stval
     * supplies the low bits (with a guest virtual address in it). */
    uint64_t gpa = (c->htval << 2) | (c->stval & 3);
    uint64_t code = c->scause & ~CAUSE_INTERRUPT;

    bool store = code == CAUSE_STORE_GUEST_PAGE_FAULT;
    struct mmio_dev *d = NULL;

    if (code != CAUSE_FETCH_GUEST_PAGE_FAULT) {
        /* The vCPU's last access again (a driver polling a register)? */
        if (mmio_hit(v, gpa, store)) {
            if (partial && v->mmio_hit.live)
                return EXIT_NEED_REGS;
            v->exits[EXIT_MMIO]++;
            return traced ? mmio_emulate_hit_traced(v) : mmio_emulate_hit(v);
        }
        /* Its device first: one comparison instead of a walk of the bus. */
        d = v->mmio_hit.d;
        if (!d || gpa - d->base >= d->size)
            d = vm_find_device(v->vm, gpa, 1);
    }
    if (d) {
        if (partial)
            return EXIT_NEED_REGS; /* a miss: the decode may name any register */
        v->exits[EXIT_MMIO]++;
        return traced ? mmio_emulate_traced(v, d, gpa, store) : mmio_emulate(v, d, gpa, store);
    }
    /* In RAM: a store to a page dirty logging write-protected (or one that
     * is writable again and this hart's TLB did not know yet). */
    if (code == CAUSE_STORE_GUEST_PAGE_FAULT && gpa_is_ram(v->vm, gpa, 1) &&
        vm_dirty_fault(v->vm, gpa)) {
        v->exits[EXIT_DIRTY]++;
        return EXIT_RESUME;
    }
    v->exits[EXIT_GUEST_FAULT]++;
    vm_end(v->vm, VM_END_STOPPED, "%s at gpa %#lx (outside RAM and devices), pc %#lx in %s-mode",
           trap_cause_name(c->scause), (unsigned long)gpa, (unsigned long)c->sepc, guest_mode(v));
    return EXIT_LEAVE;
}

/* WFI waits only from VS-mode: in U-mode, with S-mode present, it is an
 * illegal instruction (privileged spec, WFI), as a guest kernel expects
 * of its user programs. */
static INLINE_ALWAYS bool insn_waits(uint32_t insn, uint64_t sstatus)
{
    return insn == INSN_WFI && (sstatus & SSTATUS_SPP);
}

/* WFI from VS-mode: the vCPU waits (the scheduler decides whether it
 * blocks: it does not with an interrupt pending). */
static INLINE_ALWAYS enum exit_action exit_wfi(struct vcpu *v)
{
    v->exits[EXIT_WFI]++;
    v->arch.ctx.sepc += 4;
    return EXIT_BLOCK;
}

static enum exit_action exit_virtual_insn(struct vcpu *v)
{
    struct vcpu_ctx *c = &v->arch.ctx;
    uint32_t insn = (uint32_t)c->stval;

    v->exits[EXIT_VIRTUAL_INSN]++;
    if (!insn && !vcpu_arch_read_insn(&v->arch, c->sepc, &insn))
        insn = 0;
    if (insn_waits(insn, c->sstatus))
        return exit_wfi(v);
    /* Zawrs: with hstatus.VTW set (Vireo's WFI exits) and mstatus.TW clear,
     * a WRS.NTO that does not complete at once traps as a virtual
     * instruction, from VS- and VU-mode alike (Zawrs specification).  It
     * only waits for a store to a reservation set, which another vCPU
     * makes: step past it and give the hart away.  WRS.STO waits a bounded
     * time and does not trap; treated the same if a hart makes it. */
    if (insn == INSN_WRS_NTO || insn == INSN_WRS_STO) {
        v->exits[EXIT_WRS]++;
        c->sepc += 4;
        return EXIT_YIELD;
    }
    /* Anything else VS-mode may not do (hypervisor CSRs, HFENCE, ...) is,
     * for the guest, an instruction that does not exist. */
    vcpu_arch_inject_exception(&v->arch, CAUSE_ILLEGAL_INSN, insn);
    return EXIT_RESUME;
}

/* A guest's idle loop exits with WFI each time it has nothing to do, and a
 * vCPU that gives its hart away does too: the WFI the trap reported
 * (stval) is taken here, inline, everything else out of line. */
static INLINE_ALWAYS enum exit_action exit_virtual_insn_fast(struct vcpu *v)
{
    const struct vcpu_ctx *c = &v->arch.ctx;

    if (insn_waits((uint32_t)c->stval, c->sstatus)) {
        v->exits[EXIT_VIRTUAL_INSN]++;
        return exit_wfi(v);
    }
    return exit_virtual_insn(v);
}

static enum exit_action exit_timer(struct vcpu *v)
{
    v->exits[EXIT_TIMER]++;
    /* The host timer served either this vCPU's SBI deadline or the end of
     * its slice; the scheduler looks at both.  Force a reprogram. */
    arch_this_hart()->timer = 0;
    return EXIT_RESUME;
}

static enum exit_action exit_ipi(struct vcpu *v)
{
    v->exits[EXIT_IPI]++;
    arch_ipi_clear();
    return EXIT_RESUME;
}

static enum exit_action exit_external(struct vcpu *v)
{
    v->exits[EXIT_EXTERNAL]++;
    irq_dispatch();
    return EXIT_RESUME;
}

static enum exit_action exit_unexpected(struct vcpu *v)
{
    const struct vcpu_ctx *c = &v->arch.ctx;

    v->exits[EXIT_OTHER]++;
    vm_end(v->vm, VM_END_STOPPED, "unexpected %s (scause %#lx) at pc %#lx, stval %#lx in %s-mode",
           trap_cause_name(c->scause), (unsigned long)c->scause, (unsigned long)c->sepc,
           (unsigned long)c->stval, guest_mode(v));
    return EXIT_LEAVE;
}

/* Only when the guest turned their delegation off (SBI FWFT). */
static enum exit_action exit_misaligned(struct vcpu *v)
{
    v->exits[EXIT_OTHER]++;
    return misaligned_emulate(v);
}

/* Only while a debugger is attached (vm_debug hands ebreak to Vireo). */
static enum exit_action exit_breakpoint(struct vcpu *v)
{
    v->exits[EXIT_OTHER]++;
    return vm_debug_breakpoint(v);
}

/* The fetch guest-page fault (never MMIO: it ends the VM); ecalls,
 * load/store faults and virtual instructions are taken before the
 * table. */
static enum exit_action exit_fetch_fault(struct vcpu *v)
{
    return exit_guest_page_fault(v, false, false);
}

static const exit_handler exception_table[CAUSE_STORE_GUEST_PAGE_FAULT + 1] = {
    [CAUSE_BREAKPOINT] = exit_breakpoint,
    [CAUSE_MISALIGNED_FETCH] = exit_misaligned,
    [CAUSE_MISALIGNED_LOAD] = exit_misaligned,
    [CAUSE_MISALIGNED_STORE] = exit_misaligned,
    [CAUSE_FETCH_GUEST_PAGE_FAULT] = exit_fetch_fault,
};

static const exit_handler interrupt_table[IRQ_S_EXT + 1] = {
    [IRQ_S_SOFT] = exit_ipi,     /* a kick from another hart */
    [IRQ_S_TIMER] = exit_timer,  /* slice end or an SBI deadline */
    [IRQ_S_EXT] = exit_external, /* the host's own devices, through its PLIC */
};

static INLINE_ALWAYS enum exit_action exit_dispatch(struct vcpu *v, bool traced, bool partial)
{
    uint64_t cause = v->arch.ctx.scause;
    uint64_t code = cause & ~CAUSE_INTERRUPT;
    exit_handler fn = NULL;

    /* The commonest exits (SBI calls, MMIO loads and stores, WFI) are
     * taken before the table, as calls the compiler can inline. */
    if (cause == CAUSE_VS_ECALL)
        return exit_ecall(v, traced);
    if (cause == CAUSE_LOAD_GUEST_PAGE_FAULT || cause == CAUSE_STORE_GUEST_PAGE_FAULT)
        return exit_guest_page_fault(v, traced, partial);
    if (cause & CAUSE_INTERRUPT) {
        if (code < sizeof(interrupt_table) / sizeof(interrupt_table[0]))
            fn = interrupt_table[code];
    } else if (cause == CAUSE_VIRTUAL_INSN) {
        return exit_virtual_insn_fast(v);
    } else if (code < sizeof(exception_table) / sizeof(exception_table[0])) {
        fn = exception_table[code];
    }
    return (fn ? fn : exit_unexpected)(v);
}

INLINE_ALWAYS enum exit_action vcpu_exit(struct vcpu *v)
{
    return exit_dispatch(v, false, false);
}

INLINE_ALWAYS enum exit_action vcpu_exit_partial(struct vcpu *v)
{
    return exit_dispatch(v, false, true);
}

/* Out of line: the exit path pays for tracing only when it is on. */
__attribute__((noinline)) enum exit_action vcpu_exit_traced(struct vcpu *v)
{
    const struct vcpu_ctx *c = &v->arch.ctx;
    uint16_t vm = (uint16_t)v->vm->index, id = (uint16_t)v->id;
    uint16_t cause =
        (uint16_t)((c->scause & 0x7fff) | ((c->scause & CAUSE_INTERRUPT) ? TRACE_CAUSE_IRQ : 0));
    bool on = trace_wants(TRACE_EXIT);

    if (on) {
        uint64_t addr = c->stval;
        if (c->scause == CAUSE_VS_ECALL || (c->scause & CAUSE_INTERRUPT))
            addr = 0; /* no trap value, and the saved one is stale (switch.S) */
        else if (c->scause == CAUSE_FETCH_GUEST_PAGE_FAULT ||
                 c->scause == CAUSE_LOAD_GUEST_PAGE_FAULT ||
                 c->scause == CAUSE_STORE_GUEST_PAGE_FAULT)
            addr = (c->htval << 2) | (c->stval & 3);
        trace_exit_begin(vm, id, cause, c->sepc, addr);
    }
    enum exit_action act = exit_dispatch(v, true, false);
    if (on)
        trace_exit_end(vm, id, cause, act);
    return act;
}
