/* SPDX-License-Identifier: Apache-2.0 */
/* The one way into guest memory (guest_mem.c).  Safe from any hart; the
 * VM must exist (its RAM and G-stage table are not freed under a caller
 * that runs for one of its vCPUs or devices). */
#ifndef VIREO_CORE_GUEST_MEM_H
#define VIREO_CORE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"

struct vm;

/* Copy n bytes from or to guest physical address gpa: 0, or ERR_RANGE
 * (nothing copied) unless the whole range is the VM's RAM. */
int gpa_read(struct vm *vm, uint64_t gpa, void *dst, size_t n);
int gpa_write(struct vm *vm, uint64_t gpa, const void *src, size_t n);
/* True when [gpa, gpa + n) is all guest RAM. */
bool gpa_is_ram(const struct vm *vm, uint64_t gpa, uint64_t n);

/* The checked translation, for handing guest buffers to a host device
 * (its DMA) or copying into them without a bounce: [gpa, gpa + n) as host
 * physical segments in segs[0..max), each page found in the VM's G-stage
 * table (the single truth of what it owns) inside its RAM, pages that are
 * contiguous on the host merged (a segment is at most 1 GiB).  Returns the
 * segment count (0 for n = 0), ERR_RANGE when any byte is not the VM's RAM
 * (wraps, leaves RAM, another VM's memory, a device page), or ERR_NOSPC
 * when it takes more than max segments.  The pages stay the VM's for as
 * long as it exists: whoever hands them to a device finishes with them
 * before the VM is destroyed (docs/devices.md). */
int gpa_map(struct vm *vm, uint64_t gpa, uint64_t n, struct gm_seg *segs, unsigned max);
/* A device wrote [gpa, gpa + n) through gpa_map's segments: dirty logging
 * marks the pages (call it after the write). */
void gpa_written(struct vm *vm, uint64_t gpa, uint64_t n);

#endif
