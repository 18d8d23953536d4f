/* SPDX-License-Identifier: Apache-2.0 */
/* Shared checks for the device-state (snapshot) tests: a model's save and
 * load seen through two adapters, and the hostile sweep every model gets.
 * Header-only; include after <cmocka.h>. */
#ifndef VIREO_TESTS_UNIT_DEVSTATE_TESTLIB_H
#define VIREO_TESTS_UNIT_DEVSTATE_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DS_MAX 4096 /* larger than any payload here */

struct ds_model {
    long (*save)(void *m, void *buf, size_t size);
    int (*load)(void *m, const void *buf, size_t size);
    void *m;
};

/* Saves m; returns the length (asserting it fits). */
static inline size_t ds_save(const struct ds_model *d, uint8_t *buf)
{
    long n = d->save(d->m, buf, DS_MAX);

    assert_true(n > 0 && n < DS_MAX);
    return (size_t)n;
}

/* Saving into every smaller buffer fails with ERR_NOSPC. */
static inline void ds_nospc(const struct ds_model *d)
{
    static uint8_t buf[DS_MAX];
    size_t n = ds_save(d, buf);

    for (size_t k = 0; k < n; k++)
        assert_int_equal(d->save(d->m, buf, k), ERR_NOSPC);
}

/* The model's state equals the payload p (its save is p again). */
static inline void ds_assert_state(const struct ds_model *d, const uint8_t *p, size_t len)
{
    static uint8_t now[DS_MAX];

    assert_int_equal(ds_save(d, now), len);
    assert_memory_equal(now, p, len);
}

/* A load that must be refused with a negative code and change nothing. */
static inline int ds_refused(const struct ds_model *d, const uint8_t *p, size_t len)
{
    static uint8_t before[DS_MAX];
    size_t n = ds_save(d, before);
    int e = d->load(d->m, p, len);

    assert_true(e < 0);
    ds_assert_state(d, before, n);
    return e;
}

/* d holds the state saved in good.  Every truncation and a trailing byte
 * are refused; every byte set to 0x00, 0xff, 0x80 and flipped in its low
 * bit is either refused (nothing changed) or taken exactly (the model
 * then saves the same bytes back).  Returns how many were refused. */
static inline unsigned ds_hostile_sweep(const struct ds_model *d, const uint8_t *good, size_t len)
{
    static uint8_t p[DS_MAX + 1];
    static const uint8_t vals[] = {0x00, 0xff, 0x80};
    unsigned refused = 0;

    ds_assert_state(d, good, len);
    for (size_t k = 0; k < len; k++)
        assert_int_equal(ds_refused(d, good, k), ERR_TRUNCATED);
    memcpy(p, good, len);
    p[len] = 0;
    assert_int_equal(ds_refused(d, p, len + 1), ERR_STRUCTURE);
    for (size_t i = 0; i < len; i++) {
        for (unsigned v = 0; v < 4; v++) {
            memcpy(p, good, len);
            p[i] = v < 3 ? vals[v] : (uint8_t)(good[i] ^ 1);
            if (p[i] == good[i])
                continue;
            static uint8_t before[DS_MAX];
            size_t n = ds_save(d, before);
            int e = d->load(d->m, p, len);
            if (e < 0) {
                ds_assert_state(d, before, n);
                refused++;
                continue;
            }
            assert_int_equal(e, 0);
            ds_assert_state(d, p, len);
            assert_int_equal(d->load(d->m, good, len), 0);
            ds_assert_state(d, good, len);
        }
    }
    /* A version this code does not read. */
    memcpy(p, good, len);
    p[0] = 2;
    assert_int_equal(ds_refused(d, p, len), ERR_VERSION);
    return refused;
}

static inline void ds_put_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* good with the n-byte little-endian field at off set to v must be
 * refused with err (and change nothing). */
static inline void ds_field_refused(const struct ds_model *d, const uint8_t *good, size_t len,
                                    size_t off, uint64_t v, unsigned n, int err)
{
    static uint8_t p[DS_MAX];

    assert_true(off + n <= len);
    memcpy(p, good, len);
    ds_put_le(p + off, v, n);
    assert_int_equal(ds_refused(d, p, len), err);
}

#endif
