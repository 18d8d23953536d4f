/* TIME (EID "TIME"): set_timer.  Without Sstc in the guest, this is how it
 * gets timer interrupts: the deadline is kept per vCPU and multiplexed onto
 * the hart's timer by the scheduler. */
#include "core/sbi/sbi.h"

enum exit_action sbi_time_set(struct vcpu *v, uint64_t deadline);

enum exit_action sbi_time_set(struct vcpu *v, uint64_t deadline)
{
    /* A new deadline withdraws the pending tick, as the spec requires. */
    vcpu_arch_lower(v, HVIP_VSTIP);
    v->timer_deadline = deadline;
    return EXIT_RESUME;
}

static enum exit_action time_call(struct vcpu *v, struct sbi_call *c)
{
    if (c->fid != SBI_TIME_SET_TIMER)
        return EXIT_RESUME; /* error stays NOT_SUPPORTED */
    c->error = SBI_SUCCESS;
    c->value = 0;
    return sbi_time_set(v, c->a[0]);
}

const struct sbi_ext sbi_ext_time = {SBI_EXT_TIME, SBI_EXT_TIME, "time", time_call};
