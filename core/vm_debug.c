/* SPDX-License-Identifier: Apache-2.0 */
#include "core/vm_debug.h"

#include "arch/arch.h"
#include "core/guest_mem.h"
#include "core/gva.h"
#include "core/isa.h"
#include "core/sched.h"
#include "core/vm.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

#define INSN_EBREAK   0x00100073u
#define INSN_C_EBREAK 0x9002u
#define INSN_SRET     0x10200073u
#define HEDELEG_BP    (1ull << CAUSE_BREAKPOINT)

static void (*notify)(struct vm *vm);

void vm_debug_set_notify(void (*fn)(struct vm *vm))
{
    notify = fn;
}

/* ---- memory ----------------------------------------------------------- */

/* The guest physical address of addr for vCPU vcpu, and the bytes left in
 * its page. */
static int debug_translate(struct vm *vm, unsigned vcpu, bool phys, uint64_t addr, uint64_t *gpa,
                           uint64_t *left)
{
    if (phys) {
        *gpa = addr;
        *left = 4096 - (addr & 4095);
        return 0;
    }
    return gva_translate(vm, vm->vcpus[vcpu].arch.vsatp, addr, gpa, left);
}

/* Every patch of the debugger's, software breakpoints and a step's. */
static struct vm_debug_patch *patch_at(struct vm_debug *d, unsigned i)
{
    return i < VM_DEBUG_SWBP_MAX ? &d->sw[i] : &d->step[i - VM_DEBUG_SWBP_MAX];
}
#define PATCHES (VM_DEBUG_SWBP_MAX + VM_DEBUG_STEP_MAX)

/* Bytes [gpa, gpa + n) as the guest had them before the patches: each
 * patch overlapping the range puts back what it replaced.  A step's
 * patch may sit on a software breakpoint's: its orig is the breakpoint's
 * ebreak, whose own orig comes after it here and wins. */
static void overlay(struct vm_debug *d, uint64_t gpa, uint8_t *buf, size_t n)
{
    for (int i = PATCHES - 1; i >= 0; i--) {
        const struct vm_debug_patch *p = patch_at(d, (unsigned)i);
        for (unsigned b = 0; b < p->len; b++) {
            if (p->gpa + b >= gpa && p->gpa + b < gpa + n)
                buf[p->gpa + b - gpa] = p->orig[b];
        }
    }
}

int vm_debug_mem_read(struct vm *vm, unsigned vcpu, bool phys, uint64_t addr, void *buf, size_t n)
{
    uint8_t *out = buf;

    while (n) {
        uint64_t gpa, left;
        if (debug_translate(vm, vcpu, phys, addr, &gpa, &left) < 0)
            return ERR_RANGE;
        size_t k = n < left ? n : (size_t)left;
        if (gpa_read(vm, gpa, out, k) < 0)
            return ERR_RANGE;
        overlay(&vm->debug, gpa, out, k);
        addr += k;
        out += k;
        n -= k;
    }
    return 0;
}

static void icache_flush(struct vm *vm)
{
    /* The vCPUs are off the harts: each fences its instruction fetches
     * before it runs again. */
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vcpu_arch_request_fence(&vm->vcpus[i].arch, VCPU_FENCE_I);
}

