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
#include "lib/err.h"

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

static int id_map(void *ctx, uint64_t gpa, uint64_t n, struct gm_seg *segs, unsigned max)
{
    (void)ctx;
    if (n == 0)
        return 0;
    if (max == 0)
        return ERR_NOSPC;
    segs[0] = (struct gm_seg){gpa, (uint32_t)n};
    return 1;
}

static void id_written(void *ctx, uint64_t gpa, uint64_t n)
{
    (void)ctx;
    (void)gpa;
    (void)n;
}

static const struct guest_mem idmem = {id_read, id_write, NULL, id_map, id_written};
static const struct irq_line noirq = {NULL, NULL, 0};

#endif
