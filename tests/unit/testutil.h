/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by the unit tests. */
#ifndef VIREO_TESTS_UNIT_TESTUTIL_H
#define VIREO_TESTS_UNIT_TESTUTIL_H

#include <stdint.h>

/* xorshift64 for the mutation loops: tests set rng_state to a fixed seed so
 * a failure reproduces. */
static uint64_t rng_state;

__attribute__((unused)) static uint64_t rng(void)
{
    uint64_t x = rng_state;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

#endif
