/* SPDX-License-Identifier: Apache-2.0 */
/* Moving a vCPU's state in and out of the hart: the H-extension CSRs,
 * lazy FP and vector switching, TLB maintenance, host timer and IPIs.
 *
 * Lazy FP/vector: Vireo itself never uses these registers, so they keep
 * a vCPU's values across its exits.  They are saved only when the guest
 * dirtied them (sstatus.FS/VS = Dirty) and the vCPU leaves the hart, and
 * restored only when a different vCPU used them since (a per-hart token).
 * The HS-level FS/VS stay on while a guest runs, so the guest's own
 * vsstatus alone decides whether it may use them. */
#include "arch/riscv/vcpu_arch.h"

#include "arch/arch.h"
#include "arch/riscv/csr.h"
#include "arch/riscv/sbi.h"
#include "core/hart.h"
#include "core/trap.h"
#include "core/vm.h"
#include "lib/string.h"

/* hstatus */
#define HSTATUS_SPV  (1ULL << 7)
#define HSTATUS_SPVP (1ULL << 8)
#define HSTATUS_VTW  (1ULL << 21)
#define HSTATUS_VSXL (2ULL << 32) /* 64-bit VS-mode */
/* vsstatus.UXL: 64-bit VU-mode */
#define VSSTATUS_UXL       (2ULL << 32)
#define SSTATUS_FS_INITIAL (1ULL << 13)
#define SSTATUS_FS_CLEAN   (2ULL << 13)
#define SSTATUS_FS_DIRTY   (3ULL << 13)
#define SSTATUS_VS_INITIAL (1ULL << 9)
#define SSTATUS_VS_CLEAN   (2ULL << 9)
#define SSTATUS_VS_DIRTY   (3ULL << 9)
#define CAUSE_VS_ECALL     10
/* henvcfg */
#define HENVCFG_STCE (1ULL << 63)

/* Exceptions the guest handles itself (hedeleg) and its own interrupts
 * (hideleg): everything a real S-mode kernel expects to see directly. */
#define HEDELEG_GUEST                                                                              \
    ((1ULL << 0) | (1ULL << 2) | (1ULL << 3) | (1ULL << 4) | (1ULL << 6) | (1ULL << 8) |           \
     (1ULL << 12) | (1ULL << 13) | (1ULL << 15))
#define HIDELEG_GUEST (HVIP_VSSIP | HVIP_VSTIP | HVIP_VSEIP)

static bool host_sstc;
static bool host_vector;
static uint64_t guest_henvcfg;
static uint64_t fp_tokens;

uint64_t arch_hlvx_hu(uint64_t va, int *fault);
uint64_t arch_hlv_d(uint64_t va, int *fault);

size_t arch_vector_state_size(void)
{
    if (!host_vector)
        return 0;
    csr_set(sstatus, SSTATUS_VS_INITIAL);
    size_t n = VEC_HEADER + 32 * vec_vlenb();
    csr_clear(sstatus, SSTATUS_VS);
    return n;
}

void arch_hart_irq_init(bool use_sstc, bool use_vector)
{
    host_sstc = use_sstc;
    host_vector = use_vector;
    guest_henvcfg = use_sstc ? HENVCFG_STCE : 0;
    csr_write(hedeleg, HEDELEG_GUEST);
    csr_write(hideleg, HIDELEG_GUEST);
    csr_write(hcounteren, 7); /* guests read cycle, time and instret */
    csr_write(htimedelta, 0);
    csr_write(hvip, 0);
    csr_write(henvcfg, guest_henvcfg);
    if (use_sstc)
        csr_write(stimecmp, UINT64_MAX);
    /* Timer, IPIs and the host's own device interrupts end a guest's run
     * (HS interrupts are always taken while V=1) and wake wfi; in Vireo
     * itself SIE stays 0. */
    csr_write(sie, (1ULL << IRQ_S_SOFT) | (1ULL << IRQ_S_TIMER) | (1ULL << IRQ_S_EXT));
}

