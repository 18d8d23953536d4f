/* STA (EID "STA"): steal-time accounting.  Each vCPU may name a 64-byte
 * record in its RAM; the scheduler adds the time the vCPU waited in the run
 * queue to it each time the vCPU gets a hart (sched_sta_update). */
#include "core/sbi/sbi.h"

#include "core/vm.h"
#include "lib/string.h"

static enum exit_action sta_call(struct vcpu *v, struct sbi_call *c)
{
    unsigned long lo = c->a[0], hi = c->a[1], flags = c->a[2];

    if (c->fid != SBI_STA_SET_SHMEM)
        return EXIT_RESUME;
    c->value = 0;
    if (flags) {
        c->error = SBI_ERR_INVALID_PARAM;
        return EXIT_RESUME;
    }
    if (lo == (unsigned long)-1 && hi == (unsigned long)-1) {
        v->sta_gpa = UINT64_MAX;
        c->error = SBI_SUCCESS;
        return EXIT_RESUME;
    }
    if (lo & 63) {
        c->error = SBI_ERR_INVALID_PARAM;
        return EXIT_RESUME;
    }
    uint8_t zero[SBI_STA_SHMEM_SIZE];
    memset(zero, 0, sizeof(zero));
    /* On RV64 the address is all in lo; it must be the VM's RAM. */
    if (hi || !gpa_is_ram(v->vm, lo, SBI_STA_SHMEM_SIZE) ||
        gpa_write(v->vm, lo, zero, sizeof(zero)) < 0) {
        c->error = SBI_ERR_INVALID_ADDRESS;
        return EXIT_RESUME;
    }
    v->sta_gpa = lo;
    v->steal_ns = 0;
    c->error = SBI_SUCCESS;
    return EXIT_RESUME;
}

const struct sbi_ext sbi_ext_sta = {SBI_EXT_STA, SBI_EXT_STA, "sta", sta_call};
