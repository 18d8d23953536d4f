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

#include "core/hart.h"
#include "core/vm.h"

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

/* Marks a running VM as ending (vm_end() in core/vm_life.c): its queued
 * vCPUs go offline, running ones are kicked off their harts.  True when
 * none is on a hart any more, so the caller finishes the VM (else the
 * last vCPU to leave does, through sched_put).  False too when the VM
 * was not running. */
bool sched_end_vm(struct vm *vm, enum vm_end how, const char *reason);

/* Pauses (its vCPUs leave their harts at their next exit and are not run)
 * or resumes a running VM.  Its clock keeps running, as for a host that
 * is busy elsewhere. */
void sched_pause_vm(struct vm *vm, bool pause);

/* Throttles vm's vCPUs: each time one gives up its hart after running
 * (its slice ended, it yielded), it sits out long enough that it ran at
 * most (100 - pct)% of the time; interrupts for it wait until then.  pct
 * 0 ends it (a vCPU sitting out still sits its time out: a slice's worth
 * at most), at most SCHED_THROTTLE_MAX.  Live migration's auto-converge
 * (docs/migration.md). */
#define SCHED_THROTTLE_MAX 90u
void sched_throttle_vm(struct vm *vm, unsigned pct);

/* Holds v off the harts for a debugger (VCPU_HOLD_DEBUG: it leaves its
 * hart at its next exit, which an IPI makes come at once), or lets it run
 * again (unless something else holds it). */
void sched_debug_hold(struct vcpu *v, bool hold);

/* True when every vCPU of vm is held for a debugger and none is on a
 * hart: its registers and memory may be read and changed. */
bool sched_debug_off_harts(struct vm *vm);

/* True when vm is paused and none of its vCPUs is on a hart: its state
 * may be read or replaced (snapshots). */
bool sched_vm_off_harts(struct vm *vm);

/* Puts a vCPU of a paused VM, off the harts, in state s (OFFLINE,
 * RUNNABLE: queued, BLOCKED: waiting for its wake-up), whatever it was:
 * a snapshot restore. */
void sched_set_vcpu_state(struct vcpu *v, enum vcpu_state s);

/* The run loop's side (core/hart_loop.c), on hart h with interrupts off. */

/* Wakes blocked vCPUs whose time has come and takes the next vCPU h may
 * run, now RUNNING on h; with none, marks h idle and returns NULL.  *next
 * is the earliest wake-up deadline of a vCPU still blocked. */
struct vcpu *sched_pick(struct hart *h, uint64_t *next);
/* h woke up after sched_pick found nothing. */
void sched_idle_end(struct hart *h);
/* The earliest wake-up deadline of a blocked vCPU, as last computed (no
 * lock, no wake-ups: the exit fast path's look; UINT64_MAX: none). */
uint64_t sched_blocked_next(void);
/* The earliest wake-up deadline of a blocked vCPU, after queueing those
 * due at now: every hart's timer fires no later than this. */
uint64_t sched_blocked_deadline(uint64_t now);
/* True when a vCPU h may run waits in the queue. */
bool sched_has_work(const struct hart *h);

/* What sched_put leaves the caller to do about the vCPU's VM. */
enum sched_put {
    SCHED_PUT_DONE,
    SCHED_PUT_FINISH_VM,     /* the VM is ending and this was its last vCPU on a hart */
    SCHED_PUT_ALL_STOPPED,   /* every vCPU of the VM stopped itself (HSM hart_stop) */
    SCHED_PUT_DEBUG_STOPPED, /* v is held for a debugger and was the VM's last on a hart */
};
/* v left h after deciding act: back to the queue, blocked (WFI) or offline. */
enum sched_put sched_put(struct hart *h, struct vcpu *v, enum exit_action act);
/* sched_put at now (woken: the caller saw an interrupt pending for v, so
 * an EXIT_BLOCK does not block), then, when that leaves nothing to do about the VM
 * (SCHED_PUT_DONE), the next vCPU for h as sched_pick would choose it, under
 * the same lock: the exit fast path's switch from one vCPU straight to
 * the next (core/hart_loop.c).  *next is NULL when the hart has nothing
 * to run (h is then idle, as after sched_pick) or r is not
 * SCHED_PUT_DONE. */
enum sched_put sched_switch(struct hart *h, struct vcpu *v, enum exit_action act, bool woken,
                            uint64_t now, struct vcpu **next);

#endif
