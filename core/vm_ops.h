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

#include <stddef.h>
#include <stdint.h>

#include "core/vcpu.h"
#include "core/vm.h"

void vm_ops_hold(void);
void vm_ops_release(void);

/* The state as the front ends show it: "running", "paused", "rebooting",
 * "stopping", "stopped", "off". */
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

#endif
