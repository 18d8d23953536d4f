/* SPDX-License-Identifier: Apache-2.0 */
/* FWFT (EID "FWFT"): firmware features.  Of the features the
 * specification defines, one applies to Vireo's guests: misaligned access
 * exceptions are always delegated to them (hedeleg), so that feature reads
 * 1 and may be set (and locked) to 1, while turning it off is denied, as
 * the specification's note allows for a hypervisor that passes delegation
 * through.  The others need ISA extensions Vireo does not give guests
 * (Zicfilp, Zicfiss, Ssdbltrp, Svadu, Ssnpm): NOT_SUPPORTED. */
#include "core/sbi/sbi.h"

static bool fwft_defined(unsigned long feature)
{
    return feature <= SBI_FWFT_POINTER_MASKING_PMLEN;
}

static struct sbi_ret fwft_call(struct vcpu *v, const struct sbi_args *c)
{
    unsigned long feature = c->a[0], value = c->a[1], flags = c->a[2];

    switch (c->fid) {
    case SBI_FWFT_GET:
        if (!fwft_defined(feature))
            return (struct sbi_ret){SBI_ERR_DENIED, 0}; /* reserved or platform-specific */
        if (feature != SBI_FWFT_MISALIGNED_EXC_DELEG)
            return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
        return (struct sbi_ret){SBI_SUCCESS, 1};
    case SBI_FWFT_SET:
        if (!fwft_defined(feature))
            return (struct sbi_ret){SBI_ERR_DENIED, 0};
        if (feature != SBI_FWFT_MISALIGNED_EXC_DELEG)
            return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
        if ((flags & ~SBI_FWFT_SET_FLAG_LOCK) || value > 1)
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        if ((v->fwft_locked >> feature) & 1 || value == 0)
            return (struct sbi_ret){SBI_ERR_DENIED, 0};
        if (flags & SBI_FWFT_SET_FLAG_LOCK)
            v->fwft_locked |= 1u << feature;
        return (struct sbi_ret){SBI_SUCCESS, 0};
    default:
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}

const struct sbi_ext sbi_ext_fwft = {
    .eid_min = SBI_EXT_FWFT,
    .eid_max = SBI_EXT_FWFT,
    .name = "fwft",
    .handler = fwft_call,
};
