/* SUSP (EID "SUSP"): suspend to RAM of the calling VM.  Entry requires
 * every other vCPU to be stopped; the caller then waits like a
 * non-retentive hart suspend and resumes at resume_addr on an interrupt. */
#include "core/sbi/sbi.h"

#include "core/vm.h"

enum exit_action sbi_suspend(struct vcpu *v, bool retentive, uint64_t pc, uint64_t opaque);

static enum exit_action susp_call(struct vcpu *v, struct sbi_call *c)
{
    struct vm *vm = v->vm;
    unsigned long type = c->a[0];

    if (c->fid != SBI_SUSP_SYSTEM_SUSPEND)
        return EXIT_RESUME;
    /* Reserved and platform-specific sleep types: none is implemented. */
    if (type != SBI_SUSP_SLEEP_TYPE_SUSPEND_TO_RAM) {
        c->error = SBI_ERR_INVALID_PARAM;
        return EXIT_RESUME;
    }
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        if (&vm->vcpus[i] != v &&
            __atomic_load_n(&vm->vcpus[i].state, __ATOMIC_ACQUIRE) != VCPU_OFFLINE) {
            c->error = SBI_ERR_DENIED;
            return EXIT_RESUME;
        }
    }
    if (!gpa_is_ram(vm, c->a[1], 4)) {
        c->error = SBI_ERR_INVALID_ADDRESS;
        return EXIT_RESUME;
    }
    c->error = SBI_SUCCESS;
    return sbi_suspend(v, false, c->a[1], c->a[2]);
}

const struct sbi_ext sbi_ext_susp = {SBI_EXT_SUSP, SBI_EXT_SUSP, "susp", susp_call};
