/* SPDX-License-Identifier: Apache-2.0 */
/* STA (EID "STA"): steal-time accounting.  Each vCPU may name a 64-byte
 * record in its RAM; the scheduler adds the time the vCPU waited in the run
 * queue to it each time the vCPU gets a hart (sbi_sta_update, called by
 * the run loop). */
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

/* SBI STA: adds the time v waited in the run queue to its record, with
 * the sequence protocol of the specification (odd while updating). */
void sbi_sta_update(struct vcpu *v, uint64_t now, uint32_t timebase_hz)
{
    uint64_t ticks = now - v->runnable_since;
    struct {
        uint32_t sequence, flags;
        uint64_t steal;
        uint8_t preempted;
    } rec;

    if (v->sta_gpa == UINT64_MAX || !timebase_hz)
        return;
    v->steal_ns +=
        ticks / timebase_hz * 1000000000ULL + ticks % timebase_hz * 1000000000ULL / timebase_hz;
    if (gpa_read(v->vm, v->sta_gpa, &rec.sequence, 4) < 0)
        return;
    uint32_t seq = rec.sequence | 1; /* odd: update in progress */
    uint64_t steal = v->steal_ns;
    uint8_t running = 0;
    gpa_write(v->vm, v->sta_gpa, &seq, 4);
    gpa_write(v->vm, v->sta_gpa + 8, &steal, 8);
    gpa_write(v->vm, v->sta_gpa + 16, &running, 1);
    seq++;
    gpa_write(v->vm, v->sta_gpa, &seq, 4);
}
