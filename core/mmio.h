/* SPDX-License-Identifier: Apache-2.0 */
/* Trap-and-emulate MMIO (mmio.c), from a vCPU's own exit. */
#ifndef VIREO_CORE_MMIO_H
#define VIREO_CORE_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "core/vcpu.h"
#include "devices/mmio.h"

/* Emulates the access behind a guest-page fault at gpa on d, the device
 * vm_find_device(vm, gpa, 1) returned. */
enum exit_action mmio_emulate(struct vcpu *v, struct mmio_dev *d, uint64_t gpa, bool store);
/* The same, with the access traced (TRACE_MMIO) when tracing is on: the
 * traced exit path's (vcpu_exit_traced) copy. */
enum exit_action mmio_emulate_traced(struct vcpu *v, struct mmio_dev *d, uint64_t gpa, bool store);

#endif
