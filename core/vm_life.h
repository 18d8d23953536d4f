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

/* What happens to VMs, for whoever follows it (the control plane's
 * events).  The observer runs wherever the change happens (the run loop,
 * a guest's exit, a front end's command, with locks held there): it must
 * only note the event and return. */
enum vm_event {
    VM_EVENT_STARTED,   /* booted (also after a reboot) */
    VM_EVENT_ENDED,     /* stopped for good: vm->end and vm->reason say how */
    VM_EVENT_REBOOTING, /* ended with a reboot; STARTED follows */
    VM_EVENT_PAUSED,
    VM_EVENT_RESUMED,
    VM_EVENT_ADDED,   /* created at run time, off */
    VM_EVENT_DELETED, /* its slot is about to be freed */
};
void vm_life_observe(void (*fn)(struct vm *vm, enum vm_event ev));
void vm_life_notify(struct vm *vm, enum vm_event ev);

/* Power off when the last VM has ended (vireo.poweroff-when-done). */
void vm_set_poweroff_when_done(bool on);

/* From an idle hart's run loop: powers off when that was waiting for a
 * trace reader to empty the rings (or for 3 s without progress). */
void vm_life_idle(void);

#endif