int vm_debug_mem_write(struct vm *vm, unsigned vcpu, bool phys, uint64_t addr, const void *buf,
                       size_t n)
{
    struct vm_debug *d = &vm->debug;
    const uint8_t *in = buf;

    /* All or nothing: every page is checked first. */
    for (uint64_t a = addr, m = n; m;) {
        uint64_t gpa, left;
        if (debug_translate(vm, vcpu, phys, a, &gpa, &left) < 0 || !gpa_is_ram(vm, gpa, 1))
            return ERR_RANGE;
        uint64_t k = m < left ? m : left;
        a += k;
        m -= k;
    }
    while (n) {
        uint64_t gpa, left;
        debug_translate(vm, vcpu, phys, addr, &gpa, &left);
        size_t k = n < left ? n : (size_t)left;
        /* Bytes under a patch change what it restores; the patch stays. */
        uint8_t chunk[256];
        for (size_t off = 0; off < k; off += sizeof(chunk)) {
            size_t c = k - off < sizeof(chunk) ? k - off : sizeof(chunk);
            uint64_t g = gpa + off;
            memcpy(chunk, in + off, c);
            for (unsigned i = 0; i < PATCHES; i++) {
                struct vm_debug_patch *p = patch_at(d, i);
                for (unsigned b = 0; b < p->len; b++) {
                    if (p->gpa + b >= g && p->gpa + b < g + c) {
                        p->orig[b] = chunk[p->gpa + b - g];
                        chunk[p->gpa + b - g] = b < 2 && p->len == 2
                                                    ? (uint8_t)(INSN_C_EBREAK >> (8 * b))
                                                    : (uint8_t)(INSN_EBREAK >> (8 * b));
                    }
                }
            }
            if (gpa_write(vm, g, chunk, c) < 0)
                return ERR_RANGE;
        }
        addr += k;
        in += k;
        n -= k;
    }
    icache_flush(vm);
    return 0;
}

/* Patches an ebreak (len 4) or c.ebreak (2) at va, saving what it covers. */
static int patch_insert(struct vm *vm, unsigned vcpu, struct vm_debug_patch *p, uint64_t va,
                        unsigned len)
{
    uint64_t gpa, left;
    uint32_t insn = len == 2 ? INSN_C_EBREAK : INSN_EBREAK;

    if (gva_translate(vm, vm->vcpus[vcpu].arch.vsatp, va, &gpa, &left) < 0 || left < len ||
        gpa_read(vm, gpa, p->orig, len) < 0 || gpa_write(vm, gpa, &insn, len) < 0)
        return ERR_RANGE;
    p->va = va;
    p->gpa = gpa;
    p->len = (uint8_t)len;
    return 0;
}

/* Puts back what the patch replaced, unless the guest wrote over the
 * ebreak since (then its own bytes stay). */
static void patch_remove(struct vm *vm, struct vm_debug_patch *p)
{
    uint32_t now = 0, insn = p->len == 2 ? INSN_C_EBREAK : INSN_EBREAK;

    if (gpa_read(vm, p->gpa, &now, p->len) == 0 && now == insn)
        gpa_write(vm, p->gpa, p->orig, p->len);
    p->len = 0;
}

/* ---- hardware triggers ------------------------------------------------ */

/* The smallest naturally aligned power-of-two range covering [addr,
 * addr + len): what one NAPOT trigger matches. */
static void napot_range(uint64_t addr, uint64_t len, uint64_t *base, uint64_t *size)
{
    uint64_t s = 1;
    while (s < (1ull << 62) && ((addr & ~(s - 1)) + s < addr + len || s < len))
        s <<= 1;
    *base = addr & ~(s - 1);
    *size = s;
}

/* The mcontrol6 trigger for a debugger's slot: VS- and VU-mode only, so it
 * fires in this guest alone; action 0, a breakpoint exception (which the
 * attached VM's hedeleg sends to Vireo). */
static struct vcpu_trig hw_trig(const struct vm_debug_hw *h)
{
    uint64_t t1 = TDATA1_TYPE(6) | MCONTROL6_VS | MCONTROL6_VU;

    switch (h->type) {
    case VM_DEBUG_BP_HW:
        t1 |= MCONTROL_EXECUTE;
        break;
    case VM_DEBUG_BP_WRITE:
        t1 |= MCONTROL_STORE;
        break;
    case VM_DEBUG_BP_READ:
        t1 |= MCONTROL_LOAD;
        break;
    default:
        t1 |= MCONTROL_LOAD | MCONTROL_STORE;
        break;
    }
    uint64_t t2 = h->base;
    if (h->size > 1) {
        t1 |= 1ull << 7; /* match 1: NAPOT, the size in tdata2's low ones */
        t2 |= h->size / 2 - 1;
    }
    return (struct vcpu_trig){t1, t2, 0};
}

/* The debugger's triggers into every vCPU (off the harts: armed when each
 * is next loaded). */
