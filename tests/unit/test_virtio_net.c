/* SPDX-License-Identifier: Apache-2.0 */
/* The learning switch (learning, flooding, no echo, detach, bad frames,
 * table replacement) and virtio-net: features and config, receive and
 * transmit as Linux's driver does them, drops, NEEDS_RESET on broken
 * chains, two virtio-nets talking through a switch, detach, and mutation
 * loops over both rings. */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "devices/virtio_mmio.h"
#include "devices/virtio_net.h"
#include "devices/virtqueue.h"
#include "devices/vswitch.h"
#include "lib/err.h"
#include "tests/unit/testutil.h"
#include "tests/unit/virtio_testlib.h"

/* ---- fake switch ports that record what they get ---- */

struct cap {
    struct vswitch_port port;
    unsigned frames;
    size_t last_len;
    uint8_t last[2048];
    int refuse; /* deliver returns -1 */
};

static int cap_deliver(void *ctx, const struct vnet_hdr *h, const void *frame, size_t len)
{
    struct cap *c = ctx;

    if (h)
        return ERR_NOTSUP; /* a port without offloads */

    assert_true(len >= VSWITCH_MIN_FRAME && len <= VSWITCH_MAX_FRAME);
    if (c->refuse)
        return -1;
    c->frames++;
    c->last_len = len;
    memcpy(c->last, frame, len);
    return 0;
}

static void cap_init(struct cap *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->port.name = name;
    c->port.deliver = cap_deliver;
    c->port.ctx = c;
}

