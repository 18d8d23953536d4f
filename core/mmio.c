/* SPDX-License-Identifier: Apache-2.0 */
/* Trap-and-emulate MMIO: a guest access to a device address faults in the
 * G-stage (devices are never mapped), and is carried out here on the
 * device model named by the VM's bus. */
#include "arch/riscv/vcpu_arch.h"
#include "core/insn.h"
#include "core/mmio.h"
#include "core/trace.h"
#include "core/trap.h"
#include "core/vm.h"
#include "core/vm_life.h"
#include "core/vmm.h"
#include "lib/compiler.h"

static enum exit_action mmio_stop(struct vcpu *v, uint64_t gpa, const char *what)
{
    vm_end(v->vm, VM_END_STOPPED, "%s at gpa %#lx, pc %#lx", what, (unsigned long)gpa,
           (unsigned long)v->arch.ctx.sepc);
    return EXIT_LEAVE;
}

static __attribute__((noinline)) enum exit_action mmio_refuse(struct vcpu *v, uint64_t gpa,
                                                              struct mmio_insn in, bool store)
{
    if ((in.kind == INSN_STORE) != store)
        return mmio_stop(v, gpa, "MMIO access that does not match its fault");
    if (gpa & (in.width - 1u))
        return mmio_stop(v, gpa, "misaligned MMIO access");
    return mmio_stop(v, gpa, "MMIO access across a device's end");
}

/* The access as a trace record: device (its place on the VM's bus),
 * offset, width, direction, value. */
static __attribute__((noinline)) void mmio_trace(const struct vcpu *v, const struct mmio_dev *d,
                                                 uint64_t off, unsigned width, bool store,
                                                 uint64_t val)
{
    unsigned idx = 0xff;
    for (unsigned i = 0; i < v->vm->ndevs && i < 0xff; i++)
        if (v->vm->devs[i] == d)
            idx = i;
    trace_emit(TRACE_EV_MMIO, (uint16_t)v->vm->index, (uint16_t)v->id,
               (uint16_t)((width & 0xf) | (store ? TRACE_MMIO_WRITE : 0) | idx << 8), off, val);
}

/* The access itself, once decoded.  in is passed by value so that, on the
 * common path, the decode never leaves registers.  traced is a constant
 * where this is inlined: only mmio_emulate_traced's copy has the hook. */
static INLINE_ALWAYS enum exit_action mmio_access(struct vcpu *v, struct mmio_dev *d, uint64_t gpa,
                                                  bool store, struct mmio_insn in, bool traced)
{
    struct vcpu_ctx *c = &v->arch.ctx;
    uint64_t off = gpa - d->base; /* d covers gpa: the caller found it so */

    if ((in.kind == INSN_STORE) != store || (gpa & (in.width - 1u)) || in.width > d->size - off)
        return mmio_refuse(v, gpa, in, store);
    if (store) {
        uint64_t val = insn_store_value(&in, c->gpr[in.reg]);
        if (traced && trace_wants(TRACE_MMIO))
            mmio_trace(v, d, off, in.width, true, val);
        if (d->ops->write(d, off, in.width, val) < 0)
            return mmio_stop(v, gpa, "MMIO store the device does not support");
    } else {
        uint64_t val = 0;
        if (d->ops->read(d, off, in.width, &val) < 0)
            return mmio_stop(v, gpa, "MMIO load the device does not support");
        if (traced && trace_wants(TRACE_MMIO))
            mmio_trace(v, d, off, in.width, false, val);
        if (in.reg)
            vcpu_arch_set_gpr(&v->arch, in.reg, insn_load_result(&in, val));
    }
    c->sepc += in.length;
    return EXIT_RESUME;
}

/* Everything but a transformed load or store in htinst: the rest of the
 * htinst decoder, or, when htinst says nothing useful, the instruction the
 * guest executed, read as the guest would fetch it. */
static __attribute__((noinline)) enum exit_action
mmio_emulate_other(struct vcpu *v, struct mmio_dev *d, uint64_t gpa, bool store, bool traced)
{
    struct mmio_insn in;
    uint32_t raw;
    int r = insn_decode_htinst(v->arch.ctx.htinst, &in);

    if (r == INSN_HTINST_NO_INFO) {
        if (!vcpu_arch_read_insn(&v->arch, v->arch.ctx.sepc, &raw))
            return mmio_stop(v, gpa, "MMIO access whose instruction cannot be read");
        r = insn_decode(raw, &in);
    }
    if (r != 0)
        return mmio_stop(v, gpa, "unsupported MMIO instruction (atomic, FP, vector or unknown)");
    return mmio_access(v, d, gpa, store, in, traced);
}

enum exit_action mmio_emulate(struct vcpu *v, struct mmio_dev *d, uint64_t gpa, bool store)
{
    struct mmio_insn in;

    /* htinst, when the hardware supplies it, already says which access it
     * was: the common case. */
    if (!insn_htinst_ldst(v->arch.ctx.htinst, &in))
        return mmio_emulate_other(v, d, gpa, store, false);
    return mmio_access(v, d, gpa, store, in, false);
}

enum exit_action mmio_emulate_traced(struct vcpu *v, struct mmio_dev *d, uint64_t gpa, bool store)
{
    struct mmio_insn in;

    if (!insn_htinst_ldst(v->arch.ctx.htinst, &in))
        return mmio_emulate_other(v, d, gpa, store, true);
    return mmio_access(v, d, gpa, store, in, true);
}
