/* SPDX-License-Identifier: Apache-2.0 */
#include "core/vmm.h"

#include "arch/arch.h"
#include "core/bootargs.h"
#include "core/console.h"
#include "core/sched.h"
#include "core/vm.h"
#include "core/vmid.h"
#include "lib/spinlock.h"
#include "lib/err.h"
#include "lib/string.h"

static enum gstage_mode gmode;
static bool guest_sstc;
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
        return ERR_NOTSUP;
    }
    vmid_init(caps->vmid_bits);
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
}
