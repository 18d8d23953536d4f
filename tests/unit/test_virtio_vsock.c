/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-vsock with Vireo's service registry (core/vsock.h): connect
 * accepted and refused, RST to a port nobody listens on, data both ways,
 * credit (the host never exceeds the guest's, resumes on CREDIT_UPDATE;
 * a guest overrunning the host's is reset; CREDIT_REQUEST answered;
 * CREDIT_UPDATE after the host reads), SHUTDOWN from either side, a full
 * table, forged and foreign addresses, other socket types, malformed
 * chains, device reset, snapshot save/load with TRANSPORT_RESET, and that
 * callbacks never run with the device's lock held. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/vsock.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_vsock.h"
#include "devices/virtqueue.h"
#include "lib/err.h"
#include "tests/unit/testutil.h"
#include "tests/unit/virtio_testlib.h"

#define CID   3
#define RXQ   VIRTIO_VSOCK_RXQ
#define TXQ   VIRTIO_VSOCK_TXQ
#define EVQ   VIRTIO_VSOCK_EVQ
#define QNUM  16
#define EVBUF (VT_RAM_BASE + 0x10000)

#define PORT_ECHO   1234 /* accepts; reads when told */
#define PORT_REFUSE 1235 /* refuses */

static struct vt_dev d;
static struct virtio_vsock vs;
static int fake_vm;

/* ---- the test service ---- */

static struct {
    unsigned accepts, readables, writables, closeds;
    struct vsock_conn *last;
    bool auto_read;  /* readable() reads everything */
    bool close_read; /* closed() checks that readable came first */
    uint8_t got[1 << 17];
    size_t got_len;
    unsigned order[256]; /* 1 accept, 2 readable, 3 writable, 4 closed */
    unsigned norder;
} svc;

static void note(unsigned what)
{
    assert_false(spin_is_locked(&vs.t.lock)); /* never under the device's lock */
    if (svc.norder < 256)
        svc.order[svc.norder++] = what;
}

static int echo_accept(struct vsock_conn *c)
{
    note(1);
    svc.accepts++;
    svc.last = c;
    assert_ptr_equal(vsock_conn_vm(c), (struct vm *)&fake_vm);
    assert_int_equal(vsock_conn_peer_cid(c), CID);
    vsock_conn_set_priv(c, &svc);
    return 0;
}

static void echo_readable(struct vsock_conn *c)
{
    note(2);
    svc.readables++;
    assert_ptr_equal(vsock_conn_priv(c), &svc);
    if (!svc.auto_read)
        return;
    size_t k;
    while ((k = vsock_conn_recv(c, svc.got + svc.got_len, sizeof(svc.got) - svc.got_len)) > 0)
        svc.got_len += k;
}

static void echo_writable(struct vsock_conn *c)
{
    (void)c;
    note(3);
    svc.writables++;
}

static void echo_closed(struct vsock_conn *c)
{
    note(4);
    svc.closeds++;
    assert_ptr_equal(vsock_conn_priv(c), &svc);
}

static int refuse_accept(struct vsock_conn *c)
{
    (void)c;
    note(1);
    return ERR_INVAL;
}

static void refuse_closed(struct vsock_conn *c)
{
    (void)c;
    fail_msg("closed() for a refused connection");
}

static const struct vsock_service echo = {
    .port = PORT_ECHO,
    .accept = echo_accept,
    .readable = echo_readable,
    .writable = echo_writable,
    .closed = echo_closed,
};

static const struct vsock_service refuse = {
    .port = PORT_REFUSE,
    .accept = refuse_accept,
    .closed = refuse_closed,
};

/* ---- the guest's side ---- */

static uint16_t rx_seen; /* used entries of rxq consumed */
static bool rx_auto;     /* repost each receive buffer as it is consumed */
static unsigned tx_slot;
static uint32_t g_buf_alloc, g_fwd_cnt; /* the guest's credit information */

static void post_rx_id(unsigned id)
{
    vt_qdesc(&d, RXQ, id, VT_BUF(16 + id), 4096, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, RXQ, (uint16_t)id);
}

static void start(void)
{
    vt_start(&d, 0, 3, QNUM);
    for (unsigned i = 0; i < 16; i++)
        post_rx_id(i);
    vt_qdesc(&d, EVQ, 0, EVBUF, 4, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, EVQ, 0);
    vt_kick(&d, EVQ);
    vt_kick(&d, RXQ);
}

