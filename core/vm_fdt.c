/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's device tree; see vm_fdt.h for its shape.
 *
 * The parameters come from Vireo's own VM configuration, which may in turn come
 * from an untrusted bundle, so they are all checked before anything is written:
 * a tree Linux would misread (a cpu it would skip, an interrupt no controller
 * delivers, two devices at one address) is refused with a reason rather than
 * handed to the guest. */
#include "core/vm_fdt.h"

#include <stdarg.h>
#include <stdbool.h>

#include "arch/riscv/encoding.h"
#include "lib/fdt.h"
#include "lib/printf.h"
#include "lib/string.h"

#define PLIC_MAX_NDEV 1023 /* sources 1..1023; 0 means "no interrupt" */
#define ISA_EXTS_MAX  2048 /* bytes of the riscv,isa-extensions stringlist */
#define NODE_NAME_MAX 48
#define MAX_REGIONS   (3 + VM_FDT_MAX_VIRTIO)
#define DEFAULT_MODEL "vireo,vm"
#define ROOT_COMPAT   "vireo,vm"

struct region {
    const char *what;
    unsigned index; /* for virtio devices */
    uint64_t base, size;
};

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

/* A parameter Vireo cannot describe: ERR_INVAL, with the reason in err. */
static int vm_fdt_fail(char *err, size_t errlen, const char *fmt, ...) FMT_PRINTF(3, 4);

static int vm_fdt_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen) {
        va_start(ap, fmt);
        fmt_vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return ERR_INVAL;
}

static void region_name(const struct region *r, char *buf, size_t len)
{
    if (r->index)
        fmt_snprintf(buf, len, "%s %u", r->what, r->index - 1);
    else
        fmt_snprintf(buf, len, "%s", r->what);
}

/* Checks each region for wrapping and every pair for overlap. */
static int regions_check(const struct region *r, int n, char *err, size_t errlen)
{
    char a[32], b[32];

    for (int i = 0; i < n; i++) {
        if (r[i].size == 0 || r[i].size - 1 > UINT64_MAX - r[i].base) {
            region_name(&r[i], a, sizeof(a));
            return vm_fdt_fail(err, errlen, "%s at 0x%llx of 0x%llx bytes is empty or wraps", a,
                               ull(r[i].base), ull(r[i].size));
        }
    }
    for (int i = 0; i < n; i++) {
        for (int j = i + 1; j < n; j++) {
            uint64_t last_i = r[i].base + (r[i].size - 1), last_j = r[j].base + (r[j].size - 1);

            if (r[i].base > last_j || r[j].base > last_i)
                continue;
            region_name(&r[i], a, sizeof(a));
            region_name(&r[j], b, sizeof(b));
            return vm_fdt_fail(err, errlen, "%s at 0x%llx-0x%llx overlaps %s at 0x%llx-0x%llx", a,
                               ull(r[i].base), ull(last_i), b, ull(r[j].base), ull(last_j));
        }
    }
    return 0;
}

static bool isa_string_ok(const char *isa)
{
    if (strncmp(isa, "rv64ima", 7))
        return false;
    /* The binding wants lower case, which Linux's parser relies on. */
    for (const char *c = isa; *c; c++) {
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    }
    return true;
}

/* Packs the NULL-terminated list into a stringlist; its length, or
 * ERR_INVAL. */
static int isa_exts_pack(const char *const *exts, char *buf, size_t cap, char *err, size_t errlen)
{
    size_t len = 0;
    bool has_i = false, has_m = false, has_a = false;

    for (unsigned i = 0; exts[i]; i++) {
        size_t n = strlen(exts[i]) + 1;

        if (n == 1)
            return vm_fdt_fail(err, errlen, "riscv,isa-extensions entry %u is empty", i);
        if (n > cap - len)
            return vm_fdt_fail(err, errlen, "riscv,isa-extensions is longer than %zu bytes", cap);
        memcpy(buf + len, exts[i], n);
        len += n;
        has_i |= !strcmp(exts[i], "i");
        has_m |= !strcmp(exts[i], "m");
        has_a |= !strcmp(exts[i], "a");
    }
    if (!has_i || !has_m || !has_a)
        return vm_fdt_fail(err, errlen,
                           "riscv,isa-extensions lacks \"i\", \"m\" or \"a\" (Linux ignores such "
                           "a cpu)");
    return (int)len;
}