void arch_gstage_probe(struct gstage_caps *caps)
{
    /* An unsupported MODE makes the whole hgatp write have no effect, and
     * VMID bits that are not implemented read back as zero. */
    static const unsigned modes[] = {8, 9, 10};
    bool *ok[] = {&caps->sv39x4, &caps->sv48x4, &caps->sv57x4};

    for (int i = 0; i < 3; i++) {
        csr_write(hgatp, (uint64_t)modes[i] << 60);
        *ok[i] = (csr_read(hgatp) >> 60) == modes[i];
    }
    csr_write(hgatp, (8ULL << 60) | (0x3fffULL << 44));
    uint64_t vmid = (csr_read(hgatp) >> 44) & 0x3fff;
    caps->vmid_bits = 0;
    while (vmid & (1ULL << caps->vmid_bits))
        caps->vmid_bits++;
    csr_write(hgatp, 0);
    arch_hfence_gvma_all();
}

void vcpu_arch_reset(struct vcpu *v, uint64_t pc, uint64_t a0, uint64_t a1)
{
    struct vcpu_arch *a = &v->arch;
    void *vec = a->vec;

    memset(a, 0, sizeof(*a));
    a->vec = vec;
    if (vec)
        memset(vec, 0, arch_vector_state_size());
    a->ctx.sepc = pc;
    a->ctx.gpr[10] = a0;
    a->ctx.gpr[11] = a1;
    /* sret goes to VS-mode (SPV, SPP); FP is on at the HS level so the
     * guest alone decides, through its vsstatus.FS. */
    a->ctx.sstatus = SSTATUS_SPP | SSTATUS_FS_CLEAN | (vec ? SSTATUS_VS_CLEAN : 0);
    a->ctx.hstatus = HSTATUS_VSXL | HSTATUS_SPV | HSTATUS_SPVP | HSTATUS_VTW;
    a->vsstatus = VSSTATUS_UXL;
    a->vstimecmp = UINT64_MAX;
    a->fp_token = __atomic_add_fetch(&fp_tokens, 1, __ATOMIC_RELAXED);
    a->last_hart = -1;
}

void vcpu_arch_resume(struct vcpu *v, uint64_t pc, uint64_t a0, uint64_t a1)
{
    struct vcpu_arch *a = &v->arch;

    a->ctx.sepc = pc;
    a->ctx.gpr[10] = a0;
    a->ctx.gpr[11] = a1;
    a->ctx.sstatus |= SSTATUS_SPP;
    a->vsatp = 0;
    a->vsstatus &= ~SSTATUS_SIE;
}

void vcpu_arch_load(struct vcpu *v)
{
    struct hart *h = arch_this_hart();
    struct vcpu_arch *a = &v->arch;
    struct vm *vm = v->vm;
    unsigned slot = vm->vmid % HART_VMID_SLOTS;

    csr_write(hgatp, gstage_hgatp(&vm->gs, (uint16_t)vm->vmid));
    /* G-stage entries of this VMID may belong to an earlier VM that had it
     * (VMIDs are reused); VS-stage entries may belong to another vCPU of
     * this VM, or be stale from this vCPU's last visit here. */
    if (h->vmid_uid[slot] != vm->uid) {
        arch_hfence_gvma_vmid(vm->vmid);
        arch_hfence_vvma_vmid(vm->vmid);
        h->vmid_uid[slot] = vm->uid;
        h->vmid_vcpu[slot] = v;
    } else if (h->vmid_vcpu[slot] != v || a->last_hart != (int)h->index) {
        arch_hfence_vvma_vmid(vm->vmid);
        h->vmid_vcpu[slot] = v;
    }

    csr_write(vsstatus, a->vsstatus);
    csr_write(vsie, a->vsie);
    csr_write(vstvec, a->vstvec);
    csr_write(vsscratch, a->vsscratch);
    csr_write(vsepc, a->vsepc);
    csr_write(vscause, a->vscause);
    csr_write(vstval, a->vstval);
    csr_write(vsatp, a->vsatp);
    csr_write(henvcfg, guest_henvcfg);
    if (host_sstc)
        csr_write(vstimecmp, a->vstimecmp);

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
    a->ctx.sstatus = (a->ctx.sstatus & ~SSTATUS_FS) | SSTATUS_FS_CLEAN;
    if (a->vec)
        a->ctx.sstatus = (a->ctx.sstatus & ~SSTATUS_VS) | SSTATUS_VS_CLEAN;
}

