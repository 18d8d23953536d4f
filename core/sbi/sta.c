/* SPDX-License-Identifier: Apache-2.0 */
/* STA (EID "STA"): steal-time accounting.  Each vCPU may name a 64-byte
 * record in its RAM; the scheduler adds the time the vCPU waited in the run
 * queue to it each time the vCPU gets a hart (sched_sta_update). */
#include "core/sbi/sbi.h"

#include "core/vm.h"
#include "lib/string.h"

static struct sbi_ret sta_call(struct vcpu *v, const struct sbi_args *c)
{
    unsigned long lo = c->a[0], hi = c->a[1], flags = c->a[2];

    if (c->fid != SBI_STA_SET_SHMEM)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    if (flags)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    if (lo == (unsigned long)-1 && hi == (unsigned long)-1) {
        v->sta_gpa = UINT64_MAX;
        return (struct sbi_ret){SBI_SUCCESS, 0};
    }
    if (lo & 63)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    uint8_t zero[SBI_STA_SHMEM_SIZE];
    memset(zero, 0, sizeof(zero));
    /* On RV64 the address is all in lo; it must be the VM's RAM. */
    if (hi || !gpa_is_ram(v->vm, lo, SBI_STA_SHMEM_SIZE) ||
        gpa_write(v->vm, lo, zero, sizeof(zero)) < 0)
        return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
    v->sta_gpa = lo;
    v->steal_ns = 0;
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

const struct sbi_ext sbi_ext_sta = {
    .eid_min = SBI_EXT_STA,
    .eid_max = SBI_EXT_STA,
    .name = "sta",
    .handler = sta_call,
};
