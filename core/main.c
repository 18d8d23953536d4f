/* SPDX-License-Identifier: Apache-2.0 */
/* Boot: from the firmware's hand-off to a hypervisor with every hart up. */
#include "arch/arch.h"
#include "core/bootargs.h"
#include "core/console.h"
#include "core/control/control.h"
#include "core/dirty.h"
#include "core/hart.h"
#include "core/hart_loop.h"
#include "core/hostdev.h"
#include "core/shell.h"
#include "core/irq.h"
#include "core/panic.h"
#include "core/platform.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/selftest.h"
#include "core/snapshot.h"
#include "core/trace_ctl.h"
#include "core/vconsole.h"
#include "core/vm_admin.h"
#include "core/vm_life.h"
#include "core/vm_pack.h"
#include "core/vmm.h"
#include "core/version.h"
#include "drivers/ns16550.h"
#include "lib/fdt.h"
#include "lib/string.h"

/* The firmware's FDT is trusted, but a sane upper bound keeps a corrupt
 * header from making Vireo reserve (or read) half of memory. */
#define HOST_FDT_MAX (16u << 20)

static struct platform plat;
static struct config config;
static struct ns16550 host_uart;

static void uart_console_write(const char *s, size_t n)
{
    ns16550_write(&host_uart, s, n);
}

/* The host UART's receive interrupt: typed bytes go to the virtual
 * console, but only while it has room.  Otherwise they stay in the UART
 * (and, once its FIFO is full, in whatever feeds it: QEMU's pty blocks the
 * writer), so nothing typed is ever dropped. */
static void uart_console_rx(void *ctx)
{
    int c;

    (void)ctx;
    while (vconsole_input_open() && (c = ns16550_getc(&host_uart)) >= 0)
        vconsole_input((char)c);
}

/* The virtual console's flow control: with the receive interrupt masked
 * Vireo stops reading the UART until the guest made room (any hart). */
static void uart_console_reader(void *ctx, bool on)
{
    (void)ctx;
    ns16550_set_rx_irq(&host_uart, on);
}

static _Noreturn void boot_fail(const char *what)
{
    console_printf("Vireo " VIREO_VERSION ": cannot start: %s\n", what);
    arch_poweroff(true);
}

static void add_range(struct pmem_range *r, int *n, int max, uint64_t base, uint64_t size)
{
    if (*n >= max)
        panic("too many reserved memory ranges (%d)", max);
    r[(*n)++] = (struct pmem_range){base, size};
}

static void memory_init(uintptr_t fdt_pa, uint32_t fdt_size)
{
    struct pmem_range ram[PLAT_MAX_MEM], resv[PLAT_MAX_RESV + 4];
    int nres = 0;
    uintptr_t img_start, img_end;

    for (int i = 0; i < plat.nmem; i++)
        ram[i] = (struct pmem_range){plat.mem[i].base, plat.mem[i].size};
    for (int i = 0; i < plat.nresv; i++)
        add_range(resv, &nres, PLAT_MAX_RESV + 4, plat.resv[i].base, plat.resv[i].size);
    arch_image_range(&img_start, &img_end);
    add_range(resv, &nres, PLAT_MAX_RESV + 4, img_start, img_end - img_start);
    add_range(resv, &nres, PLAT_MAX_RESV + 4, fdt_pa, fdt_size);
    if (plat.has_initrd) {
        add_range(resv, &nres, PLAT_MAX_RESV + 4, plat.initrd_start,
                  plat.initrd_end - plat.initrd_start);
    }
    /* A firmware that describes no memory of its own still sits below
     * Vireo's load address: never hand that out. */
    if (!plat.nresv) {
        for (int i = 0; i < plat.nmem; i++) {
            if (img_start > plat.mem[i].base && img_start - plat.mem[i].base < plat.mem[i].size)
                add_range(resv, &nres, PLAT_MAX_RESV + 4, plat.mem[i].base,
                          img_start - plat.mem[i].base);
        }
    }
    if (pmem_init(ram, plat.nmem, resv, nres) < 0)
        boot_fail("no usable RAM left after the firmware, Vireo, the FDT and the initrd");
}

static void print_platform(void)
{
    for (int i = 0; i < plat.nmem; i++) {
        console_printf("vireo: RAM %#lx-%#lx (%lu MiB)\n", (unsigned long)plat.mem[i].base,
                       (unsigned long)(plat.mem[i].base + plat.mem[i].size - 1),
                       (unsigned long)(plat.mem[i].size >> 20));
    }
    for (int i = 0; i < plat.nresv; i++) {
        console_printf("vireo: reserved %#lx-%#lx (firmware, boot loader)\n",
                       (unsigned long)plat.resv[i].base,
                       (unsigned long)(plat.resv[i].base + plat.resv[i].size - 1));
    }
    if (plat.uart.present)
        console_printf("vireo: uart ns16550a at %#lx irq %u\n", (unsigned long)plat.uart.dev.base,
                       plat.uart.dev.irq);
    if (plat.plic.present)
        console_printf("vireo: plic at %#lx, %u sources\n", (unsigned long)plat.plic.dev.base,
                       plat.plic.ndev);
    if (plat.imsic.present)
        console_printf("vireo: imsic (S-level) at %#lx\n", (unsigned long)plat.imsic.dev.base);
    if (plat.clint.present)
        console_printf("vireo: clint at %#lx\n", (unsigned long)plat.clint.dev.base);
    if (plat.nvirtio)
        console_printf("vireo: %d virtio-mmio slots at %#lx..%#lx\n", plat.nvirtio,
                       (unsigned long)plat.virtio[0].base,
                       (unsigned long)plat.virtio[plat.nvirtio - 1].base);
    if (plat.has_initrd)
        console_printf("vireo: initrd %#lx-%#lx\n", (unsigned long)plat.initrd_start,
                       (unsigned long)plat.initrd_end);
    if (plat.satp_max)
        console_printf("vireo: MMU up to sv%d\n", plat.satp_max);
}

