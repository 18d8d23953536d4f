/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: devices/net_offload.c on hostile frames.  The input
 * is a virtio-net header (12 bytes), a segment buffer size (2 bytes) and
 * the frame.  Checks: no crash or sanitizer report (every read inside
 * the frame, every write inside the segment buffer); each segment fits
 * the buffer and is not empty; the count returned is the count emitted
 * (at least one); the frame is never written by the cut; a checksum
 * completion writes only its field. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_offload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    size_t room;
    int count;
};

static int emit(void *ctx, const uint8_t *seg, size_t len)
{
    struct seen *s = ctx;

    if (seg == NULL || len == 0 || len > s->room)
        abort();
    s->count++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vnet_hdr h;

    if (size < VNET_HDR_LEN + 2)
        return 0;
    vnet_hdr_parse(data, &h);
    size_t room = (size_t)(data[12] | data[13] << 8) % 2049;
    const uint8_t *frame = data + VNET_HDR_LEN + 2;
    size_t len = size - VNET_HDR_LEN - 2;
    /* The frame in a buffer of its own size: ASan sees any overrun. */
    uint8_t *copy = malloc(len ? len : 1);
    uint8_t *segbuf = malloc(room ? room : 1);
    if (!copy || !segbuf)
        abort();
    memcpy(copy, frame, len);
    struct seen s = {.room = room};
    int r = net_gso_segment(&h, copy, len, segbuf, room, emit, &s);
    if (r >= 0) {
        if (r != s.count || r == 0)
            abort();
        if (memcmp(copy, frame, len) != 0)
            abort(); /* the frame is never written */
    }
    uint16_t start = h.csum_start, off = h.csum_offset;
    if (net_csum_complete(copy, len, start, off) == 0) {
        size_t at = (size_t)start + off;
        if (at + 2 > len || memcmp(copy, frame, at) != 0 ||
            memcmp(copy + at + 2, frame + at + 2, len - at - 2) != 0)
            abort();
    }
    (void)vnet_hdr_valid(&h, len, 1518);
    (void)net_csum(copy, len, (uint16_t)size);
    free(copy);
    free(segbuf);
    return 0;
}
