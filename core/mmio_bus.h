/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's device bus (mmio_bus.c). */
#ifndef VIREO_CORE_MMIO_BUS_H
#define VIREO_CORE_MMIO_BUS_H

#include <stdint.h>

#include "devices/mmio.h"

struct vm;

/* Adds a device to the VM's bus while the VM is built.  ERR_EXIST if it
 * overlaps RAM or another device, ERR_NOSPC when the bus is full,
 * ERR_INVAL for an empty or wrapping range. */
int vm_add_device(struct vm *vm, struct mmio_dev *dev);
/* The device covering [gpa, gpa + n), or NULL. */
struct mmio_dev *vm_find_device(struct vm *vm, uint64_t gpa, uint64_t n);

#endif
