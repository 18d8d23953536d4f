/* SPDX-License-Identifier: Apache-2.0 */
/* FWFT (EID "FWFT"): firmware features, all of local (per-vCPU) scope.
 * Two are offered:
 *  - MISALIGNED_EXC_DELEG: 1 (the reset value) delegates misaligned
 *    fetch, load and store exceptions to the guest (hedeleg); 0 takes them
 *    away, and Vireo emulates misaligned loads and stores for the guest
 *    (core/misaligned.c);
 *  - PTE_AD_HW_UPDATING, for a VM that was given Svadu (core/isa.c):
 *    henvcfg.ADUE for the vCPU; its reset value is 0 (the specification),
 *    and such a VM's device tree lists Svade with Svadu, which tells its
 *    kernel exactly that: A/D faults until it turns updating on here.
 * The other defined features need extensions guests do not get (Zicfilp,
 * Zicfiss, Ssdbltrp, Ssnpm): NOT_SUPPORTED.  Reserved and platform-specific
 * IDs, local or global: DENIED.  A locked feature refuses every later set
 * with DENIED_LOCKED until the vCPU is reset (HSM hart_start, VM reboot),
 * which also resets the values (vcpu_arch_reset, sched_hsm_start). */
#include "core/sbi/sbi.h"

#include "core/vm.h"

/* SBI_SUCCESS if guests have feature, else the error any call on it returns. */
static long fwft_check(const struct vcpu *v, uint32_t feature)
{
    switch (feature) {
    case SBI_FWFT_MISALIGNED_EXC_DELEG:
        return SBI_SUCCESS;
    case SBI_FWFT_PTE_AD_HW_UPDATING:
        return (v->vm->isa.henvcfg & HENVCFG_ADUE) ? SBI_SUCCESS : SBI_ERR_NOT_SUPPORTED;
    case SBI_FWFT_LANDING_PAD:
    case SBI_FWFT_SHADOW_STACK:
    case SBI_FWFT_DOUBLE_TRAP:
    case SBI_FWFT_POINTER_MASKING_PMLEN:
        return SBI_ERR_NOT_SUPPORTED; /* defined, but guests lack the extension */
    default:
        return SBI_ERR_DENIED; /* reserved, or platform-specific and unimplemented */
    }
}

static long fwft_get(const struct vcpu *v, uint32_t feature)
{
    if (feature == SBI_FWFT_MISALIGNED_EXC_DELEG)
        return vcpu_arch_misaligned_deleg(&v->arch);
    return (v->arch.hctl.henvcfg & HENVCFG_ADUE) != 0;
}

static struct sbi_ret fwft_call(struct vcpu *v, const struct sbi_args *c)
{
    uint32_t feature = sbi_u32(c->a[0]);
    unsigned long value = c->a[1], flags = c->a[2];
    long err;

    if (c->fid != SBI_FWFT_SET && c->fid != SBI_FWFT_GET)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    err = fwft_check(v, feature);
    if (err)
        return (struct sbi_ret){err, 0};
    if (c->fid == SBI_FWFT_GET)
        return (struct sbi_ret){SBI_SUCCESS, fwft_get(v, feature)};
    /* The firmware's order: flags, then the lock, then the value. */
    if (flags & ~SBI_FWFT_SET_FLAG_LOCK)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    if ((v->fwft_locked >> feature) & 1)
        return (struct sbi_ret){SBI_ERR_DENIED_LOCKED, 0};
    if (value > 1)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    if (feature == SBI_FWFT_MISALIGNED_EXC_DELEG)
        vcpu_arch_set_misaligned_deleg(&v->arch, value);
    else
        vcpu_arch_set_adue(&v->arch, value);
    if (flags & SBI_FWFT_SET_FLAG_LOCK)
        v->fwft_locked |= 1u << feature;
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

const struct sbi_ext sbi_ext_fwft = {
    .eid_min = SBI_EXT_FWFT,
    .eid_max = SBI_EXT_FWFT,
    .name = "fwft",
    .handler = fwft_call,
};
