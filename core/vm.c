/* SPDX-License-Identifier: Apache-2.0 */
/* VM lifecycle and the single way into guest memory. */
#include "core/vm.h"

#include "arch/arch.h"
#include "arch/riscv/vcpu_arch.h"
#include "core/console.h"
#include "core/hart.h"
#include "core/loader.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/trace.h"
#include "core/vm_dev.h"
#include "core/vm_fdt.h"
#include "core/vmid.h"
#include "core/vmm.h"
#include "lib/err.h"
#include "lib/string.h"

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

#define VM_FDT_CAP (64 * 1024) /* vm_load builds the guest's device tree here */

/* Frees guest RAM by walking the table, so nothing else has to remember
 * where each piece of it came from. */
static void vm_free_ram(struct vm *vm)
{
    uint64_t gpa = vm->ram_base, end = vm->ram_base + vm->ram_size;

    while (gpa < end) {
        uint64_t hpa, psz;
        unsigned perm;
        if (!gstage_translate(&vm->gs, gpa, &hpa, &perm, &psz)) {
            gpa += 4096;
            continue;
        }
        pmem_free((void *)(uintptr_t)hpa, psz);
        gpa += psz;
    }
}

static void vm_free_vcpus(struct vm *vm)
{
    size_t vec_size = arch_vector_state_size();

    for (unsigned i = 0; i < vm->nvcpus; i++) {
        if (vm->vcpus[i].arch.vec)
            pmem_free(vm->vcpus[i].arch.vec, vec_size);
        vm->vcpus[i].arch.vec = NULL;
    }
}

static int vm_alloc_ram(struct vm *vm, char *err, size_t errlen)
{
    uint64_t gpa = vm->ram_base, end = vm->ram_base + vm->ram_size;

    memset(vm->pieces, 0, sizeof(vm->pieces));
    while (gpa < end) {
        uint64_t size = 0;
        void *p = NULL;
        /* Largest piece first: a 1 GiB piece becomes one G-stage leaf. */
        uint64_t max = vmm_max_page();
        if (max >= GIB && end - gpa >= GIB && !(gpa & (GIB - 1))) {
            p = pmem_alloc(GIB, GIB);
            size = GIB;
        }
        if (!p && max >= 2 * MIB && end - gpa >= 2 * MIB) {
            p = pmem_alloc_block();
            size = 2 * MIB;
        }
        if (!p) {
            /* Fragmented memory still works, in 4 KiB pages. */
            p = pmem_alloc_page();
            size = 4096;
        }
        if (!p) {
            fmt_snprintf(err, errlen, "not enough memory for %lu MiB of RAM (%lu MiB free)",
                         (unsigned long)(vm->ram_size / MIB),
                         (unsigned long)(pmem_free_bytes() / MIB));
            return ERR_NOMEM;
        }
        /* Never hand a guest another guest's leftovers. */
        arch_zero_pages(p, size);
        int r = gstage_map(&vm->gs, gpa, (uintptr_t)p, size, GSTAGE_RWX);
        if (r < 0) {
            pmem_free(p, size);
            fmt_snprintf(err, errlen, "cannot map guest RAM at %#lx (error %d)", (unsigned long)gpa,
                         r);
            return r;
        }
        vm->pieces[size == GIB ? 2 : size == 2 * MIB ? 1 : 0]++;
        gpa += size;
    }
    return 0;
}