void vcpu_arch_run(struct vcpu *v)
{
    struct vcpu_arch *a = &v->arch;
    /* in_guest goes up before the fence check: a requester that sees it
     * down knows its fence will be checked before the next entry. */
    __atomic_store_n(&a->in_guest, 1, __ATOMIC_SEQ_CST);
    uint64_t pending = __atomic_exchange_n(&a->hvip_pending, 0, __ATOMIC_ACQUIRE);

    if (__atomic_load_n(&a->fences, __ATOMIC_SEQ_CST)) {
        uint32_t f = __atomic_exchange_n(&a->fences, 0, __ATOMIC_ACQUIRE);
        if (f & VCPU_FENCE_VVMA)
            arch_hfence_vvma_vmid(v->vm->vmid);
        if (f & VCPU_FENCE_I)
            arch_fence_i();
    }

    a->hvip |= pending;
    /* VSEIP follows the virtual PLIC's output for this vCPU: a level. */
    if (__atomic_load_n(&v->eip, __ATOMIC_ACQUIRE))
        a->hvip |= HVIP_VSEIP;
    else
        a->hvip &= ~HVIP_VSEIP;
    csr_write(hvip, a->hvip);
    __atomic_store_n(&a->entries, a->entries + 1, __ATOMIC_RELAXED);
    vcpu_ctx_enter(&a->ctx);
    __atomic_store_n(&a->in_guest, 0, __ATOMIC_RELEASE);
    /* The guest clears its own VSSIP through sip, which is hvip's bit. */
    a->hvip = csr_read(hvip);
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
long vcpu_arch_exit_fast(struct vcpu_ctx *ctx)
{
    struct vcpu *v = (struct vcpu *)ctx; /* ctx is first in vcpu_arch, arch first in vcpu */
    struct vcpu_arch *a = &v->arch;
    struct hart *h;

    if (ctx->scause & TRAP_CAUSE_INTERRUPT)
        return 0;
    /* hvip stays in the CSR (handlers change it with vcpu_arch_lower). */
    enum exit_action act = vcpu_exit(v);
    if (act != EXIT_RESUME || v->stop_requested ||
        __atomic_load_n(&v->vm->state, __ATOMIC_RELAXED) != VM_RUNNING)
        goto slow;
    /* A new SBI deadline before the hart's timer (slice end, the old
     * deadline or a blocked vCPU's): program it, as the scheduler would.
     * One already due is the scheduler's to turn into VSTIP.  A later one
     * leaves the timer early: it exits once and the scheduler reprograms. */
    __asm__("mv %0, tp" : "=r"(h)); /* arch_this_hart(), without the call */
    if (v->timer_deadline < h->timer) {
        if (v->timer_deadline <= arch_time())
            goto slow;
        h->timer = v->timer_deadline;
        arch_timer_set(h->timer);
    }
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
        !__atomic_load_n(&v->eip, __ATOMIC_RELAXED) != !(a->hvip & HVIP_VSEIP))
        goto slow;
    /* Only the registers a C call may clobber need reloading, unless the
     * exit changed one of the others (never an SBI call: it writes a0, a1). */
    if (a->reload_all) {
        a->reload_all = 0;
        return 2;
    }
    return 1;

slow:
    a->reload_all = 0; /* the scheduler's entry reloads everything */
    a->exit_act = act;
    a->exit_done = 1;
    return 0;
}

void vcpu_arch_lower(struct vcpu *v, uint64_t bits)
{
    /* a->hvip is what the next entry loads (scheduler's path); the CSR is
     * what the fast path re-enters with. */
    v->arch.hvip &= ~bits;
    csr_clear(hvip, bits);
}

