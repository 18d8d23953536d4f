/* SPDX-License-Identifier: Apache-2.0 */
/* Misaligned loads and stores of a guest that turned their delegation off
 * (SBI FWFT MISALIGNED_EXC_DELEG = 0): Vireo does them for it. */
#ifndef VIREO_CORE_MISALIGNED_H
#define VIREO_CORE_MISALIGNED_H

#include "core/vcpu.h"

/* The exit of a misaligned fetch, load or store/AMO (scause 0, 4 or 6,
 * stval the address).  An integer load or store that core/insn.c decodes
 * (RV64I and the compressed forms) is done byte by byte through the
 * guest's own translation and privilege, and the guest continues after it.
 * A byte that faults makes the guest take that fault instead, at the
 * instruction, with stval the byte's address: a VS-stage page fault as
 * it is, anything else (an address outside the VM's RAM, its devices
 * included, or a PMP fault) as a load or store access fault, so nothing
 * outside the VM's RAM is ever touched.  What cannot be emulated (a
 * fetch, FP, atomics, an instruction that cannot be read) is given to the
 * guest as the misaligned exception it is.  Own exit; returns EXIT_RESUME. */
enum exit_action misaligned_emulate(struct vcpu *v);

#endif
