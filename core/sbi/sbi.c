/* SPDX-License-Identifier: Apache-2.0 */
#include "core/sbi/sbi.h"

#include <stddef.h>

#include "core/vm.h"
#include "lib/compiler.h"

static const struct sbi_ext *const sbi_exts[] = {
    &sbi_ext_base, &sbi_ext_legacy, &sbi_ext_time, &sbi_ext_ipi, &sbi_ext_rfence, &sbi_ext_hsm,
    &sbi_ext_srst, &sbi_ext_dbcn,   &sbi_ext_susp, &sbi_ext_sta, &sbi_ext_fwft,
};

#define SBI_NEXTS (sizeof(sbi_exts) / sizeof(sbi_exts[0]))

static INLINE_ALWAYS const struct sbi_ext *sbi_find(unsigned long eid)
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

/* struct sbi_args is a view of gpr[10..17] (a0..a7). */
_Static_assert(_Generic(((struct vcpu_ctx *)0)->gpr[0], unsigned long : 1, default : 0),
               "struct sbi_args reads the saved registers as unsigned long");
_Static_assert(sizeof(struct sbi_args) == 8 * sizeof(unsigned long), "sbi_args is a0..a7");
_Static_assert(offsetof(struct sbi_args, fid) == 6 * sizeof(unsigned long), "fid is a6");
_Static_assert(offsetof(struct sbi_args, eid) == 7 * sizeof(unsigned long), "eid is a7");
_Static_assert(EXIT_RESUME == 0, "sbi_action 0 is EXIT_RESUME");

INLINE_ALWAYS enum exit_action sbi_dispatch(struct vcpu *v)
{
    uint64_t *x = v->arch.ctx.gpr;
    const struct sbi_args *c = (const struct sbi_args *)&x[10];
    const struct sbi_ext *ext = sbi_find(c->eid);
    struct sbi_ret r = {SBI_ERR_NOT_SUPPORTED, 0};

    if (ext)
        r = ext->handler(v, c);
    x[10] = (uint64_t)r.error;
    x[11] = (uint64_t)r.value;
    /* Almost every call resumes: the field is written only when set. */
    enum exit_action act = (enum exit_action)v->sbi_action;
    if (act)
        v->sbi_action = 0;
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
