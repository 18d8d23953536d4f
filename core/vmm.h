/* SPDX-License-Identifier: Apache-2.0 */
/* What guests get from the host, decided once at boot: the G-stage mode,
 * the largest piece of guest RAM, Sstc, and the ISA (core/isa.c; per VM,
 * after its isa-withhold) and machine facts their device trees carry. */
#ifndef VIREO_CORE_VMM_H
#define VIREO_CORE_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/gstage.h"
#include "core/platform.h"
#include "core/vm_fdt.h"

struct vm;
struct gstage_caps;

/* Decides what guests get from the host's capabilities.  Returns 0, or
 * ERR_NOTSUP with a reason when the host cannot run guests at all. */
int vmm_init(const struct platform *p, const struct gstage_caps *caps,
             const struct isa_host_caps *hcaps, char *err, size_t errlen);

/* The VM's ISA (core/isa.c: the host's, minus what is withheld, minus its
 * configuration's isa-withhold) into vm->isa, vm->isa_str and
 * vm->isa_exts, and the henvcfg, hcounteren and hstateen0 that go with it
 * into each vCPU.  After vm->cfg and vm->nvcpus are set. */
void vmm_vm_isa(struct vm *vm);

/* The host's ISA string (every hart's extensions) and what a guest gets
 * of it with nothing withheld by its configuration.  Not reentrant. */
void vmm_isa_strings(char *host, size_t hlen, char *guest, size_t glen);

enum gstage_mode vmm_gstage_mode(void);

/* Largest piece of guest RAM (and G-stage leaf): 1 GiB normally; the
 * command line's vireo.max-page=4K|2M|1G lowers it (to measure TLB
 * effects, or to exercise the small-page paths). */
uint64_t vmm_max_page(void);
void vmm_set_max_page(const char *bootargs);
bool vmm_guest_sstc(void);

/* Whether the hart sets the G-stage's A and D bits itself (Svadu with
 * menvcfg.ADUE on): dirty logging then reads D bits instead of faulting. */
bool vmm_gstage_ad_hw(void);

/* The host's timebase (the guests' too). */
uint32_t vmm_timebase_hz(void);
void vmm_fdt_params(const struct vm *vm, struct vm_fdt_params *fp, uint64_t initrd_start,
                    uint64_t initrd_end);

#endif
