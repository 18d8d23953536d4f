/* What tests can see of the host build's fake arch layer. */
#ifndef VIREO_TESTS_FAKE_ARCH_H
#define VIREO_TESTS_FAKE_ARCH_H

#include <stddef.h>
#include <stdint.h>

struct fake_mmio_write {
    uintptr_t addr;
    uint32_t value;
    unsigned width;
};

extern uint8_t fake_mmio[0x10000];
extern struct fake_mmio_write fake_mmio_log[4096];
extern size_t fake_mmio_nlog;

#endif