static int setup(void **state)
{
    (void)state;
    vt_init(&d);
    virtio_vsock_init(&vs, &d.mem, &d.irq, CID, &vsock_host, &fake_vm);
    vt_attach(&d, &vs.t, "virtio-vsock");
    memset(&svc, 0, sizeof(svc));
    svc.auto_read = true;
    rx_seen = 0;
    rx_auto = true;
    tx_slot = 0;
    g_buf_alloc = 65536;
    g_fwd_cnt = 0;
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    assert_int_equal(vsock_listen(&echo), 0);
    assert_int_equal(vsock_listen(&refuse), 0);
    return 0;
}

static void put_hdr(uint64_t gpa, const struct virtio_vsock_hdr *h)
{
    vt_put64(&d, gpa, h->src_cid);
    vt_put64(&d, gpa + 8, h->dst_cid);
    vt_put32(&d, gpa + 16, h->src_port);
    vt_put32(&d, gpa + 20, h->dst_port);
    vt_put32(&d, gpa + 24, h->len);
    vt_put16(&d, gpa + 28, h->type);
    vt_put16(&d, gpa + 30, h->op);
    vt_put32(&d, gpa + 32, h->flags);
    vt_put32(&d, gpa + 36, h->buf_alloc);
    vt_put32(&d, gpa + 40, h->fwd_cnt);
}

static void get_hdr(uint64_t gpa, struct virtio_vsock_hdr *h)
{
    h->src_cid = vt_get32(&d, gpa) | (uint64_t)vt_get32(&d, gpa + 4) << 32;
    h->dst_cid = vt_get32(&d, gpa + 8) | (uint64_t)vt_get32(&d, gpa + 12) << 32;
    h->src_port = vt_get32(&d, gpa + 16);
    h->dst_port = vt_get32(&d, gpa + 20);
    h->len = vt_get32(&d, gpa + 24);
    h->type = vt_get16(&d, gpa + 28);
    h->op = vt_get16(&d, gpa + 30);
    h->flags = vt_get32(&d, gpa + 32);
    h->buf_alloc = vt_get32(&d, gpa + 36);
    h->fwd_cnt = vt_get32(&d, gpa + 40);
}

/* Queues a packet (header in one descriptor, payload in a second) on the
 * tx queue, without a kick.  payload_room: the second descriptor's length
 * (>= len unless a test lies). */
static void tx_raw(const struct virtio_vsock_hdr *h, const void *payload, uint32_t room)
{
    unsigned k = tx_slot++ % 8;
    uint16_t id = (uint16_t)(2 * k);

    put_hdr(VT_BUF(k), h);
    if (room) {
        memcpy(vt_at(&d, VT_BUF(8 + k)), payload, room);
        vt_qdesc(&d, TXQ, id, VT_BUF(k), VIRTIO_VSOCK_HDR_LEN, VRING_DESC_F_NEXT,
                 (uint16_t)(id + 1));
        vt_qdesc(&d, TXQ, id + 1u, VT_BUF(8 + k), room, 0, 0);
    } else {
        vt_qdesc(&d, TXQ, id, VT_BUF(k), VIRTIO_VSOCK_HDR_LEN, 0, 0);
    }
    vt_avail_add(&d, TXQ, id);
}

static struct virtio_vsock_hdr ghdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
    return (struct virtio_vsock_hdr){
        .src_cid = CID,
        .dst_cid = VIRTIO_VSOCK_HOST_CID,
        .src_port = src_port,
        .dst_port = dst_port,
        .len = len,
        .type = VIRTIO_VSOCK_TYPE_STREAM,
        .op = op,
        .buf_alloc = g_buf_alloc,
        .fwd_cnt = g_fwd_cnt,
    };
}

static void tx_pkt(uint16_t op, uint32_t src_port, uint32_t dst_port, const void *data,
                   uint32_t len, uint32_t flags)
{
    struct virtio_vsock_hdr h = ghdr(op, src_port, dst_port, len);
    h.flags = flags;
    tx_raw(&h, data, len);
    vt_kick(&d, TXQ);
}

/* The next packet the device put in the rx queue, or false. */
static bool rx_take(struct virtio_vsock_hdr *h, uint8_t *data)
{
    if (vt_used_idx(&d, RXQ) == rx_seen)
        return false;
    uint32_t id, len;
    vt_used_elem(&d, RXQ, rx_seen, &id, &len);
    rx_seen++;
    assert_true(id < 16);
    assert_true(len >= VIRTIO_VSOCK_HDR_LEN);
    get_hdr(VT_BUF(16 + id), h);
    assert_int_equal(len, VIRTIO_VSOCK_HDR_LEN + h->len);
    if (data)
        memcpy(data, vt_at(&d, VT_BUF(16 + id) + VIRTIO_VSOCK_HDR_LEN), h->len);
    if (rx_auto) {
        post_rx_id(id);
        vt_kick(&d, RXQ);
    }
    return true;
}

