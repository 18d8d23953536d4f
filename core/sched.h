/* SPDX-License-Identifier: Apache-2.0 */
/* Sharing the harts between vCPUs.
 *
 * One run queue, shared by all harts and protected by one lock: with the
 * handful of harts Vireo targets, a shared queue balances load for free and
 * keeps the code short.  Pinned vCPUs are only taken by their hart.  A vCPU
 * runs for a time slice; the host timer ends the slice, so a guest spinning
 * with its interrupts off still gives the hart up. */
#ifndef VIREO_CORE_SCHED_H
#define VIREO_CORE_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vm.h"

#define SCHED_SLICE_US 10000 /* 10 ms */

void sched_init(uint32_t timebase_hz);

/* Makes an OFFLINE vCPU runnable (VM start, HSM hart_start). */
void sched_start_vcpu(struct vcpu *v);

/* HSM hart_start: if v is stopped, resets it to start at pc with a0 = its
 * hart id and a1 = opaque and makes it runnable.  False if it was not
 * stopped. */
bool sched_hsm_start(struct vcpu *v, uint64_t pc, uint64_t opaque);

/* An interrupt became pending for v: wake it if it waits in WFI, or make it
 * notice at once if it runs on another hart. */
void sched_notify(struct vcpu *v);

/* Returns once v is not executing guest code with what it had before the
 * call: if it is in guest mode on another hart it is kicked out (and the
 * caller waits for it); requests made before this call (fences) are then
 * seen before it runs again. */
void sched_sync_vcpu(struct vcpu *v);

/* HSM hart_stop: the calling vCPU goes offline when it leaves the hart. */
void sched_stop_vcpu(struct vcpu *v);

/* See vm_end(). */
void sched_end_vm(struct vm *vm, enum vm_end how, const char *reason);

/* Power off when the last VM has ended (vireo.poweroff-when-done). */
void sched_set_poweroff_when_done(bool on);

/* Pauses (its vCPUs leave their harts at their next exit and are not run)
 * or resumes a running VM.  Its clock keeps running, as for a host that
 * is busy elsewhere. */
void sched_pause_vm(struct vm *vm, bool pause);

/* Each hart's life once boot is over. */
_Noreturn void sched_hart_loop(void);

#endif
