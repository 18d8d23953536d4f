/* SPDX-License-Identifier: Apache-2.0 */
/* SUSP (EID "SUSP"): suspend to RAM of the calling VM.  Entry requires
 * every other vCPU to be stopped; the caller then waits like a
 * non-retentive hart suspend and resumes at resume_addr on an interrupt. */
#include "core/sbi/sbi.h"

#include "core/vm.h"

static struct sbi_ret susp_call(struct vcpu *v, const struct sbi_args *c)
{
    struct vm *vm = v->vm;
    uint32_t type = sbi_u32(c->a[0]);

    if (c->fid != SBI_SUSP_SYSTEM_SUSPEND)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    /* Reserved and platform-specific sleep types: none is implemented. */
    if (type != SBI_SUSP_SLEEP_TYPE_SUSPEND_TO_RAM)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        if (&vm->vcpus[i] != v &&
            __atomic_load_n(&vm->vcpus[i].state, __ATOMIC_ACQUIRE) != VCPU_OFFLINE)
            return (struct sbi_ret){SBI_ERR_DENIED, 0};
    }
    if (!gpa_is_ram(vm, c->a[1], 4))
        return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
    return sbi_suspend(v, false, c->a[1], c->a[2]);
}

const struct sbi_ext sbi_ext_susp = {
    .eid_min = SBI_EXT_SUSP,
    .eid_max = SBI_EXT_SUSP,
    .name = "susp",
    .handler = susp_call,
};
