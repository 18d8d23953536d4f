/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's virtio devices (see vm_dev.c and docs/devices.md). */
#ifndef VIREO_CORE_VM_DEV_H
#define VIREO_CORE_VM_DEV_H

#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"

struct vm;
struct vm_config;

/* Creates the devices of vm->cfg and puts them on the VM's bus.  On error
 * (a missing host disk, a region beyond its end, no memory) nothing is
 * left and err says which device and why. */
int vm_devices_create(struct vm *vm, char *err, size_t errlen);
/* The memory, in bytes, vm_devices_create takes for cfg's devices (what
 * vm_create checks is free before it builds anything). */
uint64_t vm_devices_bytes(const struct vm_config *cfg);
/* Detaches (from the switch) and frees them; no vCPU may be running. */
void vm_devices_destroy(struct vm *vm);

/* Holds (on) or releases everything that changes the VM's devices or RAM
 * without its vCPUs: frames from the switch, console input.  For
 * snapshots, with the VM paused. */
void vm_devices_hold(struct vm *vm, bool on);
/* Each device's announce (a VM that migrated in, running): its NICs tell
 * the network where it is now. */
void vm_devices_announce(struct vm *vm);

/* The slots for the guest's device tree: bases and PLIC sources. */
unsigned vm_devices_fdt(const struct vm *vm, uint64_t *base, uint32_t *irq, unsigned max);

/* Device i's "vm.node" label and kind ("virtio-blk", ...), NULL past the end. */
const char *vm_device_label(const struct vm *vm, unsigned i);
const char *vm_device_kind(const struct vm *vm, unsigned i);
const struct mmio_dev *vm_device_mmio(const struct vm *vm, unsigned i);
/* Device i's I/O counters (its virtio transport's). */
struct virtio_io_stats;
void vm_device_io(const struct vm *vm, unsigned i, struct virtio_io_stats *out);

#endif