static _Noreturn void start_vms(void);

void vireo_main(unsigned long hartid, uintptr_t fdt_pa)
{
    struct fdt fdt;
    static char err[160];

    console_set_output(arch_firmware_console_write);

    if (!fdt_pa || fdt_open(&fdt, (const void *)fdt_pa, HOST_FDT_MAX) < 0)
        boot_fail("the firmware passed no valid device tree in a1");
    if (platform_parse(&fdt, &plat, err, sizeof(err)) < 0)
        boot_fail(err);

    /* Vireo needs the hypervisor extension on the hart it runs on: the FDT
     * must say so and the hypervisor CSRs must really be there. */
    int self = platform_hart_index(&plat, hartid);
    bool fdt_h = self >= 0 && (plat.harts[self].isa & ISA_H);
    bool csr_h = arch_probe_h();
    if (!fdt_h || !csr_h) {
        boot_fail(!fdt_h && !csr_h ? "this CPU lacks the RISC-V H (hypervisor) extension"
                  : !fdt_h         ? "the device tree does not list the RISC-V H (hypervisor) "
                                     "extension for this hart"
                                   : "the hypervisor CSRs of the RISC-V H extension trap");
    }

    if (plat.uart.present) {
        ns16550_init(&host_uart, (uintptr_t)plat.uart.dev.base, plat.uart.reg_shift,
                     plat.uart.io_width);
        ns16550_enable_fifos(&host_uart);
        console_set_output(uart_console_write);
    }

    memory_init(fdt_pa, fdt.size);
    unsigned cboz = arch_zero_init((plat.isa & ISA_ZICBOZ) != 0);
    selftest_configure(plat.bootargs, plat.timebase_hz);

    unsigned online = harts_start(&plat, hartid);

    char isa[64];
    isa_format(plat.isa, isa, sizeof(isa));
    console_printf("Vireo " VIREO_VERSION ": %u harts, %lu MiB free, isa %s, timebase %u Hz\n",
                   online, (unsigned long)(pmem_free_bytes() >> 20), isa, plat.timebase_hz);
    if (plat.harts_ignored)
        console_printf("vireo: %d harts beyond the first %d are not used\n", plat.harts_ignored,
                       PLAT_MAX_HARTS);
    print_platform();
    if (cboz)
        console_printf("vireo: pages zeroed with Zicboz (%u-byte blocks)\n", cboz);

    selftest_run_boot_hart(&harts[0]);

    if (bootargs_flag(plat.bootargs, "vireo.poweroff")) {
        console_printf("vireo: powering off (vireo.poweroff)\n");
        arch_poweroff(false);
    }
    start_vms();
}

static int harts_go; /* set once VMs exist: secondaries join the scheduler */
static bool harts_sstc, harts_vector, harts_hstateen;

/* Lets the secondary harts, waiting since boot, into the run loop. */
static void harts_release(bool host_sstc, bool host_vector, bool host_hstateen)
{
    harts_sstc = host_sstc;
    harts_vector = host_vector;
    harts_hstateen = host_hstateen;
    __atomic_store_n(&harts_go, 1, __ATOMIC_RELEASE);
}

/* C entry of a secondary hart (from entry.S; declared in arch/arch.h). */
void hart_secondary_main(unsigned long hartid, struct hart *h)
{
    (void)hartid;
    hart_set_online(h);
    console_printf("vireo: hart %u (hartid %lu) online\n", h->index, h->hartid);
    selftest_run_secondary(h);
    while (!__atomic_load_n(&harts_go, __ATOMIC_ACQUIRE))
        arch_cpu_relax();
    arch_hart_irq_init(harts_sstc, harts_vector, harts_hstateen);
    hart_loop();
}

/* vireo.dirty-log=NAME: dirty logging on for VM NAME from before its
 * first instruction (for make bench: the cost of logging on a guest that
 * writes, without a shell to start it).  Boot, before the other harts run. */
