/* SPDX-License-Identifier: Apache-2.0 */
/* Driver for the host's own PLIC (the real one, not the virtual PLIC
 * guests see): Vireo takes interrupts from its own devices through it, on
 * the S-mode context of the hart that serves them.  Register layout from
 * the RISC-V PLIC specification. */
#ifndef VIREO_DRIVERS_HPLIC_H
#define VIREO_DRIVERS_HPLIC_H

#include <stdbool.h>
#include <stdint.h>

struct hplic {
    uintptr_t base;
    unsigned ndev;
};

void hplic_init(struct hplic *p, uintptr_t base, unsigned ndev);
/* Priority 0 disables a source; 1 is enough for Vireo's own devices. */
void hplic_set_priority(struct hplic *p, unsigned source, unsigned priority);
void hplic_enable(struct hplic *p, unsigned context, unsigned source, bool on);
void hplic_set_threshold(struct hplic *p, unsigned context, unsigned threshold);
/* The highest-priority pending source for context (0: none), now in service. */
unsigned hplic_claim(struct hplic *p, unsigned context);
void hplic_complete(struct hplic *p, unsigned context, unsigned source);

#endif