static void expect(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
    struct virtio_vsock_hdr h;

    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, op);
    assert_int_equal(h.src_cid, VIRTIO_VSOCK_HOST_CID);
    assert_int_equal(h.dst_cid, CID);
    assert_int_equal(h.src_port, src_port);
    assert_int_equal(h.dst_port, dst_port);
}

static void expect_none(void)
{
    struct virtio_vsock_hdr h;
    assert_false(rx_take(&h, NULL));
}

/* A connection from guest port gport to the echo service. */
static struct vsock_conn *connect_echo(uint32_t gport)
{
    unsigned before = svc.accepts;

    tx_pkt(VIRTIO_VSOCK_OP_REQUEST, gport, PORT_ECHO, NULL, 0, 0);
    assert_int_equal(svc.accepts, before + 1);
    struct virtio_vsock_hdr h;
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RESPONSE);
    assert_int_equal(h.type, VIRTIO_VSOCK_TYPE_STREAM);
    assert_int_equal(h.dst_port, gport);
    assert_int_equal(h.buf_alloc, VIRTIO_VSOCK_RX_BUF);
    assert_int_equal(vsock_conn_peer_port(svc.last), gport);
    return svc.last;
}

/* ---- tests ---- */

static void test_identity(void **s)
{
    (void)s;
    assert_int_equal(vt_rd(&d, VIRTIO_MMIO_DEVICE_ID), 19);
    assert_int_equal(vt_offered(&d),
                     (1ull << VIRTIO_VSOCK_F_STREAM) | VT_F_V1 | VT_F_INDIRECT | VT_F_EVENT);
    assert_int_equal(vt_cfg(&d, 0, 4), CID);
    assert_int_equal(vt_cfg(&d, 4, 4), 0);
    assert_int_equal(vt_cfg(&d, 0, 1), CID);
    for (unsigned q = 0; q < 4; q++) {
        vt_wr(&d, VIRTIO_MMIO_QUEUE_SEL, q);
        assert_int_equal(vt_rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX), q < 3 ? VIRTIO_VSOCK_QUEUE_MAX : 0);
    }
    /* SEQPACKET is not offered. */
    assert_false(vt_negotiate(&d, VT_F_V1 | 2) & VIRTIO_STATUS_FEATURES_OK);
    /* The registry: one service per port. */
    static const struct vsock_service dup = {
        .port = PORT_ECHO, .accept = echo_accept, .closed = echo_closed};
    assert_int_equal(vsock_listen(&dup), ERR_EXIST);
    static const struct vsock_service bad = {.port = 9};
    assert_int_equal(vsock_listen(&bad), ERR_INVAL);
}

static void test_connect(void **s)
{
    (void)s;
    start();
    struct vsock_conn *c = connect_echo(5000);
    assert_int_equal(vsock_conn_local_port(c), PORT_ECHO);
    /* Refused by the service: RST, and nothing else called. */
    tx_pkt(VIRTIO_VSOCK_OP_REQUEST, 5001, PORT_REFUSE, NULL, 0, 0);
    expect(VIRTIO_VSOCK_OP_RST, PORT_REFUSE, 5001);
    /* Nobody listens. */
    tx_pkt(VIRTIO_VSOCK_OP_REQUEST, 5002, 7777, NULL, 0, 0);
    expect(VIRTIO_VSOCK_OP_RST, 7777, 5002);
    /* An RST for nothing is not answered; other ops for nothing are. */
    tx_pkt(VIRTIO_VSOCK_OP_RST, 5003, 7777, NULL, 0, 0);
    expect_none();
    tx_pkt(VIRTIO_VSOCK_OP_RW, 5003, 7777, "x", 1, 0);
    expect(VIRTIO_VSOCK_OP_RST, 7777, 5003);
    assert_int_equal(svc.closeds, 0);
    vt_assert_healthy(&d);
}