static void dirty_log_at_boot(const char *bootargs)
{
    const char *name;
    size_t len;
    char err[160];

    if (!bootargs_get(bootargs, "vireo.dirty-log", &name, &len))
        return;
    for (unsigned i = 0; i < vm_count; i++) {
        struct vm *vm = &vms[i];
        if (!vm_in_use(vm) || strlen(vm->name) != len || strncmp(vm->name, name, len) != 0)
            continue;
        if (vm_dirty_start(vm, err, sizeof(err)) < 0)
            console_printf("vireo: vm %s: dirty logging not started: %s\n", vm->name, err);
        else
            console_printf("vireo: vm %s: dirty logging on from boot\n", vm->name);
        return;
    }
    console_printf("vireo: vireo.dirty-log=%.*s: no such VM\n", (int)len, name);
}

/* The boot bundle arrives as the initrd: the configuration and the guest
 * images it names.  Every error is reported before any VM starts. */
/* vireo.trace=CLASSES: tracing from before the first VM runs (what
 * `tools/vireo run --trace` uses to see a whole boot). */
static void trace_at_boot(const char *bootargs)
{
    const char *val;
    size_t len, badlen = 0;
    const char *bad = "";
    char err[160];

    trace_ctl_init(plat.timebase_hz);
    if (!bootargs_get(bootargs, "vireo.trace", &val, &len))
        return;
    long classes = trace_classes_parse(val, len, &bad, &badlen);
    if (classes < 0) {
        console_printf("vireo: vireo.trace: no trace class '%.*s' (exit, sbi, mmio, irq, sched, "
                       "virtio, vm, all)\n",
                       (int)badlen, bad);
        return;
    }
    if (trace_ctl_set((uint32_t)classes, err, sizeof(err)) < 0) {
        console_printf("vireo: vireo.trace: %s\n", err);
        return;
    }
    trace_ctl_format((uint32_t)classes, err, sizeof(err));
    console_printf("vireo: tracing %s from boot (%u harts, %u records each)\n", err,
                   trace_ctl_harts(), TRACE_RING_RECORDS);
}

static _Noreturn void start_vms(void)
{
    static char err[256];
    bool when_done = bootargs_flag(plat.bootargs, "vireo.poweroff-when-done");
    struct gstage_caps caps;

    if (!plat.has_initrd) {
        console_printf("vireo: no boot bundle (initrd): no VMs to run\n");
        if (when_done) {
            console_printf(CONSOLE_STATUS "vireo: all VMs done\n");
            arch_poweroff(false);
        }
        arch_halt();
    }
    arch_gstage_probe(&caps);
    /* What the hart lets guests have beyond what the FDT lists: henvcfg
     * bits the firmware enabled, and hstateen0 with Smstateen. */
    struct isa_host_caps hcaps = {
        .henvcfg = arch_henvcfg_writable(HENVCFG_CBIE_FLUSH | HENVCFG_CBCFE | HENVCFG_CBZE |
                                         HENVCFG_ADUE | HENVCFG_PBMTE | HENVCFG_STCE),
        .hstateen = isa_has_name(&plat.exts, "smstateen") && arch_probe_hstateen(),
    };
    if (vmm_init(&plat, &caps, &hcaps, err, sizeof(err)) < 0)
        boot_fail(err);
    if (config_load((const void *)(uintptr_t)plat.initrd_start,
                    (size_t)(plat.initrd_end - plat.initrd_start), hart_count, &config, err,
                    sizeof(err)) < 0) {
        console_printf(CONSOLE_STATUS "vireo: %s\n", err);
        console_printf("vireo: no VM started\n");
        if (when_done)
            arch_poweroff(true);
        arch_halt();
    }
    vmm_set_max_page(plat.bootargs);
    hart_loop_init(plat.timebase_hz);
    vm_set_poweroff_when_done(when_done);
    /* A deleted VM's in-memory snapshot goes with it (vm_admin.h). */
    vm_set_delete_hook(snapshot_mem_drop);
    bool sstc = (plat.isa & ISA_SSTC) != 0, vector = (plat.isa & ISA_V) != 0;
    arch_hart_irq_init(sstc, vector, hcaps.hstateen);
    hostdev_init(&plat);
    trace_at_boot(plat.bootargs);
    /* A boot-bundle VM that migrates is packed from it (core/vm_pack.h). */
    vm_pack_set_boot_bundle((const void *)(uintptr_t)plat.initrd_start,
                            (size_t)(plat.initrd_end - plat.initrd_start));
    vm_start_all(&config);
    dirty_log_at_boot(plat.bootargs);
    bool irqs = irq_init(&plat);
    if (irqs && plat.uart.present && plat.uart.dev.irq &&
        irq_register(plat.uart.dev.irq, uart_console_rx, NULL)) {
        ns16550_enable_rx_irq(&host_uart);
        vconsole_set_reader(uart_console_reader, NULL);
    } else
        console_printf("vireo: no host interrupt for the console UART: no console input\n");
    hostdev_irq_init(irqs);
    control_init(plat.timebase_hz);
    control_ports_start();
    selftest_run_late(); /* mgmt-echo takes the management port over */
    if (bootargs_flag(plat.bootargs, "vireo.shell"))
        shell_start(plat.timebase_hz);
    harts_release(sstc, vector, hcaps.hstateen);
    hart_loop();
}