static void hw_sync(struct vm *vm)
{
    struct vm_debug *d = &vm->debug;

    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vcpu_arch *a = &vm->vcpus[i].arch;
        for (unsigned s = 0; s < VCPU_TRIG_DEBUG; s++) {
            unsigned slot = VCPU_TRIG_MAX + s;
            if (d->hw[s].used) {
                a->trig[slot] = hw_trig(&d->hw[s]);
                a->trig_on |= 1u << slot;
            } else {
                a->trig_on &= ~(1u << slot);
            }
        }
    }
}

/* ---- attach, stop, resume ---------------------------------------------- */

int vm_debug_attach(struct vm *vm)
{
    struct vm_debug *d = &vm->debug;

    if (d->attached || __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING)
        return ERR_STATE;
    spin_lock(&d->lock);
    d->stopped = d->pending = false;
    d->why = VM_DEBUG_NONE;
    d->stepping = 0;
    d->only = -1;
    memset(d->sw, 0, sizeof(d->sw));
    memset(d->step, 0, sizeof(d->step));
    memset(d->hw, 0, sizeof(d->hw));
    d->attached = true;
    spin_unlock(&d->lock);
    return 0;
}

static void steps_remove(struct vm *vm)
{
    struct vm_debug *d = &vm->debug;

    /* Last planted first: one planted over another's ebreak restores it. */
    for (int i = VM_DEBUG_STEP_MAX - 1; i >= 0; i--) {
        if (d->step[i].len)
            patch_remove(vm, &d->step[i]);
    }
    d->stepping = 0;
}

void vm_debug_detach(struct vm *vm)
{
    struct vm_debug *d = &vm->debug;

    if (!d->attached)
        return;
    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING) {
        /* Memory and vCPUs are only changed while they are off the harts:
         * stop them first if they run (the caller waits at most for
         * their next exit, which an IPI brings at once). */
        if (!d->stopped) {
            vm_debug_stop(vm);
            while (!sched_debug_off_harts(vm) &&
                   __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING)
                arch_cpu_relax();
        }
        if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING) {
            steps_remove(vm);
            for (unsigned i = 0; i < VM_DEBUG_SWBP_MAX; i++) {
                if (d->sw[i].len)
                    patch_remove(vm, &d->sw[i]);
            }
            memset(d->hw, 0, sizeof(d->hw));
            hw_sync(vm);
            icache_flush(vm);
            for (unsigned i = 0; i < vm->nvcpus; i++)
                vm->vcpus[i].arch.hedeleg |= HEDELEG_BP;
        }
    }
    spin_lock(&d->lock);
    d->attached = d->stopped = d->pending = false;
    spin_unlock(&d->lock);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        sched_debug_hold(&vm->vcpus[i], false);
}

/* Lock held: records a stop (unless one is being made) and holds every
 * vCPU.  False if one was already pending. */
static bool stop_record(struct vm *vm, enum vm_debug_why why, unsigned vcpu, uint64_t addr)
{
    struct vm_debug *d = &vm->debug;

    if (d->pending || d->stopped)
        return false;
    d->pending = true;
    d->why = why;
    d->vcpu = vcpu;
    d->addr = addr;
    for (unsigned i = 0; i < vm->nvcpus; i++)
        sched_debug_hold(&vm->vcpus[i], true);
    return true;
}

void vm_debug_stop(struct vm *vm)
{
    struct vm_debug *d = &vm->debug;

    if (!d->attached)
        return;
    spin_lock(&d->lock);
    /* The vCPU to name: the one a step or a single-thread continue let
     * go, else the first that is not stopped (HSM), else the first. */
    unsigned who = 0;
    if (d->only >= 0) {
        who = (unsigned)d->only;
    } else {
        for (unsigned i = 0; i < vm->nvcpus; i++) {
            if (vm->vcpus[i].state != VCPU_OFFLINE) {
                who = i;
                break;
            }
        }
    }
    stop_record(vm, VM_DEBUG_INTERRUPT, who, 0);
    spin_unlock(&d->lock);
    if (notify && sched_debug_off_harts(vm))
        notify(vm);
}

