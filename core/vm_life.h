/* SPDX-License-Identifier: Apache-2.0 */
/* Booting, ending and finishing VMs (vm_life.c). */
#ifndef VIREO_CORE_VM_LIFE_H
#define VIREO_CORE_VM_LIFE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/vm.h"
#include "lib/printf.h"

/* Creates the VM from vm->cfg and makes vCPU 0 runnable.  An ERR_* code with err
 * saying why; nothing is left allocated then. */
int vm_boot(struct vm *vm, char *err, size_t errlen);

/* Creates the VM from vm->cfg paused, with every vCPU offline: nothing of
 * it has run when this returns (a restore goes into it next).  As
 * vm_boot's errors. */
int vm_build_paused(struct vm *vm, char *err, size_t errlen);
/* Frees a VM vm_build_paused made whose vCPUs never ran (its restore
 * failed): it is off again.  Its vCPUs must be off the harts. */
void vm_unbuild(struct vm *vm);

/* Fills the VM table from the configuration and boots every VM marked
 * autostart.  Returns how many VMs exist (booted or not).  Boot. */
unsigned vm_start_all(const struct config *cfg);

/* Ends a VM: a guest's request (shutdown, reboot) or Vireo's decision
 * (stopped, with a reason).  Its vCPUs leave their harts at their next
 * exit; the last one out finishes the VM.  Any hart, any context but with
 * no scheduler lock held. */
void vm_end(struct vm *vm, enum vm_end how, const char *fmt, ...) FMT_PRINTF(3, 4);

/* The VM's last vCPU has left its hart: prints how it ended, frees it, and
 * boots it again on reboot.  From the run loop or vm_end. */
void vm_finish(struct vm *vm);

/* Power off when the last VM has ended (vireo.poweroff-when-done). */
void vm_set_poweroff_when_done(bool on);

#endif
