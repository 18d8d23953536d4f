/* SPDX-License-Identifier: Apache-2.0 */
/* Fixed-width little-endian fields in a byte buffer, bounds-checked: how
 * device models and vCPUs write their state into a snapshot and read it
 * back.  A writer that runs out of room, or a reader that runs past the
 * end, sets `bad` and goes on harmlessly (reads return 0), so a sequence
 * of puts or gets is checked once at its end. */
#ifndef VIREO_LIB_WIRE_H
#define VIREO_LIB_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct wire {
    uint8_t *buf;
    size_t cap, pos;
    bool bad;
};

struct wire_in {
    const uint8_t *buf;
    size_t len, pos;
    bool bad;
};

static inline struct wire wire_out(void *buf, size_t cap)
{
    return (struct wire){(uint8_t *)buf, cap, 0, false};
}

static inline struct wire_in wire_in(const void *buf, size_t len)
{
    return (struct wire_in){(const uint8_t *)buf, len, 0, false};
}

static inline void wire_put_bytes(struct wire *w, const void *p, size_t n)
{
    if (w->bad || n > w->cap - w->pos) {
        w->bad = true;
        return;
    }
    const uint8_t *s = p;
    for (size_t i = 0; i < n; i++)
        w->buf[w->pos + i] = s[i];
    w->pos += n;
}

static inline void wire_put_le(struct wire *w, uint64_t v, unsigned bytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    wire_put_bytes(w, b, bytes);
}

static inline void wire_put_u8(struct wire *w, uint8_t v)
{
    wire_put_le(w, v, 1);
}
static inline void wire_put_u16(struct wire *w, uint16_t v)
{
    wire_put_le(w, v, 2);
}
static inline void wire_put_u32(struct wire *w, uint32_t v)
{
    wire_put_le(w, v, 4);
}
static inline void wire_put_u64(struct wire *w, uint64_t v)
{
    wire_put_le(w, v, 8);
}

static inline void wire_get_bytes(struct wire_in *r, void *p, size_t n)
{
    uint8_t *d = p;
    if (r->bad || n > r->len - r->pos) {
        r->bad = true;
        for (size_t i = 0; i < n; i++)
            d[i] = 0;
        return;
    }
    for (size_t i = 0; i < n; i++)
        d[i] = r->buf[r->pos + i];
    r->pos += n;
}

static inline uint64_t wire_get_le(struct wire_in *r, unsigned bytes)
{
    uint8_t b[8];
    uint64_t v = 0;
    wire_get_bytes(r, b, bytes);
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static inline uint8_t wire_get_u8(struct wire_in *r)
{
    return (uint8_t)wire_get_le(r, 1);
}
static inline uint16_t wire_get_u16(struct wire_in *r)
{
    return (uint16_t)wire_get_le(r, 2);
}
static inline uint32_t wire_get_u32(struct wire_in *r)
{
    return (uint32_t)wire_get_le(r, 4);
}
static inline uint64_t wire_get_u64(struct wire_in *r)
{
    return wire_get_le(r, 8);
}

/* True when every field was read and nothing is left over. */
static inline bool wire_done(const struct wire_in *r)
{
    return !r->bad && r->pos == r->len;
}

/* For loaders refusing a field: a read past the end shows up as zeros, so
 * a value found wrong after that is reported as the truncation it is. */
static inline int wire_refuse(const struct wire_in *r, int err)
{
    return r->bad ? ERR_TRUNCATED : err;
}

/* At the end of a load: 0, ERR_TRUNCATED, or ERR_STRUCTURE for bytes left
 * over. */
static inline int wire_end(const struct wire_in *r)
{
    if (r->bad)
        return ERR_TRUNCATED;
    return r->pos == r->len ? 0 : ERR_STRUCTURE;
}

/* What a saver returns: the bytes written, or ERR_NOSPC. */
static inline long wire_result(const struct wire *w)
{
    return w->bad ? ERR_NOSPC : (long)w->pos;
}

#endif
