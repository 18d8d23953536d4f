/* SPDX-License-Identifier: Apache-2.0 */
/* Legacy v0.1 calls (EIDs 0x00-0x0F) that older kernels and early consoles
 * still use.  Only a0 is returned. */
#include "core/sbi/sbi.h"

#include "core/vm.h"
#include "core/vm_life.h"
#include "core/vmm.h"

/* v0.1 calls name harts with a pointer to a mask in the guest's virtual
 * memory (NULL: all harts).  It is read as the guest would read it. */
static long legacy_harts(struct vcpu *v, unsigned long mask_va, void (*fn)(struct vcpu *, void *),
                         void *arg)
{
    uint64_t mask;

    if (!mask_va)
        return sbi_for_each_hart(v, 0, (unsigned long)-1, fn, arg);
    if (!vcpu_arch_read_guest_u64(&v->arch, mask_va, &mask))
        return SBI_ERR_INVALID_ADDRESS;
    return sbi_for_each_hart(v, mask, 0, fn, arg);
}

static struct sbi_ret legacy_call(struct vcpu *v, const struct sbi_args *c)
{
    struct sbi_ret r = {SBI_SUCCESS, 0};

    switch (c->eid) {
    case SBI_LEGACY_SET_TIMER:
        sbi_time_set(v, c->a[0]);
        break;
    case SBI_LEGACY_CONSOLE_PUTCHAR: {
        char ch = (char)(c->a[0] & 0xff);
        vconsole_output(&v->vm->con, &ch, 1);
        break;
    }
    case SBI_LEGACY_CONSOLE_GETCHAR: {
        char ch;
        r.error = vconsole_port_read(&v->vm->con, &ch, 1) ? (unsigned char)ch : -1;
        break;
    }
    case SBI_LEGACY_CLEAR_IPI:
        vcpu_arch_lower(&v->arch, HVIP_VSSIP);
        break;
    case SBI_LEGACY_SEND_IPI:
        r.error = legacy_harts(v, c->a[0], sbi_ipi_raise, NULL);
        break;
    case SBI_LEGACY_REMOTE_FENCE_I:
        r.error = legacy_harts(v, c->a[0], sbi_rfence_request, (void *)1);
        break;
    case SBI_LEGACY_REMOTE_SFENCE_VMA:
    case SBI_LEGACY_REMOTE_SFENCE_VMA_ASID:
        r.error = legacy_harts(v, c->a[0], sbi_rfence_request, NULL);
        break;
    case SBI_LEGACY_SHUTDOWN:
        vm_end(v->vm, VM_END_SHUTDOWN, NULL);
        r = sbi_ret_then(v, EXIT_LEAVE, SBI_SUCCESS);
        break;
    default:
        r.error = SBI_ERR_NOT_SUPPORTED;
        break;
    }
    /* A v0.1 call returns only a0: a1 goes back as the guest has it. */
    r.value = (long)c->a[1];
    return r;
}

const struct sbi_ext sbi_ext_legacy = {
    .eid_min = SBI_LEGACY_SET_TIMER,
    .eid_max = SBI_LEGACY_SHUTDOWN,
    .name = "legacy",
    .handler = legacy_call,
};
