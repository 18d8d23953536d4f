/* SPDX-License-Identifier: Apache-2.0 */
/* devices/net_offload.c: the virtio-net header, the Internet checksum
 * against a plain RFC 1071 reference (every alignment and length), the
 * checksum completion, TCP segmentation (IPv4 and IPv6: lengths, ids,
 * sequence numbers, flags, checksums re-verified the receiver's way, the
 * payload put back together), and refusals of frames that do not parse. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "devices/net_offload.h"
#include "lib/err.h"

/* RFC 1071, one big-endian word at a time. */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static uint32_t rng_state = 12345;
static uint8_t rnd(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (uint8_t)(rng_state >> 16);
}

static void test_csum_reference(void **s)
{
    (void)s;
    static uint8_t buf[4096 + 16];

    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = rnd();
    for (size_t off = 0; off < 16; off++) {
        for (size_t n = 0; n < 300; n++) {
            uint16_t want = ref_csum(buf + off, n, 0), got = net_csum(buf + off, n, 0);
            if (want != got)
                fail_msg("net_csum(offset %zu, %zu bytes) = %#x, expected %#x", off, n, got, want);
        }
        size_t n = sizeof(buf) - 16;
        assert_int_equal(net_csum(buf + off, n, 0x1234), ref_csum(buf + off, n, 0x1234));
    }
    /* All ones: the sum folds to 0xffff, never overflows. */
    memset(buf, 0xff, sizeof(buf));
    assert_int_equal(net_csum(buf, 4096, 0xffff), 0xffff);
}

static void test_hdr(void **s)
{
    (void)s;
    uint8_t b[VNET_HDR_LEN];
    struct vnet_hdr h = {1, VNET_GSO_TCPV4, 54, 1448, 34, 16, 3}, back;

    vnet_hdr_build(&h, b);
    const uint8_t want[VNET_HDR_LEN] = {1, 1, 54, 0, 0xa8, 5, 34, 0, 16, 0, 3, 0};
    assert_memory_equal(b, want, sizeof(want));
    vnet_hdr_parse(b, &back);
    assert_memory_equal(&back, &h, sizeof(h));
    assert_int_equal(vnet_hdr_needs(&h), VNET_OFF_CSUM | VNET_OFF_TSO4);
    assert_true(vnet_hdr_valid(&h, 60000, 1518));
    /* Checksum field past the end, no gso_size, GSO without NEEDS_CSUM,
     * ECN, UDP, unknown flags, too long. */
    struct vnet_hdr bad = h;
    bad.csum_start = 59990;
    assert_false(vnet_hdr_valid(&bad, 60000, 1518));
    bad = h;
    bad.gso_size = 0;
    assert_false(vnet_hdr_valid(&bad, 60000, 1518));
    bad = h;
    bad.flags = 0;
    assert_false(vnet_hdr_valid(&bad, 60000, 1518));
    bad = h;
    bad.gso_type |= VNET_GSO_ECN;
    assert_false(vnet_hdr_valid(&bad, 60000, 1518));
    bad = h;
    bad.gso_type = VNET_GSO_UDP;
    assert_false(vnet_hdr_valid(&bad, 60000, 1518));
    bad = h;
    bad.flags |= 0x80;
    assert_false(vnet_hdr_valid(&bad, 60000, 1518));
    assert_false(vnet_hdr_valid(&h, VNET_GSO_MAX_FRAME + 1, 1518));
    /* A checksum-only frame is limited to the plain size. */
    bad = h;
    bad.gso_type = VNET_GSO_NONE;
    assert_true(vnet_hdr_valid(&bad, 1518, 1518));
    assert_false(vnet_hdr_valid(&bad, 1519, 1518));
}

/* ---- frames ---- */

static uint8_t frame[VNET_GSO_MAX_FRAME];

/* Ethernet (+ VLAN tag) + IPv4 or IPv6 + TCP (20 + opt bytes) + payload
 * bytes: returns the frame length; the TCP checksum field holds the
 * pseudo-header sum, as Linux leaves it for NEEDS_CSUM. */