void vcpu_arch_put(struct vcpu *v)
{
    struct hart *h = arch_this_hart();
    struct vcpu_arch *a = &v->arch;

    a->vsstatus = csr_read(vsstatus);
    a->vsie = csr_read(vsie);
    a->vstvec = csr_read(vstvec);
    a->vsscratch = csr_read(vsscratch);
    a->vsepc = csr_read(vsepc);
    a->vscause = csr_read(vscause);
    a->vstval = csr_read(vstval);
    a->vsatp = csr_read(vsatp);
    if (host_sstc) {
        a->vstimecmp = csr_read(vstimecmp);
        csr_write(vstimecmp, UINT64_MAX);
    }
    /* A VS-level interrupt left pending in the CSRs (a stale vstimecmp, an
     * hvip bit) would keep waking this hart's wfi once it idles. */
    csr_write(hvip, 0);
    if ((a->ctx.sstatus & SSTATUS_FS) == SSTATUS_FS_DIRTY) {
        csr_set(sstatus, SSTATUS_FS_INITIAL);
        fp_save(&a->fp);
        a->ctx.sstatus = (a->ctx.sstatus & ~SSTATUS_FS) | SSTATUS_FS_CLEAN;
    }
    if (a->vec && (a->ctx.sstatus & SSTATUS_VS) == SSTATUS_VS_DIRTY) {
        csr_set(sstatus, SSTATUS_VS_INITIAL);
        vec_save(a->vec);
        a->ctx.sstatus = (a->ctx.sstatus & ~SSTATUS_VS) | SSTATUS_VS_CLEAN;
    }
    csr_clear(sstatus, SSTATUS_FS | SSTATUS_VS);
    a->last_hart = (int)h->index;
}

void vcpu_arch_inject_exception(struct vcpu *v, uint64_t cause, uint64_t tval)
{
    struct vcpu_arch *a = &v->arch;
    uint64_t vss = csr_read(vsstatus);

    /* What the hardware does on a trap into VS-mode: remember the pc and
     * the mode it came from, disable interrupts, jump to vstvec. */
    csr_write(vsepc, a->ctx.sepc);
    csr_write(vscause, cause);
    csr_write(vstval, tval);
    vss &= ~(SSTATUS_SPP | SSTATUS_SPIE);
    if (a->ctx.sstatus & SSTATUS_SPP)
        vss |= SSTATUS_SPP;
    if (vss & SSTATUS_SIE)
        vss |= SSTATUS_SPIE;
    vss &= ~SSTATUS_SIE;
    csr_write(vsstatus, vss);
    a->ctx.sepc = csr_read(vstvec) & ~3ULL;
    a->ctx.sstatus |= SSTATUS_SPP; /* the handler runs in VS-mode */
}

bool vcpu_arch_read_guest_u64(struct vcpu *v, uint64_t va, uint64_t *value)
{
    int fault;
    (void)v;
    /* SPVP says which privilege the access uses: the guest's current one. */
    uint64_t hs = csr_read(hstatus);
    csr_write(hstatus,
              (hs & ~HSTATUS_SPVP) | ((v->arch.ctx.sstatus & SSTATUS_SPP) ? HSTATUS_SPVP : 0));
    *value = arch_hlv_d(va, &fault);
    csr_write(hstatus, hs);
    return !fault;
}

bool vcpu_arch_read_insn(struct vcpu *v, uint64_t pc, uint32_t *insn)
{
    int fault;
    (void)v;
    uint64_t lo = arch_hlvx_hu(pc, &fault);

    if (fault)
        return false;
    if ((lo & 3) != 3) {
        *insn = (uint32_t)lo;
        return true;
    }
    uint64_t hi = arch_hlvx_hu(pc + 2, &fault);
    if (fault)
        return false;
    *insn = (uint32_t)(lo | (hi << 16));
    return true;
}

void arch_fence_i(void)
{
    __asm__ volatile("fence.i" ::: "memory");
}

void arch_timer_set(uint64_t deadline)
{
    if (host_sstc)
        csr_write(stimecmp, deadline);
    else
        sbi_ecall(SBI_EXT_TIME, 0, deadline, 0, 0);
}

void arch_ipi_send(unsigned long hartid)
{
    sbi_ecall(SBI_EXT_IPI, SBI_IPI_SEND_IPI, 1, hartid, 0);
}

void arch_ipi_clear(void)
{
    csr_clear(sip, 1ULL << IRQ_S_SOFT);
}

void arch_wait_for_interrupt(void)
{
    __asm__ volatile("wfi" ::: "memory");
}
