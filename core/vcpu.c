/* SPDX-License-Identifier: Apache-2.0 */
#include "core/vcpu.h"

#include "core/vmm.h"

/* vsie holds the guest's S-level enables (SSIE bit 1, STIE 5, SEIE 9);
 * hvip holds the matching VS-level lines one bit higher (2, 6, 10). */
static inline __attribute__((always_inline)) uint64_t pending_vs(const struct vcpu *v, uint64_t now)
{
    uint64_t p = v->arch.hvip | __atomic_load_n(&v->arch.hvip_pending, __ATOMIC_ACQUIRE);

    if (v->timer_deadline <= now)
        p |= HVIP_VSTIP;
    if (__atomic_load_n(&v->eip, __ATOMIC_ACQUIRE))
        p |= HVIP_VSEIP;
    if (vmm_guest_sstc() && vcpu_host_time(v, v->arch.vstimecmp) <= now)
        p |= HVIP_VSTIP;
    return p;
}

bool vcpu_has_wakeup(const struct vcpu *v, uint64_t now)
{
    return ((pending_vs(v, now) >> 1) & v->arch.vsie) != 0;
}

uint64_t vcpu_wake_deadline(const struct vcpu *v)
{
    /* A timer the guest has not enabled (vsie.STIE) wakes nobody: counting
     * it would leave the hart with a deadline already past, and a timer
     * interrupt that never clears. */
    if (!(v->arch.vsie & (HVIP_VSTIP >> 1)))
        return UINT64_MAX;
    uint64_t d = v->timer_deadline;
    if (vmm_guest_sstc() && vcpu_host_time(v, v->arch.vstimecmp) < d)
        d = vcpu_host_time(v, v->arch.vstimecmp);
    return d;
}
