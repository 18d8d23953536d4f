/* SPDX-License-Identifier: Apache-2.0 */
/* The SBI dispatcher: the ecall exit of a guest finds its extension and
 * runs it on the registers in place.  One file per extension beside it;
 * the table of them is in base.c, which reports on it. */
#include "core/sbi/sbi.h"

#include <stddef.h>

#include "core/vm.h"
#include "lib/compiler.h"

static INLINE_ALWAYS const struct sbi_ext *sbi_find(const struct vcpu *v, unsigned long eid)
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
    return sbi_ext_find(v, eid);
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
    const struct sbi_ext *ext = sbi_find(v, c->eid);
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