bool vm_debug_poll(struct vm *vm, enum vm_debug_why *why, unsigned *vcpu, uint64_t *addr)
{
    struct vm_debug *d = &vm->debug;

    if (!d->attached || !d->pending || !sched_debug_off_harts(vm))
        return false;
    spin_lock(&d->lock);
    d->pending = false;
    d->stopped = true;
    *why = d->why;
    *vcpu = d->vcpu;
    *addr = d->addr;
    spin_unlock(&d->lock);
    if (d->stepping) {
        steps_remove(vm);
        icache_flush(vm);
    }
    return true;
}

unsigned vm_debug_next_pcs(uint32_t insn, uint64_t pc, const uint64_t gpr[32], uint64_t vsepc,
                           bool vs_mode, uint64_t out[3])
{
    unsigned n = 0;
#define X(r) ((r) ? gpr[(r)] : 0)
    if ((insn & 3) == 3) {
        unsigned opcode = insn & 0x7f, rs1 = (insn >> 15) & 31;
        out[n++] = pc + 4;
        if (opcode == 0x6f) { /* JAL */
            uint64_t imm = ((insn >> 31) & 1) << 20 | ((insn >> 12) & 0xff) << 12 |
                           ((insn >> 20) & 1) << 11 | ((insn >> 21) & 0x3ff) << 1;
            out[0] = pc + (uint64_t)((int64_t)(imm << 43) >> 43);
        } else if (opcode == 0x67) { /* JALR */
            out[0] = (X(rs1) + (uint64_t)((int64_t)(int32_t)insn >> 20)) & ~1ull;
        } else if (opcode == 0x63) { /* branches: either way */
            uint64_t imm = ((insn >> 31) & 1) << 12 | ((insn >> 7) & 1) << 11 |
                           ((insn >> 25) & 0x3f) << 5 | ((insn >> 8) & 0xf) << 1;
            out[n++] = pc + (uint64_t)((int64_t)(imm << 51) >> 51);
        } else if (insn == INSN_SRET && vs_mode) {
            out[0] = vsepc;
        }
        return n;
    }
    uint16_t c = (uint16_t)insn;
    unsigned q = c & 3, f3 = c >> 13, rs1 = (c >> 7) & 31, rs2 = (c >> 2) & 31;
    out[n++] = pc + 2;
    if (q == 1 && f3 == 5) { /* C.J */
        uint64_t imm = ((c >> 12) & 1) << 11 | ((c >> 11) & 1) << 4 | ((c >> 9) & 3) << 8 |
                       ((c >> 8) & 1) << 10 | ((c >> 7) & 1) << 6 | ((c >> 6) & 1) << 7 |
                       ((c >> 3) & 7) << 1 | ((c >> 2) & 1) << 5;
        out[0] = pc + (uint64_t)((int64_t)(imm << 52) >> 52);
    } else if (q == 1 && (f3 == 6 || f3 == 7)) { /* C.BEQZ, C.BNEZ */
        uint64_t imm = ((c >> 12) & 1) << 8 | ((c >> 10) & 3) << 3 | ((c >> 5) & 3) << 6 |
                       ((c >> 3) & 3) << 1 | ((c >> 2) & 1) << 5;
        out[n++] = pc + (uint64_t)((int64_t)(imm << 55) >> 55);
    } else if (q == 2 && f3 == 4 && rs2 == 0 && rs1 != 0) { /* C.JR, C.JALR */
        out[0] = X(rs1) & ~1ull;
    }
    return n;
#undef X
}

/* Plants a step's ebreaks for vCPU i: where its next instruction may go,
 * and its trap entry (an exception or interrupt taken instead).  Where a
 * page is not mapped nothing is planted: getting there faults into the
 * trap entry, which is. */