static void test_data(void **s)
{
    (void)s;
    start();
    struct vsock_conn *c = connect_echo(5000);
    tx_pkt(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, "hello", 5, 0);
    assert_int_equal(svc.readables, 1);
    assert_int_equal(svc.got_len, 5);
    assert_memory_equal(svc.got, "hello", 5);
    assert_int_equal(vsock_conn_send(c, "world!", 6), 6);
    struct virtio_vsock_hdr h;
    uint8_t data[4096];
    assert_true(rx_take(&h, data));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_int_equal(h.len, 6);
    assert_int_equal(h.fwd_cnt, 5);
    assert_memory_equal(data, "world!", 6);
    /* A big send goes in pieces no larger than a receive buffer. */
    static uint8_t big[20000];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    assert_int_equal(vsock_conn_send(c, big, sizeof(big)), sizeof(big));
    size_t got = 0;
    while (rx_take(&h, data)) {
        assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
        assert_true(h.len <= 4096 - VIRTIO_VSOCK_HDR_LEN);
        assert_memory_equal(data, big + got, h.len);
        got += h.len;
    }
    assert_int_equal(got, sizeof(big));
    /* Header split over three descriptors, payload in a fourth. */
    struct virtio_vsock_hdr g = ghdr(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, 3);
    put_hdr(VT_BUF(0), &g);
    memcpy(vt_at(&d, VT_BUF(0) + 100), "abc", 3);
    vt_qdesc(&d, TXQ, 0, VT_BUF(0), 10, VRING_DESC_F_NEXT, 1);
    vt_qdesc(&d, TXQ, 1, VT_BUF(0) + 10, 30, VRING_DESC_F_NEXT, 2);
    vt_qdesc(&d, TXQ, 2, VT_BUF(0) + 40, 4, VRING_DESC_F_NEXT, 3);
    vt_qdesc(&d, TXQ, 3, VT_BUF(0) + 100, 3, 0, 0);
    vt_avail_add(&d, TXQ, 0);
    vt_kick(&d, TXQ);
    assert_int_equal(svc.got_len, 8);
    assert_memory_equal(svc.got + 5, "abc", 3);
    vt_assert_healthy(&d);
    assert_int_equal(svc.closeds, 0);
}

static void test_host_credit(void **s)
{
    (void)s;
    g_buf_alloc = 100;
    start();
    struct vsock_conn *c = connect_echo(5000);
    static uint8_t bytes[40000];
    memset(bytes, 'b', sizeof(bytes));
    assert_int_equal(vsock_conn_send(c, bytes, 300), 300);
    struct virtio_vsock_hdr h;
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_int_equal(h.len, 100); /* the guest's whole credit, no more */
    expect_none();
    /* The guest consumed 60: 60 more. */
    g_fwd_cnt = 60;
    tx_pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, PORT_ECHO, NULL, 0, 0);
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.len, 60);
    expect_none();
    /* A bigger buffer: the rest. */
    g_buf_alloc = 1000;
    tx_pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, PORT_ECHO, NULL, 0, 0);
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.len, 140);
    expect_none();
    /* A guest whose numbers do not add up (buf_alloc shrunk below what is
     * in flight) gets nothing, and nothing breaks. */
    g_buf_alloc = 10;
    tx_pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, PORT_ECHO, NULL, 0, 0);
    assert_int_equal(vsock_conn_send(c, bytes, 10), 10);
    expect_none();
    /* The tx buffer fills: send takes what fits; writable() once it drains. */
    size_t k = vsock_conn_send(c, bytes, sizeof(bytes));
    assert_int_equal(k, VIRTIO_VSOCK_TX_BUF - 10);
    assert_int_equal(vsock_conn_send(c, bytes, 1), 0);
    assert_int_equal(svc.writables, 0);
    g_buf_alloc = 1 << 20;
    g_fwd_cnt = 300;
    tx_pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, PORT_ECHO, NULL, 0, 0);
    assert_true(svc.writables >= 1);
    size_t got = 0;
    while (rx_take(&h, NULL))
        got += h.len;
    assert_int_equal(got, VIRTIO_VSOCK_TX_BUF);
    assert_int_equal(svc.closeds, 0);
}

static void test_guest_overrun(void **s)
{
    (void)s;
    start();
    svc.auto_read = false;
    connect_echo(5000);
    static uint8_t chunk[4096];
    memset(chunk, 'g', sizeof(chunk));
    for (unsigned i = 0; i < VIRTIO_VSOCK_RX_BUF / sizeof(chunk); i++)
        tx_pkt(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, chunk, sizeof(chunk), 0);
    expect_none(); /* exactly the credit: fine */
    assert_int_equal(svc.closeds, 0);
    tx_pkt(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, chunk, 1, 0);
    expect(VIRTIO_VSOCK_OP_RST, PORT_ECHO, 5000);
    assert_int_equal(svc.closeds, 1);
    /* The last word was closed(), after the readables. */
    assert_int_equal(svc.order[svc.norder - 1], 4);
    vt_assert_healthy(&d);
}