static const uint8_t MAC_A[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t MAC_B[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0b};
static const uint8_t MAC_C[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x0c};
static const uint8_t BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MCAST[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

static uint8_t frame[2048];

/* An Ethernet frame of len bytes, payload marked with tag. */
static const uint8_t *mkframe(const uint8_t *dst, const uint8_t *src, size_t len, uint8_t tag)
{
    memcpy(frame, dst, 6);
    memcpy(frame + 6, src, 6);
    frame[12] = 0x08;
    frame[13] = 0x00;
    for (size_t i = 14; i < len && i < sizeof(frame); i++)
        frame[i] = (uint8_t)(tag + i);
    return frame;
}

static struct vswitch sw;
static struct cap c1, c2, c3;

static int sw_setup(void **state)
{
    (void)state;
    vswitch_init(&sw);
    cap_init(&c1, "p1");
    cap_init(&c2, "p2");
    cap_init(&c3, "p3");
    assert_int_equal(vswitch_attach(&sw, &c1.port), 0);
    assert_int_equal(vswitch_attach(&sw, &c2.port), 0);
    assert_int_equal(vswitch_attach(&sw, &c3.port), 0);
    return 0;
}

static void test_sw_learning(void **s)
{
    (void)s;
    /* Unknown unicast floods to everyone but the sender. */
    vswitch_send(&sw, &c1.port, mkframe(MAC_B, MAC_A, 60, 1), 60);
    assert_int_equal(c1.frames, 0);
    assert_int_equal(c2.frames, 1);
    assert_int_equal(c3.frames, 1);
    assert_int_equal(c2.last_len, 60);
    assert_memory_equal(c2.last, frame, 60);
    /* B answers A: A is known, only p1 gets it; B is learned. */
    vswitch_send(&sw, &c2.port, mkframe(MAC_A, MAC_B, 100, 2), 100);
    assert_int_equal(c1.frames, 1);
    assert_int_equal(c3.frames, 1);
    /* Now A to B is unicast to p2 only. */
    vswitch_send(&sw, &c1.port, mkframe(MAC_B, MAC_A, 64, 3), 64);
    assert_int_equal(c2.frames, 2);
    assert_int_equal(c3.frames, 1);
    /* Broadcast and multicast flood, never back to the sender. */
    vswitch_send(&sw, &c3.port, mkframe(BCAST, MAC_C, 42, 4), 42);
    vswitch_send(&sw, &c3.port, mkframe(MCAST, MAC_C, 42, 5), 42);
    assert_int_equal(c1.frames, 3);
    assert_int_equal(c2.frames, 4);
    assert_int_equal(c3.frames, 1);
    /* To a MAC behind the sender's own port: nowhere (no echo). */
    vswitch_send(&sw, &c3.port, mkframe(MAC_C, MAC_A, 42, 6), 42); /* A moves to p3 */
    assert_int_equal(c1.frames, 3);
    vswitch_send(&sw, &c2.port, mkframe(MAC_A, MAC_B, 42, 7), 42); /* relearned: to p3 */
    assert_int_equal(c3.frames, 2);
    assert_int_equal(c1.frames, 3);
    unsigned before = c1.frames + c2.frames + c3.frames;
    vswitch_send(&sw, &c3.port, mkframe(MAC_A, MAC_C, 42, 8), 42);
    assert_int_equal(c1.frames + c2.frames + c3.frames, before);
    assert_int_equal(sw.filtered, 2); /* this one and A -> C above */
    /* Stats from the switch's side. */
    struct vswitch_port_stats st;
    vswitch_stats_read(&sw, &c1.port, &st);
    assert_int_equal(st.rx_frames, 2);
    assert_int_equal(st.rx_bytes, 124);
    assert_int_equal(st.tx_frames, 3);
    assert_int_equal(st.tx_bytes, 100 + 42 + 42);
    assert_int_equal(st.rx_drops + st.tx_drops, 0);
}

static void test_sw_bad_frames(void **s)
{
    (void)s;
    mkframe(BCAST, MAC_A, 1600, 0);
    vswitch_send(&sw, &c1.port, frame, 13);                        /* runt */
    vswitch_send(&sw, &c1.port, frame, 0);                         /* empty */
    vswitch_send(&sw, &c1.port, frame, VSWITCH_MAX_FRAME + 1);     /* giant */
    vswitch_send(&sw, &c1.port, mkframe(BCAST, MCAST, 60, 0), 60); /* multicast source */
    assert_int_equal(c2.frames + c3.frames, 0);
    assert_int_equal(c1.port.stats.rx_drops, 4);
    assert_int_equal(c1.port.stats.rx_frames, 0);
    /* The limits themselves pass. */
    vswitch_send(&sw, &c1.port, mkframe(BCAST, MAC_A, 14, 0), 14);
    vswitch_send(&sw, &c1.port, mkframe(BCAST, MAC_A, VSWITCH_MAX_FRAME, 0), VSWITCH_MAX_FRAME);
    assert_int_equal(c2.frames, 2);
    assert_int_equal(c2.last_len, VSWITCH_MAX_FRAME);
    /* A multicast source was not learned: unicast to it floods. */
    vswitch_send(&sw, &c2.port, mkframe(MAC_A, MAC_B, 60, 0), 60);
    assert_int_equal(c1.frames, 1);
    /* A port that refuses: counted as its drop. */
    c3.refuse = 1;
    vswitch_send(&sw, &c1.port, mkframe(BCAST, MAC_A, 60, 0), 60);
    assert_int_equal(c3.port.stats.tx_drops, 1);
    assert_int_equal(c2.frames, 3);
    /* A port that is not attached cannot send. */
    struct cap stray;
    cap_init(&stray, "stray");
    vswitch_send(&sw, &stray.port, mkframe(BCAST, MAC_C, 60, 0), 60);
    assert_int_equal(sw.orphans, 1);
    assert_int_equal(c2.frames, 3);
}

static void test_sw_detach(void **s)
{
    (void)s;
    vswitch_send(&sw, &c1.port, mkframe(BCAST, MAC_A, 60, 0), 60);
    vswitch_send(&sw, &c2.port, mkframe(BCAST, MAC_B, 60, 0), 60);
    vswitch_detach(&sw, &c1.port);
    assert_null(c1.port.sw);
    /* A is forgotten: unicast to A floods to who is left, not to p1. */
    unsigned f1 = c1.frames;
    vswitch_send(&sw, &c2.port, mkframe(MAC_A, MAC_B, 60, 0), 60);
    assert_int_equal(c1.frames, f1);
    assert_int_equal(c3.frames, 3);
    /* Its sends are refused; detaching twice is harmless. */
    vswitch_send(&sw, &c1.port, mkframe(MAC_B, MAC_A, 60, 0), 60);
    assert_int_equal(sw.orphans, 1);
    vswitch_detach(&sw, &c1.port);
    /* A new port takes the slot; B is still known on p2. */
    struct cap c4;
    cap_init(&c4, "p4");
    assert_int_equal(vswitch_attach(&sw, &c4.port), 0);
    assert_int_equal(c4.port.index, 0);
    vswitch_send(&sw, &c3.port, mkframe(MAC_B, MAC_C, 60, 0), 60);
    assert_int_equal(c4.frames, 0);
    assert_int_equal(c2.frames, 2);
    /* Attaching twice fails; a switch holds 32 ports. */
    assert_int_equal(vswitch_attach(&sw, &c4.port), ERR_EXIST);
    static struct cap many[VSWITCH_MAX_PORTS];
    unsigned ok = 0;
    for (unsigned i = 0; i < VSWITCH_MAX_PORTS; i++) {
        cap_init(&many[i], "many");
        ok += vswitch_attach(&sw, &many[i].port) == 0;
    }
    assert_int_equal(ok, VSWITCH_MAX_PORTS - 3);
    vswitch_send(&sw, &c2.port, mkframe(BCAST, MAC_B, 60, 0), 60);
    assert_int_equal(many[0].frames, 1);
    assert_int_equal(many[VSWITCH_MAX_PORTS - 4].frames, 1);
    assert_int_equal(many[VSWITCH_MAX_PORTS - 3].frames, 0);
}

static void test_sw_table_full(void **s)
{
    (void)s;
    uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0};

    /* 300 MACs behind p1: the table keeps the most recent 256. */
    for (unsigned i = 0; i < 300; i++) {
        mac[4] = (uint8_t)(i >> 8);
        mac[5] = (uint8_t)i;
        vswitch_send(&sw, &c1.port, mkframe(MAC_B, mac, 60, 0), 60);
    }
    unsigned valid = 0;
    for (unsigned i = 0; i < VSWITCH_TABLE_SIZE; i++)
        valid += sw.fdb[i].valid;
    assert_int_equal(valid, VSWITCH_TABLE_SIZE);
    /* The oldest (0) was replaced: unicast to it floods; the newest is
     * known. */
    unsigned f3 = c3.frames;
    mac[4] = 0;
    mac[5] = 0;
    vswitch_send(&sw, &c2.port, mkframe(mac, MAC_B, 60, 0), 60);
    assert_int_equal(c3.frames, f3 + 1);
    mac[4] = 1;
    mac[5] = 299 - 256;
    vswitch_send(&sw, &c2.port, mkframe(mac, MAC_B, 60, 0), 60);
    assert_int_equal(c3.frames, f3 + 1);
}

/* ---- virtio-net ---- */

static struct vt_dev da, db;
static struct virtio_net na, nb;
static struct vswitch nsw;

static int net_setup(void **state)
{
    (void)state;
    vswitch_init(&nsw);
    vt_init(&da);
    vt_init(&db);
    virtio_net_init(&na, &da.mem, &da.irq, MAC_A, &nsw);
    virtio_net_init(&nb, &db.mem, &db.irq, MAC_B, &nsw);
    na.port.name = "vm0.net0";
    nb.port.name = "vm1.net0";
    vt_attach(&da, &na.t, "virtio-net");
    vt_attach(&db, &nb.t, "virtio-net");
    cap_init(&c1, "uplink");
    assert_int_equal(vswitch_attach(&nsw, &c1.port), 0);
    return 0;
}

#define RXQ 0
#define TXQ 1

/* Linux without MRG_RXBUF: one writable 1526-byte... here 1530-byte
 * buffer per receive descriptor i, at VT_BUF(i). */
static void post_rx(struct vt_dev *d, unsigned i, uint32_t len)
{
    vt_qdesc(d, RXQ, i, VT_BUF(i), len, VRING_DESC_F_WRITE, 0);
    vt_avail_add(d, RXQ, (uint16_t)i);
}

/* Linux's transmit: header and frame in one readable buffer at
 * VT_BUF(16 + i) (descriptor i). */
static void post_tx(struct vt_dev *d, unsigned i, const uint8_t *f, size_t len)
{
    uint64_t b = VT_BUF(16 + i);
    memset(vt_at(d, b), 0, VIRTIO_NET_HDR_LEN);
    *vt_at(d, b) = 1; /* NEEDS_CSUM: ignored */
    memcpy(vt_at(d, b + VIRTIO_NET_HDR_LEN), f, len);
    vt_qdesc(d, TXQ, i, b, (uint32_t)(VIRTIO_NET_HDR_LEN + len), 0, 0);
    vt_avail_add(d, TXQ, (uint16_t)i);
}

static void test_net_identity(void **s)
{
    (void)s;
    assert_int_equal(vt_rd(&da, VIRTIO_MMIO_DEVICE_ID), 1);
    assert_int_equal(vt_offered(&da),
                     (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS) |
                         (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
                         (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |
                         (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6) |
                         (1ull << VIRTIO_NET_F_MRG_RXBUF) | VT_F_V1 | VT_F_INDIRECT | VT_F_EVENT);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(vt_cfg(&da, i, 1), MAC_A[i]);
    assert_int_equal(vt_cfg(&da, 0, 4), 0x00005452);
    assert_int_equal(vt_cfg(&da, 4, 2), 0x0a00);
    assert_int_equal(vt_cfg(&da, 6, 2), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(vt_cfg(&da, 8, 2), 1);
    assert_int_equal(vt_cfg(&da, 10, 2), 0);
    /* The MAC is not writable. */
    assert_int_equal(da.dev.ops->write(&da.dev, VIRTIO_MMIO_CONFIG, 1, 0x77), 0);
    assert_int_equal(vt_cfg(&da, 0, 1), 0x52);
    vt_wr(&da, VIRTIO_MMIO_QUEUE_SEL, 1);
    assert_int_equal(vt_rd(&da, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_NET_QUEUE_MAX);
    vt_wr(&da, VIRTIO_MMIO_QUEUE_SEL, 2);
    assert_int_equal(vt_rd(&da, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
    /* The control queue and multiqueue are not offered: refused. */
    assert_false(vt_negotiate(&da, VT_F_V1 | (1ull << 17)) & VIRTIO_STATUS_FEATURES_OK);
    assert_false(vt_negotiate(&da, VT_F_V1 | (1ull << 22)) & VIRTIO_STATUS_FEATURES_OK);
    assert_true(vt_negotiate(&da, vt_offered(&da)) & VIRTIO_STATUS_FEATURES_OK);
}

static void assert_rx(struct vt_dev *d, uint16_t n, uint32_t id, const uint8_t *f, size_t len)
{
    uint32_t gid, glen;
    static const uint8_t hdr[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};

    vt_used_elem(d, RXQ, n, &gid, &glen);
    assert_int_equal(gid, id);
    assert_int_equal(glen, VIRTIO_NET_HDR_LEN + len);
    assert_memory_equal(vt_at(d, VT_BUF(id)), hdr, 12);
    assert_memory_equal(vt_at(d, VT_BUF(id) + 12), f, len);
}

static void test_net_receive(void **s)
{
    (void)s;
    /* Before the driver is up: dropped. */
    assert_int_equal(virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 60, 1), 60), ERR_AGAIN);
    vt_start(&da, VT_F_EVENT, 2, 16);
    /* No buffers yet: dropped. */
    assert_int_equal(virtio_net_receive(&na, frame, 60), ERR_AGAIN);
    assert_int_equal(na.stats.rx_drops, 2);
    for (unsigned i = 0; i < 4; i++)
        post_rx(&da, i, 1526);
    assert_int_equal(virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 60, 1), 60), 0);
    assert_rx(&da, 0, 0, frame, 60);
    assert_true(da.level);
    vt_ack(&da);
    assert_int_equal(virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 1514, 2), 1514), 0);
    assert_rx(&da, 1, 1, frame, 1514);
    assert_int_equal(virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 1518, 2), 1518), ERR_NOSPC);
    assert_int_equal(vt_used_idx(&da, RXQ), 3); /* given back unused */
    uint32_t id, len;
    vt_used_elem(&da, RXQ, 2, &id, &len);
    assert_int_equal(len, 0);
    /* Header and frame split over two descriptors (after buffer 3). */
    vt_qdesc(&da, RXQ, 5, VT_BUF(5), 12, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 6);
    vt_qdesc(&da, RXQ, 6, VT_BUF(6), 2000, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&da, RXQ, 5);
    assert_int_equal(virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 100, 4), 100), 0);
    assert_rx(&da, 3, 3, frame, 100);
    assert_int_equal(virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 1518, 3), 1518), 0);
    vt_used_elem(&da, RXQ, 4, &id, &len);
    assert_int_equal(id, 5);
    assert_int_equal(len, 12 + 1518);
    assert_int_equal(*vt_at(&da, VT_BUF(5) + 10), 1);
    assert_memory_equal(vt_at(&da, VT_BUF(6)), frame, 1518);
    /* Ring empty again. */
    assert_int_equal(virtio_net_receive(&na, frame, 100), ERR_AGAIN);
    assert_int_equal(na.stats.rx_frames, 4);
    assert_int_equal(na.stats.rx_bytes, 60 + 1514 + 1518 + 100);
    assert_int_equal(na.stats.rx_drops, 4);
    /* Too big for any guest: dropped before a buffer is taken. */
    post_rx(&da, 7, 4000);
    assert_int_equal(virtio_net_receive(&na, frame, VIRTIO_NET_MAX_FRAME + 1), ERR_INVAL);
    assert_int_equal(vt_used_idx(&da, RXQ), 5);
    /* A notify of the receive queue changes nothing. */
    vt_kick(&da, RXQ);
    assert_int_equal(vt_used_idx(&da, RXQ), 5);
    vt_assert_healthy(&da);
}

