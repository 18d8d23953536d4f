/* SPDX-License-Identifier: Apache-2.0 */
/* The host build's arch layer: enough of arch/arch.h for unit tests and
 * fuzzers.  Memory-mapped I/O goes to a byte array so device drivers can be
 * exercised; halting and powering off abort the test. */
#include "arch/arch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hart.h"
#include "core/vcpu.h"
#include "devices/mmio.h"
#include "tests/unit/fake_arch.h"

struct hart *arch_this_hart(void)
{
    return &harts[0];
}

uint64_t arch_time(void)
{
    static uint64_t t;
    return t += 1000;
}

void arch_cpu_relax(void) {}

bool arch_probe_h(void)
{
    return true;
}

long arch_hart_start(unsigned long hartid, struct hart *h)
{
    (void)hartid;
    (void)h;
    return -2; /* SBI_ERR_NOT_SUPPORTED */
}

void arch_halt(void)
{
    fprintf(stderr, "fake_arch: arch_halt called\n");
    abort();
}

void arch_poweroff(bool failure)
{
    fprintf(stderr, "fake_arch: arch_poweroff(%d) called\n", failure);
    abort();
}

void arch_firmware_console_write(const char *s, size_t n)
{
    fwrite(s, 1, n, stdout);
}

void arch_read_state(struct arch_state *s)
{
    memset(s, 0, sizeof(*s));
}

bool arch_irq_disable(void)
{
    return false;
}

void arch_image_range(uintptr_t *start, uintptr_t *end)
{
    *start = *end = 0;
}

void arch_selftest_illegal_insn(void) {}

/* Fake device space: addresses are offsets into this array, and every
 * write is also logged so a test can check the sequence a driver made. */
uint8_t fake_mmio[0x400000]; /* room for a PLIC's context registers */
struct fake_mmio_write fake_mmio_log[4096];
size_t fake_mmio_nlog;

static void fake_log(uintptr_t addr, uint32_t v, unsigned width)
{
    if (fake_mmio_nlog < sizeof(fake_mmio_log) / sizeof(fake_mmio_log[0]))
        fake_mmio_log[fake_mmio_nlog++] = (struct fake_mmio_write){addr, v, width};
}

/* Routes [base, base + size) of the fake device space to a device model,
 * so a driver can be tested against Vireo's own models. */
static struct mmio_dev *routes[4];

void fake_mmio_route(struct mmio_dev *dev)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!routes[i] || routes[i]->base == dev->base) {
            routes[i] = dev;
            return;
        }
    }
    abort();
}

void fake_mmio_unroute(void)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        routes[i] = NULL;
}

static struct mmio_dev *route(uintptr_t addr)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (routes[i] && addr >= routes[i]->base && addr - routes[i]->base < routes[i]->size)
            return routes[i];
    }
    return NULL;
}

static uint8_t *fake_reg(uintptr_t addr, size_t n)
{
    if (addr + n > sizeof(fake_mmio)) {
        fprintf(stderr, "fake_arch: MMIO access at %#lx out of range\n", (unsigned long)addr);
        abort();
    }
    return &fake_mmio[addr];
}

uint8_t mmio_read8(uintptr_t addr)
{
    struct mmio_dev *d = route(addr);
    uint64_t v = 0;

    if (d)
        return d->ops->read(d, addr - d->base, 1, &v) == 0 ? (uint8_t)v : 0xff;
    return *fake_reg(addr, 1);
}

void mmio_write8(uintptr_t addr, uint8_t v)
{
    fake_log(addr, v, 1);
    *fake_reg(addr, 1) = v;
}

bool arch_seed_read(uint32_t *out)
{
    (void)out;
    return false;
}

void arch_zero_pages(void *p, size_t n)
{
    memset(p, 0, n);
}

unsigned arch_zero_init(bool zicboz)
{
    (void)zicboz;
    return 0;
}

void arch_dma_fence(void)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

