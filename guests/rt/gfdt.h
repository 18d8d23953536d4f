/* SPDX-License-Identifier: Apache-2.0 */
/* What the test guests read from their device tree, on top of lib/fdt.c.
 * The runtime opens the blob at boot (a guest without a valid FDT fails
 * before guest_main); these helpers never fail on a strange tree, they just
 * find less. */
#ifndef VIREO_GUESTS_RT_GFDT_H
#define VIREO_GUESTS_RT_GFDT_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/fdt.h"

struct mem_range {
    uint64_t start, end; /* [start, end) */
};

/* Validate the blob (called by the runtime); 0 or a negative fdt_err. */
int gfdt_init(const void *blob);
const struct fdt *gfdt(void);
/* Address and size of the blob itself. */
uint64_t gfdt_blob_addr(void);
uint64_t gfdt_blob_size(void);

/* Every "reg" range of every enabled /memory node (name "memory" or
 * "memory@...", or device_type "memory"), in tree order.  Fills at most max
 * and returns how many there are. */
int gfdt_memory(struct mem_range *out, int max);
/* Memory the guest must not touch: the FDT reservation map and the "reg" of
 * every /reserved-memory child.  Same counting as gfdt_memory(). */
int gfdt_reserved(struct mem_range *out, int max);
/* /chosen linux,initrd-start and -end (each u32 or u64). */
bool gfdt_initrd(struct mem_range *out);
/* /chosen/bootargs, or "" when there is none. */
const char *gfdt_bootargs(void);

/* Hart ids ("reg") of the enabled cpu nodes (device_type "cpu") under /cpus,
 * in tree order.  Same counting as gfdt_memory(). */
int gfdt_harts(uint64_t *out, int max);
/* The cpu node of hartid, or a negative fdt_err. */
int gfdt_cpu_node(uint64_t hartid);
/* The context of the PLIC at plic_node that takes hartid's S-mode external
 * interrupt (the index of its pair in interrupts-extended), or a negative
 * fdt_err. */
int gfdt_plic_s_context(int plic_node, uint64_t hartid);
/* Does hartid's cpu node list extension ext ("v", "h", "zicsr", ...)?  Reads
 * riscv,isa-extensions when present, else parses riscv,isa
 * ("rv64imafdcv_zicsr_..."). */
bool gfdt_hart_has_ext(uint64_t hartid, const char *ext);
/* timebase-frequency of /cpus (or, failing that, of hartid's cpu node); 0 if
 * neither has one. */
uint64_t gfdt_timebase(uint64_t hartid);

#endif
