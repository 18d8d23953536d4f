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

/* Out of line: a refused access is no part of the fast path, and
 * naming the reason by a constant keeps the decode out of the call. */
static __attribute__((noinline)) enum exit_action mmio_refuse(struct vcpu *v, uint64_t gpa,
                                                              const char *what)
{
    return mmio_stop(v, gpa, what);
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

/* The faulting guest physical address (as core/exit.c computes it). */
static inline uint64_t mmio_gpa(const struct vcpu_ctx *c)
{
    return (c->htval << 2) | (c->stval & 3);
}

/* The key of an access in struct mmio_hit: htinst and the direction. */
static inline uint64_t mmio_key(uint64_t htinst, bool store)
{
    return htinst ^ ((uint64_t)store << 63);
}

INLINE_ALWAYS bool mmio_hit(const struct vcpu *v, uint64_t gpa, bool store)
{
    return gpa == v->mmio_hit.gpa && mmio_key(v->arch.ctx.htinst, store) == v->mmio_hit.key;
}

/* The access in v->mmio_hit, decoded and checked.  Its fields are read
 * from memory again after the device's call rather than kept in
 * registers across it: the fast path's frame saves fewer.  traced is a
 * constant where this is inlined: only the traced copies have the hook. */
static INLINE_ALWAYS enum exit_action mmio_access(struct vcpu *v, bool traced)
{
    struct vcpu_ctx *c = &v->arch.ctx;
    const struct mmio_hit *h = &v->mmio_hit;

    if (h->in.kind == INSN_STORE) {
        uint64_t val = insn_store_value(&h->in, c->gpr[h->in.reg]);
        if (traced && trace_wants(TRACE_MMIO))
            mmio_trace(v, h->d, h->off, h->in.width, true, val);
        if (h->d->ops->write(h->d, h->off, h->in.width, val) < 0)
            return mmio_stop(v, mmio_gpa(c), "MMIO store the device does not support");
    } else {
        uint64_t val = 0;
        if (h->d->ops->read(h->d, h->off, h->in.width, &val) < 0)
            return mmio_stop(v, mmio_gpa(c), "MMIO load the device does not support");
        if (traced && trace_wants(TRACE_MMIO))
            mmio_trace(v, h->d, h->off, h->in.width, false, val);
        /* vcpu_arch_set_gpr and insn_load_result with what they work
         * out taken from the hit: the same result. */
        if (h->in.reg) {
            c->gpr[h->in.reg] = h->in.sign_extend
                                    ? (uint64_t)((int64_t)(val << h->shift) >> h->shift)
                                    : (val << h->shift) >> h->shift;
            if (h->live)
                v->arch.reload_all = 1;
        }
    }
    c->sepc += h->in.length;
    return EXIT_RESUME;
}

INLINE_ALWAYS enum exit_action mmio_emulate_hit(struct vcpu *v)
{
    return mmio_access(v, false);
}

enum exit_action mmio_emulate_hit_traced(struct vcpu *v)
{
    return mmio_access(v, true);
}

/* A decoded access: checked against the fault and the device, kept as the
 * vCPU's last access (key: its mmio_key, or none when htinst did not
 * describe it and the instruction was read), and carried out. */
static INLINE_ALWAYS enum exit_action mmio_check(struct vcpu *v, struct mmio_dev *d, uint64_t gpa,
                                                 bool store, struct mmio_insn in, uint64_t key,
                                                 bool traced)
{
    struct mmio_hit *h = &v->mmio_hit;
    uint64_t off = gpa - d->base; /* d covers gpa: the caller found it so */

    if ((in.kind == INSN_STORE) != store)
        return mmio_refuse(v, gpa, "MMIO access that does not match its fault");
    if (gpa & (in.width - 1u))
        return mmio_refuse(v, gpa, "misaligned MMIO access");
    if (in.width > d->size - off)
        return mmio_refuse(v, gpa, "MMIO access across a device's end");
    h->gpa = key == MMIO_HIT_NONE ? MMIO_HIT_NONE : gpa;
    h->key = key;
    h->d = d;
    h->off = off;
    h->in = in;
    h->shift = (uint8_t)(64 - 8 * in.width); /* width 1, 2, 4 or 8: the decode gives no other */
    h->live = (VCPU_ARCH_LIVE_GPRS >> in.reg) & 1;
    return mmio_access(v, traced);
}

/* Everything but a transformed load or store in htinst: the rest of the
 * htinst decoder, or, when htinst says nothing useful, the instruction the
 * guest executed, read as the guest would fetch it.  Not kept for a hit:
 * the instruction at the same pc may be another one next time. */
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
    return traced ? mmio_check(v, d, gpa, store, in, MMIO_HIT_NONE, true)
                  : mmio_check(v, d, gpa, store, in, MMIO_HIT_NONE, false);
}

/* Inlined into the exit fast path (vcpu_exit), like the handlers of
 * core/exit.c: an MMIO exit is one frame. */
INLINE_ALWAYS enum exit_action mmio_emulate(struct vcpu *v, struct mmio_dev *d, uint64_t gpa,
                                            bool store)
{
    struct mmio_insn in;

    /* htinst, when the hardware supplies it, already says which access it
     * was: the common case. */
    if (!insn_htinst_ldst(v->arch.ctx.htinst, &in))
        return mmio_emulate_other(v, d, gpa, store, false);
    return mmio_check(v, d, gpa, store, in, mmio_key(v->arch.ctx.htinst, store), false);
}

enum exit_action mmio_emulate_traced(struct vcpu *v, struct mmio_dev *d, uint64_t gpa, bool store)
{
    struct mmio_insn in;

    if (!insn_htinst_ldst(v->arch.ctx.htinst, &in))
        return mmio_emulate_other(v, d, gpa, store, true);
    return mmio_check(v, d, gpa, store, in, mmio_key(v->arch.ctx.htinst, store), true);
}
