/* SPDX-License-Identifier: Apache-2.0 */
/* The migration stream's framing: preamble and a push parser for sections
 * (core/mig_format.h).  The section headers, checksums and END are
 * snap_format's: the parser collects a header (and END's payload) or a
 * payload whole, then lets snap_read_head check a header (and END) from
 * that buffer, and checks a payload's CRC-32C where it lies. */
#include "core/mig_format.h"

#include "lib/crc32c.h"
#include "lib/err.h"
#include "lib/string.h"
#include "lib/wire.h"

void mig_preamble_encode(uint8_t b[MIG_PREAMBLE], const char *magic, uint16_t vmin, uint16_t vmax)
{
    struct wire w = wire_out(b, MIG_PREAMBLE);

    wire_put_bytes(&w, magic, 8);
    wire_put_u16(&w, vmin);
    wire_put_u16(&w, vmax);
    wire_put_u32(&w, crc32c(0, b, 12));
}

int mig_preamble_decode(const uint8_t b[MIG_PREAMBLE], const char *magic, uint16_t *vmin,
                        uint16_t *vmax)
{
    struct wire_in r = wire_in(b, MIG_PREAMBLE);
    char m[8];

    wire_get_bytes(&r, m, 8);
    if (memcmp(m, magic, 8) != 0)
        return ERR_BADMAGIC;
    *vmin = wire_get_u16(&r);
    *vmax = wire_get_u16(&r);
    if (wire_get_u32(&r) != crc32c(0, b, 12))
        return ERR_CHECKSUM;
    return *vmin > *vmax ? ERR_VERSION : 0;
}

uint16_t mig_version_pick(uint16_t vmin, uint16_t vmax)
{
    uint16_t hi = vmax < MIG_VERSION_MAX ? vmax : MIG_VERSION_MAX;
    uint16_t lo = vmin > MIG_VERSION_MIN ? vmin : MIG_VERSION_MIN;
    return lo <= hi ? hi : 0;
}

void mig_reader_init(struct mig_reader *r, uint8_t *payload)
{
    memset(r, 0, sizeof(*r));
    r->payload = payload;
}

/* A source over one buffer that snap_read_head/_payload read exactly once. */
struct once {
    const uint8_t *p;
    size_t n;
};

static int once_read(void *ctx, void *p, size_t n)
{
    struct once *o = ctx;
    if (n > o->n)
        return ERR_TRUNCATED;
    memcpy(p, o->p, n);
    o->p += n;
    o->n -= n;
    return 0;
}

/* Copies up to want - have bytes into dst + have: how many. */
static size_t take(uint8_t *dst, size_t *have, size_t want, const uint8_t *p, size_t n)
{
    size_t k = want - *have < n ? want - *have : n;
    memcpy(dst + *have, p, k);
    *have += k;
    return k;
}

static long fail(struct mig_reader *r, int err)
{
    r->stage = -1;
    return err;
}

long mig_reader_feed(struct mig_reader *r, const void *p, size_t n, enum mig_event *ev)
{
    const uint8_t *in = p;
    size_t used = 0;

    *ev = MIG_EV_NONE;
    if (r->stage < 0)
        return ERR_STRUCTURE;
    if (r->stage == 3)
        return n ? fail(r, ERR_RANGE) : 0;
    while (used < n && *ev == MIG_EV_NONE) {
        if (r->stage == 0) {
            used += take(r->pre, &r->have, MIG_PREAMBLE, in + used, n - used);
            if (r->have == MIG_PREAMBLE) {
                r->have = 0;
                r->stage = 1;
                *ev = MIG_EV_PREAMBLE;
            }
        } else if (r->stage == 1) {
            used += take(r->head, &r->have, SNAP_SECTION_HEAD, in + used, n - used);
            if (r->have < SNAP_SECTION_HEAD)
                continue;
            /* END's 8-byte payload is read with its header. */
            struct wire_in w = wire_in(r->head, 4);
            if (wire_get_u32(&w) == SNAP_END) {
                used += take(r->head, &r->have, sizeof(r->head), in + used, n - used);
                if (r->have < sizeof(r->head))
                    continue;
            }
            struct once o = {r->head, r->have};
            r->src.read = once_read;
            r->src.ctx = &o;
            int rc = snap_read_head(&r->src, &r->h);
            if (rc < 0)
                return fail(r, rc);
            r->have = 0;
            if (r->h.type == SNAP_END) {
                r->stage = 3;
                *ev = MIG_EV_END;
            } else if (r->h.len > MIG_SECTION_MAX) {
                return fail(r, ERR_STRUCTURE);
            } else if (r->h.len == 0) {
                if (r->h.crc != crc32c(0, r->payload, 0))
                    return fail(r, ERR_CHECKSUM);
                *ev = MIG_EV_SECTION;
            } else {
                r->stage = 2;
            }
        } else {
            used += take(r->payload, &r->have, (size_t)r->h.len, in + used, n - used);
            if (r->have < r->h.len)
                continue;
            /* The payload is checked where it lies (snap_read_payload's
             * check, without copying it onto itself). */
            if (crc32c(0, r->payload, r->have) != r->h.crc)
                return fail(r, ERR_CHECKSUM);
            r->have = 0;
            r->stage = 1;
            *ev = MIG_EV_SECTION;
        }
    }
    r->bytes += used;
    return (long)used;
}