static void net_rx_broken(void (*build)(void))
{
    net_setup(NULL);
    vt_start(&da, 0, 2, 16);
    build();
    assert_int_equal(virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 60, 1), 60), ERR_BROKEN);
    vt_assert_needs_reset(&da);
    assert_int_equal(virtio_net_receive(&na, frame, 60), ERR_AGAIN);
    /* A reset brings it back. */
    vt_start(&da, 0, 2, 16);
    post_rx(&da, 0, 1526);
    assert_int_equal(virtio_net_receive(&na, frame, 60), 0);
    vt_assert_healthy(&da);
}

static void build_rx_readable(void)
{
    vt_qdesc(&da, RXQ, 0, VT_BUF(0), 1526, 0, 0);
    vt_avail_add(&da, RXQ, 0);
}

static void build_rx_outside(void)
{
    vt_qdesc(&da, RXQ, 0, VT_RAM_BASE + VT_RAM_SIZE - 20, 1526, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&da, RXQ, 0);
}

static void build_rx_loop(void)
{
    vt_qdesc(&da, RXQ, 0, VT_BUF(0), 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
    vt_avail_add(&da, RXQ, 0);
}

static void build_rx_used_outside(void)
{
    vt_wr(&da, VIRTIO_MMIO_QUEUE_SEL, RXQ);
    vt_wr(&da, VIRTIO_MMIO_QUEUE_READY, 0);
    vt_queue_at(&da, RXQ, 16, VT_QUEUE(0), VT_QUEUE(0) + 0x1000, 0x1000);
    vt_driver_ok(&da);
    post_rx(&da, 0, 1526);
}

static void test_net_receive_broken(void **s)
{
    (void)s;
    net_rx_broken(build_rx_readable);
    net_rx_broken(build_rx_outside);
    net_rx_broken(build_rx_loop);
    net_rx_broken(build_rx_used_outside);
}

static void test_net_transmit(void **s)
{
    (void)s;
    vt_start(&da, VT_F_INDIRECT, 2, 16);
    post_tx(&da, 0, mkframe(BCAST, MAC_A, 60, 1), 60);
    post_tx(&da, 1, mkframe(BCAST, MAC_A, 1518, 2), 1518);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&da, TXQ), 2);
    uint32_t id, len;
    vt_used_elem(&da, TXQ, 1, &id, &len);
    assert_int_equal(id, 1);
    assert_int_equal(len, 0);
    assert_true(da.level);
    assert_int_equal(c1.frames, 2);
    assert_int_equal(c1.last_len, 1518);
    assert_memory_equal(c1.last, frame, 1518);
    /* Split: header alone, then the frame in two pieces (indirect). */
    uint64_t b = VT_BUF(20);
    memset(vt_at(&da, b), 0, 12);
    mkframe(BCAST, MAC_A, 200, 3);
    memcpy(vt_at(&da, b + 12), frame, 200);
    vt_desc(&da, VT_INDIR, 0, b, 12, VRING_DESC_F_NEXT, 1);
    vt_desc(&da, VT_INDIR, 1, b + 12, 50, VRING_DESC_F_NEXT, 2);
    vt_desc(&da, VT_INDIR, 2, b + 62, 150, 0, 0);
    vt_qdesc(&da, TXQ, 2, VT_INDIR, 48, VRING_DESC_F_INDIRECT, 0);
    vt_avail_add(&da, TXQ, 2);
    vt_kick(&da, TXQ);
    assert_int_equal(c1.frames, 3);
    assert_int_equal(c1.last_len, 200);
    assert_memory_equal(c1.last, frame, 200);
    /* Too short and too long: dropped, but completed. */
    post_tx(&da, 3, mkframe(BCAST, MAC_A, 13, 4), 13);
    post_tx(&da, 4, mkframe(BCAST, MAC_A, 1519, 4), 1519);
    vt_qdesc(&da, TXQ, 5, VT_BUF(25), 5, 0, 0); /* not even a header */
    vt_avail_add(&da, TXQ, 5);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&da, TXQ), 6);
    assert_int_equal(c1.frames, 3);
    assert_int_equal(na.stats.tx_frames, 3);
    assert_int_equal(na.stats.tx_bytes, 60 + 1518 + 200);
    assert_int_equal(na.stats.tx_drops, 3);
    /* A kick of an empty ring, and before DRIVER_OK: nothing. */
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&da, TXQ), 6);
    vt_assert_healthy(&da);
    assert_true(vt_negotiate(&da, VT_F_V1) & VIRTIO_STATUS_FEATURES_OK);
    vt_queue(&da, RXQ, 16);
    vt_queue(&da, TXQ, 16);
    post_tx(&da, 0, mkframe(BCAST, MAC_A, 60, 1), 60);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&da, TXQ), 0);
    vt_driver_ok(&da);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&da, TXQ), 1);
    assert_int_equal(c1.frames, 4);
}

