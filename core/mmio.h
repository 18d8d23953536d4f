/* SPDX-License-Identifier: Apache-2.0 */
/* Trap-and-emulate MMIO (mmio.c), from a vCPU's own exit. */
#ifndef VIREO_CORE_MMIO_H
#define VIREO_CORE_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vcpu.h"
#include "devices/mmio.h"

/* True when the load (store false) or store guest-page fault at gpa is
 * the vCPU's last MMIO access again (struct mmio_hit): the same address,
 * htinst and direction.  mmio_emulate_hit() then carries it out. */
bool mmio_hit(const struct vcpu *v, uint64_t gpa, bool store);
enum exit_action mmio_emulate_hit(struct vcpu *v);
enum exit_action mmio_emulate_hit_traced(struct vcpu *v);

/* Emulates the access behind a guest-page fault at gpa on d, the device
 * vm_find_device(vm, gpa, 1) returned, and keeps it as the vCPU's last
 * access when htinst described it. */
enum exit_action mmio_emulate(struct vcpu *v, struct mmio_dev *d, uint64_t gpa, bool store);
/* The same, with the access traced (TRACE_MMIO) when tracing is on: the
 * traced exit path's (vcpu_exit_traced) copy. */
enum exit_action mmio_emulate_traced(struct vcpu *v, struct mmio_dev *d, uint64_t gpa, bool store);

#endif
