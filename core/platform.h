/* SPDX-License-Identifier: Apache-2.0 */
/* The machine Vireo runs on, as the firmware's device tree describes it.
 * Everything Vireo knows about the platform comes from here: no address,
 * hart count or frequency is hard-coded anywhere else. */
#ifndef VIREO_CORE_PLATFORM_H
#define VIREO_CORE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/isa.h"
#include "lib/fdt.h"

#define PLAT_MAX_HARTS        64
#define PLAT_MAX_MEM          8
#define PLAT_MAX_RESV         32
#define PLAT_MAX_VIRTIO       32
#define PLAT_MAX_UNKNOWN_EXTS 16

/* ISA features Vireo cares about (one bit each). */
enum isa_ext {
    ISA_F = 1u << 0,
    ISA_D = 1u << 1,
    ISA_C = 1u << 2,
    ISA_V = 1u << 3,
    ISA_H = 1u << 4,
    ISA_SSTC = 1u << 5,
    ISA_AIA = 1u << 6, /* Ssaia (S-level AIA CSRs) */
    ISA_SVADU = 1u << 7,
    ISA_ZICBOM = 1u << 8,
    ISA_ZICBOZ = 1u << 9,
    ISA_ZKR = 1u << 10,
    ISA_SVNAPOT = 1u << 11,
    ISA_SVPBMT = 1u << 12,
    ISA_ZAWRS = 1u << 13,
    ISA_SSCOFPMF = 1u << 14,
    ISA_ZIHINTPAUSE = 1u << 15,
};

struct plat_range {
    uint64_t base, size;
};

struct plat_hart {
    unsigned long hartid;
    uint32_t isa;        /* enum isa_ext bits */
    struct isa_set exts; /* every extension core/isa.c knows, expanded (c -> zca, ...) */
    int satp_max;        /* 39, 48 or 57 (0 if the FDT does not say) */
    int plic_s_context;  /* PLIC context of its S-mode external interrupt, -1 if none */
};

struct plat_dev {
    uint64_t base, size;
    uint32_t irq; /* 0: none */
};

struct platform {
    struct plat_range mem[PLAT_MAX_MEM];
    int nmem;
    /* Memory that is not Vireo's to hand out: the FDT's reservation map and
     * /reserved-memory (the firmware's own RAM). */
    struct plat_range resv[PLAT_MAX_RESV];
    int nresv;

    struct plat_hart harts[PLAT_MAX_HARTS];
    int nharts;
    int harts_ignored;   /* listed but beyond PLAT_MAX_HARTS */
    uint32_t isa;        /* features every hart has */
    struct isa_set exts; /* extensions every hart has (core/isa.c's table) */
    /* Extensions the boot hart lists that core/isa.c does not know (never
     * given to guests), pointing into the FDT. */
    const char *exts_unknown[PLAT_MAX_UNKNOWN_EXTS];
    int nexts_unknown;
    /* riscv,cbom/cboz/cbop-block-size of the first hart (0: absent), for guests. */
    uint32_t cbom_block, cboz_block, cbop_block;
    int satp_max; /* smallest satp_max over all harts */
    uint32_t timebase_hz;

    struct {
        bool present;
        struct plat_dev dev;
        uint32_t reg_shift, io_width, clock_hz;
    } uart;
    struct {
        bool present;
        struct plat_dev dev;
        uint32_t ndev;
    } plic;
    struct {
        bool present;
        struct plat_dev dev;
    } clint; /* CLINT, or the ACLINT MSWI/SSWI device */
    struct {
        bool present;
        struct plat_dev dev;
    } imsic; /* S-level IMSIC files (AIA) */
    struct plat_dev virtio[PLAT_MAX_VIRTIO];
    int nvirtio;

    const char *bootargs; /* points into the FDT; "" when absent */
    bool has_initrd;
    uint64_t initrd_start, initrd_end;
};

/* Fills *p from a validated FDT.  Returns 0, or ERR_INVAL (a device tree
 * Vireo cannot use) with a one-line reason in err naming the node and
 * property. */
int platform_parse(const struct fdt *fdt, struct platform *p, char *err, size_t errlen);

/* Features from an ISA string ("rv64imafdch_sstc_...") or from one
 * riscv,isa-extensions entry ("sstc"). */
uint32_t isa_parse_string(const char *isa);
uint32_t isa_parse_extension(const char *name);

/* "h sstc v ..." for the banner; returns the length written. */
int isa_format(uint32_t isa, char *buf, size_t len);

/* Index in p->harts of the hart with this hartid, or ERR_NOENT. */
int platform_hart_index(const struct platform *p, unsigned long hartid);

#endif