static void net_tx_broken(void (*build)(void))
{
    net_setup(NULL);
    vt_start(&da, VT_F_INDIRECT, 2, 16);
    build();
    da.accesses = 0;
    vt_kick(&da, TXQ);
    assert_true(da.accesses < 600);
    vt_assert_needs_reset(&da);
    assert_int_equal(c1.frames, 0);
    vt_start(&da, 0, 2, 16);
    post_tx(&da, 0, mkframe(BCAST, MAC_A, 60, 1), 60);
    vt_kick(&da, TXQ);
    assert_int_equal(c1.frames, 1);
    vt_assert_healthy(&da);
}

static void build_tx_writable(void)
{
    vt_qdesc(&da, TXQ, 0, VT_BUF(0), 12, VRING_DESC_F_NEXT, 1);
    vt_qdesc(&da, TXQ, 1, VT_BUF(1), 60, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&da, TXQ, 0);
}

static void build_tx_outside(void)
{
    vt_qdesc(&da, TXQ, 0, 0x2000, 72, 0, 0);
    vt_avail_add(&da, TXQ, 0);
}

static void build_tx_huge(void)
{
    vt_qdesc(&da, TXQ, 0, VT_BUF(0), VIRTIO_NET_MAX_CHAIN + 1, 0, 0);
    vt_avail_add(&da, TXQ, 0);
}

static void build_tx_bad_head(void)
{
    vt_avail_add(&da, TXQ, 0x8000);
}

static void build_tx_indirect_loop(void)
{
    vt_desc(&da, VT_INDIR, 0, VT_BUF(0), 12, VRING_DESC_F_NEXT, 1);
    vt_desc(&da, VT_INDIR, 1, VT_BUF(0), 60, VRING_DESC_F_NEXT, 0);
    vt_qdesc(&da, TXQ, 0, VT_INDIR, 32, VRING_DESC_F_INDIRECT, 0);
    vt_avail_add(&da, TXQ, 0);
}

static void test_net_transmit_broken(void **s)
{
    (void)s;
    net_tx_broken(build_tx_writable);
    net_tx_broken(build_tx_outside);
    net_tx_broken(build_tx_huge);
    net_tx_broken(build_tx_bad_head);
    net_tx_broken(build_tx_indirect_loop);
}

/* Two guests through the switch, as two Linux drivers would. */
static void test_net_end_to_end(void **s)
{
    (void)s;
    vt_start(&da, VT_F_EVENT | VT_F_INDIRECT, 2, 16);
    vt_start(&db, VT_F_EVENT, 2, 16);
    for (unsigned i = 0; i < 8; i++) {
        post_rx(&da, i, 1526);
        post_rx(&db, i, 1526);
    }
    /* A broadcasts (ARP): B and the uplink get it. */
    post_tx(&da, 0, mkframe(BCAST, MAC_A, 42, 1), 42);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&db, RXQ), 1);
    assert_rx(&db, 0, 0, frame, 42);
    assert_true(db.level);
    assert_int_equal(c1.frames, 1);
    assert_int_equal(vt_used_idx(&da, RXQ), 0); /* not back to A */
    /* B answers A by unicast: only A gets it. */
    post_tx(&db, 0, mkframe(MAC_A, MAC_B, 60, 2), 60);
    vt_kick(&db, TXQ);
    assert_int_equal(vt_used_idx(&da, RXQ), 1);
    assert_rx(&da, 0, 0, frame, 60);
    assert_int_equal(c1.frames, 1);
    /* A burst from A to B: ring full both ways, the rest dropped. */
    for (unsigned i = 0; i < 12; i++)
        post_tx(&da, 1 + i, mkframe(MAC_B, MAC_A, 100 + i, (uint8_t)i), 100 + i);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&da, TXQ), 13);
    assert_int_equal(vt_used_idx(&db, RXQ), 8);
    assert_int_equal(nb.stats.rx_frames, 8);
    assert_int_equal(nb.stats.rx_drops, 5);
    assert_int_equal(c1.frames, 1);
    struct vswitch_port_stats st;
    vswitch_stats_read(&nsw, &nb.port, &st);
    assert_int_equal(st.tx_frames, 8);
    assert_int_equal(st.tx_drops, 5);
    /* B goes away: frames to it flood (to the uplink), nothing reaches B. */
    virtio_net_detach(&nb);
    virtio_net_detach(&nb);
    post_tx(&da, 13, mkframe(MAC_B, MAC_A, 60, 9), 60);
    vt_kick(&da, TXQ);
    assert_int_equal(nb.stats.rx_frames + nb.stats.rx_drops, 13);
    assert_int_equal(c1.frames, 2);
    /* B's transmit still completes, but goes nowhere. */
    post_tx(&db, 1, mkframe(BCAST, MAC_B, 60, 2), 60);
    vt_kick(&db, TXQ);
    assert_int_equal(vt_used_idx(&db, TXQ), 2);
    assert_int_equal(c1.frames, 2);
    vt_assert_healthy(&da);
    vt_assert_healthy(&db);
}

/* A device made without a switch, or when the switch is full. */
/* After a migration the NIC announces itself (QEMU's self-announce): a
 * broadcast RARP request from its address reaches the uplink, and the
 * switch now sends frames for that address to its port. */
#define F_CSUM  (1ull << VIRTIO_NET_F_CSUM | 1ull << VIRTIO_NET_F_HOST_TSO4)
#define F_GCSUM (1ull << VIRTIO_NET_F_GUEST_CSUM | 1ull << VIRTIO_NET_F_GUEST_TSO4)
#define F_MRG   (1ull << VIRTIO_NET_F_MRG_RXBUF)

/* A TCP/IPv4 frame of 54 + payload bytes from A to B. */
static size_t mk_tso(uint8_t *f, size_t payload)
{
    memset(f, 0, 54);
    memcpy(f, MAC_B, 6);
    memcpy(f + 6, MAC_A, 6);
    f[12] = 0x08;
    f[14] = 0x45;
    f[14 + 2] = (uint8_t)((40 + payload) >> 8);
    f[14 + 3] = (uint8_t)(40 + payload);
    f[14 + 8] = 64;
    f[14 + 9] = 6;
    memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    f[34 + 12] = 0x50;
    f[34 + 13] = 0x18;
    for (size_t i = 0; i < payload; i++)
        f[54 + i] = (uint8_t)(i * 7 + 3);
    return 54 + payload;
}

/* A's transmit of a TCP segmentation offload (header hdr) at VT_BUF(16)
 * (spanning pages), descriptor 0 of a 16-entry ring used round-robin. */
static void post_tso(struct vt_dev *d, unsigned i, const struct vnet_hdr *h, const uint8_t *f,
                     size_t len)
{
    uint64_t b = VT_BUF(16);
    vnet_hdr_build(h, vt_at(d, b));
    memcpy(vt_at(d, b + VIRTIO_NET_HDR_LEN), f, len);
    vt_qdesc(d, TXQ, i, b, (uint32_t)(VIRTIO_NET_HDR_LEN + len), 0, 0);
    vt_avail_add(d, TXQ, (uint16_t)i);
}

/* The TSO case of the tests below: f gets a 10,000-byte TCP segment
 * (returns its length) and *h its header; A offers checksum offload, B
 * takes TSO and mergeable buffers and has eight 4 KiB buffers posted. */
static size_t tso_pair_start(uint8_t *f, struct vnet_hdr *h)
{
    *h = (struct vnet_hdr){VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV4, 54, 1448, 34, 16, 0};
    vt_start(&da, VT_F_EVENT | F_CSUM, 2, 16);
    vt_start(&db, VT_F_EVENT | F_GCSUM | F_MRG, 2, 16);
    for (unsigned i = 0; i < 8; i++)
        post_rx(&db, i, 4096);
    return mk_tso(f, 10000);
}