static size_t mk_tcp(bool v6, bool vlan, size_t opt, size_t payload, uint8_t tcp_flags)
{
    size_t l3 = vlan ? 18 : 14, l4 = l3 + (v6 ? 40 : 20), hdrs = l4 + 20 + opt;
    size_t len = hdrs + payload;

    memset(frame, 0, hdrs);
    memcpy(frame, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
    if (vlan) {
        frame[12] = 0x81;
        frame[14] = 0x00;
        frame[15] = 0x05;
    }
    frame[l3 - 2] = v6 ? 0x86 : 0x08;
    frame[l3 - 1] = v6 ? 0xdd : 0x00;
    uint8_t *ip = frame + l3;
    if (v6) {
        ip[0] = 0x60;
        ip[4] = (uint8_t)((len - l4) >> 8);
        ip[5] = (uint8_t)(len - l4);
        ip[6] = 6;
        ip[7] = 64;
        for (unsigned i = 0; i < 32; i++)
            ip[8 + i] = (uint8_t)(0x20 + i);
    } else {
        ip[0] = 0x45;
        ip[2] = (uint8_t)((len - l3) >> 8);
        ip[3] = (uint8_t)(len - l3);
        ip[4] = 0x12;
        ip[5] = 0x34;
        ip[6] = 0x40; /* DF */
        ip[8] = 64;
        ip[9] = 6;
        memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    }
    uint8_t *th = frame + l4;
    th[0] = 0x13;
    th[1] = 0x88;
    th[2] = 0xc0;
    th[3] = 0x01;
    memcpy(th + 4, "\xff\xff\xf0\x00", 4); /* seq near the wrap */
    memcpy(th + 8, "\x00\x00\x10\x00", 4);
    th[12] = (uint8_t)((20 + opt) / 4 << 4);
    th[13] = tcp_flags;
    th[14] = 0xff;
    for (size_t i = 0; i < opt; i++)
        th[20 + i] = 1; /* NOPs */
    for (size_t i = 0; i < payload; i++)
        frame[hdrs + i] = rnd();
    return len;
}

/* What the segments were, checked as a receiver would. */
struct seen {
    bool v6;
    size_t l3, hdrs, mss;
    unsigned count;
    size_t payload;
    uint8_t data[65536];
    uint8_t flags[64];
    int stop_at; /* emit fails at this segment (-1: never) */
};

static int check_seg(void *ctx, const uint8_t *seg, size_t len)
{
    struct seen *w = ctx;
    size_t l4 = w->l3 + (w->v6 ? 40 : 20), k = len - w->hdrs;

    if ((int)w->count == w->stop_at)
        return ERR_NOSPC;
    if ((k == 0 && w->count) || k > w->mss)
        fail_msg("segment %u: %zu payload bytes, expected 1..%zu", w->count, k, w->mss);
    const uint8_t *ip = seg + w->l3, *th = seg + l4;
    uint16_t pseudo;
    if (w->v6) {
        assert_int_equal(ip[4] << 8 | ip[5], len - l4);
        pseudo = net_csum(ip + 8, 32, 0);
    } else {
        assert_int_equal(ip[2] << 8 | ip[3], len - w->l3);
        assert_int_equal(ip[4] << 8 | ip[5], 0x1234 + w->count);
        if (net_csum(ip, 20, 0) != 0xffff)
            fail_msg("segment %u: IPv4 header checksum does not verify", w->count);
        pseudo = net_csum(ip + 12, 8, 0);
    }
    uint32_t seq = (uint32_t)th[4] << 24 | th[5] << 16 | th[6] << 8 | th[7];
    assert_int_equal(seq, (uint32_t)(0xfffff000u + w->payload));
    uint8_t ph[4] = {0, 6, (uint8_t)((len - l4) >> 8), (uint8_t)(len - l4)};
    if (net_csum(th, len - l4, net_csum(ph, 4, pseudo)) != 0xffff)
        fail_msg("segment %u: TCP checksum does not verify", w->count);
    memcpy(w->data + w->payload, seg + w->hdrs, k);
    w->flags[w->count] = th[13];
    w->payload += k;
    w->count++;
    return 0;
}

static void run_gso(bool v6, bool vlan, size_t opt, size_t payload, uint16_t mss)
{
    static struct seen w;
    static uint8_t seg[1518];
    size_t len = mk_tcp(v6, vlan, opt, payload, 0x80 | 0x18 | 0x01); /* CWR PSH ACK FIN */
    struct vnet_hdr h = {
        VNET_HDR_F_NEEDS_CSUM, v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4, 0, mss, 0, 16, 0};

    memset(&w, 0, sizeof(w));
    w.v6 = v6;
    w.l3 = vlan ? 18 : 14;
    w.hdrs = w.l3 + (v6 ? 40 : 20) + 20 + opt;
    w.mss = mss;
    w.stop_at = -1;
    int r = net_gso_segment(&h, frame, len, seg, sizeof(seg), check_seg, &w);
    unsigned want = (unsigned)((payload + mss - 1) / mss);
    if (want == 0)
        want = 1;
    if (r != (int)want)
        fail_msg("%s%s: %zu bytes in segments of %u: %d segments, expected %u",
                 v6 ? "IPv6" : "IPv4", vlan ? "+VLAN" : "", payload, mss, r, want);
    assert_int_equal(w.payload, payload);
    assert_memory_equal(w.data, frame + w.hdrs, payload);
    for (unsigned i = 0; i < w.count; i++) {
        uint8_t f = w.flags[i];
        bool last = i + 1 == w.count;
        assert_int_equal(f & 0x01, last ? 0x01 : 0);   /* FIN on the last only */
        assert_int_equal(f & 0x08, last ? 0x08 : 0);   /* PSH likewise */
        assert_int_equal(f & 0x80, i == 0 ? 0x80 : 0); /* CWR on the first only */
        assert_int_equal(f & 0x10, 0x10);              /* ACK on all */
    }
}

static void test_gso(void **s)
{
    (void)s;
    run_gso(false, false, 0, 65000, 1448);
    run_gso(false, false, 12, 65483 - 12, 1448); /* the largest IPv4 datagram */
    run_gso(false, true, 0, 3000, 1460);
    run_gso(false, false, 0, 1448, 1448); /* exactly one */
    run_gso(false, false, 0, 1449, 1448); /* one byte over */
    run_gso(false, false, 0, 0, 1448);    /* headers only: one segment */
    run_gso(true, false, 0, 20000, 1440);
    run_gso(true, true, 8, 7, 1);
}

static int count_emit(void *ctx, const uint8_t *seg, size_t len)
{
    (void)seg;
    (void)len;
    (*(unsigned *)ctx)++;
    return 0;
}

static void test_gso_refused(void **s)
{
    (void)s;
    static uint8_t seg[1518];
    unsigned n = 0;
    struct vnet_hdr h = {VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV4, 0, 1448, 34, 16, 0};
    size_t len = mk_tcp(false, false, 0, 5000, 0x10);

    /* Segments larger than the buffer. */
    h.gso_size = 1600;
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    h.gso_size = 0;
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    h.gso_size = 1448;
    /* Truncated anywhere in the headers. */
    for (size_t cut = 0; cut < 54; cut++)
        assert_int_equal(net_gso_segment(&h, frame, cut, seg, sizeof(seg), count_emit, &n),
                         ERR_INVAL);
    /* The TCP data offset past the end. */
    frame[14 + 20 + 12] = 0xf0;
    assert_int_equal(net_gso_segment(&h, frame, 70, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    /* Not TCP, not IPv4, a fragment, IPv4 header length < 20, wrong type. */
    len = mk_tcp(false, false, 0, 5000, 0x10);
    frame[14 + 9] = 17;
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    len = mk_tcp(false, false, 0, 5000, 0x10);
    frame[14] = 0x65;
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    len = mk_tcp(false, false, 0, 5000, 0x10);
    frame[14 + 6] = 0x20; /* MF */
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    len = mk_tcp(false, false, 0, 5000, 0x10);
    frame[14] = 0x44;
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    len = mk_tcp(true, false, 0, 5000, 0x10);
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    h.gso_type = VNET_GSO_TCPV6;
    frame[14 + 6] = 0; /* a hop-by-hop extension header */
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), count_emit, &n), ERR_INVAL);
    assert_int_equal(n, 0);
    /* An emit that fails stops the cut with its code. */
    static struct seen w;
    memset(&w, 0, sizeof(w));
    w.l3 = 14;
    w.hdrs = 54;
    w.mss = 1448;
    w.stop_at = 2;
    h = (struct vnet_hdr){VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV4, 0, 1448, 34, 16, 0};
    len = mk_tcp(false, false, 0, 5000, 0x10);
    assert_int_equal(net_gso_segment(&h, frame, len, seg, sizeof(seg), check_seg, &w), ERR_NOSPC);
    assert_int_equal(w.count, 2);
}

