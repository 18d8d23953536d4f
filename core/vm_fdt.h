/* SPDX-License-Identifier: Apache-2.0 */
/* The device tree a guest boots with.
 *
 * Built with the FDT writer (lib/fdt.h) from a description of the VM, following
 * the bindings Linux 6.12 checks (Documentation/devicetree/bindings/riscv/cpus.yaml
 * and extensions.yaml, interrupt-controller/riscv,cpu-intc.yaml and
 * sifive,plic-1.0.0.yaml, serial/8250.yaml, virtio/mmio.yaml). Vireo's own
 * platform_parse() reads the result back the way it reads a real machine's tree.
 *
 * The tree:
 *   /                 #address-cells = #size-cells = 2, model, compatible "vireo,vm"
 *   /chosen           bootargs (when non-empty), linux,initrd-start/-end (u64, when
 *                     there is an initrd), stdout-path (when there is a UART)
 *   /aliases          serial0 (when there is a UART), so Linux calls it ttyS0
 *   /memory@BASE      device_type "memory"
 *   /cpus             timebase-frequency; cpu@N for vCPU N with reg = N (the guest
 *                     hart id), compatible "riscv", riscv,isa, riscv,isa-base and
 *                     riscv,isa-extensions, mmu-type, and an interrupt-controller
 *                     child ("riscv,cpu-intc") with phandle N + 1
 *   /soc              simple-bus, identity ranges, holding:
 *     interrupt-controller@PLIC   PLIC; context i is vCPU i's S-mode external
 *                                 interrupt (one context per vCPU, no M contexts)
 *     serial@UART                 ns16550a, 0x100 bytes, 3686400 Hz
 *     virtio@BASE                 virtio,mmio, 0x1000 bytes each
 *
 * The root is compatible with "vireo,vm" only, not QEMU's "riscv-virtio": the
 * guest sees none of the other devices of QEMU's virt machine (CLINT, fw_cfg,
 * RTC, test device), and software that keys on "riscv-virtio" would expect them. */
#ifndef VIREO_CORE_VM_FDT_H
#define VIREO_CORE_VM_FDT_H

#include <stddef.h>
#include <stdint.h>

#define VM_FDT_MAX_VCPUS   64 /* bounds the PLIC's interrupts-extended, built on the stack */
#define VM_FDT_MAX_VIRTIO  8
#define VM_FDT_UART_SIZE   0x100u
#define VM_FDT_UART_CLOCK  3686400u
#define VM_FDT_VIRTIO_SIZE 0x1000u

struct vm_fdt_params {
    const char *model; /* e.g. "vireo,vm"; NULL gives "vireo,vm" */
    unsigned nvcpus;   /* 1..VM_FDT_MAX_VCPUS: cpu@0..cpu@n-1, reg = vCPU index */
    /* riscv,isa of every cpu, e.g. "rv64imafdc_zicsr_zifencei_sstc"; the caller
     * decides what the guest may use. Must start with "rv64ima", as Linux
     * requires of riscv,isa. */
    const char *isa;
    /* riscv,isa-extensions entries, NULL-terminated; must include "i", "m" and
     * "a" (Linux ignores a cpu without them). With it the cpu also gets
     * riscv,isa-base = "rv64i". NULL: neither property is written and Linux
     * falls back to riscv,isa. */
    const char *const *isa_exts;
    const char *mmu; /* "riscv,sv39", "riscv,sv48" or "riscv,sv57" */
    /* riscv,cbom/cboz/cbop-block-size of every cpu (0: left out), the
     * host's, for a guest with Zicbom, Zicboz, Zicbop. */
    uint32_t cbom_block, cboz_block, cbop_block;
    uint32_t timebase_hz;
    uint64_t mem_base, mem_size;
    const char *bootargs;              /* NULL or "": no bootargs property */
    uint64_t initrd_start, initrd_end; /* 0, 0: none; else inside RAM, start < end */
    /* Times this VM has booted, 1 for the first (0: property left out): a
     * guest can tell a reboot from a first boot by /chosen/vireo,boot-count. */
    uint32_t boot_count;
    /* Optional devices, present when their base is non-zero. An interrupt
     * number is a PLIC source, 1..plic_ndev. */
    uint64_t uart_base;
    uint32_t uart_irq; /* 0: no interrupt (the guest polls); otherwise needs the PLIC */
    uint64_t plic_base;
    uint64_t plic_size;
    uint32_t plic_ndev; /* 1..1023 */
    uint64_t virtio_base[VM_FDT_MAX_VIRTIO];
    uint32_t virtio_irq[VM_FDT_MAX_VIRTIO]; /* required: virtio-mmio needs the PLIC */
    unsigned nvirtio;
};

/* Writes the guest's DTB into buf[0..cap), never touching bytes at or past cap.
 * Returns its size, or with a one-line reason in err ERR_INVAL (a bad
 * parameter), ERR_NOSPC ("buffer too small") or the writer's code. err may be NULL when errlen is
 * 0. Devices may not overlap each other or RAM. */
int vm_fdt_build(void *buf, size_t cap, const struct vm_fdt_params *p, char *err, size_t errlen);

#endif
