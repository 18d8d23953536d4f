/* SPDX-License-Identifier: Apache-2.0 */
/* The vCPU run loop (hart_loop.c). */
#ifndef VIREO_CORE_HART_LOOP_H
#define VIREO_CORE_HART_LOOP_H

#include <stdint.h>

/* The time slice in timebase ticks.  Boot, before any hart runs the loop. */
void hart_loop_init(uint32_t timebase_hz);

/* Each hart's life once boot is over, interrupts off. */
_Noreturn void hart_loop(void);

#endif