static void test_credit_request_and_update(void **s)
{
    (void)s;
    start();
    svc.auto_read = false;
    struct vsock_conn *c = connect_echo(5000);
    static uint8_t chunk[4000];
    /* Just over a quarter of the receive buffer. */
    const unsigned n = VIRTIO_VSOCK_RX_BUF / 4 / sizeof(chunk) + 1;
    memset(chunk, 'c', sizeof(chunk));
    for (unsigned i = 0; i < n; i++)
        tx_pkt(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, chunk, sizeof(chunk), 0);
    tx_pkt(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 5000, PORT_ECHO, NULL, 0, 0);
    struct virtio_vsock_hdr h;
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
    assert_int_equal(h.buf_alloc, VIRTIO_VSOCK_RX_BUF);
    assert_int_equal(h.fwd_cnt, 0);
    /* Reading a little says nothing; a quarter of the buffer does. */
    static uint8_t buf[VIRTIO_VSOCK_RX_BUF];
    assert_int_equal(vsock_conn_recv(c, buf, 1000), 1000);
    expect_none();
    assert_int_equal(vsock_conn_recv(c, buf, sizeof(buf)), n * sizeof(chunk) - 1000);
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
    assert_int_equal(h.fwd_cnt, n * sizeof(chunk));
    assert_int_equal(vsock_conn_recv(c, buf, sizeof(buf)), 0);
}

static void test_shutdown(void **s)
{
    (void)s;
    start();
    svc.auto_read = false;
    struct vsock_conn *c = connect_echo(5000);
    /* SEND only: end of stream once read, the connection stays. */
    tx_pkt(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, "last", 4, 0);
    tx_pkt(VIRTIO_VSOCK_OP_SHUTDOWN, 5000, PORT_ECHO, NULL, 0, VIRTIO_VSOCK_SHUTDOWN_SEND);
    assert_false(vsock_conn_eof(c));
    uint8_t buf[8];
    assert_int_equal(vsock_conn_recv(c, buf, sizeof(buf)), 4);
    assert_true(vsock_conn_eof(c));
    assert_int_equal(vsock_conn_send(c, "reply", 5), 5);
    struct virtio_vsock_hdr h;
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_int_equal(svc.closeds, 0);
    /* Both: RST, and the service hears readable (bytes left) then closed. */
    svc.auto_read = true;
    struct vsock_conn *c2 = connect_echo(5001);
    (void)c2;
    svc.auto_read = false;
    tx_pkt(VIRTIO_VSOCK_OP_RW, 5001, PORT_ECHO, "tail", 4, 0);
    svc.auto_read = true;
    svc.norder = 0;
    tx_pkt(VIRTIO_VSOCK_OP_SHUTDOWN, 5001, PORT_ECHO, NULL, 0,
           VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
    expect(VIRTIO_VSOCK_OP_RST, PORT_ECHO, 5001);
    assert_int_equal(svc.closeds, 1);
    assert_int_equal(svc.norder, 2);
    assert_int_equal(svc.order[0], 2);
    assert_int_equal(svc.order[1], 4);
    assert_memory_equal(svc.got + svc.got_len - 4, "tail", 4);
    /* From the host's side: queued bytes, then SHUTDOWN; the guest's RST
     * brings closed(). */
    struct vsock_conn *c3 = connect_echo(5002);
    assert_int_equal(vsock_conn_send(c3, "bye", 3), 3);
    vsock_conn_close(c3);
    assert_int_equal(vsock_conn_send(c3, "more", 4), 0);
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_SHUTDOWN);
    assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
    assert_int_equal(svc.closeds, 1);
    tx_pkt(VIRTIO_VSOCK_OP_RST, 5002, PORT_ECHO, NULL, 0, 0);
    assert_int_equal(svc.closeds, 2);
    expect_none();
    /* A plain RST from the guest ends the first connection. */
    tx_pkt(VIRTIO_VSOCK_OP_RST, 5000, PORT_ECHO, NULL, 0, 0);
    assert_int_equal(svc.closeds, 3);
    expect_none();
}