/* Offloads across the switch: a 10,000-byte TCP segment from A crosses
 * whole to B (GUEST_TSO4, MRG_RXBUF: three 4 KiB chains, the header says
 * what is left to do) and as seven checksummed segments to the capture
 * port (no offloads); B without offloads gets the seven segments too; B
 * with too few mergeable buffers drops the frame and keeps its chains;
 * an offload A did not negotiate is dropped. */
static void test_net_offloads(void **s)
{
    (void)s;
    static uint8_t f[12000];
    struct vnet_hdr h;
    size_t len = tso_pair_start(f, &h);
    post_tso(&da, 0, &h, f, len);
    vt_kick(&da, TXQ);
    assert_int_equal(na.stats.tx_frames, 1);
    assert_int_equal(vt_used_idx(&db, RXQ), 3);
    struct vnet_hdr got;
    vnet_hdr_parse(vt_at(&db, VT_BUF(0)), &got);
    assert_int_equal(got.flags, VNET_HDR_F_NEEDS_CSUM);
    assert_int_equal(got.gso_type, VNET_GSO_TCPV4);
    assert_int_equal(got.gso_size, 1448);
    assert_int_equal(got.csum_start, 34);
    assert_int_equal(got.csum_offset, 16);
    assert_int_equal(got.num_buffers, 3);
    size_t pos = 0;
    for (unsigned i = 0; i < 3; i++) {
        uint32_t id, ulen;
        vt_used_elem(&db, RXQ, (uint16_t)i, &id, &ulen);
        assert_int_equal(id, i);
        size_t skip = i == 0 ? VIRTIO_NET_HDR_LEN : 0;
        assert_int_equal(ulen, i < 2 ? 4096 : VIRTIO_NET_HDR_LEN + len - 2 * 4096);
        assert_memory_equal(vt_at(&db, VT_BUF(i) + skip), f + pos, ulen - skip);
        pos += ulen - skip;
    }
    assert_int_equal(pos, len);
    /* The capture port (no offloads) got the segments. */
    assert_int_equal(c1.frames, 7);
    assert_int_equal(c1.last_len, 54 + 10000 - 6 * 1448);
    assert_memory_equal(c1.last + 54, f + 54 + 6 * 1448, 10000 - 6 * 1448);
    assert_int_equal(nsw.segmented, 1);

    /* B without offloads or MRG_RXBUF: seven plain frames. */
    vt_start(&db, VT_F_EVENT, 2, 16);
    for (unsigned i = 0; i < 8; i++)
        post_rx(&db, i, 1526);
    post_tso(&da, 1, &h, f, len);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&db, RXQ), 7);
    assert_int_equal(nb.stats.rx_offload_refused, 1);
    uint32_t id, ulen;
    vt_used_elem(&db, RXQ, 6, &id, &ulen);
    assert_int_equal(ulen, VIRTIO_NET_HDR_LEN + 54 + 10000 - 6 * 1448);
    static const uint8_t plain[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    assert_memory_equal(vt_at(&db, VT_BUF(6)), plain, 12);

    /* B with MRG_RXBUF but two 4 KiB chains for a frame needing three:
     * dropped, the chains stay available. */
    vt_start(&db, VT_F_EVENT | F_GCSUM | F_MRG, 2, 16);
    post_rx(&db, 0, 4096);
    post_rx(&db, 1, 4096);
    uint64_t drops = nb.stats.rx_drops;
    post_tso(&da, 2, &h, f, len);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&db, RXQ), 0);
    assert_int_equal(nb.stats.rx_drops, drops + 1);
    assert_int_equal(nb.t.queues[RXQ].last_avail, 0);
    post_rx(&db, 2, 4096);
    post_tso(&da, 3, &h, f, len);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&db, RXQ), 3);

    /* A without HOST_TSO4 (CSUM only): its TSO frame is dropped. */
    vt_start(&da, VT_F_EVENT | 1ull << VIRTIO_NET_F_CSUM, 2, 16);
    uint64_t tx_drops = na.stats.tx_drops;
    post_tso(&da, 0, &h, f, len);
    vt_kick(&da, TXQ);
    assert_int_equal(na.stats.tx_drops, tx_drops + 1);
    assert_int_equal(vt_used_idx(&da, TXQ), 1); /* but completed */
    /* Nonsense: the checksum field past the frame. */
    struct vnet_hdr bad = {VNET_HDR_F_NEEDS_CSUM, VNET_GSO_NONE, 0, 0, 50, 10, 0};
    post_tso(&da, 1, &bad, f, 60);
    vt_kick(&da, TXQ);
    assert_int_equal(na.stats.tx_drops, tx_drops + 2);
}

/* ---- one copy between two guests (the direct path) ---- */

static void assert_tso_rx(struct vt_dev *d, const uint8_t *f, size_t len, unsigned chains)
{
    size_t pos = 0;
    for (unsigned i = 0; i < chains; i++) {
        uint32_t id, ulen;
        vt_used_elem(d, RXQ, (uint16_t)i, &id, &ulen);
        size_t skip = i == 0 ? VIRTIO_NET_HDR_LEN : 0;
        if (ulen < skip || pos + ulen - skip > len)
            fail_msg("receive chain %u: used length %u, expected at most %zu", i, ulen,
                     len - pos + skip);
        assert_memory_equal(vt_at(d, VT_BUF(id) + skip), f + pos, ulen - skip);
        pos += ulen - skip;
    }
    if (pos != len)
        fail_msg("expected %zu frame bytes in %u receive chains, found %zu", len, chains, pos);
}

/* Copy counts of one frame from A to B: read/written bytes of the data
 * buffers through the accessors, bytes translated, frames staged. */
static void assert_copies(uint64_t a_read, uint64_t a_mapped, uint64_t b_write, uint64_t staged)
{
    if (da.buf_read != a_read || da.mapped != a_mapped || db.buf_write != b_write ||
        nsw.staged != staged)
        fail_msg("expected A's buffers read %llu, mapped %llu, B's written %llu, %llu frames "
                 "staged; got %llu, %llu, %llu, %llu",
                 (unsigned long long)a_read, (unsigned long long)a_mapped,
                 (unsigned long long)b_write, (unsigned long long)staged,
                 (unsigned long long)da.buf_read, (unsigned long long)da.mapped,
                 (unsigned long long)db.buf_write, (unsigned long long)nsw.staged);
}

static void copies_zero(void)
{
    da.buf_read = da.mapped = da.buf_write = 0;
    db.buf_read = db.mapped = db.buf_write = 0;
}

static int nospc_map(void *ctx, uint64_t gpa, uint64_t n, struct gm_seg *segs, unsigned max)
{
    (void)ctx, (void)gpa, (void)n, (void)segs, (void)max;
    return ERR_NOSPC;
}

/* The sender's guest rewrites its frame's Ethernet header while the
 * switch copies it into B (from inside B's first buffer write). */
static bool toctou_armed;

static int toctou_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    if (toctou_armed && gpa >= VT_BUF(0) && gpa < VT_BUF(8)) {
        toctou_armed = false;
        uint8_t *e = vt_at(&da, VT_BUF(16) + VIRTIO_NET_HDR_LEN);
        memset(e, 0xff, 6); /* now broadcast */
        e[6] = 0x01;        /* from a multicast source */
    }
    return vt_mem_write(ctx, gpa, src, n);
}

/* A 10,000-byte TCP segment from A to B, both with offloads: the bytes
 * are translated in A once (map), written into B once, never read out of
 * A's buffers nor staged; with the uplink and a second port without
 * offloads in the flood, the frame is staged once for both; without map
 * (or too many pieces) the device copies the chain itself and the switch
 * does not stage it again; and the Ethernet header B gets is the one the
 * switch routed on, whatever the sender does meanwhile. */
