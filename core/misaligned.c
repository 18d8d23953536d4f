/* SPDX-License-Identifier: Apache-2.0 */
/* Emulated misaligned loads and stores; see misaligned.h. */
#include "core/misaligned.h"

#include "core/insn.h"

/* The exception the guest takes for a byte whose access raised cause. */
static uint64_t guest_fault(uint64_t cause, bool store)
{
    if (cause == CAUSE_LOAD_PAGE_FAULT || cause == CAUSE_STORE_PAGE_FAULT)
        return cause;
    return store ? CAUSE_STORE_ACCESS : CAUSE_LOAD_ACCESS;
}

enum exit_action misaligned_emulate(struct vcpu *v)
{
    struct vcpu_ctx *c = &v->arch.ctx;
    uint64_t va = c->stval, cause = c->scause, fault;
    bool store = cause == CAUSE_MISALIGNED_STORE;
    struct mmio_insn in;
    uint32_t insn;

    if (cause == CAUSE_MISALIGNED_FETCH || !vcpu_arch_read_insn(&v->arch, c->sepc, &insn) ||
        insn_decode(insn, &in) != 0 || in.kind != (store ? INSN_STORE : INSN_LOAD)) {
        vcpu_arch_inject_exception(&v->arch, cause, va);
        return EXIT_RESUME;
    }
    if (store) {
        uint64_t value = insn_store_value(&in, c->gpr[in.reg]);
        for (unsigned i = 0; i < in.width; i++) {
            if (!vcpu_arch_store_guest_u8(&v->arch, va + i, (uint8_t)(value >> (8 * i)), &fault)) {
                vcpu_arch_inject_exception(&v->arch, guest_fault(fault, true), va + i);
                return EXIT_RESUME;
            }
        }
    } else {
        uint64_t data = 0;
        for (unsigned i = 0; i < in.width; i++) {
            uint8_t b;
            if (!vcpu_arch_load_guest_u8(&v->arch, va + i, &b, &fault)) {
                vcpu_arch_inject_exception(&v->arch, guest_fault(fault, false), va + i);
                return EXIT_RESUME;
            }
            data |= (uint64_t)b << (8 * i);
        }
        if (in.reg)
            vcpu_arch_set_gpr(&v->arch, in.reg, insn_load_result(&in, data));
    }
    c->sepc += in.length;
    return EXIT_RESUME;
}
