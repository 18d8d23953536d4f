/* SPDX-License-Identifier: Apache-2.0 */
/* A vCPU's state as snapshot data.  The payload is a fixed sequence of
 * little-endian fields (docs/snapshot.md lists them), version first.
 * Times the guest sees are on its own clock (host time + htimedelta), so
 * a restore anywhere continues them. */
#include "core/vcpu_state.h"

#include "arch/arch.h"
#include "core/isa.h"
#include "core/sbi/sbi.h"
#include "core/sched.h"
#include "core/vm.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/wire.h"

/* What the HS-level sstatus of an exit may carry into the next entry: the
 * mode the guest was in and its interrupt enable; FS/VS are Vireo's. */
#define VCPU_SSTATUS_GUEST (SSTATUS_SPP | SSTATUS_SPIE)
/* hstatus bits an exit sets from the guest's doing: its mode (SPVP) and
 * whether the trap value was a guest virtual address (GVA). */
#define VCPU_HSTATUS_GUEST (HSTATUS_SPVP | HSTATUS_GVA)
#define VCPU_HVIP_GUEST    (HVIP_VSSIP | HVIP_VSTIP)

/* host time to the guest's clock; UINT64_MAX (no deadline) stays. */
static uint64_t guest_time(const struct vcpu *v, uint64_t host)
{
    return host == UINT64_MAX ? UINT64_MAX : host + v->arch.hctl.htimedelta;
}

long vcpu_state_save(const struct vcpu *v, void *buf, size_t size)
{
    const struct vcpu_arch *a = &v->arch;
    struct wire w = wire_out(buf, size);
    /* A vCPU sitting out a throttle (sched_throttle_vm) wants to run: it
     * is not waiting for an interrupt. */
    enum vcpu_state run = v->state == VCPU_RUNNING || (v->state == VCPU_BLOCKED && v->throttled)
                              ? VCPU_RUNNABLE
                              : v->state;

    wire_put_u32(&w, VCPU_STATE_VERSION);
    wire_put_u32(&w, (uint32_t)run);
    wire_put_u32(&w, (uint32_t)v->suspend);
    wire_put_u32(&w, v->fwft_locked);
    for (unsigned i = 1; i < 32; i++)
        wire_put_u64(&w, a->ctx.gpr[i]);
    wire_put_u64(&w, a->ctx.sepc);
    wire_put_u64(&w, a->ctx.sstatus & VCPU_SSTATUS_GUEST);
    wire_put_u64(&w, a->ctx.hstatus & VCPU_HSTATUS_GUEST);
    const uint64_t csrs[] = {a->vsstatus,
                             a->vsie,
                             a->vstvec,
                             a->vsscratch,
                             a->vsepc,
                             a->vscause,
                             a->vstval,
                             a->vsatp,
                             a->senvcfg,
                             a->scounteren,
                             a->hctl.henvcfg,
                             a->hedeleg,
                             a->hvip | a->hvip_pending,
                             a->vstimecmp};
    for (unsigned i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++)
        wire_put_u64(&w, csrs[i]);
    wire_put_u64(&w, guest_time(v, v->timer_deadline));
    wire_put_u64(&w, v->resume_pc);
    wire_put_u64(&w, v->resume_opaque);
    wire_put_u64(&w, v->sta_gpa);
    wire_put_u64(&w, v->steal_ns);
    wire_put_u64(&w, v->dbtr.shmem);
    wire_put_u32(&w, VCPU_TRIG_MAX);
    for (unsigned i = 0; i < VCPU_TRIG_MAX; i++) {
        wire_put_u64(&w, v->dbtr.trig[i].state);
        wire_put_u64(&w, v->dbtr.trig[i].tdata1);
        wire_put_u64(&w, v->dbtr.trig[i].tdata2);
        wire_put_u64(&w, v->dbtr.trig[i].tdata3);
    }
    for (unsigned i = 0; i < 32; i++)
        wire_put_u64(&w, a->fp.f[i]);
    wire_put_u64(&w, a->fp.fcsr);
    size_t vec = a->vec ? arch_vector_state_size() : 0;
    wire_put_u32(&w, (uint32_t)vec);
    if (vec)
        wire_put_bytes(&w, a->vec, vec);
    return w.bad ? ERR_NOSPC : (long)w.pos;
}

static uint64_t env_min_of(const struct vm *vm)
{
    return isa_guest_henvcfg_reset(&vm->isa);
}

