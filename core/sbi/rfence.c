/* SPDX-License-Identifier: Apache-2.0 */
/* RFENCE (EID "RFNC"): remote FENCE.I and SFENCE.VMA for the guest.  A
 * target vCPU gets the fence (as HFENCE.VVMA of its VMID, which covers any
 * address range and ASID) before it next runs guest code; a target in guest
 * mode on another hart is kicked out and the call returns only once it has
 * left, so the fence is done, as the specification requires, when the
 * caller continues. */
#include "core/sbi/sbi.h"

#include "core/sched.h"

void sbi_rfence_request(struct vcpu *target, void *arg)
{
    vcpu_arch_request_fence(&target->arch, arg ? VCPU_FENCE_I : VCPU_FENCE_VVMA);
    sched_sync_vcpu(target);
}

static struct sbi_ret rfence_call(struct vcpu *v, const struct sbi_args *c)
{
    long error;

    switch (c->fid) {
    case SBI_RFENCE_REMOTE_FENCE_I:
        error = sbi_for_each_hart(v, c->a[0], c->a[1], sbi_rfence_request, (void *)1);
        break;
    case SBI_RFENCE_REMOTE_SFENCE_VMA:
    case SBI_RFENCE_REMOTE_SFENCE_VMA_ASID:
        error = sbi_for_each_hart(v, c->a[0], c->a[1], sbi_rfence_request, NULL);
        break;
    default:
        /* The HFENCE functions are for hypervisors: a guest has none. */
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
    return (struct sbi_ret){error, 0};
}

const struct sbi_ext sbi_ext_rfence = {
    .eid_min = SBI_EXT_RFENCE,
    .eid_max = SBI_EXT_RFENCE,
    .name = "rfence",
    .handler = rfence_call,
};
