/* IPI (EID "sPI"): send_ipi sets the targets' VSSIP. */
#include "core/sbi/sbi.h"

#include "core/sched.h"

void sbi_ipi_raise(struct vcpu *target, void *arg);

void sbi_ipi_raise(struct vcpu *target, void *arg)
{
    (void)arg;
    vcpu_arch_raise(&target->arch, HVIP_VSSIP);
    sched_notify(target);
}

static enum exit_action ipi_call(struct vcpu *v, struct sbi_call *c)
{
    if (c->fid != SBI_IPI_SEND_IPI)
        return EXIT_RESUME;
    c->error = sbi_for_each_hart(v, c->a[0], c->a[1], sbi_ipi_raise, NULL);
    c->value = 0;
    return EXIT_RESUME;
}

const struct sbi_ext sbi_ext_ipi = {SBI_EXT_IPI, SBI_EXT_IPI, "ipi", ipi_call};
