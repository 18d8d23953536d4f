/* Legacy v0.1 calls (EIDs 0x00-0x0F) that older kernels and early consoles
 * still use.  Only a0 is returned. */
#include "core/sbi/sbi.h"

#include "core/vm.h"
#include "core/vmm.h"

enum exit_action sbi_time_set(struct vcpu *v, uint64_t deadline);
void sbi_ipi_raise(struct vcpu *target, void *arg);

/* v0.1 calls name harts with a pointer to a mask in the guest's virtual
 * memory (NULL: all harts).  It is read as the guest would read it. */
static long legacy_harts(struct vcpu *v, unsigned long mask_va, void (*fn)(struct vcpu *, void *),
                         void *arg)
{
    uint64_t mask;

    if (!mask_va)
        return sbi_for_each_hart(v, 0, (unsigned long)-1, fn, arg);
    if (!vcpu_arch_read_guest_u64(v, mask_va, &mask))
        return SBI_ERR_INVALID_ADDRESS;
    return sbi_for_each_hart(v, mask, 0, fn, arg);
}

void sbi_rfence_request(struct vcpu *target, void *arg);

static enum exit_action legacy_call(struct vcpu *v, struct sbi_call *c)
{
    c->legacy = true;
    c->error = SBI_SUCCESS;
    switch (c->eid) {
    case SBI_LEGACY_SET_TIMER:
        return sbi_time_set(v, c->a[0]);
    case SBI_LEGACY_CONSOLE_PUTCHAR: {
        char ch = (char)(c->a[0] & 0xff);
        vm_console_write(v->vm, &ch, 1);
        break;
    }
    case SBI_LEGACY_CONSOLE_GETCHAR: {
        char ch;
        c->error = vm_console_read(v->vm, &ch, 1) ? (unsigned char)ch : -1;
        vmm_console_pump();
        break;
    }
    case SBI_LEGACY_CLEAR_IPI:
        vcpu_arch_lower(v, HVIP_VSSIP);
        break;
    case SBI_LEGACY_SEND_IPI:
        c->error = legacy_harts(v, c->a[0], sbi_ipi_raise, NULL);
        break;
    case SBI_LEGACY_REMOTE_FENCE_I:
        c->error = legacy_harts(v, c->a[0], sbi_rfence_request, (void *)1);
        break;
    case SBI_LEGACY_REMOTE_SFENCE_VMA:
    case SBI_LEGACY_REMOTE_SFENCE_VMA_ASID:
        c->error = legacy_harts(v, c->a[0], sbi_rfence_request, NULL);
        break;
    case SBI_LEGACY_SHUTDOWN:
        vm_end(v->vm, VM_END_SHUTDOWN, NULL);
        return EXIT_LEAVE;
    default:
        c->error = SBI_ERR_NOT_SUPPORTED;
        break;
    }
    return EXIT_RESUME;
}

const struct sbi_ext sbi_ext_legacy = {SBI_LEGACY_SET_TIMER, SBI_LEGACY_SHUTDOWN, "legacy",
                                       legacy_call};