uint32_t mmio_read32(uintptr_t addr)
{
    struct mmio_dev *d = route(addr);
    uint64_t v = 0;

    if (d)
        return d->ops->read(d, addr - d->base, 4, &v) == 0 ? (uint32_t)v : 0xffffffffu;
    uint8_t *p = fake_reg(addr, 4);
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void mmio_write32(uintptr_t addr, uint32_t v)
{
    struct mmio_dev *d = route(addr);

    if (d) {
        d->ops->write(d, addr - d->base, 4, v);
        return;
    }
    fake_log(addr, v, 4);
    uint8_t *p = fake_reg(addr, 4);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The vCPU side of the arch layer: unit tests drive exits by filling
 * struct vcpu_ctx themselves, so entering a guest is never needed. */
#include "arch/riscv/vcpu_arch.h"
#include "lib/string.h"

struct fake_arch_log fake_arch;

void vcpu_arch_reset(struct vcpu_arch *a, uint64_t pc, uint64_t a0, uint64_t a1)
{
    struct vcpu_hctl hctl = a->hctl; /* kept, as the real one does */
    void *vec = a->vec;

    memset(a, 0, sizeof(*a));
    a->hctl = hctl;
    a->vec = vec;
    a->ctx.sepc = pc;
    a->ctx.gpr[10] = a0;
    a->ctx.gpr[11] = a1;
    a->ctx.sstatus = 1ULL << 8;
    a->ctx.hstatus = VCPU_HSTATUS_RESET;
    a->hedeleg = VCPU_HEDELEG_RESET;
    a->last_hart = -1;
}

void vcpu_arch_set_misaligned_deleg(struct vcpu_arch *a, bool on)
{
    a->hedeleg = on ? a->hedeleg | HEDELEG_MISALIGNED : a->hedeleg & ~HEDELEG_MISALIGNED;
}

void vcpu_arch_set_adue(struct vcpu_arch *a, bool on)
{
    a->hctl.henvcfg = on ? a->hctl.henvcfg | HENVCFG_ADUE : a->hctl.henvcfg & ~HENVCFG_ADUE;
}

static bool fake_gmem(uint64_t va, bool store, uint64_t *cause)
{
    if (va - fake_arch.gmem_va < sizeof(fake_arch.gmem))
        return true;
    *cause = fake_arch.gmem_fault ? fake_arch.gmem_fault : store ? 15 : 13;
    return false;
}

bool vcpu_arch_load_guest_u8(struct vcpu_arch *a, uint64_t va, uint8_t *value, uint64_t *cause)
{
    (void)a;
    if (!fake_gmem(va, false, cause))
        return false;
    *value = fake_arch.gmem[va - fake_arch.gmem_va];
    return true;
}

bool vcpu_arch_store_guest_u8(struct vcpu_arch *a, uint64_t va, uint8_t value, uint64_t *cause)
{
    (void)a;
    if (!fake_gmem(va, true, cause))
        return false;
    fake_arch.gmem[va - fake_arch.gmem_va] = value;
    fake_arch.gmem_stores++;
    return true;
}

unsigned vcpu_arch_trig_max(void)
{
    return fake_arch.trig_max;
}

long vcpu_arch_sync_triggers(struct vcpu_arch *a)
{
    fake_arch.trig_syncs++;
    a->trig_fw = a->trig_on; /* as if the firmware used the same indices */
    return 0;
}

void vcpu_arch_invalidate(struct vcpu_arch *a)
{
    a->last_hart = -1;
    vcpu_arch_request_fence(a, VCPU_FENCE_I | VCPU_FENCE_VVMA);
}

void vcpu_arch_resume(struct vcpu_arch *a, uint64_t pc, uint64_t a0, uint64_t a1)
{
    a->ctx.sepc = pc;
    a->ctx.gpr[10] = a0;
    a->ctx.gpr[11] = a1;
    a->vsatp = 0;
}

void vcpu_arch_load(struct vcpu *v)
{
    (void)v;
}

struct vcpu *vcpu_arch_run(struct vcpu *v)
{
    (void)v;
    fprintf(stderr, "fake_arch: vcpu_arch_run called\n");
    abort();
}

void vcpu_arch_lower(struct vcpu_arch *a, uint64_t bits)
{
    a->hvip &= ~bits;
}

void vcpu_arch_put(struct vcpu *v)
{
    (void)v;
}

void vcpu_arch_inject_exception(struct vcpu_arch *a, uint64_t cause, uint64_t tval)
{
    (void)a;
    fake_arch.injected_cause = cause;
    fake_arch.injected_tval = tval;
    fake_arch.injections++;
}

bool vcpu_arch_read_guest_u64(struct vcpu_arch *a, uint64_t va, uint64_t *value)
{
    (void)a;
    if (va != fake_arch.guest_va)
        return false;
    *value = fake_arch.guest_u64;
    return true;
}

bool vcpu_arch_read_insn(struct vcpu_arch *a, uint64_t pc, uint32_t *insn)
{
    (void)a;
    (void)pc;
    *insn = fake_arch.guest_insn;
    return fake_arch.guest_insn != 0;
}

void arch_gstage_probe(struct gstage_caps *caps)
{
    caps->sv39x4 = caps->sv48x4 = caps->sv57x4 = true;
    caps->vmid_bits = 14;
}

void arch_hfence_gvma_vmid(unsigned vmid)
{
    (void)vmid;
}

void arch_hfence_gvma_gpa(uint64_t gpa, unsigned vmid)
{
    fake_arch.hfence_gpa = gpa;
    fake_arch.hfence_gpas++;
    (void)vmid;
}

void arch_hfence_gvma_all(void) {}

void arch_hfence_vvma_vmid(unsigned vmid)
{
    (void)vmid;
}

void arch_fence_i(void) {}

void arch_timer_set(uint64_t deadline)
{
    fake_arch.timer = deadline;
}

void arch_ipi_send(unsigned long hartid)
{
    (void)hartid;
    fake_arch.ipis++;
}

void arch_ipi_clear(void) {}

void arch_hart_irq_init(bool host_sstc, bool host_vector, bool host_hstateen)
{
    (void)host_sstc;
    (void)host_vector;
    (void)host_hstateen;
}

uint64_t arch_henvcfg_writable(uint64_t bits)
{
    return bits;
}

bool arch_probe_hstateen(void)
{
    return false;
}

size_t arch_vector_state_size(void)
{
    return 0;
}

void arch_wait_for_interrupt(void) {}
