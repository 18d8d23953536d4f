/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's virtio devices (see vm_dev.c and docs/devices.md). */
#ifndef VIREO_CORE_VM_DEV_H
#define VIREO_CORE_VM_DEV_H

#include <stdbool.h>
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
/* Before a migration's final state (the VM paused, its vCPUs off the
 * harts, its devices held): each device's quiesce (in-flight requests
 * done), then every host disk a device of the VM writes is flushed, so
 * that every write the guest was told is done is on the host disk.  0, or
 * a negative ERR_* with err naming the device. */
int vm_devices_quiesce(struct vm *vm, char *err, size_t errlen);
/* Whether device i's contents live on a region of a host disk (and so
 * may stay where they are when the VM migrates to a host that shares
 * it), rather than in a bundle image or nowhere. */
bool vm_device_on_host_disk(const struct vm *vm, unsigned i);
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
