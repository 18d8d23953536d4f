/* SPDX-License-Identifier: Apache-2.0 */
/* SRST (EID "SRST"): shutdown and reboot act on the calling VM only. */
#include "core/sbi/sbi.h"

#include "core/vm.h"
#include "core/vm_life.h"

static struct sbi_ret srst_call(struct vcpu *v, const struct sbi_args *c)
{
    uint32_t type = sbi_u32(c->a[0]), reason = sbi_u32(c->a[1]);

    if (c->fid != SBI_SRST_RESET)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    /* Reserved types and reasons are invalid; vendor/platform-specific
     * ones (0xF0000000 and up) are allowed and treated like "none". */
    bool type_ok = type <= SBI_SRST_TYPE_WARM_REBOOT || type >= 0xF0000000u;
    bool reason_ok = reason <= SBI_SRST_REASON_SYSFAILURE || reason >= 0xE0000000u;
    if (!type_ok || !reason_ok)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    if (type == SBI_SRST_TYPE_SHUTDOWN || type >= 0xF0000000u)
        vm_end(v->vm, reason == SBI_SRST_REASON_SYSFAILURE ? VM_END_FAILURE : VM_END_SHUTDOWN,
               NULL);
    else
        vm_end(v->vm, VM_END_REBOOT, NULL);
    /* After vm_end: a reboot may have recreated the VM's vCPUs already. */
    return sbi_ret_then(v, EXIT_LEAVE, SBI_SUCCESS);
}

const struct sbi_ext sbi_ext_srst = {
    .eid_min = SBI_EXT_SRST,
    .eid_max = SBI_EXT_SRST,
    .name = "srst",
    .handler = srst_call,
};