static void test_table_full(void **s)
{
    (void)s;
    start();
    for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS; i++)
        connect_echo(6000 + i);
    tx_pkt(VIRTIO_VSOCK_OP_REQUEST, 7000, PORT_ECHO, NULL, 0, 0);
    expect(VIRTIO_VSOCK_OP_RST, PORT_ECHO, 7000);
    assert_int_equal(svc.accepts, VIRTIO_VSOCK_CONNS);
    /* One ends: room again. */
    tx_pkt(VIRTIO_VSOCK_OP_RST, 6003, PORT_ECHO, NULL, 0, 0);
    assert_int_equal(svc.closeds, 1);
    connect_echo(7000);
    /* A duplicate REQUEST for a live connection resets it. */
    tx_pkt(VIRTIO_VSOCK_OP_REQUEST, 7000, PORT_ECHO, NULL, 0, 0);
    expect(VIRTIO_VSOCK_OP_RST, PORT_ECHO, 7000);
    assert_int_equal(svc.closeds, 2);
}

static void test_addresses_and_types(void **s)
{
    (void)s;
    start();
    connect_echo(5000);
    /* A forged source: dropped, no answer. */
    struct virtio_vsock_hdr h = ghdr(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, 1);
    h.src_cid = CID + 1;
    tx_raw(&h, "x", 1);
    h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 5001, PORT_ECHO, 0);
    h.src_cid = CID | 1ull << 32; /* the upper half must be zero too */
    tx_raw(&h, NULL, 0);
    vt_kick(&d, TXQ);
    expect_none();
    assert_int_equal(svc.got_len, 0);
    assert_int_equal(vs.stats.dropped, 2);
    /* Another destination than the host: RST from that address. */
    h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 5001, PORT_ECHO, 0);
    h.dst_cid = 5;
    tx_raw(&h, NULL, 0);
    vt_kick(&d, TXQ);
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
    assert_int_equal(h.src_cid, 5);
    assert_int_equal(h.dst_port, 5001);
    /* SEQPACKET or an unknown type: RST, the stream connection untouched. */
    h = ghdr(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, 1);
    h.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
    tx_raw(&h, "s", 1);
    vt_kick(&d, TXQ);
    assert_true(rx_take(&h, NULL));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RST);
    assert_int_equal(h.type, VIRTIO_VSOCK_TYPE_SEQPACKET);
    h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 5002, PORT_ECHO, 0);
    h.type = 77;
    tx_raw(&h, NULL, 0);
    vt_kick(&d, TXQ);
    expect(VIRTIO_VSOCK_OP_RST, PORT_ECHO, 5002);
    assert_int_equal(svc.accepts, 1);
    assert_int_equal(svc.closeds, 0);
    tx_pkt(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, "ok", 2, 0);
    assert_int_equal(svc.got_len, 2);
    /* Unknown op for a connection: reset. */
    tx_pkt(99, 5000, PORT_ECHO, NULL, 0, 0);
    expect(VIRTIO_VSOCK_OP_RST, PORT_ECHO, 5000);
    assert_int_equal(svc.closeds, 1);
    vt_assert_healthy(&d);
}

static void test_malformed(void **s)
{
    (void)s;
    start();
    connect_echo(5000);
    /* Shorter than a header: dropped, completed. */
    vt_qdesc(&d, TXQ, 0, VT_BUF(0), 20, 0, 0);
    vt_avail_add(&d, TXQ, 0);
    vt_kick(&d, TXQ);
    assert_int_equal(vt_used_idx(&d, TXQ), 2);
    expect_none();
    /* len larger than what follows: dropped, and the connection it names
     * is reset (its stream would have a hole). */
    struct virtio_vsock_hdr h = ghdr(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, 500);
    tx_raw(&h, "short", 5);
    vt_kick(&d, TXQ);
    expect(VIRTIO_VSOCK_OP_RST, PORT_ECHO, 5000);
    assert_int_equal(svc.closeds, 1);
    assert_int_equal(svc.got_len, 0);
    /* len above the packet cap for nothing: dropped quietly. */
    h = ghdr(VIRTIO_VSOCK_OP_RW, 5001, PORT_ECHO, 0xffffffff);
    tx_raw(&h, "x", 1);
    vt_kick(&d, TXQ);
    expect_none();
    vt_assert_healthy(&d);
    /* A receive buffer the device may not write: NEEDS_RESET when the
     * RESPONSE goes there. */
    setup(NULL);
    vt_start(&d, 0, 3, QNUM);
    vt_qdesc(&d, RXQ, 0, VT_BUF(16), 4096, 0, 0);
    vt_avail_add(&d, RXQ, 0);
    vt_kick(&d, RXQ);
    tx_pkt(VIRTIO_VSOCK_OP_REQUEST, 5002, PORT_ECHO, NULL, 0, 0);
    assert_int_equal(svc.accepts, 1);
    vt_assert_needs_reset(&d);
    /* A receive chain too short for a header: given back unused. */
    setup(NULL);
    vt_start(&d, 0, 3, QNUM);
    vt_qdesc(&d, RXQ, 0, VT_BUF(16), 20, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, RXQ, 0);
    vt_kick(&d, RXQ);
    tx_pkt(VIRTIO_VSOCK_OP_REQUEST, 5002, PORT_ECHO, NULL, 0, 0);
    assert_int_equal(vt_used_idx(&d, RXQ), 1);
    uint32_t id, len;
    vt_used_elem(&d, RXQ, 0, &id, &len);
    assert_int_equal(len, 0);
    vt_assert_healthy(&d);
    /* The RESPONSE waits for a proper buffer. */
    post_rx_id(1);
    vt_kick(&d, RXQ);
    rx_seen = 1;
    expect(VIRTIO_VSOCK_OP_RESPONSE, PORT_ECHO, 5002);
}

