/* SPDX-License-Identifier: Apache-2.0 */
/* Network offload headers and their software fallbacks (see net_offload.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/net_offload.h"
#include "lib/err.h"
#include "lib/string.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "net_csum sums little-endian words (RISC-V and the unit-test hosts are little-endian)"
#endif

static uint16_t get16(const uint8_t *b)
{
    return (uint16_t)(b[0] | b[1] << 8);
}

static uint16_t get_be16(const uint8_t *b)
{
    return (uint16_t)(b[0] << 8 | b[1]);
}

static void put_be16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void put_be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

void vnet_hdr_parse(const uint8_t b[VNET_HDR_LEN], struct vnet_hdr *h)
{
    h->flags = b[0];
    h->gso_type = b[1];
    h->hdr_len = get16(b + 2);
    h->gso_size = get16(b + 4);
    h->csum_start = get16(b + 6);
    h->csum_offset = get16(b + 8);
    h->num_buffers = get16(b + 10);
}

void vnet_hdr_build(const struct vnet_hdr *h, uint8_t b[VNET_HDR_LEN])
{
    uint16_t v[5] = {h->hdr_len, h->gso_size, h->csum_start, h->csum_offset, h->num_buffers};

    b[0] = h->flags;
    b[1] = h->gso_type;
    for (unsigned i = 0; i < 5; i++) {
        b[2 + 2 * i] = (uint8_t)v[i];
        b[3 + 2 * i] = (uint8_t)(v[i] >> 8);
    }
}

unsigned vnet_hdr_needs(const struct vnet_hdr *h)
{
    unsigned need = (h->flags & VNET_HDR_F_NEEDS_CSUM) ? VNET_OFF_CSUM : 0;

    if (h->gso_type == VNET_GSO_TCPV4)
        need |= VNET_OFF_TSO4;
    else if (h->gso_type == VNET_GSO_TCPV6)
        need |= VNET_OFF_TSO6;
    return need;
}

bool vnet_hdr_valid(const struct vnet_hdr *h, size_t len, size_t max_plain)
{
    if (h->flags & ~(VNET_HDR_F_NEEDS_CSUM | VNET_HDR_F_DATA_VALID))
        return false;
    if ((h->flags & VNET_HDR_F_NEEDS_CSUM) && (size_t)h->csum_start + h->csum_offset + 2 > len)
        return false;
    if (h->gso_type == VNET_GSO_NONE)
        return len <= max_plain;
    if (h->gso_type != VNET_GSO_TCPV4 && h->gso_type != VNET_GSO_TCPV6)
        return false;
    return h->gso_size != 0 && (h->flags & VNET_HDR_F_NEEDS_CSUM) && len <= VNET_GSO_MAX_FRAME;
}

/* Folds a wide one's-complement sum to 16 bits. */
static uint16_t csum_fold(uint64_t s)
{
    s = (s & 0xffffffff) + (s >> 32);
    s = (s & 0xffffffff) + (s >> 32);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    return (uint16_t)s;
}

/* Summing little-endian words gives the byte-swapped sum of the
 * big-endian ones (RFC 1071, 2.(B)), so the wide loop loads native
 * words; a start at an odd address shifts every word by a byte, which
 * swaps the result once more. */
uint16_t net_csum(const void *p, size_t n, uint16_t sum)
{
    const uint8_t *b = p;
    uint64_t s = 0;
    bool odd = (uintptr_t)b & 1;

    if (odd && n) {
        s += (uint64_t)b[0] << 8;
        b++;
        n--;
    }
    for (; n >= 2 && ((uintptr_t)b & 7); b += 2, n -= 2)
        s += get16(b);
    for (; n >= 32; b += 32, n -= 32) {
        const uint64_t *w = __builtin_assume_aligned(b, 8);
        uint64_t a = w[0], c = w[1], d = w[2], e = w[3];
        s += (a & 0xffffffff) + (a >> 32) + (c & 0xffffffff) + (c >> 32);
        s += (d & 0xffffffff) + (d >> 32) + (e & 0xffffffff) + (e >> 32);
    }
    for (; n >= 2; b += 2, n -= 2)
        s += get16(b);
    if (n)
        s += b[0];
    uint16_t r = csum_fold(s);
    if (odd)
        r = (uint16_t)(r << 8 | r >> 8);
    /* Now the little-endian view of the big-endian sum. */
    r = (uint16_t)(r << 8 | r >> 8);
    return csum_fold((uint64_t)r + sum);
}

