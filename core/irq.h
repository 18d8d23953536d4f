/* SPDX-License-Identifier: Apache-2.0 */
/* The host's own interrupts: a table of handlers by interrupt-controller
 * source, served on the hart that owns them.  Device drivers register here
 * (the console UART's input now; host virtio devices later), and a device
 * that belongs to a VM can be forwarded by a handler that raises a line of
 * that VM's virtual PLIC. */
#ifndef VIREO_CORE_IRQ_H
#define VIREO_CORE_IRQ_H

#include <stdbool.h>

#include "core/platform.h"

typedef void (*irq_handler)(void *ctx);

/* Uses the platform's PLIC (if any) for Vireo's own devices, routed to the
 * boot hart's S-mode context.  False when there is no PLIC (AIA machines:
 * Vireo then polls its devices). */
bool irq_init(const struct platform *p);

/* Enables source and calls handler (on the boot hart) when it fires. */
bool irq_register(unsigned source, irq_handler handler, void *ctx);

/* Serves every pending source of this hart's context: called for the
 * supervisor external interrupt, and whenever the hart wakes from wfi. */
void irq_dispatch(void);

#endif