static int refuse(char *err, size_t errlen, const struct vcpu *v, int code, const char *what)
{
    fmt_snprintf(err, errlen, "vCPU %u: %s", v->id, what);
    return code;
}

int vcpu_state_parse(const struct vcpu *v, const void *buf, size_t size, struct vcpu_image *img,
                     char *err, size_t errlen)
{
    const struct vm *vm = v->vm;
    struct wire_in r = wire_in(buf, size);

    memset(img, 0, sizeof(*img));
    if (wire_get_u32(&r) != VCPU_STATE_VERSION)
        return refuse(err, errlen, v, ERR_VERSION, "state of an unknown version");
    uint32_t run = wire_get_u32(&r), suspend = wire_get_u32(&r);
    img->fwft_locked = wire_get_u32(&r);
    for (unsigned i = 1; i < 32; i++)
        img->gpr[i] = wire_get_u64(&r);
    img->pc = wire_get_u64(&r);
    img->sstatus = wire_get_u64(&r);
    img->hstatus = wire_get_u64(&r);
    uint64_t *csrs[] = {&img->vsstatus, &img->vsie,       &img->vstvec,  &img->vsscratch,
                        &img->vsepc,    &img->vscause,    &img->vstval,  &img->vsatp,
                        &img->senvcfg,  &img->scounteren, &img->henvcfg, &img->hedeleg,
                        &img->hvip,     &img->vstimecmp};
    for (unsigned i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++)
        *csrs[i] = wire_get_u64(&r);
    img->timer_guest = wire_get_u64(&r);
    img->resume_pc = wire_get_u64(&r);
    img->resume_opaque = wire_get_u64(&r);
    img->sta_gpa = wire_get_u64(&r);
    img->steal_ns = wire_get_u64(&r);
    img->dbtr.shmem = wire_get_u64(&r);
    if (wire_get_u32(&r) != VCPU_TRIG_MAX)
        return refuse(err, errlen, v, ERR_STRUCTURE, "wrong number of debug triggers");
    for (unsigned i = 0; i < VCPU_TRIG_MAX; i++) {
        img->dbtr.trig[i].state = wire_get_u64(&r);
        img->dbtr.trig[i].tdata1 = wire_get_u64(&r);
        img->dbtr.trig[i].tdata2 = wire_get_u64(&r);
        img->dbtr.trig[i].tdata3 = wire_get_u64(&r);
    }
    for (unsigned i = 0; i < 32; i++)
        img->fp.f[i] = wire_get_u64(&r);
    img->fp.fcsr = wire_get_u64(&r);
    img->vec_size = wire_get_u32(&r);
    if (r.bad)
        return refuse(err, errlen, v, ERR_TRUNCATED, "state is truncated");
    if (img->vec_size != (v->arch.vec ? arch_vector_state_size() : 0))
        return refuse(err, errlen, v, ERR_MISMATCH,
                      "vector state of another size (a host with another VLEN, or without V)");
    img->vec = r.buf + r.pos;
    if (img->vec_size > r.len - r.pos)
        return refuse(err, errlen, v, ERR_TRUNCATED, "vector state is truncated");
    r.pos += img->vec_size;
    if (!wire_done(&r))
        return refuse(err, errlen, v, ERR_STRUCTURE, "state has the wrong length");

    /* The scheduler's view and SBI's. */
    if (run != VCPU_OFFLINE && run != VCPU_RUNNABLE && run != VCPU_BLOCKED)
        return refuse(err, errlen, v, ERR_RANGE, "run state out of range");
    if (suspend > VCPU_SUSPENDED_NONRET || (suspend != VCPU_AWAKE && run == VCPU_OFFLINE))
        return refuse(err, errlen, v, ERR_RANGE, "suspend state out of range");
    img->run = (enum vcpu_state)run;
    img->suspend = (int)suspend;
    if (suspend == VCPU_SUSPENDED_NONRET && !gpa_is_ram(vm, img->resume_pc, 4))
        return refuse(err, errlen, v, ERR_RANGE, "resume address outside the VM's RAM");
    if (img->sta_gpa != UINT64_MAX &&
        ((img->sta_gpa & 63) || !gpa_is_ram(vm, img->sta_gpa, SBI_STA_SHMEM_SIZE)))
        return refuse(err, errlen, v, ERR_RANGE, "steal-time record outside the VM's RAM");
    if (img->fwft_locked &
        ~((1u << SBI_FWFT_MISALIGNED_EXC_DELEG) | (1u << SBI_FWFT_PTE_AD_HW_UPDATING)))
        return refuse(err, errlen, v, ERR_RANGE, "FWFT lock on a feature guests do not have");
    if (img->dbtr.shmem != UINT64_MAX &&
        !gpa_is_ram(vm, img->dbtr.shmem, (uint64_t)vcpu_arch_trig_max() * SBI_DBTR_ENTRY_SIZE))
        return refuse(err, errlen, v, ERR_RANGE, "debug-trigger memory outside the VM's RAM");
    if (sbi_dbtr_state_check(&img->dbtr) < 0)
        return refuse(err, errlen, v, ERR_RANGE,
                      "debug triggers a guest could not have set on this host");

    /* A hart that is off is reset when it starts (HSM hart_start): what its
     * registers held does not matter, and it carries no SBI state. */
    if (img->run == VCPU_OFFLINE) {
        img->henvcfg = env_min_of(vm);
        img->hedeleg = VCPU_HEDELEG_RESET;
    }
    /* Hypervisor controls: what the VM's ISA and SBI FWFT allow, exactly. */
    uint64_t env_min = env_min_of(vm);
    if ((img->henvcfg & ~vm->isa.henvcfg) || (img->henvcfg & env_min) != env_min ||
        ((img->henvcfg ^ env_min) & ~HENVCFG_ADUE))
        return refuse(err, errlen, v, ERR_MISMATCH, "henvcfg this VM's ISA does not give");
    if (img->hedeleg != VCPU_HEDELEG_RESET &&
        img->hedeleg != (VCPU_HEDELEG_RESET & ~HEDELEG_MISALIGNED))
        return refuse(err, errlen, v, ERR_RANGE, "exception delegation a guest cannot ask for");
    /* Sanitized: the bits only the hardware and Vireo set. */
    img->sstatus &= VCPU_SSTATUS_GUEST;
    img->hstatus &= VCPU_HSTATUS_GUEST;
    img->hvip &= VCPU_HVIP_GUEST; /* VSEIP follows the virtual PLIC */
    img->vsstatus = (img->vsstatus & ~(3ULL << 32)) | SSTATUS_UXL_64;
    return 0;
}