static void test_malformed_tx(void **s)
{
    (void)s;
    start();
    /* A writable buffer in a transmit chain: NEEDS_RESET. */
    vt_qdesc(&d, TXQ, 0, VT_BUF(0), 64, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, TXQ, 0);
    vt_kick(&d, TXQ);
    vt_assert_needs_reset(&d);
    /* A payload outside guest RAM: NEEDS_RESET too. */
    setup(NULL);
    start();
    connect_echo(5000);
    struct virtio_vsock_hdr h = ghdr(VIRTIO_VSOCK_OP_RW, 5000, PORT_ECHO, 16);
    put_hdr(VT_BUF(0), &h);
    vt_qdesc(&d, TXQ, 0, VT_BUF(0), VIRTIO_VSOCK_HDR_LEN, VRING_DESC_F_NEXT, 1);
    vt_qdesc(&d, TXQ, 1, VT_RAM_BASE + VT_RAM_SIZE - 8, 16, 0, 0);
    vt_avail_add(&d, TXQ, 0);
    vt_kick(&d, TXQ);
    vt_assert_needs_reset(&d);
    assert_int_equal(svc.got_len, 0);
    /* The driver resets: the connection ends, the service hears it. */
    vt_wr(&d, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(svc.closeds, 1);
}

static void test_reset_closes(void **s)
{
    (void)s;
    start();
    connect_echo(5000);
    connect_echo(5001);
    svc.norder = 0;
    vt_wr(&d, VIRTIO_MMIO_STATUS, 0);
    assert_int_equal(svc.closeds, 2);
    /* Up again: a new connection works. */
    rx_seen = 0;
    start();
    connect_echo(5000);
    /* The VM goes away: closed() for what is left. */
    virtio_vsock_detach(&vs);
    assert_int_equal(svc.closeds, 3);
}

static void test_snapshot(void **s)
{
    (void)s;
    start();
    uint8_t buf[4096];
    long n = virtio_vsock_save(&vs, buf, sizeof(buf));
    assert_true(n > 0);
    connect_echo(5000);
    /* Held (a restore in progress): the event waits for the release. */
    virtio_vsock_hold(&vs, true);
    assert_int_equal(virtio_vsock_load(&vs, buf, (size_t)n), 0);
    assert_int_equal(svc.closeds, 1);
    assert_int_equal(vt_used_idx(&d, EVQ), 0);
    virtio_vsock_hold(&vs, false);
    assert_int_equal(vt_used_idx(&d, EVQ), 1);
    uint32_t id, len;
    vt_used_elem(&d, EVQ, 0, &id, &len);
    assert_int_equal(len, 4);
    assert_int_equal(vt_get32(&d, EVBUF), VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
    /* This test's guest RAM did not go back with the device (a restore
     * puts both back): start the driver again to use it. */
    vt_wr(&d, VIRTIO_MMIO_STATUS, 0);
    rx_seen = 0;
    start();
    connect_echo(5000);
    assert_int_equal(svc.closeds, 1);
    /* A refused payload changes nothing. */
    assert_int_equal(virtio_vsock_load(&vs, buf, (size_t)n - 1), ERR_TRUNCATED);
    static struct virtio_vsock other;
    virtio_vsock_init(&other, &d.mem, NULL, CID + 1, &vsock_host, &fake_vm);
    uint8_t buf2[4096];
    long n2 = virtio_vsock_save(&other, buf2, sizeof(buf2));
    assert_true(n2 > 0);
    assert_int_equal(virtio_vsock_load(&vs, buf2, (size_t)n2), ERR_MISMATCH);
    assert_int_equal(svc.closeds, 1);
    assert_int_equal(virtio_vsock_load(&vs, buf2, 0), ERR_TRUNCATED);
    /* Loaded again, not held: the connection ends and the event goes out
     * at once (into the snapshot's posted event buffer). */
    assert_int_equal(virtio_vsock_load(&vs, buf, (size_t)n), 0);
    assert_int_equal(svc.closeds, 2);
    assert_false(vs.event_pending);
    assert_int_equal(vt_used_idx(&d, EVQ), 1);
    /* An event still waiting is saved as such. */
    virtio_vsock_hold(&vs, true);
    assert_int_equal(virtio_vsock_load(&vs, buf, (size_t)n), 0);
    uint8_t buf3[4096];
    long n3 = virtio_vsock_save(&vs, buf3, sizeof(buf3));
    assert_int_equal(n3, n);
    assert_int_equal(buf3[n3 - 1], 1);
    assert_int_equal(buf[n - 1], 0);
    virtio_vsock_hold(&vs, false);
    assert_false(vs.event_pending);
}

/* No receive buffers: RSTs queue up to the limit, then the tx queue waits
 * (chains left in the ring) until buffers come; nothing is lost. */
static void test_rst_backpressure(void **s)
{
    (void)s;
    vt_start(&d, 0, 3, QNUM);
    for (unsigned batch = 0; batch < 2; batch++) {
        for (unsigned i = 0; i < 8; i++) {
            struct virtio_vsock_hdr h = ghdr(VIRTIO_VSOCK_OP_REQUEST, 100 + 8 * batch + i, 9999, 0);
            tx_raw(&h, NULL, 0);
        }
        vt_kick(&d, TXQ);
    }
    assert_int_equal(vt_used_idx(&d, TXQ), VIRTIO_VSOCK_RST_QUEUE - 1);
    assert_int_equal(vs.rst_count, VIRTIO_VSOCK_RST_QUEUE - 1);
    for (unsigned i = 0; i < 16; i++)
        post_rx_id(i);
    vt_kick(&d, RXQ);
    assert_int_equal(vt_used_idx(&d, TXQ), 16);
    for (unsigned i = 0; i < 16; i++)
        expect(VIRTIO_VSOCK_OP_RST, 9999, 100 + i);
    expect_none();
    assert_int_equal(vs.stats.dropped, 0);
}

/* The service sees nothing under the lock and closed() comes exactly once
 * per accepted connection, whatever a hostile guest sends. */
static void test_mutation(void **s)
{
    (void)s;
    rng_state = 0x5eed5eedull;
    for (unsigned iter = 0; iter < 3000; iter++) {
        setup(NULL);
        start();
        rx_auto = false;
        for (unsigned k = 0; k < 6; k++) {
            struct virtio_vsock_hdr h =
                ghdr((uint16_t)(rng() % 9), 5000 + (uint32_t)(rng() % 3),
                     rng() % 4 ? PORT_ECHO : PORT_REFUSE, (uint32_t)(rng() % 64));
            if (rng() % 8 == 0)
                h.len = (uint32_t)rng();
            h.flags = (uint32_t)(rng() % 4);
            h.buf_alloc = (uint32_t)rng();
            h.fwd_cnt = (uint32_t)rng();
            static uint8_t junk[64];
            tx_raw(&h, junk, (uint32_t)(rng() % 65));
            if (rng() % 3 == 0)
                vt_mutate(&d, TXQ, rng);
            vt_kick(&d, TXQ);
            if (svc.last && rng() % 2)
                vsock_conn_send(svc.last, junk, rng() % 64);
        }
        virtio_vsock_detach(&vs);
        assert_int_equal(svc.closeds, svc.accepts);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identity, setup),
        cmocka_unit_test_setup(test_connect, setup),
        cmocka_unit_test_setup(test_data, setup),
        cmocka_unit_test_setup(test_host_credit, setup),
        cmocka_unit_test_setup(test_guest_overrun, setup),
        cmocka_unit_test_setup(test_credit_request_and_update, setup),
        cmocka_unit_test_setup(test_shutdown, setup),
        cmocka_unit_test_setup(test_table_full, setup),
        cmocka_unit_test_setup(test_addresses_and_types, setup),
        cmocka_unit_test_setup(test_malformed, setup),
        cmocka_unit_test_setup(test_malformed_tx, setup),
        cmocka_unit_test_setup(test_reset_closes, setup),
        cmocka_unit_test_setup(test_snapshot, setup),
        cmocka_unit_test_setup(test_rst_backpressure, setup),
        cmocka_unit_test_setup(test_mutation, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
