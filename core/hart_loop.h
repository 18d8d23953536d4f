/* SPDX-License-Identifier: Apache-2.0 */
/* The vCPU run loop (hart_loop.c). */
#ifndef VIREO_CORE_HART_LOOP_H
#define VIREO_CORE_HART_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vcpu.h"

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

/* The exit fast path's switch from one vCPU straight to the next, without
 * the loop (arch/riscv/vcpu_switch.c).  hart_loop_switch_ok: whether v,
 * whose exit decided EXIT_BLOCK or EXIT_YIELD, may go that way (no work
 * for the loop, v not held); if not the loop decides.
 * hart_loop_switch: v left hart h (every register in its context, its
 * state out of the hart: vcpu_arch_put; woken: an interrupt is pending
 * for it, so EXIT_BLOCK does not block); returns the vCPU to enter next,
 * its timer set, to be loaded (vcpu_arch_load), or NULL: nothing to run,
 * and the loop takes over (vcpu_arch_run returns NULL). */
struct hart;
bool hart_loop_switch_ok(const struct vcpu *v);
struct vcpu *hart_loop_switch(struct hart *h, struct vcpu *v, enum exit_action act, bool woken);

/* Each hart's life once boot is over, interrupts off. */
_Noreturn void hart_loop(void);

#endif