static int steps_plant(struct vm *vm, unsigned i)
{
    struct vm_debug *d = &vm->debug;
    struct vcpu *v = &vm->vcpus[i];
    uint64_t pc = v->arch.ctx.sepc, to[3 + 4];
    uint32_t insn = 0;

    if (vm_debug_mem_read(vm, i, false, pc, &insn, 2) < 0)
        return ERR_RANGE;
    if ((insn & 3) == 3 && vm_debug_mem_read(vm, i, false, pc, &insn, 4) < 0)
        return ERR_RANGE;
    bool vs = (v->arch.ctx.sstatus & SSTATUS_SPP) != 0;
    unsigned n = vm_debug_next_pcs(insn, pc, v->arch.ctx.gpr, v->arch.vsepc, vs, to);
    uint64_t tvec = v->arch.vstvec & ~3ull;
    to[n++] = tvec;
    if ((v->arch.vstvec & 3) == 1) { /* vectored: interrupts at base + 4 * cause */
        to[n++] = tvec + 4 * 1;
        to[n++] = tvec + 4 * 5;
        to[n++] = tvec + 4 * 9;
    }
    unsigned used = 0;
    for (unsigned k = 0; k < n && used < VM_DEBUG_STEP_MAX; k++) {
        bool dup = false;
        for (unsigned j = 0; j < used; j++)
            dup |= d->step[j].va == to[k];
        if (dup || (to[k] & 1))
            continue;
        /* c.ebreak where the C extension lets a 2-byte instruction be. */
        unsigned len = isa_has(&vm->isa.exts, (unsigned)isa_lookup("c")) ? 2 : 4;
        if (patch_insert(vm, i, &d->step[used], to[k], len) == 0)
            used++;
    }
    d->stepping = i + 1;
    return 0;
}

int vm_debug_resume(struct vm *vm, int only, bool step)
{
    struct vm_debug *d = &vm->debug;

    if (!d->attached || !d->stopped)
        return ERR_STATE;
    if (only >= (int)vm->nvcpus || (step && only < 0))
        return ERR_INVAL;
    if (step) {
        int rc = steps_plant(vm, (unsigned)only);
        if (rc < 0)
            return rc;
    }
    hw_sync(vm);
    icache_flush(vm);
    for (unsigned i = 0; i < vm->nvcpus; i++)
        vm->vcpus[i].arch.hedeleg &= ~HEDELEG_BP;
    /* Let go under the lock: a vCPU let go first can reach a breakpoint
     * at once and record a stop that holds every vCPU; letting the others
     * go after that would leave them running with the stop pending
     * forever (no stop reply; seen once the scheduler's IPIs left after
     * its unlock, which lets the first vCPU run that much sooner). */
    spin_lock(&d->lock);
    d->stopped = false;
    d->only = only;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        if (only < 0 || (unsigned)only == i)
            sched_debug_hold(&vm->vcpus[i], false);
    }
    spin_unlock(&d->lock);
    return 0;
}

/* ---- breakpoints ------------------------------------------------------- */

static bool is_hw(enum vm_debug_bp type)
{
    return type != VM_DEBUG_BP_SW;
}

int vm_debug_bp_insert(struct vm *vm, unsigned vcpu, enum vm_debug_bp type, uint64_t addr,
                       uint64_t len)
{
    struct vm_debug *d = &vm->debug;

    if (!d->stopped)
        return ERR_STATE;
    if (type > VM_DEBUG_BP_ACCESS || len == 0)
        return ERR_INVAL;
    if (!is_hw(type)) {
        if (len != 2 && len != 4)
            return ERR_INVAL;
        struct vm_debug_patch *free_slot = NULL;
        for (unsigned i = 0; i < VM_DEBUG_SWBP_MAX; i++) {
            if (d->sw[i].len && d->sw[i].va == addr)
                return 0;
            if (!d->sw[i].len && !free_slot)
                free_slot = &d->sw[i];
        }
        if (!free_slot)
            return ERR_NOSPC;
        int rc = patch_insert(vm, vcpu, free_slot, addr, (unsigned)len);
        if (rc == 0)
            icache_flush(vm);
        return rc;
    }
    unsigned have = vcpu_arch_trig_max();
    if (!have)
        return ERR_NOTSUP;
    unsigned used = 0;
    struct vm_debug_hw *slot = NULL;
    for (unsigned i = 0; i < VCPU_TRIG_DEBUG; i++) {
        struct vm_debug_hw *h = &d->hw[i];
        if (h->used && h->type == type && h->addr == addr && h->len == len)
            return 0;
        used += h->used;
        if (!h->used && !slot)
            slot = h;
    }
    if (!slot || used >= have)
        return ERR_NOSPC;
    *slot = (struct vm_debug_hw){.used = true, .type = type, .addr = addr, .len = len};
    napot_range(addr, type == VM_DEBUG_BP_HW ? 1 : len, &slot->base, &slot->size);
    return 0;
}

