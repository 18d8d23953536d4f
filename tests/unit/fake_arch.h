/* SPDX-License-Identifier: Apache-2.0 */
/* What tests can see of the host build's fake arch layer. */
#ifndef VIREO_TESTS_FAKE_ARCH_H
#define VIREO_TESTS_FAKE_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fake_mmio_write {
    uintptr_t addr;
    uint32_t value;
    unsigned width;
};

extern uint8_t fake_mmio[0x400000];
extern struct fake_mmio_write fake_mmio_log[4096];
extern size_t fake_mmio_nlog;

/* Sends MMIO accesses in [dev->base, dev->base + dev->size) of the fake
 * device space to a device model instead of the byte array (up to 4). */
struct mmio_dev;
void fake_mmio_route(struct mmio_dev *dev);
void fake_mmio_unroute(void);

/* What the fake vCPU arch layer was asked to do, for tests to check. */
struct fake_arch_log {
    uint64_t injected_cause, injected_tval;
    unsigned injections;
    uint32_t guest_insn;          /* what vcpu_arch_read_insn "reads" (0: fault) */
    uint64_t guest_va, guest_u64; /* the one guest virtual doubleword readable */
    uint64_t timer;
    unsigned ipis;
    /* Guest virtual memory for the byte accessors: gmem at gmem_va; any
     * other address faults with gmem_fault (0: a load or store page fault). */
    uint8_t gmem[64];
    uint64_t gmem_va, gmem_fault;
    unsigned gmem_stores;
    /* Debug triggers: how many vCPUs get (vcpu_arch_trig_max), and how
     * often the triggers were handed to the "hardware". */
    unsigned trig_max, trig_syncs;
    /* arch_hfence_gvma_gpa: how often, and the last address. */
    uint64_t hfence_gpa;
    unsigned hfence_gpas;
};

extern struct fake_arch_log fake_arch;

#endif