static bool irq_ok(const struct vm_fdt_params *p, uint32_t irq)
{
    return p->plic_base && irq >= 1 && irq <= p->plic_ndev;
}

static int params_check(const struct vm_fdt_params *p, char *err, size_t errlen)
{
    struct region r[MAX_REGIONS];
    int n = 0;

    if (p->nvcpus == 0 || p->nvcpus > VM_FDT_MAX_VCPUS)
        return vm_fdt_fail(err, errlen, "%u vCPUs: must be 1 to %d", p->nvcpus, VM_FDT_MAX_VCPUS);
    if (!p->isa || !isa_string_ok(p->isa))
        return vm_fdt_fail(err, errlen,
                           "riscv,isa \"%s\" must be lower case and start with \"rv64ima\"",
                           p->isa ? p->isa : "(null)");
    if (!p->mmu || (strcmp(p->mmu, "riscv,sv39") && strcmp(p->mmu, "riscv,sv48") &&
                    strcmp(p->mmu, "riscv,sv57")))
        return vm_fdt_fail(err, errlen, "mmu-type \"%s\" is not riscv,sv39, sv48 or sv57",
                           p->mmu ? p->mmu : "(null)");
    if (p->timebase_hz == 0)
        return vm_fdt_fail(err, errlen, "timebase-frequency is 0");

    r[n++] = (struct region){"RAM", 0, p->mem_base, p->mem_size};
    int rc = regions_check(r, n, err, errlen);
    if (rc < 0)
        return rc; /* the initrd check below relies on RAM not wrapping */
    if (p->initrd_start || p->initrd_end) {
        if (p->initrd_start >= p->initrd_end || p->initrd_start < p->mem_base ||
            p->initrd_end - p->mem_base > p->mem_size)
            return vm_fdt_fail(err, errlen,
                               "initrd 0x%llx-0x%llx is empty or not inside guest RAM at 0x%llx "
                               "of 0x%llx bytes",
                               ull(p->initrd_start), ull(p->initrd_end), ull(p->mem_base),
                               ull(p->mem_size));
    }
    if (p->plic_base) {
        if (p->plic_ndev == 0 || p->plic_ndev > PLIC_MAX_NDEV)
            return vm_fdt_fail(err, errlen, "PLIC riscv,ndev %u: must be 1 to %d", p->plic_ndev,
                               PLIC_MAX_NDEV);
        r[n++] = (struct region){"PLIC", 0, p->plic_base, p->plic_size};
    }
    if (p->uart_base) {
        if (p->uart_irq && !irq_ok(p, p->uart_irq))
            return vm_fdt_fail(err, errlen,
                               "UART interrupt %u needs a PLIC with that source (plic at 0x%llx, "
                               "%u sources)",
                               p->uart_irq, ull(p->plic_base), p->plic_ndev);
        r[n++] = (struct region){"UART", 0, p->uart_base, VM_FDT_UART_SIZE};
    }
    if (p->nvirtio > VM_FDT_MAX_VIRTIO)
        return vm_fdt_fail(err, errlen, "%u virtio devices: at most %d", p->nvirtio,
                           VM_FDT_MAX_VIRTIO);
    for (unsigned i = 0; i < p->nvirtio; i++) {
        if (!p->virtio_base[i])
            return vm_fdt_fail(err, errlen, "virtio device %u has base address 0", i);
        if (!irq_ok(p, p->virtio_irq[i]))
            return vm_fdt_fail(err, errlen,
                               "virtio device %u: interrupt %u needs a PLIC with that source "
                               "(plic at 0x%llx, %u sources)",
                               i, p->virtio_irq[i], ull(p->plic_base), p->plic_ndev);
        r[n++] = (struct region){"virtio device", i + 1, p->virtio_base[i], VM_FDT_VIRTIO_SIZE};
    }
    return regions_check(r, n, err, errlen);
}