static void test_net_copy_once(void **s)
{
    (void)s;
    static uint8_t f[12000];
    size_t len = mk_tso(f, 10000);
    struct vnet_hdr h = {VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV4, 54, 1448, 34, 16, 0};
    const uint64_t all = VIRTIO_NET_HDR_LEN + len;

    vt_start(&da, VT_F_EVENT | F_CSUM | F_GCSUM, 2, 16);
    vt_start(&db, VT_F_EVENT | F_GCSUM | F_MRG, 2, 16);
    for (unsigned i = 0; i < 8; i++)
        post_rx(&db, i, 4096);
    virtio_net_announce(&nb); /* the switch learns B */
    unsigned up = c1.frames;
    uint64_t staged = nsw.staged;
    copies_zero();
    post_tso(&da, 0, &h, f, len);
    vt_kick(&da, TXQ);
    assert_int_equal(vt_used_idx(&da, TXQ), 1);
    assert_int_equal(vt_used_idx(&db, RXQ), 3);
    assert_tso_rx(&db, f, len, 3);
    assert_copies(0, all, all, staged);
    assert_int_equal(na.stats.tx_staged, 0);
    assert_int_equal(c1.frames, up); /* unicast: the uplink saw nothing */

    /* Flooded (to MAC_C, unknown) to B and two ports without offloads:
     * staged once, cut for each of the two. */
    cap_init(&c2, "uplink2");
    assert_int_equal(vswitch_attach(&nsw, &c2.port), 0);
    vt_start(&db, VT_F_EVENT | F_GCSUM | F_MRG, 2, 16);
    for (unsigned i = 0; i < 8; i++)
        post_rx(&db, i, 4096);
    memcpy(f, MAC_C, 6);
    uint64_t segmented = nsw.segmented;
    copies_zero();
    post_tso(&da, 1, &h, f, len);
    vt_kick(&da, TXQ);
    assert_tso_rx(&db, f, len, 3);
    assert_copies(0, all, all, staged + 1);
    assert_int_equal(nsw.segmented, segmented + 2);
    assert_int_equal(c1.frames, up + 7);
    assert_int_equal(c2.frames, 7);
    vswitch_detach(&nsw, &c2.port);
    memcpy(f, MAC_B, 6);

    /* No map, then a map that runs out of pieces: the device copies the
     * chain (checked read) and the switch takes that copy as is. */
    for (unsigned k = 0; k < 2; k++) {
        na.t.mem.map = k == 0 ? NULL : nospc_map;
        vt_start(&db, VT_F_EVENT | F_GCSUM | F_MRG, 2, 16);
        for (unsigned i = 0; i < 8; i++)
            post_rx(&db, i, 4096);
        copies_zero();
        uint64_t tx_staged = na.stats.tx_staged;
        post_tso(&da, 2 + k, &h, f, len);
        vt_kick(&da, TXQ);
        assert_tso_rx(&db, f, len, 3);
        assert_copies(all, 0, all, staged + 1);
        assert_int_equal(na.stats.tx_staged, tx_staged + 1);
    }
    na.t.mem.map = vt_mem_map;

    /* The sender rewrites the Ethernet header during the copy: B gets
     * the one the switch decided on, nobody else gets the frame. */
    vt_start(&db, VT_F_EVENT | F_GCSUM | F_MRG, 2, 16);
    for (unsigned i = 0; i < 8; i++)
        post_rx(&db, i, 4096);
    nb.t.mem.write = toctou_write;
    toctou_armed = true;
    up = c1.frames;
    post_tso(&da, 4, &h, f, len);
    vt_kick(&da, TXQ);
    nb.t.mem.write = vt_mem_write;
    assert_false(toctou_armed);
    assert_memory_equal(vt_at(&db, VT_BUF(0) + VIRTIO_NET_HDR_LEN), f, 14);
    assert_int_equal(c1.frames, up);
    vt_assert_healthy(&da);
    vt_assert_healthy(&db);
}

/* Transmit chains whose later buffer is not A's RAM, on the direct path:
 * A needs a reset, and nothing of the frame reaches B (not a byte of its
 * buffers written, no chain used), which goes on working. */
static void test_net_copy_hostile(void **s)
{
    (void)s;
    static const struct {
        const char *what;
        uint64_t addr;
        uint32_t len;
    } cases[] = {
        {"outside RAM", 0x1000, 100},
        {"in device space (a PLIC)", 0x0c000000, 100},
        {"straddling the end of RAM", VT_RAM_BASE + VT_RAM_SIZE - 50, 100},
        {"wrapping the address space", 0xffffffffffffffc0ull, 0x80},
        {"huge, off the end of RAM", VT_BUF(20), 0xfffff000u},
    };

    for (unsigned c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        net_setup(NULL);
        vt_start(&da, VT_F_EVENT | F_CSUM, 2, 16);
        vt_start(&db, VT_F_EVENT | F_GCSUM | F_MRG, 2, 16);
        for (unsigned i = 0; i < 8; i++)
            post_rx(&db, i, 4096);
        virtio_net_announce(&nb);
        uint64_t b = VT_BUF(16);
        memset(vt_at(&da, b), 0, VIRTIO_NET_HDR_LEN);
        mkframe(MAC_B, MAC_A, 200, 5);
        memcpy(vt_at(&da, b + VIRTIO_NET_HDR_LEN), frame, 100);
        vt_qdesc(&da, TXQ, 0, b, VIRTIO_NET_HDR_LEN + 100, VRING_DESC_F_NEXT, 1);
        vt_qdesc(&da, TXQ, 1, cases[c].addr, cases[c].len, 0, 0);
        vt_avail_add(&da, TXQ, 0);
        copies_zero();
        unsigned up = c1.frames;
        vt_kick(&da, TXQ);
        if (!vt_needs_reset(&da) || db.buf_write != 0 || vt_used_idx(&db, RXQ) != 0 ||
            c1.frames != up)
            fail_msg("a transmit buffer %s: expected A to need a reset and nothing sent; A's "
                     "status 0x%x, %llu bytes written into B, %u chains used, %u frames to the "
                     "uplink",
                     cases[c].what, vt_rd(&da, VIRTIO_MMIO_STATUS),
                     (unsigned long long)db.buf_write, vt_used_idx(&db, RXQ), c1.frames - up);
        vt_assert_healthy(&db);
        /* After a reset A's frames reach B again. */
        vt_start(&da, VT_F_EVENT | F_CSUM, 2, 16);
        post_tx(&da, 0, mkframe(MAC_B, MAC_A, 200, 6), 200);
        vt_kick(&da, TXQ);
        assert_int_equal(vt_used_idx(&db, RXQ), 1);
        assert_memory_equal(vt_at(&db, VT_BUF(0) + VIRTIO_NET_HDR_LEN), frame, 200);
    }
}

/* While B copies out of A's transmit buffers, A's device is detached
 * (its VM being destroyed) and B is held (paused for a snapshot), each
 * from another thread: neither returns before the copy is over, so A's
 * pages are not given back and B's memory is not written under them.
 * Checked by counting B's memory writes: detach must come back after
 * every write of the frame's bytes (the last read of A's buffers goes
 * with it), hold after every write at all (the used ring's too).  (Not by
 * when the kick returns: A's device finishes its own ring after the
 * switch, so a thread may rightly return before the kick does.) */
static volatile int inflight_stage; /* 0 idle, 1 copying */
static volatile unsigned inflight_data_writes, inflight_writes;
static volatile int inflight_detached, inflight_held; /* returned */
static unsigned inflight_data_at_detach, inflight_writes_at_hold;

