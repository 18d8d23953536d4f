/* SPDX-License-Identifier: Apache-2.0 */
/* BASE (EID 0x10): versions, probing, machine IDs; and the table of every
 * extension Vireo implements, which probing reports on (the dispatcher in
 * sbi.c searches it for the calls it does not find by its fast switch).
 * Adding an extension: one file beside this one and one row here. */
#include "core/sbi/sbi.h"

static const struct sbi_ext *const sbi_exts[] = {
    &sbi_ext_base, &sbi_ext_legacy, &sbi_ext_time, &sbi_ext_ipi, &sbi_ext_rfence, &sbi_ext_hsm,
    &sbi_ext_srst, &sbi_ext_dbcn,   &sbi_ext_susp, &sbi_ext_sta, &sbi_ext_fwft,   &sbi_ext_dbtr,
};

const struct sbi_ext *sbi_ext_find(const struct vcpu *v, unsigned long eid)
{
    for (unsigned i = 0; i < sizeof(sbi_exts) / sizeof(sbi_exts[0]); i++) {
        const struct sbi_ext *e = sbi_exts[i];
        if (eid >= e->eid_min && eid <= e->eid_max)
            return !e->available || e->available(v) ? e : NULL;
    }
    return NULL;
}

/* Out of line: inlined (LTO), the extension search costs base_call a stack
 * frame on every path, the hot get_spec_version included (GCC 12). */
static __attribute__((noinline)) long base_probe(const struct vcpu *v, unsigned long eid)
{
    return sbi_ext_find(v, eid) ? 1 : 0;
}

static struct sbi_ret base_call(struct vcpu *v, const struct sbi_args *c)
{
    switch (c->fid) {
    case SBI_BASE_GET_SPEC_VERSION:
        return (struct sbi_ret){SBI_SUCCESS, (long)SBI_SPEC_VERSION_3_0};
    case SBI_BASE_GET_IMPL_ID:
        return (struct sbi_ret){SBI_SUCCESS, (long)SBI_IMPL_ID_VIREO};
    case SBI_BASE_GET_IMPL_VERSION:
        return (struct sbi_ret){SBI_SUCCESS, (long)SBI_IMPL_VERSION};
    case SBI_BASE_PROBE_EXT:
        return (struct sbi_ret){SBI_SUCCESS, base_probe(v, c->a[0])};
    case SBI_BASE_GET_MVENDORID:
    case SBI_BASE_GET_MARCHID:
    case SBI_BASE_GET_MIMPID:
        /* 0 is always legal and says nothing about the host. */
        return (struct sbi_ret){SBI_SUCCESS, 0};
    default:
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}

const struct sbi_ext sbi_ext_base = {
    .eid_min = SBI_EXT_BASE,
    .eid_max = SBI_EXT_BASE,
    .name = "base",
    .handler = base_call,
};
