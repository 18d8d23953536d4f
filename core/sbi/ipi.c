/* SPDX-License-Identifier: Apache-2.0 */
/* IPI (EID "sPI"): send_ipi sets the targets' VSSIP. */
#include "core/sbi/sbi.h"

#include "arch/arch.h"
#include "core/hart.h"
#include "core/sched.h"
#include "core/trace.h"
#include "core/vm.h"

void sbi_ipi_raise(struct vcpu *target, void *arg)
{
    (void)arg;
    vcpu_arch_raise(&target->arch, HVIP_VSSIP);
    if (trace_wants(TRACE_IRQ))
        trace_emit(TRACE_EV_IRQ, (uint16_t)target->vm->index, (uint16_t)target->id, TRACE_IRQ_IPI,
                   arch_this_hart()->index, 0);
    sched_notify(target);
}

static struct sbi_ret ipi_call(struct vcpu *v, const struct sbi_args *c)
{
    if (c->fid != SBI_IPI_SEND_IPI)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    return (struct sbi_ret){sbi_for_each_hart(v, c->a[0], c->a[1], sbi_ipi_raise, NULL), 0};
}

const struct sbi_ext sbi_ext_ipi = {
    .eid_min = SBI_EXT_IPI,
    .eid_max = SBI_EXT_IPI,
    .name = "ipi",
    .handler = ipi_call,
};
