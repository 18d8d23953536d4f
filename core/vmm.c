/* SPDX-License-Identifier: Apache-2.0 */
#include "core/vmm.h"

#include "arch/riscv/vcpu_arch.h"
#include "core/bootargs.h"
#include "core/console.h"
#include "core/sched.h"
#include "core/vm.h"
#include "core/vm_dev.h"
#include "lib/spinlock.h"
#include "lib/string.h"

#define VMID_MAX 64

static enum gstage_mode gmode;
static bool guest_sstc;
static unsigned vmid_count; /* usable VMIDs: 1 when the hart has none */
static uint64_t vmid_used;  /* bitmap */
static uint64_t uid_next = 1;
static struct spinlock vmm_lock = SPINLOCK_INIT;
static const char *guest_mmu;
static uint32_t timebase;
static char guest_isa[96];
static const char *guest_exts[16];

int vmm_init(const struct platform *p, const struct gstage_caps *caps, char *err, size_t errlen)
{
    /* Sv48x4 when the host has it: guests get room beyond 512 GiB without
     * the fifth level of Sv57x4 on every TLB miss. */
    if (caps->sv48x4)
        gmode = GSTAGE_SV48X4;
    else if (caps->sv39x4)
        gmode = GSTAGE_SV39X4;
    else if (caps->sv57x4)
        gmode = GSTAGE_SV57X4;
    else {
        fmt_snprintf(err, errlen, "the hart supports no G-stage translation mode");
        return -1;
    }
    vmid_count = caps->vmid_bits >= 6 ? VMID_MAX : 1u << caps->vmid_bits;
    guest_sstc = (p->isa & ISA_SSTC) != 0;
    timebase = p->timebase_hz;
    guest_mmu = p->satp_max >= 57 ? "riscv,sv57" : p->satp_max >= 48 ? "riscv,sv48" : "riscv,sv39";

    /* The guest's ISA: the host's, minus H (no nested virtualization yet). */
    bool fd = (p->isa & (ISA_F | ISA_D)) == (ISA_F | ISA_D);
    bool vec = fd && (p->isa & ISA_V);
    int n = 0;
    static const char *const base[] = {"i", "m", "a"};
    for (int i = 0; i < 3; i++)
        guest_exts[n++] = base[i];
    if (fd) {
        guest_exts[n++] = "f";
        guest_exts[n++] = "d";
    }
    if (p->isa & ISA_C)
        guest_exts[n++] = "c";
    if (vec)
        guest_exts[n++] = "v";
    guest_exts[n++] = "zicntr";
    guest_exts[n++] = "zicsr";
    guest_exts[n++] = "zifencei";
    if (guest_sstc)
        guest_exts[n++] = "sstc";
    guest_exts[n] = NULL;
    fmt_snprintf(guest_isa, sizeof(guest_isa), "rv64ima%s%s%s_zicntr_zicsr_zifencei%s",
                 fd ? "fd" : "", (p->isa & ISA_C) ? "c" : "", vec ? "v" : "",
                 guest_sstc ? "_sstc" : "");
    return 0;
}

enum gstage_mode vmm_gstage_mode(void)
{
    return gmode;
}

static uint64_t max_page = 1ULL << 30;

uint64_t vmm_max_page(void)
{
    return max_page;
}

void vmm_set_max_page(const char *bootargs)
{
    if (bootargs_is(bootargs, "vireo.max-page", "4K"))
        max_page = 4096;
    else if (bootargs_is(bootargs, "vireo.max-page", "2M"))
        max_page = 2ULL << 20;
    else if (bootargs_is(bootargs, "vireo.max-page", "1G"))
        max_page = 1ULL << 30;
}

bool vmm_guest_sstc(void)
{
    return guest_sstc;
}

uint64_t vmm_next_uid(void)
{
    return __atomic_fetch_add(&uid_next, 1, __ATOMIC_RELAXED);
}

/* VMIDs are a small pool; when it runs out, VMs share one.  Sharing stays
 * correct because each hart flushes a VMID's entries whenever it sees a
 * different VM (by uid) behind it (vcpu_arch_load). */
unsigned vmm_vmid_alloc(struct vm *vm)
{
    unsigned id = vm->index % vmid_count;

    spin_lock(&vmm_lock);
    for (unsigned i = 0; i < vmid_count; i++) {
        if (!(vmid_used & (1ULL << i))) {
            vmid_used |= 1ULL << i;
            id = i;
            break;
        }
    }
    spin_unlock(&vmm_lock);
    return id;
}

void vmm_vmid_free(unsigned vmid)
{
    spin_lock(&vmm_lock);
    vmid_used &= ~(1ULL << vmid);
    spin_unlock(&vmm_lock);
}

void vmm_fdt_params(const struct vm *vm, struct vm_fdt_params *fp, uint64_t initrd_start,
                    uint64_t initrd_end)
{
    memset(fp, 0, sizeof(*fp));
    fp->model = "vireo,vm";
    fp->nvcpus = vm->nvcpus;
    fp->isa = guest_isa;
    fp->isa_exts = guest_exts;
    fp->mmu = guest_mmu;
    fp->timebase_hz = timebase;
    fp->mem_base = vm->ram_base;
    fp->mem_size = vm->ram_size;
    fp->bootargs = vm->cfg->bootargs;
    fp->initrd_start = initrd_start;
    fp->initrd_end = initrd_end;
    fp->boot_count = vm->boots;
    fp->uart_base = VM_UART_BASE;
    fp->uart_irq = VM_UART_IRQ;
    fp->plic_base = VM_PLIC_BASE;
    fp->plic_size = VM_PLIC_SIZE;
    fp->plic_ndev = VM_PLIC_NDEV;
    fp->nvirtio = vm_devices_fdt(vm, fp->virtio_base, fp->virtio_irq, VM_FDT_MAX_VIRTIO);
}

int vmm_boot_vm(struct vm *vm, char *err, size_t errlen)
{
    if (vm_create(vm, vm->cfg, err, errlen) < 0)
        return -1;
    sched_start_vcpu(&vm->vcpus[0]);
    return 0;
}

unsigned vmm_start(const struct config *cfg)
{
    char err[192];

    vm_count = (unsigned)cfg->nvms;
    for (unsigned i = 0; i < vm_count; i++) {
        struct vm *vm = &vms[i];
        vm->index = i;
        vm->cfg = &cfg->vms[i];
        memcpy(vm->name, cfg->vms[i].name, sizeof(vm->name));
        vm->name[sizeof(vm->name) - 1] = '\0';
        vm->state = VM_DONE;
        vconsole_port_init(&vm->con, vm->name);
        if (!cfg->vms[i].autostart)
            continue;
        vm->boots = 1;
        if (vmm_boot_vm(vm, err, sizeof(err)) < 0) {
            console_printf(CONSOLE_STATUS "vireo: vm %s stopped: cannot start: %s\n", vm->name,
                           err);
            __atomic_store_n(&vm->state, VM_DONE, __ATOMIC_RELEASE);
            continue;
        }
        console_printf("vireo: vm %s started: %u vCPUs, %lu MiB RAM in %u x 1 GiB, %u x 2 MiB, "
                       "%u x 4 KiB pages\n",
                       vm->name, vm->nvcpus, (unsigned long)(vm->ram_size >> 20), vm->pieces[2],
                       vm->pieces[1], vm->pieces[0]);
    }
    return vm_count;
}
