/* SPDX-License-Identifier: Apache-2.0 */
/* A vCPU's architectural state outside the world switch: its reset and
 * resume values, exceptions injected into it, interrupt bits withdrawn,
 * and reads of guest memory through the guest's own translation (HLV,
 * HLVX).  Services for portable code (declared in vcpu_arch.h); nothing
 * here calls portable code. */
#include "arch/riscv/vcpu_arch.h"

#include "arch/arch.h"
#include "arch/riscv/cpu.h"
#include "arch/riscv/csr.h"
#include "lib/string.h"

static uint64_t fp_tokens;

uint64_t arch_hlvx_hu(uint64_t va, int *fault);
uint64_t arch_hlv_d(uint64_t va, int *fault);
uint64_t arch_hlv_bu(uint64_t va, uint64_t *cause);
void arch_hsv_b(uint64_t va, uint64_t value, uint64_t *cause);

void vcpu_arch_reset(struct vcpu_arch *a, uint64_t pc, uint64_t a0, uint64_t a1)
{
    void *vec = a->vec;
    struct vcpu_hctl hctl = a->hctl;

    memset(a, 0, sizeof(*a));
    a->vec = vec;
    a->hctl = hctl;
    if (vec)
        memset(vec, 0, arch_vector_state_size());
    a->ctx.sepc = pc;
    a->ctx.gpr[10] = a0;
    a->ctx.gpr[11] = a1;
    /* sret goes to VS-mode (SPV, SPP); FP is on at the HS level so the
     * guest alone decides, through its vsstatus.FS. */
    a->ctx.sstatus = SSTATUS_SPP | SSTATUS_FS_CLEAN | (vec ? SSTATUS_VS_CLEAN : 0);
    a->ctx.hstatus = VCPU_HSTATUS_RESET;
    a->vsstatus = SSTATUS_UXL_64;
    a->vstimecmp = UINT64_MAX;
    a->scounteren = __atomic_load_n(&riscv_cpu.scounteren_reset, __ATOMIC_RELAXED);
    a->senvcfg = __atomic_load_n(&riscv_cpu.senvcfg_reset, __ATOMIC_RELAXED);
    a->hedeleg = VCPU_HEDELEG_RESET;   /* FWFT features reset with the hart */
    a->fp_token = VCPU_FP_TOKEN_RESET; /* fp and vec are zero (memset above) */
    a->last_hart = -1;
}

uint64_t vcpu_arch_fp_token_new(void)
{
    return __atomic_add_fetch(&fp_tokens, 1, __ATOMIC_RELAXED);
}

void vcpu_arch_invalidate(struct vcpu_arch *a)
{
    a->fp_token = __atomic_add_fetch(&fp_tokens, 1, __ATOMIC_RELAXED);
    a->last_hart = -1;
    vcpu_arch_request_fence(a, VCPU_FENCE_I | VCPU_FENCE_VVMA);
}

void vcpu_arch_resume(struct vcpu_arch *a, uint64_t pc, uint64_t a0, uint64_t a1)
{
    a->ctx.sepc = pc;
    a->ctx.gpr[10] = a0;
    a->ctx.gpr[11] = a1;
    a->ctx.sstatus |= SSTATUS_SPP;
    a->vsatp = 0;
    a->vsstatus &= ~SSTATUS_SIE;
}

void vcpu_arch_lower(struct vcpu_arch *a, uint64_t bits)
{
    /* a->hvip is what the next entry loads (scheduler's path); the CSR is
     * what the fast path re-enters with. */
    a->hvip &= ~bits;
    csr_clear(hvip, bits);
}

void vcpu_arch_inject_exception(struct vcpu_arch *a, uint64_t cause, uint64_t tval)
{
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

bool vcpu_arch_read_guest_u64(struct vcpu_arch *a, uint64_t va, uint64_t *value)
{
    int fault;
    /* SPVP says which privilege the access uses: the guest's current one. */
    uint64_t hs = csr_read(hstatus);
    csr_write(hstatus, (hs & ~HSTATUS_SPVP) | ((a->ctx.sstatus & SSTATUS_SPP) ? HSTATUS_SPVP : 0));
    *value = arch_hlv_d(va, &fault);
    csr_write(hstatus, hs);
    return !fault;
}

bool vcpu_arch_read_insn(struct vcpu_arch *a, uint64_t pc, uint32_t *insn)
{
    int fault;
    (void)a;
    /* A fault here is a trap from HS-mode, which sets hstatus.SPV to 0
     * (and GVA): the exit fast path returns to the guest with hstatus as
     * it stands, so it must be put back, or the guest would resume in
     * HS-mode.  (A vCPU of the same guest can unmap the page between the
     * exit and this read.)  SPVP, set by the exit, already names the
     * guest's privilege. */
    uint64_t hs = csr_read(hstatus);
    uint64_t lo = arch_hlvx_hu(pc, &fault);

    if (!fault && (lo & 3) == 3) {
        uint64_t hi = arch_hlvx_hu(pc + 2, &fault);
        lo |= hi << 16;
    }
    csr_write(hstatus, hs);
    if (fault)
        return false;
    *insn = (uint32_t)lo;
    return true;
}

void vcpu_arch_set_misaligned_deleg(struct vcpu_arch *a, bool on)
{
    a->hedeleg = on ? a->hedeleg | HEDELEG_MISALIGNED : a->hedeleg & ~HEDELEG_MISALIGNED;
    csr_write(hedeleg, a->hedeleg);
}

void vcpu_arch_set_adue(struct vcpu_arch *a, bool on)
{
    a->hctl.henvcfg = on ? a->hctl.henvcfg | HENVCFG_ADUE : a->hctl.henvcfg & ~HENVCFG_ADUE;
    csr_write(henvcfg, a->hctl.henvcfg);
}

/* HLV/HSV with the guest's current privilege (hstatus.SPVP); hstatus is
 * put back afterwards, since a fault taken here also rewrites its SPV and
 * GVA, which the exit's return to the guest relies on. */
static uint64_t guest_access_begin(const struct vcpu_arch *a)
{
    uint64_t hs = csr_read(hstatus);
    csr_write(hstatus, (hs & ~HSTATUS_SPVP) | ((a->ctx.sstatus & SSTATUS_SPP) ? HSTATUS_SPVP : 0));
    return hs;
}

bool vcpu_arch_load_guest_u8(struct vcpu_arch *a, uint64_t va, uint8_t *value, uint64_t *cause)
{
    uint64_t hs = guest_access_begin(a);
    *value = (uint8_t)arch_hlv_bu(va, cause);
    csr_write(hstatus, hs);
    return *cause == UINT64_MAX;
}

bool vcpu_arch_store_guest_u8(struct vcpu_arch *a, uint64_t va, uint8_t value, uint64_t *cause)
{
    uint64_t hs = guest_access_begin(a);
    arch_hsv_b(va, value, cause);
    csr_write(hstatus, hs);
    return *cause == UINT64_MAX;
}