void vcpu_state_apply(struct vcpu *v, const struct vcpu_image *img)
{
    struct vcpu_arch *a = &v->arch;

    for (unsigned i = 1; i < 32; i++)
        a->ctx.gpr[i] = img->gpr[i];
    a->ctx.sepc = img->pc;
    a->ctx.sstatus = img->sstatus | SSTATUS_FS_CLEAN | (a->vec ? SSTATUS_VS_CLEAN : 0);
    a->ctx.hstatus = (VCPU_HSTATUS_RESET & ~HSTATUS_SPVP) | img->hstatus;
    a->vsstatus = img->vsstatus;
    a->vsie = img->vsie;
    a->vstvec = img->vstvec;
    a->vsscratch = img->vsscratch;
    a->vsepc = img->vsepc;
    a->vscause = img->vscause;
    a->vstval = img->vstval;
    a->vsatp = img->vsatp;
    a->senvcfg = img->senvcfg;
    a->scounteren = img->scounteren;
    a->hctl.henvcfg = img->henvcfg;
    a->hedeleg = img->hedeleg;
    a->hvip = img->hvip;
    __atomic_store_n(&a->hvip_pending, 0, __ATOMIC_RELAXED);
    a->vstimecmp = img->vstimecmp;
    a->fp = img->fp;
    if (a->vec && img->vec_size)
        memcpy(a->vec, img->vec, img->vec_size);
    /* It enters from the scheduler, which loads every register; a pending
     * "reload all" of the fast path would reload s1-s11 after an ecall,
     * whose exit does not store them. */
    a->reload_all = 0;
    vcpu_arch_invalidate(a);

    v->timer_deadline = vcpu_host_time(v, img->timer_guest);
    v->suspend = img->suspend;
    v->resume_pc = img->resume_pc;
    v->resume_opaque = img->resume_opaque;
    v->sta_gpa = img->sta_gpa;
    v->steal_ns = img->steal_ns;
    v->fwft_locked = img->fwft_locked;
    v->dbtr = img->dbtr;
    v->stop_requested = false;
    sbi_dbtr_restored(v);
    sched_set_vcpu_state(v, img->run);
}
