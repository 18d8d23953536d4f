/* SPDX-License-Identifier: Apache-2.0 */
/* HSM (EID "HSM"): starting and stopping the guest's harts (vCPUs). */
#include "core/sbi/sbi.h"

#include "core/sched.h"
#include "core/vm.h"

static long hsm_status(const struct vcpu *t)
{
    switch (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE)) {
    case VCPU_OFFLINE:
        return SBI_HSM_STATE_STOPPED;
    case VCPU_BLOCKED:
        if (t->suspend != VCPU_AWAKE)
            return SBI_HSM_STATE_SUSPENDED;
        break;
    case VCPU_RUNNABLE:
    case VCPU_RUNNING:
        break;
    }
    return SBI_HSM_STATE_STARTED;
}

/* Blocks the caller until an interrupt it has enabled is pending (the WFI
 * rule).  Retentive: the call then returns SBI_SUCCESS.  Non-retentive:
 * the vCPU resumes at pc instead (see sched.c). */
struct sbi_ret sbi_suspend(struct vcpu *v, bool retentive, uint64_t pc, uint64_t opaque)
{
    v->suspend = retentive ? VCPU_SUSPENDED : VCPU_SUSPENDED_NONRET;
    v->resume_pc = pc;
    v->resume_opaque = opaque;
    return sbi_ret_then(v, EXIT_BLOCK, SBI_SUCCESS);
}

static struct sbi_ret hsm_call(struct vcpu *v, const struct sbi_args *c)
{
    struct vm *vm = v->vm;

    switch (c->fid) {
    case SBI_HSM_HART_START: {
        unsigned long id = c->a[0], pc = c->a[1], opaque = c->a[2];
        if (id >= vm->nvcpus)
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        if (!gpa_is_ram(vm, pc, 4))
            return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
        bool started = sched_hsm_start(&vm->vcpus[id], pc, opaque);
        return (struct sbi_ret){started ? SBI_SUCCESS : SBI_ERR_ALREADY_AVAILABLE, 0};
    }
    case SBI_HSM_HART_STOP:
        sched_stop_vcpu(v);
        return sbi_ret_then(v, EXIT_LEAVE, SBI_SUCCESS);
    case SBI_HSM_HART_SUSPEND: {
        uint32_t type = sbi_u32(c->a[0]);
        if (type == SBI_HSM_SUSPEND_RET_DEFAULT)
            return sbi_suspend(v, true, 0, 0);
        /* Reserved and platform-specific types: none is implemented. */
        if (type != SBI_HSM_SUSPEND_NONRET_DEFAULT)
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        if (!gpa_is_ram(vm, c->a[1], 4))
            return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
        return sbi_suspend(v, false, c->a[1], c->a[2]);
    }
    case SBI_HSM_HART_GET_STATUS:
        if (c->a[0] >= vm->nvcpus)
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        return (struct sbi_ret){SBI_SUCCESS, hsm_status(&vm->vcpus[c->a[0]])};
    default:
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}

const struct sbi_ext sbi_ext_hsm = {
    .eid_min = SBI_EXT_HSM,
    .eid_max = SBI_EXT_HSM,
    .name = "hsm",
    .handler = hsm_call,
};
