/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot framing: preamble, sections with CRC-32C, the END section. */
#include "core/snap_format.h"

#include "lib/crc32c.h"
#include "lib/err.h"
#include "lib/string.h"
#include "lib/wire.h"

static int sink_put(struct snap_sink *s, const void *p, size_t n)
{
    int err = s->write(s->ctx, p, n);
    if (err < 0)
        return err;
    s->bytes += n;
    return 0;
}

static int source_get(struct snap_source *s, void *p, size_t n)
{
    int err = s->read(s->ctx, p, n);
    if (err < 0)
        return err;
    s->bytes += n;
    return 0;
}

int snap_write_preamble(struct snap_sink *s)
{
    return snap_write_preamble_flags(s, 0);
}

int snap_write_preamble_flags(struct snap_sink *s, uint32_t flags)
{
    uint8_t b[SNAP_PREAMBLE_SIZE];
    struct wire w = wire_out(b, sizeof(b));

    wire_put_bytes(&w, SNAP_MAGIC, 8);
    wire_put_u32(&w, SNAP_VERSION);
    wire_put_u32(&w, flags);
    s->sections = 0;
    s->chain = 0;
    return sink_put(s, b, sizeof(b));
}

static void head_encode(uint8_t b[SNAP_SECTION_HEAD], const struct snap_section *h)
{
    struct wire w = wire_out(b, SNAP_SECTION_HEAD);

    wire_put_u32(&w, h->type);
    wire_put_u32(&w, h->id);
    wire_put_u64(&w, h->len);
    wire_put_u32(&w, h->crc);
    wire_put_u32(&w, crc32c(0, b, 20));
}

int snap_write_head(struct snap_sink *s, const struct snap_section *h)
{
    uint8_t b[SNAP_SECTION_HEAD];

    head_encode(b, h);
    /* The chain covers each header without its own CRC: a header ending in
     * its CRC has the same CRC residue as any other, so chaining whole
     * headers would not see them swapped. */
    s->chain = crc32c(s->chain, b, 20);
    s->sections++;
    return sink_put(s, b, sizeof(b));
}

int snap_write_raw(struct snap_sink *s, const void *p, size_t n)
{
    return sink_put(s, p, n);
}

int snap_write_section(struct snap_sink *s, uint32_t type, uint32_t id, const void *p, uint64_t len)
{
    struct snap_section h = {type, id, len, crc32c(0, p, (size_t)len)};
    int err = snap_write_head(s, &h);

    return err < 0 ? err : sink_put(s, p, (size_t)len);
}

int snap_write_end(struct snap_sink *s)
{
    uint8_t b[8];
    struct wire w = wire_out(b, sizeof(b));

    wire_put_u32(&w, s->sections);
    wire_put_u32(&w, s->chain);
    return snap_write_section(s, SNAP_END, 0, b, sizeof(b));
}

int snap_read_preamble(struct snap_source *s)
{
    return snap_read_preamble_flags(s, 0);
}

int snap_read_preamble_flags(struct snap_source *s, uint32_t flags)
{
    uint8_t b[SNAP_PREAMBLE_SIZE];
    int err = source_get(s, b, sizeof(b));

    if (err < 0)
        return err;
    struct wire_in r = wire_in(b, sizeof(b));
    char magic[8];
    wire_get_bytes(&r, magic, 8);
    if (memcmp(magic, SNAP_MAGIC, 8) != 0)
        return ERR_BADMAGIC;
    if (wire_get_u32(&r) != SNAP_VERSION)
        return ERR_VERSION;
    if (wire_get_u32(&r) != flags)
        return ERR_VERSION; /* flags this reader does not take here */
    s->sections = 0;
    s->chain = 0;
    return 0;
}

int snap_read_head(struct snap_source *s, struct snap_section *h)
{
    uint8_t b[SNAP_SECTION_HEAD];
    uint32_t sections = s->sections, chain = s->chain;
    int err = source_get(s, b, sizeof(b));

    if (err < 0)
        return err;
    struct wire_in r = wire_in(b, sizeof(b));
    h->type = wire_get_u32(&r);
    h->id = wire_get_u32(&r);
    h->len = wire_get_u64(&r);
    h->crc = wire_get_u32(&r);
    if (wire_get_u32(&r) != crc32c(0, b, 20))
        return ERR_CHECKSUM;
    if (h->type == SNAP_END) {
        uint8_t e[8];
        if (h->len != sizeof(e))
            return ERR_STRUCTURE;
        err = source_get(s, e, sizeof(e));
        if (err < 0)
            return err;
        if (crc32c(0, e, sizeof(e)) != h->crc)
            return ERR_CHECKSUM;
        struct wire_in er = wire_in(e, sizeof(e));
        if (wire_get_u32(&er) != sections || wire_get_u32(&er) != chain)
            return ERR_STRUCTURE;
        return 0;
    }
    s->chain = crc32c(s->chain, b, 20);
    s->sections++;
    return 0;
}

int snap_read_payload(struct snap_source *s, const struct snap_section *h, void *buf)
{
    int err = source_get(s, buf, (size_t)h->len);

    if (err < 0)
        return err;
    return crc32c(0, buf, (size_t)h->len) == h->crc ? 0 : ERR_CHECKSUM;
}

int snap_skip_payload(struct snap_source *s, const struct snap_section *h, void *scratch,
                      size_t size)
{
    uint32_t crc = 0;

    for (uint64_t left = h->len; left;) {
        size_t n = left < size ? (size_t)left : size;
        int err = source_get(s, scratch, n);
        if (err < 0)
            return err;
        crc = crc32c(crc, scratch, n);
        left -= n;
    }
    return crc == h->crc ? 0 : ERR_CHECKSUM;
}

int snap_buf_write(void *ctx, const void *p, size_t n)
{
    struct snap_buf *b = ctx;

    if (n > b->size - b->pos)
        return ERR_NOSPC;
    memcpy(b->p + b->pos, p, n);
    b->pos += n;
    return 0;
}

int snap_buf_read(void *ctx, void *p, size_t n)
{
    struct snap_buf *b = ctx;

    if (n > b->size - b->pos)
        return ERR_TRUNCATED;
    memcpy(p, b->p + b->pos, n);
    b->pos += n;
    return 0;
}
