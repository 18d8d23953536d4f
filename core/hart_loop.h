/* SPDX-License-Identifier: Apache-2.0 */
/* The vCPU run loop (hart_loop.c). */
#ifndef VIREO_CORE_HART_LOOP_H
#define VIREO_CORE_HART_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/* The time slice in timebase ticks.  Boot, before any hart runs the loop. */
void hart_loop_init(uint32_t timebase_hz);

/* Hands fn(arg) to the run loop: the first hart to reach a point where no
 * vCPU is loaded on it (between two vCPUs, or idle) runs it, interrupts
 * off.  For management work that must not run inside a vCPU's exit (the
 * shell's commands arrive in an interrupt taken while a guest ran) and
 * that waits for vCPUs to leave their harts, as a snapshot does.  One at
 * a time: false if one is already waiting. */
bool hart_loop_defer(void (*fn)(void *arg), void *arg);

/* A service of a layer above (the control plane): fn runs on the first
 * hart to reach a point with no vCPU loaded after hart_loop_poke, once per
 * poke (several pokes before it runs: once).  Boot, before harts run. */
void hart_loop_set_service(void (*fn)(void));
/* Any hart, any context: the service has work.  Cheap: a flag, which a
 * hart running a vCPU sees at the vCPU's next exit. */
void hart_loop_poke(void);

/* Each hart's life once boot is over, interrupts off. */
_Noreturn void hart_loop(void);

#endif