static int vm_load(struct vm *vm, char *err, size_t errlen)
{
    const struct vm_config *cfg = vm->cfg;
    struct load_plan plan;
    char why[160];

    if (loader_plan(cfg->kernel, cfg->kernel_size, vm->ram_base, vm->ram_size, &plan, why,
                    sizeof(why)) < 0) {
        fmt_snprintf(err, errlen, "kernel: %s", why);
        return ERR_INVAL;
    }
    for (int i = 0; i < plan.nsegs; i++) {
        const struct load_seg *s = &plan.segs[i];
        if (gpa_write(vm, s->gpa, (const uint8_t *)cfg->kernel + s->file_off, s->file_size) < 0) {
            fmt_snprintf(err, errlen, "kernel segment %d does not fit guest RAM", i);
            return ERR_NOSPC;
        }
    }

    struct loader_range avoid[2] = {{plan.image_start, plan.image_end}, {0, 0}};
    uint64_t initrd_gpa = 0;
    if (cfg->initrd) {
        if (loader_place(vm->ram_base, vm->ram_size, avoid, 1, cfg->initrd_size,
                         LOADER_INITRD_ALIGN, &initrd_gpa) < 0 ||
            gpa_write(vm, initrd_gpa, cfg->initrd, cfg->initrd_size) < 0) {
            fmt_snprintf(err, errlen, "initrd of %lu bytes does not fit beside the kernel",
                         (unsigned long)cfg->initrd_size);
            return ERR_NOSPC;
        }
        avoid[1] = (struct loader_range){initrd_gpa, initrd_gpa + cfg->initrd_size};
    }

    const size_t fdt_cap = VM_FDT_CAP;
    void *fdt = pmem_alloc(fdt_cap, 4096);
    if (!fdt) {
        fmt_snprintf(err, errlen, "no memory to build the guest device tree");
        return ERR_NOMEM;
    }
    struct vm_fdt_params fp;
    vmm_fdt_params(vm, &fp, initrd_gpa, cfg->initrd ? initrd_gpa + cfg->initrd_size : 0);
    fp.nvirtio = vm_devices_fdt(vm, fp.virtio_base, fp.virtio_irq, VM_FDT_MAX_VIRTIO);
    int size = vm_fdt_build(fdt, fdt_cap, &fp, why, sizeof(why));
    int r = ERR_NOSPC;
    if (size < 0) {
        fmt_snprintf(err, errlen, "guest device tree: %s", why);
        r = size;
    } else if (loader_place(vm->ram_base, vm->ram_size, avoid, cfg->initrd ? 2 : 1, (uint64_t)size,
                            LOADER_FDT_ALIGN, &vm->fdt_gpa) < 0 ||
               gpa_write(vm, vm->fdt_gpa, fdt, (size_t)size) < 0) {
        fmt_snprintf(err, errlen, "no room in guest RAM for the device tree");
    } else {
        r = 0;
    }
    pmem_free(fdt, fdt_cap);
    if (r < 0)
        return r;

    struct vcpu *v0 = &vm->vcpus[0];
    vcpu_arch_reset(&v0->arch, plan.entry, 0, vm->fdt_gpa);
    return 0;
}

/* The virtual PLIC's context i is vCPU i's S-mode external interrupt. */
static void vm_plic_notify(void *opaque, unsigned context, bool eip)
{
    struct vm *vm = opaque;

    if (context >= vm->nvcpus)
        return;
    struct vcpu *v = &vm->vcpus[context];
    __atomic_store_n(&v->eip, eip ? 1u : 0u, __ATOMIC_RELEASE);
    if (eip && trace_wants(TRACE_IRQ))
        trace_emit(TRACE_EV_IRQ, (uint16_t)vm->index, (uint16_t)v->id, TRACE_IRQ_EXTERNAL,
                   arch_this_hart()->index, 0);
    if (eip)
        sched_notify(v);
}

static void vm_uart_output(void *ctx, char c)
{
    struct vm *vm = ctx;

    vconsole_output(&vm->con, &c, 1);
}

static int vm_add_devices(struct vm *vm, char *err, size_t errlen)
{
    vm->ndevs = 0;
    vplic_init(&vm->plic, VM_PLIC_NDEV, vm->nvcpus, vm_plic_notify, vm);
    vm->plic_dev = (struct mmio_dev){&vplic_ops, "plic", VM_PLIC_BASE, VM_PLIC_SIZE, &vm->plic};
    struct irq_line uart_irq = {vplic_set_level, &vm->plic, VM_UART_IRQ};
    vuart_init(&vm->uart, &uart_irq, vm_uart_output, vm);
    vm->uart_dev = (struct mmio_dev){&vuart_ops, "uart", VM_UART_BASE, VUART_SIZE, &vm->uart};
    if (vm_add_device(vm, &vm->plic_dev) < 0 || vm_add_device(vm, &vm->uart_dev) < 0) {
        fmt_snprintf(err, errlen, "devices overlap guest RAM (RAM too large?)");
        return ERR_EXIST;
    }
    return vm_devices_create(vm, err, errlen);
}

/* Everything vm_create takes besides guest RAM, at most: G-stage tables
 * as if every leaf were 4 KiB, vector state, devices, the device tree. */