static void *inflight_detach(void *arg)
{
    (void)arg;
    virtio_net_detach(&na);
    inflight_data_at_detach = inflight_data_writes;
    inflight_detached = 1;
    return NULL;
}

static void *inflight_hold(void *arg)
{
    (void)arg;
    virtio_net_hold(&nb, true);
    inflight_writes_at_hold = inflight_writes;
    inflight_held = 1;
    return NULL;
}

static pthread_t inflight_t1, inflight_t2;

static int inflight_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    bool data = gpa >= VT_BUF(0) && gpa < VT_BUF(8);

    if (inflight_stage == 0 && data) {
        inflight_stage = 1;
        assert_int_equal(pthread_create(&inflight_t1, NULL, inflight_detach, NULL), 0);
        assert_int_equal(pthread_create(&inflight_t2, NULL, inflight_hold, NULL), 0);
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL); /* time for them to get as far as they can */
        if (inflight_detached || inflight_held)
            fail_msg("expected detach and hold to wait for the copy in flight; detach returned: "
                     "%d, hold returned: %d",
                     inflight_detached, inflight_held);
    }
    int r = vt_mem_write(ctx, gpa, src, n);
    if (data)
        inflight_data_writes++;
    inflight_writes++;
    return r;
}

static void test_net_copy_inflight(void **s)
{
    (void)s;
    static uint8_t f[12000];
    struct vnet_hdr h;
    size_t len = tso_pair_start(f, &h);
    virtio_net_announce(&nb);
    inflight_stage = 0;
    inflight_detached = inflight_held = 0;
    inflight_data_writes = inflight_writes = 0;
    nb.t.mem.write = inflight_write;
    post_tso(&da, 0, &h, f, len);
    vt_kick(&da, TXQ);
    pthread_join(inflight_t1, NULL);
    pthread_join(inflight_t2, NULL);
    nb.t.mem.write = vt_mem_write;
    if (inflight_data_at_detach != inflight_data_writes ||
        inflight_writes_at_hold != inflight_writes)
        fail_msg("expected detach to return after all %u writes of the frame into B (it saw %u) "
                 "and hold after all %u writes into B (it saw %u)",
                 inflight_data_writes, inflight_data_at_detach, inflight_writes,
                 inflight_writes_at_hold);
    assert_int_equal(vt_used_idx(&db, RXQ), 3); /* the frame arrived whole */
    assert_tso_rx(&db, f, len, 3);
    assert_int_equal(vt_used_idx(&da, TXQ), 1);
    /* Held: B takes nothing more; detached: A sends nowhere. */
    assert_int_equal(virtio_net_receive(&nb, mkframe(MAC_B, MAC_A, 60, 1), 60), ERR_AGAIN);
    assert_null(na.port.sw);
}

static void test_net_announce(void **s)
{
    (void)s;
    unsigned f0 = c1.frames;
    virtio_net_announce(&na);
    if (c1.frames != f0 + 1 || c1.last_len != 60)
        fail_msg("expected one 60-byte frame on the uplink, got %u frames (last %zu bytes)",
                 c1.frames - f0, c1.last_len);
    static const uint8_t rarp[22] = {0,    1,    0x08, 0x00, 6, 4, 0, 3,    0x52, 0x54, 0x00,
                                     0x00, 0x00, 0x0a, 0,    0, 0, 0, 0x52, 0x54, 0x00, 0x00};
    assert_memory_equal(c1.last, BCAST, 6);
    assert_memory_equal(c1.last + 6, MAC_A, 6);
    assert_int_equal(c1.last[12], 0x80);
    assert_int_equal(c1.last[13], 0x35);
    assert_memory_equal(c1.last + 14, rarp, sizeof(rarp));
    assert_int_equal(na.stats.tx_frames, 1);
    /* Learned: a frame from the uplink for MAC_A goes to na's port only
     * (the uplink is not flooded back, nb sees nothing). */
    unsigned before = c1.frames;
    uint64_t nb_seen = nb.stats.rx_frames + nb.stats.rx_drops; /* the broadcast reached it */
    uint64_t na_seen = na.stats.rx_frames + na.stats.rx_drops;
    vswitch_send(&nsw, &c1.port, mkframe(MAC_A, MAC_C, 60, 1), 60);
    assert_int_equal(c1.frames, before);
    assert_int_equal(nb.stats.rx_frames + nb.stats.rx_drops, nb_seen);
    assert_int_equal(na.stats.rx_frames + na.stats.rx_drops, na_seen + 1);
}

static void test_net_no_switch(void **s)
{
    (void)s;
    static struct virtio_net n;
    static struct vt_dev dn;

    vt_init(&dn);
    virtio_net_init(&n, &dn.mem, &dn.irq, MAC_C, NULL);
    vt_attach(&dn, &n.t, "virtio-net");
    vt_start(&dn, 0, 2, 8);
    post_tx(&dn, 0, mkframe(BCAST, MAC_C, 60, 1), 60);
    vt_kick(&dn, TXQ);
    assert_int_equal(vt_used_idx(&dn, TXQ), 1);
    assert_int_equal(n.stats.tx_frames, 1);
    virtio_net_detach(&n);
}

/* ---- concurrency: two vCPUs kicking transmit while frames arrive ---- */

#define CONC_TX 200
#define CONC_RX 100
static volatile int conc_go;
static uint8_t conc_seen[CONC_TX];
static unsigned conc_next, conc_order_bad;

static int conc_deliver(void *ctx, const struct vnet_hdr *h, const void *f, size_t len)
{
    (void)h;
    const uint8_t *b = f;
    (void)ctx;
    assert_int_equal(len, 60);
    unsigned tag = b[14] | (unsigned)b[15] << 8;
    if (tag >= CONC_TX || conc_seen[tag]++)
        conc_order_bad++;
    if (tag != conc_next++)
        conc_order_bad++; /* tx_lock keeps one device's frames in order */
    return 0;
}

static void *conc_kicker(void *arg)
{
    (void)arg;
    while (!conc_go)
        ;
    for (unsigned i = 0; i < 3000; i++)
        assert_int_equal(da.dev.ops->write(&da.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 4, TXQ), 0);
    return NULL;
}

static void *conc_sender(void *arg)
{
    uint8_t f[60];
    (void)arg;
    while (!conc_go)
        ;
    for (unsigned i = 0; i < CONC_RX; i++) {
        memset(f, 0, sizeof(f));
        memcpy(f, MAC_A, 6);
        memcpy(f + 6, MAC_C, 6);
        f[14] = (uint8_t)i;
        vswitch_send(&nsw, &c1.port, f, sizeof(f));
    }
    return NULL;
}

