/* SPDX-License-Identifier: Apache-2.0 */
/* For the tests of Vireo's host virtio drivers (test_hvirtio.c,
 * test_hvirtio_console.c), which drive them against Vireo's own device
 * models: host addresses are "guest physical" ones (identity memory), and
 * the models' interrupt goes nowhere. */
#ifndef VIREO_TESTS_UNIT_HVIRTIO_TESTLIB_H
#define VIREO_TESTS_UNIT_HVIRTIO_TESTLIB_H

#include <stdint.h>
#include <string.h>

#include "devices/mmio.h"

static int id_read(void *ctx, uint64_t gpa, void *dst, size_t n)
{
    (void)ctx;
    memcpy(dst, (const void *)(uintptr_t)gpa, n);
    return 0;
}

static int id_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    (void)ctx;
    memcpy((void *)(uintptr_t)gpa, src, n);
    return 0;
}

static const struct guest_mem idmem = {id_read, id_write, NULL};
static const struct irq_line noirq = {NULL, NULL, 0};

#endif