static void test_csum_complete(void **s)
{
    (void)s;
    size_t len = mk_tcp(false, false, 0, 999, 0x18);
    uint8_t ph[12];

    /* The field holds the pseudo-header sum, as Linux leaves it. */
    memcpy(ph, frame + 26, 8);
    ph[8] = 0;
    ph[9] = 6;
    ph[10] = (uint8_t)((len - 34) >> 8);
    ph[11] = (uint8_t)(len - 34);
    uint16_t p = net_csum(ph, sizeof(ph), 0);
    frame[34 + 16] = (uint8_t)(p >> 8);
    frame[34 + 17] = (uint8_t)p;
    assert_int_equal(net_csum_complete(frame, len, 34, 16), 0);
    /* Verifies the way a receiver checks it. */
    assert_int_equal(net_csum(frame + 34, len - 34, net_csum(ph, sizeof(ph), 0)), 0xffff);
    assert_int_equal(net_csum_complete(frame, len, 34, (uint16_t)(len - 35)), ERR_INVAL);
    assert_int_equal(net_csum_complete(frame, 40, 60, 0), ERR_INVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csum_reference),
        cmocka_unit_test(test_hdr),
        cmocka_unit_test(test_gso),
        cmocka_unit_test(test_gso_refused),
        cmocka_unit_test(test_csum_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
