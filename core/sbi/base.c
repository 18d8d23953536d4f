/* BASE (EID 0x10): versions, probing, machine IDs. */
#include "core/sbi/sbi.h"

static enum exit_action base_call(struct vcpu *v, struct sbi_call *c)
{
    (void)v;
    c->error = SBI_SUCCESS;
    switch (c->fid) {
    case SBI_BASE_GET_SPEC_VERSION:
        c->value = (long)SBI_SPEC_VERSION_2_0;
        break;
    case SBI_BASE_GET_IMPL_ID:
        c->value = (long)SBI_IMPL_ID_VIREO;
        break;
    case SBI_BASE_GET_IMPL_VERSION:
        c->value = (long)SBI_IMPL_VERSION;
        break;
    case SBI_BASE_PROBE_EXT:
        c->value = sbi_ext_present(c->a[0]) ? 1 : 0;
        break;
    case SBI_BASE_GET_MVENDORID:
    case SBI_BASE_GET_MARCHID:
    case SBI_BASE_GET_MIMPID:
        /* 0 is always legal and says nothing about the host. */
        c->value = 0;
        break;
    default:
        c->error = SBI_ERR_NOT_SUPPORTED;
        break;
    }
    return EXIT_RESUME;
}

const struct sbi_ext sbi_ext_base = {SBI_EXT_BASE, SBI_EXT_BASE, "base", base_call};