int vm_debug_bp_remove(struct vm *vm, enum vm_debug_bp type, uint64_t addr, uint64_t len)
{
    struct vm_debug *d = &vm->debug;

    if (!d->stopped)
        return ERR_STATE;
    if (!is_hw(type)) {
        for (unsigned i = 0; i < VM_DEBUG_SWBP_MAX; i++) {
            if (d->sw[i].len && d->sw[i].va == addr) {
                patch_remove(vm, &d->sw[i]);
                icache_flush(vm);
            }
        }
        return 0;
    }
    for (unsigned i = 0; i < VCPU_TRIG_DEBUG; i++) {
        struct vm_debug_hw *h = &d->hw[i];
        if (h->used && h->type == type && h->addr == addr && h->len == len)
            h->used = false;
    }
    return 0;
}

/* ---- from the vCPUs ------------------------------------------------------ */

/* Which of the debugger's breakpoints the exception at pc (tval: the data
 * address of a watchpoint's hit) is, if any. */
static enum vm_debug_why classify(struct vm_debug *d, unsigned vcpu, uint64_t pc, uint64_t tval,
                                  uint64_t *addr)
{
    *addr = 0;
    if (d->stepping == vcpu + 1) {
        for (unsigned i = 0; i < VM_DEBUG_STEP_MAX; i++) {
            if (d->step[i].len && d->step[i].va == pc)
                return VM_DEBUG_STEP;
        }
    }
    for (unsigned i = 0; i < VM_DEBUG_SWBP_MAX; i++) {
        if (d->sw[i].len && d->sw[i].va == pc)
            return VM_DEBUG_SWBREAK;
    }
    for (unsigned i = 0; i < VCPU_TRIG_DEBUG; i++) {
        const struct vm_debug_hw *h = &d->hw[i];
        if (!h->used)
            continue;
        if (h->type == VM_DEBUG_BP_HW && pc == h->addr)
            return VM_DEBUG_HWBREAK;
        if (h->type != VM_DEBUG_BP_HW && tval >= h->base && tval - h->base < h->size) {
            *addr = tval;
            return h->type == VM_DEBUG_BP_WRITE  ? VM_DEBUG_WATCH
                   : h->type == VM_DEBUG_BP_READ ? VM_DEBUG_RWATCH
                                                 : VM_DEBUG_AWATCH;
        }
    }
    return VM_DEBUG_NONE;
}

enum exit_action vm_debug_breakpoint(struct vcpu *v)
{
    struct vm *vm = v->vm;
    struct vm_debug *d = &vm->debug;
    uint64_t pc = v->arch.ctx.sepc, tval = v->arch.ctx.stval, addr;
    unsigned me = (unsigned)(v - vm->vcpus);

    spin_lock(&d->lock);
    enum vm_debug_why why = d->attached ? classify(d, me, pc, tval, &addr) : VM_DEBUG_NONE;
    if (why == VM_DEBUG_NONE) {
        spin_unlock(&d->lock);
        /* The guest's own (an ebreak in its code, a trigger it set): it
         * takes it as it would have without a debugger. */
        vcpu_arch_inject_exception(&v->arch, CAUSE_BREAKPOINT, tval);
        return EXIT_RESUME;
    }
    /* A second vCPU at a breakpoint while a stop is being made stays
     * before it: it takes it again once it runs, if it is still there. */
    stop_record(vm, why, me, addr);
    spin_unlock(&d->lock);
    return EXIT_YIELD;
}

void vm_debug_off_harts(struct vm *vm)
{
    if (vm->debug.attached && vm->debug.pending && notify)
        notify(vm);
}

int vm_debug_refuse_copy(const struct vm *vm, char *err, size_t errlen)
{
    if (!vm->debug.attached)
        return 0;
    fmt_snprintf(err, errlen,
                 "vm %s has a debugger attached (its breakpoints are in its memory): detach it "
                 "first",
                 vm->name);
    return ERR_STATE;
}