static uint64_t vm_overhead_bytes(const struct vm_config *cfg)
{
    uint64_t vec = (arch_vector_state_size() + 4095) & ~4095ull;

    return gstage_tables_max(vmm_gstage_mode(), VM_RAM_BASE, cfg->mem_size) + cfg->vcpus * vec +
           vm_devices_bytes(cfg) + VM_FDT_CAP;
}

int vm_create(struct vm *vm, const struct vm_config *cfg, char *err, size_t errlen)
{
    /* Refused before anything (of this VM or another) is touched: a VM
     * that would run out of memory half-built gains nothing, and the
     * figures say what is missing.  Free 4 KiB pages are enough for RAM
     * (vm_alloc_ram falls back to them), so fragmentation cannot make a
     * VM that passes this fail later. */
    uint64_t over = vm_overhead_bytes(cfg), free = pmem_free_bytes();
    if (cfg->mem_size + over > free) {
        fmt_snprintf(err, errlen,
                     "vm %s needs %lu MiB of RAM (+ %lu KiB for its tables and "
                     "devices), only %lu MiB free",
                     cfg->name, (unsigned long)(cfg->mem_size / MIB), (unsigned long)(over >> 10),
                     (unsigned long)(free / MIB));
        return ERR_NOMEM;
    }
    memset(&vm->gs, 0, sizeof(vm->gs));
    vm_dirty_release(vm); /* nothing left by vm_destroy; resets the log */
    memset(vm->vcpus, 0, sizeof(vm->vcpus));
    memset(&vm->debug, 0, sizeof(vm->debug));
    vm->cfg = cfg;
    memcpy(vm->name, cfg->name, sizeof(vm->name));
    vm->name[sizeof(vm->name) - 1] = '\0';
    vm->ram_base = VM_RAM_BASE;
    vm->ram_size = cfg->mem_size;
    vm->nvcpus = cfg->vcpus;
    vm->running = 0;
    vm->paused = false;
    vm->started = arch_time();
    /* Its clock starts at 0, as a machine's does at power-on (and as KVM
     * does): what the guest sees does not depend on how long the host ran
     * before, and a snapshot restore can set it to continue elsewhere. */
    vm->time_offset = 0 - vm->started;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        v->vm = vm;
        v->id = i;
        v->pin = cfg->pin[i];
        v->hart = -1;
        v->state = VCPU_OFFLINE;
        v->timer_deadline = UINT64_MAX;
        v->sta_gpa = UINT64_MAX;
        v->mmio_hit.gpa = MMIO_HIT_NONE;
        vcpu_dbtr_reset(v);
    }

    vmm_vm_isa(vm);

    size_t vec_size = arch_vector_state_size();
    for (unsigned i = 0; vec_size && i < vm->nvcpus; i++) {
        vm->vcpus[i].arch.vec = pmem_zalloc(vec_size, 4096);
        if (!vm->vcpus[i].arch.vec) {
            vm_free_vcpus(vm);
            fmt_snprintf(err, errlen, "no memory for vector state");
            return ERR_NOMEM;
        }
    }
    int r = gstage_init(&vm->gs, vmm_gstage_mode());
    if (r < 0) {
        vm_free_vcpus(vm);
        fmt_snprintf(err, errlen, "no memory for the G-stage root table");
        return r;
    }
    if ((r = vm_add_devices(vm, err, errlen)) < 0 || (r = vm_alloc_ram(vm, err, errlen)) < 0 ||
        (r = vm_load(vm, err, errlen)) < 0) {
        vm_devices_destroy(vm);
        vm_free_ram(vm);
        gstage_destroy(&vm->gs);
        vm_free_vcpus(vm);
        return r;
    }
    vm->uid = vmid_next_uid();
    vm->vmid = vmid_alloc(vm->index);
    vm->hgatp = gstage_hgatp(&vm->gs, (uint16_t)vm->vmid);
    vm->state = VM_RUNNING;
    vconsole_port_attach(&vm->con, &vm->uart, vm->vcon);
    return 0;
}

void vm_destroy(struct vm *vm)
{
    vconsole_port_detach(&vm->con); /* before its devices go */
    vm_devices_destroy(vm);
    vm_free_ram(vm);
    gstage_destroy(&vm->gs);
    vm_dirty_release(vm);
    vm_free_vcpus(vm);
    vmid_free(vm->vmid);
}
