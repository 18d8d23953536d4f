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
static struct isa_set host_exts;
static struct isa_host_caps host_caps;
static uint32_t cbom_block, cboz_block, cbop_block;

/* One line naming what guests do not get of the host's ISA; docs/isa.md
 * (and core/isa.c's table) says why for each. */
static void vmm_report_isa(const struct platform *p)
{
    static const char *why[ISA_MAX_EXTS];
    static char line[1024];
    struct isa_guest g;
    int n = 0;

    isa_guest_compute(&host_exts, &host_caps, NULL, &g, why);
    for (unsigned i = 0; i < isa_count(); i++) {
        if (!why[i])
            continue;
        size_t used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line);
        n += fmt_snprintf(line + used, sizeof(line) - used, " %s", isa_name(i));
    }
    for (int i = 0; i < p->nexts_unknown; i++) {
        size_t used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line);
        n += fmt_snprintf(line + used, sizeof(line) - used, " %s(unknown)", p->exts_unknown[i]);
    }
    console_printf("vireo: guests do not get:%s\n", n ? line : " nothing");
}

static uint32_t timebase_hz;

int vmm_init(const struct platform *p, const struct gstage_caps *caps,
             const struct isa_host_caps *hcaps, char *err, size_t errlen)
{
    timebase_hz = p->timebase_hz;
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
    timebase = p->timebase_hz;
    guest_mmu = p->satp_max >= 57 ? "riscv,sv57" : p->satp_max >= 48 ? "riscv,sv48" : "riscv,sv39";

    /* The guest's ISA: the host's (every hart's), minus what core/isa.c
     * withholds and what the hart does not let Vireo enable. */
    host_exts = p->exts;
    host_caps = *hcaps;
    cbom_block = p->cbom_block;
    cboz_block = p->cboz_block;
    cbop_block = p->cbop_block;
    struct isa_guest g;
    isa_guest_compute(&host_exts, &host_caps, NULL, &g, NULL);
    guest_sstc = (p->isa & ISA_SSTC) && isa_has_name(&g.exts, "sstc");
    vmm_report_isa(p);
    return 0;
}

void vmm_isa_strings(char *host, size_t hlen, char *guest, size_t glen)
{
    static struct isa_guest g; /* large; callers are serialised (the control plane) */

    isa_format_string(&host_exts, host, hlen);
    isa_guest_compute(&host_exts, &host_caps, NULL, &g, NULL);
    isa_format_string(&g.exts, guest, glen);
}

void vmm_vm_isa(struct vm *vm)
{
    isa_guest_compute(&host_exts, &host_caps, &vm->cfg->isa_withhold, &vm->isa, NULL);
    isa_format_string(&vm->isa.exts, vm->isa_str, sizeof(vm->isa_str));
    isa_names(&vm->isa.exts, vm->isa_exts, sizeof(vm->isa_exts) / sizeof(vm->isa_exts[0]));
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        vm->vcpus[i].arch.hctl = (struct vcpu_hctl){
            .henvcfg = isa_guest_henvcfg_reset(&vm->isa),
            .hstateen0 = vm->isa.hstateen0,
            .hcounteren = vm->isa.hcounteren,
            .htimedelta = vm->time_offset,
        };
    }
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

bool vmm_gstage_ad_hw(void)
{
    /* henvcfg.ADUE is writable only with menvcfg.ADUE set (Svadu), and
     * menvcfg.ADUE also makes the hardware update the G-stage's A/D bits. */
    return (host_caps.henvcfg & HENVCFG_ADUE) != 0;
}

uint32_t vmm_timebase_hz(void)
{
    return timebase_hz;
}

void vmm_fdt_params(const struct vm *vm, struct vm_fdt_params *fp, uint64_t initrd_start,
                    uint64_t initrd_end)
{
    memset(fp, 0, sizeof(*fp));
    fp->model = "vireo,vm";
    fp->nvcpus = vm->nvcpus;
    fp->isa = vm->isa_str;
    fp->isa_exts = vm->isa_exts;
    if (isa_has_name(&vm->isa.exts, "zicbom"))
        fp->cbom_block = cbom_block;
    if (isa_has_name(&vm->isa.exts, "zicboz"))
        fp->cboz_block = cboz_block;
    if (isa_has_name(&vm->isa.exts, "zicbop"))
        fp->cbop_block = cbop_block;
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