/* reg (or any address/size pair) with the two-cell counts used throughout. */
static void prop_reg(struct fdt_writer *w, uint64_t base, uint64_t size)
{
    uint32_t cells[4] = {(uint32_t)(base >> 32), (uint32_t)base, (uint32_t)(size >> 32),
                         (uint32_t)size};

    fdtw_prop_cells(w, "reg", cells, 4);
}

static void write_cpus(struct fdt_writer *w, const struct vm_fdt_params *p, const char *exts,
                       size_t exts_len)
{
    char name[NODE_NAME_MAX];

    fdtw_begin_node(w, "cpus");
    fdtw_prop_u32(w, "#address-cells", 1);
    fdtw_prop_u32(w, "#size-cells", 0);
    /* Linux reads the timebase from /cpus only (cpus.yaml forbids it per cpu). */
    fdtw_prop_u32(w, "timebase-frequency", p->timebase_hz);
    for (unsigned i = 0; i < p->nvcpus; i++) {
        fmt_snprintf(name, sizeof(name), "cpu@%x", i);
        fdtw_begin_node(w, name);
        fdtw_prop_str(w, "device_type", "cpu");
        fdtw_prop_u32(w, "reg", i);
        fdtw_prop_str(w, "compatible", "riscv");
        fdtw_prop_str(w, "status", "okay");
        fdtw_prop_str(w, "riscv,isa", p->isa);
        if (exts) {
            fdtw_prop_str(w, "riscv,isa-base", "rv64i");
            fdtw_prop(w, "riscv,isa-extensions", exts, exts_len);
        }
        fdtw_prop_str(w, "mmu-type", p->mmu);
        if (p->cbom_block)
            fdtw_prop_u32(w, "riscv,cbom-block-size", p->cbom_block);
        if (p->cboz_block)
            fdtw_prop_u32(w, "riscv,cboz-block-size", p->cboz_block);
        if (p->cbop_block)
            fdtw_prop_u32(w, "riscv,cbop-block-size", p->cbop_block);
        fdtw_begin_node(w, "interrupt-controller");
        fdtw_prop_u32(w, "#interrupt-cells", 1);
        fdtw_prop(w, "interrupt-controller", NULL, 0);
        fdtw_prop_str(w, "compatible", "riscv,cpu-intc");
        fdtw_prop_u32(w, "phandle", i + 1);
        fdtw_end_node(w);
        fdtw_end_node(w);
    }
    fdtw_end_node(w);
}

static void write_soc(struct fdt_writer *w, const struct vm_fdt_params *p, uint32_t plic_phandle)
{
    static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
    char name[NODE_NAME_MAX];
    uint32_t ctx[2 * VM_FDT_MAX_VCPUS];

    fdtw_begin_node(w, "soc");
    fdtw_prop_u32(w, "#address-cells", 2);
    fdtw_prop_u32(w, "#size-cells", 2);
    fdtw_prop_str(w, "compatible", "simple-bus");
    fdtw_prop(w, "ranges", NULL, 0); /* bus addresses are guest physical addresses */

    if (p->plic_base) {
        fmt_snprintf(name, sizeof(name), "interrupt-controller@%llx", ull(p->plic_base));
        fdtw_begin_node(w, name);
        fdtw_prop(w, "compatible", plic_compat, sizeof(plic_compat));
        prop_reg(w, p->plic_base, p->plic_size);
        fdtw_prop_u32(w, "#address-cells", 0);
        fdtw_prop_u32(w, "#interrupt-cells", 1);
        fdtw_prop(w, "interrupt-controller", NULL, 0);
        fdtw_prop_u32(w, "riscv,ndev", p->plic_ndev);
        /* Context i = vCPU i's S-mode external interrupt: the guest runs in
         * (V)S-mode only, so M-mode contexts would be dead weight. */
        for (unsigned i = 0; i < p->nvcpus; i++) {
            ctx[2 * i] = i + 1;
            ctx[2 * i + 1] = IRQ_S_EXT;
        }
        fdtw_prop_cells(w, "interrupts-extended", ctx, 2 * (size_t)p->nvcpus);
        fdtw_prop_u32(w, "phandle", plic_phandle);
        fdtw_end_node(w);
    }
    if (p->uart_base) {
        fmt_snprintf(name, sizeof(name), "serial@%llx", ull(p->uart_base));
        fdtw_begin_node(w, name);
        fdtw_prop_str(w, "compatible", "ns16550a");
        prop_reg(w, p->uart_base, VM_FDT_UART_SIZE);
        fdtw_prop_u32(w, "clock-frequency", VM_FDT_UART_CLOCK);
        if (p->uart_irq) {
            fdtw_prop_u32(w, "interrupt-parent", plic_phandle);
            fdtw_prop_u32(w, "interrupts", p->uart_irq);
        }
        fdtw_end_node(w);
    }
    for (unsigned i = 0; i < p->nvirtio; i++) {
        fmt_snprintf(name, sizeof(name), "virtio@%llx", ull(p->virtio_base[i]));
        fdtw_begin_node(w, name);
        fdtw_prop_str(w, "compatible", "virtio,mmio");
        prop_reg(w, p->virtio_base[i], VM_FDT_VIRTIO_SIZE);
        fdtw_prop_u32(w, "interrupt-parent", plic_phandle);
        fdtw_prop_u32(w, "interrupts", p->virtio_irq[i]);
        fdtw_end_node(w);
    }
    fdtw_end_node(w);
}

