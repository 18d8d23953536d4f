#include "core/sbi/sbi.h"

#include "core/vm.h"

static const struct sbi_ext *const sbi_exts[] = {
    &sbi_ext_base, &sbi_ext_legacy, &sbi_ext_time, &sbi_ext_ipi, &sbi_ext_rfence, &sbi_ext_hsm,
    &sbi_ext_srst, &sbi_ext_dbcn,   &sbi_ext_susp, &sbi_ext_sta, &sbi_ext_fwft,
};

#define SBI_NEXTS (sizeof(sbi_exts) / sizeof(sbi_exts[0]))

static inline __attribute__((always_inline)) const struct sbi_ext *sbi_find(unsigned long eid)
{
    /* The calls guests make all the time, without the search. */
    switch (eid) {
    case SBI_EXT_BASE:
        return &sbi_ext_base;
    case SBI_EXT_TIME:
        return &sbi_ext_time;
    case SBI_EXT_IPI:
        return &sbi_ext_ipi;
    case SBI_EXT_RFENCE:
        return &sbi_ext_rfence;
    default:
        break;
    }
    for (unsigned i = 0; i < SBI_NEXTS; i++) {
        if (eid >= sbi_exts[i]->eid_min && eid <= sbi_exts[i]->eid_max)
            return sbi_exts[i];
    }
    return NULL;
}

bool sbi_ext_present(unsigned long eid)
{
    return sbi_find(eid) != NULL;
}

enum exit_action sbi_dispatch(struct vcpu *v)
{
    uint64_t *x = v->arch.ctx.gpr;
    struct sbi_call c = {
        .eid = x[17],
        .fid = x[16],
        .a = &x[10],
        .error = SBI_ERR_NOT_SUPPORTED,
    };
    const struct sbi_ext *ext = sbi_find(c.eid);
    enum exit_action act = EXIT_RESUME;

    if (ext)
        act = ext->handler(v, &c);
    x[10] = (uint64_t)c.error;
    if (!c.legacy)
        x[11] = (uint64_t)c.value;
    return act;
}

long sbi_for_each_hart(struct vcpu *v, unsigned long mask, unsigned long base,
                       void (*fn)(struct vcpu *target, void *arg), void *arg)
{
    struct vm *vm = v->vm;

    if (base == (unsigned long)-1) {
        for (unsigned i = 0; i < vm->nvcpus; i++)
            fn(&vm->vcpus[i], arg);
        return SBI_SUCCESS;
    }
    /* Check every named hart first: an invalid mask does nothing at all. */
    for (unsigned bit = 0; bit < 64; bit++) {
        if ((mask >> bit) & 1) {
            if (base >= vm->nvcpus || bit >= vm->nvcpus - base)
                return SBI_ERR_INVALID_PARAM;
        }
    }
    for (unsigned bit = 0; bit < 64; bit++) {
        if ((mask >> bit) & 1)
            fn(&vm->vcpus[base + bit], arg);
    }
    return SBI_SUCCESS;
}