int net_csum_complete(uint8_t *frame, size_t len, uint16_t csum_start, uint16_t csum_offset)
{
    size_t at = (size_t)csum_start + csum_offset;

    if (at + 2 > len || csum_start > len)
        return ERR_INVAL;
    uint16_t c = (uint16_t)~net_csum(frame + csum_start, len - csum_start, 0);
    put_be16(frame + at, c);
    return 0;
}

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

int net_gso_segment(const struct vnet_hdr *h, const uint8_t *frame, size_t len, uint8_t *seg,
                    size_t room, int (*emit)(void *ctx, const uint8_t *seg, size_t len), void *ctx)
{
    size_t l3 = 14;
    bool v4 = h->gso_type == VNET_GSO_TCPV4;

    if ((!v4 && h->gso_type != VNET_GSO_TCPV6) || h->gso_size == 0 || len < l3)
        return ERR_INVAL;
    uint16_t type = get_be16(frame + 12);
    if (type == 0x8100) { /* one 802.1Q tag */
        l3 += 4;
        if (len < l3)
            return ERR_INVAL;
        type = get_be16(frame + 16);
    }
    size_t l4;
    if (v4) {
        if (type != 0x0800 || len < l3 + 20 || frame[l3] >> 4 != 4 || frame[l3 + 9] != 6)
            return ERR_INVAL;
        if (get_be16(frame + l3 + 6) & 0x3fff)
            return ERR_INVAL; /* a fragment (MF or an offset) */
        l4 = l3 + (size_t)(frame[l3] & 15) * 4;
        if (l4 < l3 + 20)
            return ERR_INVAL;
    } else {
        if (type != 0x86dd || len < l3 + 40 || frame[l3] >> 4 != 6 || frame[l3 + 6] != 6)
            return ERR_INVAL; /* not IPv6, or an extension header before TCP */
        l4 = l3 + 40;
    }
    if (len < l4 + 20)
        return ERR_INVAL;
    size_t hdrs = l4 + (size_t)(frame[l4 + 12] >> 4) * 4;
    if (hdrs < l4 + 20 || hdrs > len)
        return ERR_INVAL;
    size_t mss = h->gso_size, payload = len - hdrs;
    if (hdrs + (payload < mss ? payload : mss) > room)
        return ERR_INVAL;

    uint32_t seq = get_be32(frame + l4 + 4);
    uint16_t id = v4 ? get_be16(frame + l3 + 4) : 0;
    uint8_t flags = frame[l4 + 13];
    /* The pseudo-header's addresses: the same for every segment. */
    uint16_t addr_sum = v4 ? net_csum(frame + l3 + 12, 8, 0) : net_csum(frame + l3 + 8, 32, 0);
    int count = 0;
    size_t off = 0;
    do {
        size_t k = payload - off < mss ? payload - off : mss;
        bool last = off + k >= payload;
        memcpy(seg, frame, hdrs);
        memcpy(seg + hdrs, frame + hdrs + off, k);
        size_t tcp_len = hdrs - l4 + k;
        if (v4) {
            put_be16(seg + l3 + 2, (uint16_t)(l4 - l3 + tcp_len));
            put_be16(seg + l3 + 4, (uint16_t)(id + count));
            put_be16(seg + l3 + 10, 0);
            put_be16(seg + l3 + 10, (uint16_t)~net_csum(seg + l3, l4 - l3, 0));
        } else {
            put_be16(seg + l3 + 4, (uint16_t)tcp_len);
        }
        uint8_t *th = seg + l4;
        put_be32(th + 4, seq + (uint32_t)off);
        uint8_t f = flags;
        if (!last)
            f &= (uint8_t) ~(TCP_FIN | TCP_PSH);
        if (count)
            f &= (uint8_t)~TCP_CWR;
        th[13] = f;
        /* Pseudo-header: addresses, protocol 6, TCP length. */
        uint8_t ph[4] = {0, 6, (uint8_t)(tcp_len >> 8), (uint8_t)tcp_len};
        uint16_t s = net_csum(ph, sizeof(ph), addr_sum);
        put_be16(th + 16, 0);
        put_be16(th + 16, (uint16_t)~net_csum(th, tcp_len, s));
        int r = emit(ctx, seg, hdrs + k);
        if (r < 0)
            return r;
        count++;
        off += k;
    } while (off < payload);
    return count;
}
