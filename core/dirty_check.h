/* SPDX-License-Identifier: Apache-2.0 */
/* A self-check of dirty logging for the system tests (shell `vm dirtycheck
 * NAME SECONDS`, docs/dirty-logging.md): pre-copy of a running VM's RAM
 * into a shadow in Vireo's memory, then a final fetch with the VM paused;
 * the shadow must equal guest RAM byte for byte. */
#ifndef VIREO_CORE_DIRTY_CHECK_H
#define VIREO_CORE_DIRTY_CHECK_H

#include <stdint.h>

struct vm;

/* Prints what it did and one line "dirtycheck vm NAME: PASS ..." or
 * "... FAIL ..." (naming the first pages that differ).  0 on PASS, else a
 * negative ERR_* code (ERR_MISMATCH: a page differs).  The VM is paused
 * for the final fetch and resumed, and logging stopped, before it returns.
 * From the shell (any hart but not in the guest; runs `seconds` long). */
int vm_dirty_check(struct vm *vm, unsigned seconds, uint32_t timebase_hz);

#endif
