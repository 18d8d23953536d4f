/* SPDX-License-Identifier: Apache-2.0 */
/* The operations on VMs that every management front end offers: the shell
 * (core/shell.c) and the control protocol (core/control/).  One
 * implementation each: the front ends parse, call these, and format what
 * comes back; a refusal is a negative ERR_* code with err saying why in
 * words a person reads ("vm alpha is stopped: pause needs a running VM").
 *
 * A front end holds the operations' lock (vm_ops_hold .. vm_ops_release)
 * around each whole command, reading or changing, so two front ends acting
 * at once see each change whole and a VM is never deleted under a reader.
 * Every call below expects it held.  From any hart, with no scheduler
 * lock held; the lock is never taken inside a guest's own ending
 * (vm_end, vm_finish), only by front ends. */
#ifndef VIREO_CORE_VM_OPS_H
#define VIREO_CORE_VM_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vcpu.h"
#include "core/vm.h"

void vm_ops_hold(void);
void vm_ops_release(void);

/* The state as the front ends show it: "running", "paused", "migrating"
 * (running or paused, with a migration out of this host under way),
 * "rebooting", "stopping", "stopped", "off". */
const char *vm_ops_state(const struct vm *vm);

/* The exit counters' names ("sbi", "mmio", ...), by enum exit_kind. */
extern const char *const vm_ops_exit_names[EXIT_KINDS];
/* The VM's exits since its boot, summed over its vCPUs. */
void vm_ops_exits(const struct vm *vm, uint64_t total[EXIT_KINDS]);

/* by says who asked, for the VM's stop reason: "the shell (vm stop)". */
int vm_ops_start(struct vm *vm, char *err, size_t errlen);
int vm_ops_stop(struct vm *vm, const char *by, char *err, size_t errlen);
int vm_ops_reset(struct vm *vm, const char *by, char *err, size_t errlen);
int vm_ops_pause(struct vm *vm, char *err, size_t errlen);
int vm_ops_resume(struct vm *vm, char *err, size_t errlen);

/* vm_add and vm_delete (core/vm_admin.h) under the lock, with their
 * events.  vm_ops_add takes the bundle (pmem) and sets *out to the new
 * VM. */
int vm_ops_add(void *bundle, size_t size, struct vm **out, char *err, size_t errlen);
int vm_ops_delete(struct vm *vm, char *err, size_t errlen);

/* Pauses vm (unless it is paused) and waits up to a second for its vCPUs
 * to leave their harts: 0, or ERR_AGAIN (resumed as it was).  From a hart
 * with no vCPU loaded (the run loop), or a vCPU of vm could be the one
 * this hart never leaves. */
int vm_ops_quiesce(struct vm *vm, bool *was_paused, char *err, size_t errlen);
/* Saves a running VM into Vireo's memory (snapshot_mem_save), paused
 * meanwhile and resumed after unless it was paused; *ticks: how long.
 * From a hart with no vCPU loaded. */
struct snapshot_stats;
int vm_ops_snapshot_mem(struct vm *vm, struct snapshot_stats *st, uint64_t *ticks,
                        void (*progress)(const struct vm *vm, uint64_t done, uint64_t total),
                        char *err, size_t errlen);
/* Restores vm from the snapshot in buf: a paused VM, or one that is off
 * (built paused first; off again if the restore fails).  It stays paused.
 * From a hart with no vCPU loaded. */
int vm_ops_restore_buf(struct vm *vm, const void *buf, uint64_t size, char *err, size_t errlen);

#endif
