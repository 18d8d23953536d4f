/* SPDX-License-Identifier: Apache-2.0 */
/* The one way into guest memory (guest_mem.c).  Safe from any hart; the
 * VM must exist (its RAM and G-stage table are not freed under a caller
 * that runs for one of its vCPUs or devices). */
#ifndef VIREO_CORE_GUEST_MEM_H
#define VIREO_CORE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* Copy n bytes from or to guest physical address gpa: 0, or ERR_RANGE
 * (nothing copied) unless the whole range is the VM's RAM. */
int gpa_read(struct vm *vm, uint64_t gpa, void *dst, size_t n);
int gpa_write(struct vm *vm, uint64_t gpa, const void *src, size_t n);
/* True when [gpa, gpa + n) is all guest RAM. */
bool gpa_is_ram(const struct vm *vm, uint64_t gpa, uint64_t n);

#endif