int vm_fdt_build(void *buf, size_t cap, const struct vm_fdt_params *p, char *err, size_t errlen)
{
    struct fdt_writer w;
    char exts[ISA_EXTS_MAX];
    int exts_len = 0;
    char name[NODE_NAME_MAX], uart_path[NODE_NAME_MAX];
    int r;

    if (errlen)
        err[0] = '\0';
    if (!p)
        return vm_fdt_fail(err, errlen, "no VM parameters");
    r = params_check(p, err, errlen);
    if (r < 0)
        return r;
    if (p->isa_exts) {
        exts_len = isa_exts_pack(p->isa_exts, exts, sizeof(exts), err, errlen);
        if (exts_len < 0)
            return exts_len;
    }
    uint32_t plic_phandle = p->nvcpus + 1; /* after the cpus' interrupt controllers */
    fmt_snprintf(uart_path, sizeof(uart_path), "/soc/serial@%llx", ull(p->uart_base));

    fdtw_init(&w, buf, cap);
    fdtw_begin_node(&w, "");
    fdtw_prop_u32(&w, "#address-cells", 2);
    fdtw_prop_u32(&w, "#size-cells", 2);
    fdtw_prop_str(&w, "model", p->model ? p->model : DEFAULT_MODEL);
    fdtw_prop_str(&w, "compatible", ROOT_COMPAT);

    fdtw_begin_node(&w, "chosen");
    if (p->bootargs && *p->bootargs)
        fdtw_prop_str(&w, "bootargs", p->bootargs);
    if (p->initrd_start || p->initrd_end) {
        fdtw_prop_u64(&w, "linux,initrd-start", p->initrd_start);
        fdtw_prop_u64(&w, "linux,initrd-end", p->initrd_end);
    }
    if (p->uart_base)
        fdtw_prop_str(&w, "stdout-path", uart_path);
    if (p->boot_count)
        fdtw_prop_u32(&w, "vireo,boot-count", p->boot_count);
    fdtw_end_node(&w);

    if (p->uart_base) {
        fdtw_begin_node(&w, "aliases");
        fdtw_prop_str(&w, "serial0", uart_path);
        fdtw_end_node(&w);
    }

    fmt_snprintf(name, sizeof(name), "memory@%llx", ull(p->mem_base));
    fdtw_begin_node(&w, name);
    fdtw_prop_str(&w, "device_type", "memory");
    prop_reg(&w, p->mem_base, p->mem_size);
    fdtw_end_node(&w);

    write_cpus(&w, p, p->isa_exts ? exts : NULL, (size_t)exts_len);
    write_soc(&w, p, plic_phandle);
    fdtw_end_node(&w);

    r = fdtw_finish(&w);
    if (r == ERR_NOSPC)
        vm_fdt_fail(err, errlen, "the device tree does not fit in the %zu-byte buffer", cap);
    else if (r < 0)
        vm_fdt_fail(err, errlen, "writing the device tree failed: %s", err_str(r));
    return r;
}