static void test_net_concurrent(void **s)
{
    (void)s;
    pthread_t k1, k2, snd;

    c1.port.deliver = conc_deliver;
    memset(conc_seen, 0, sizeof(conc_seen));
    conc_next = conc_order_bad = 0;
    conc_go = 0;
    virtio_net_detach(&nb); /* only A and the capture port */
    vt_start(&da, VT_F_EVENT, 2, 256);
    for (unsigned i = 0; i < CONC_RX; i++) {
        vt_qdesc(&da, RXQ, i, VT_BUF(8) + 128 * (uint64_t)i, 128, VRING_DESC_F_WRITE, 0);
        vt_avail_add(&da, RXQ, (uint16_t)i);
    }
    assert_int_equal(pthread_create(&k1, NULL, conc_kicker, NULL), 0);
    assert_int_equal(pthread_create(&k2, NULL, conc_kicker, NULL), 0);
    assert_int_equal(pthread_create(&snd, NULL, conc_sender, NULL), 0);
    conc_go = 1;
    /* The driver adds frames one by one while the kickers run. */
    for (unsigned i = 0; i < CONC_TX; i++) {
        uint64_t b = VT_BUF(0) + 128 * (uint64_t)i;
        memset(vt_at(&da, b), 0, 12 + 60);
        mkframe(BCAST, MAC_A, 60, 0);
        memcpy(vt_at(&da, b + 12), frame, 60);
        *vt_at(&da, b + 12 + 14) = (uint8_t)i;
        *vt_at(&da, b + 12 + 15) = (uint8_t)(i >> 8);
        vt_qdesc(&da, TXQ, i, b, 72, 0, 0);
        __atomic_thread_fence(__ATOMIC_RELEASE);
        vt_avail_add(&da, TXQ, (uint16_t)i);
    }
    pthread_join(k1, NULL);
    pthread_join(k2, NULL);
    pthread_join(snd, NULL);
    vt_kick(&da, TXQ); /* the last frames may have come after the last kick */
    assert_int_equal(conc_next, CONC_TX);
    assert_int_equal(conc_order_bad, 0);
    assert_int_equal(vt_used_idx(&da, TXQ), CONC_TX);
    assert_int_equal(na.stats.tx_frames, CONC_TX);
    assert_int_equal(na.stats.rx_frames, CONC_RX);
    assert_int_equal(vt_used_idx(&da, RXQ), CONC_RX);
    vt_assert_healthy(&da);
}

/* Mutated transmit and receive rings. */
/* The copy into the receive buffers runs without the transport lock: a
 * driver reading its registers meanwhile (here from inside the device's
 * guest-memory write, i.e. during the copy) does not wait; and new rings
 * meanwhile (a state loaded: the epoch a reset also bumps) drop the frame
 * instead of completing chains into them.  A reset itself cannot be
 * shown on one thread: its write waits for the copy (reset_done). */
static bool mid_load, mid_read;
static uint32_t mid_status;
static uint8_t mid_state[4096];
static long mid_state_len;

static int mid_copy_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    struct vt_dev *d = ctx;

    if (gpa >= VT_BUF(0) && gpa < VT_BUF(16)) { /* a receive buffer: the copy */
        if (mid_read)
            mid_status = vt_rd(d, VIRTIO_MMIO_STATUS); /* spins forever if the lock is held */
        if (mid_load) {
            mid_load = false;
            assert_int_equal(virtio_net_load(&na, mid_state, (size_t)mid_state_len), 0);
        }
    }
    return vt_mem_write(ctx, gpa, src, n);
}

static void test_net_receive_unlocked(void **s)
{
    (void)s;
    vt_start(&da, VT_F_EVENT, 2, 16);
    mid_state_len = virtio_net_save(&na, mid_state, sizeof(mid_state));
    assert_true(mid_state_len > 0);
    na.t.mem.write = mid_copy_write;
    for (unsigned i = 0; i < 4; i++)
        post_rx(&da, i, 1526);
    mid_read = true;
    assert_int_equal(virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 200, 1), 200), 0);
    mid_read = false;
    assert_int_equal(mid_status, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
                                     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
    assert_rx(&da, 0, 0, frame, 200);
    assert_int_equal(vt_used_idx(&da, RXQ), 1);
    /* The saved rings (nothing used yet) come back during the next copy:
     * the frame is dropped, the used index stays what the load said. */
    mid_load = true;
    assert_int_equal(virtio_net_receive(&na, frame, 200), ERR_AGAIN);
    assert_false(mid_load);
    assert_int_equal(na.stats.rx_drops, 1);
    assert_int_equal(vt_used_idx(&da, RXQ), 1); /* the ring in RAM: not written again */
    assert_int_equal(na.stats.rx_frames, 1);
    na.t.mem.write = vt_mem_write;
}

static void test_net_mutation(void **s)
{
    (void)s;
    const unsigned num = 16;
    unsigned broken = 0, served = 0;

    rng_state = 0x853c49e6748fea9bull;
    for (unsigned iter = 0; iter < 20000; iter++) {
        uint64_t feat = (rng() & 1 ? VT_F_EVENT : 0) | (rng() & 1 ? VT_F_INDIRECT : 0);
        unsigned q = (unsigned)(rng() & 1);
        memset(vt_at(&da, VT_QUEUE(0)), 0, 0x8000);
        memset(vt_at(&da, VT_INDIR), 0, 0x400);
        vt_start(&da, feat, 2, (uint16_t)num);
        unsigned n = 1 + (unsigned)(rng() % 6);
        for (unsigned i = 0; i < n; i++) {
            if (q == RXQ)
                post_rx(&da, i, 100 + (uint32_t)(rng() % 1600));
            else
                post_tx(&da, i, mkframe(BCAST, MAC_A, 10 + rng() % 1600, 0), 10 + rng() % 1500);
        }
        if (feat & VT_F_INDIRECT) {
            vt_desc(&da, VT_INDIR, 0, VT_BUF(8), 12, VRING_DESC_F_NEXT, 1);
            vt_desc(&da, VT_INDIR, 1, VT_BUF(9), 100, q == RXQ ? VRING_DESC_F_WRITE : 0, 0);
            vt_qdesc(&da, q, n, VT_INDIR, 32, VRING_DESC_F_INDIRECT, 0);
            vt_avail_add(&da, q, (uint16_t)n);
        }
        vt_mutate(&da, q, rng);
        da.accesses = 0;
        if (q == RXQ) {
            for (unsigned i = 0; i < 8; i++)
                virtio_net_receive(&na, mkframe(MAC_A, MAC_B, 60 + 100 * i, 0), 60 + 100 * i);
        } else {
            vt_kick(&da, TXQ);
        }
        assert_true(da.accesses < 20000);
        if (vt_needs_reset(&da)) {
            broken++;
        } else {
            served++;
            /* Only the transmit ring's used entries can be checked in
             * guest memory: mutated receive buffers may point anywhere,
             * the used ring included. */
            assert_true(na.t.queues[q].used_idx <= num);
            uint16_t u = q == TXQ ? vt_used_idx(&da, q) : 0;
            assert_true(u <= num);
            for (uint16_t i = 0; i < u; i++) {
                uint32_t id, len;
                vt_used_elem(&da, q, i, &id, &len);
                assert_true(id < num);
                assert_int_equal(len, 0);
            }
        }
    }
    assert_true(broken > 500);
    assert_true(served > 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_sw_learning, sw_setup),
        cmocka_unit_test_setup(test_sw_bad_frames, sw_setup),
        cmocka_unit_test_setup(test_sw_detach, sw_setup),
        cmocka_unit_test_setup(test_sw_table_full, sw_setup),
        cmocka_unit_test_setup(test_net_identity, net_setup),
        cmocka_unit_test_setup(test_net_receive, net_setup),
        cmocka_unit_test_setup(test_net_receive_broken, net_setup),
        cmocka_unit_test_setup(test_net_transmit, net_setup),
        cmocka_unit_test_setup(test_net_transmit_broken, net_setup),
        cmocka_unit_test_setup(test_net_end_to_end, net_setup),
        cmocka_unit_test_setup(test_net_offloads, net_setup),
        cmocka_unit_test_setup(test_net_announce, net_setup),
        cmocka_unit_test_setup(test_net_no_switch, net_setup),
        cmocka_unit_test_setup(test_net_concurrent, net_setup),
        cmocka_unit_test_setup(test_net_mutation, net_setup),
        cmocka_unit_test_setup(test_net_receive_unlocked, net_setup),
        cmocka_unit_test_setup(test_net_copy_once, net_setup),
        cmocka_unit_test_setup(test_net_copy_hostile, net_setup),
        cmocka_unit_test_setup(test_net_copy_inflight, net_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
