/* SPDX-License-Identifier: Apache-2.0 */
/* virtio socket device (see virtio_vsock.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_vsock.h"
#include "devices/virtqueue.h"
#include "lib/err.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/wire.h"

enum vv_state {
    VV_FREE,
    VV_CONNECTING,  /* REQUEST seen, accept not yet answered */
    VV_ESTABLISHED, /* RESPONSE queued or sent */
    VV_CLOSING,     /* the host closed and SHUTDOWN went out: waiting for the guest's RST */
    VV_DEAD,        /* over: waiting for closed() (or a callback in flight) */
};

/* Events for the host (struct vsock_conn.events). */
#define EV_ACCEPT   1
#define EV_READABLE 2
#define EV_WRITABLE 4
#define EV_CLOSED   8

/* Control packets a connection owes the guest (struct vsock_conn.ctl). */
#define CTL_RESPONSE 1
#define CTL_CREDIT   2

/* ---- headers and chains ---- */

static void hdr_decode(const uint8_t *b, struct virtio_vsock_hdr *h)
{
    struct wire_in r = wire_in(b, VIRTIO_VSOCK_HDR_LEN);

    h->src_cid = wire_get_u64(&r);
    h->dst_cid = wire_get_u64(&r);
    h->src_port = wire_get_u32(&r);
    h->dst_port = wire_get_u32(&r);
    h->len = wire_get_u32(&r);
    h->type = wire_get_u16(&r);
    h->op = wire_get_u16(&r);
    h->flags = wire_get_u32(&r);
    h->buf_alloc = wire_get_u32(&r);
    h->fwd_cnt = wire_get_u32(&r);
}

static void hdr_encode(const struct virtio_vsock_hdr *h, uint8_t *b)
{
    struct wire w = wire_out(b, VIRTIO_VSOCK_HDR_LEN);

    wire_put_u64(&w, h->src_cid);
    wire_put_u64(&w, h->dst_cid);
    wire_put_u32(&w, h->src_port);
    wire_put_u32(&w, h->dst_port);
    wire_put_u32(&w, h->len);
    wire_put_u16(&w, h->type);
    wire_put_u16(&w, h->op);
    wire_put_u32(&w, h->flags);
    wire_put_u32(&w, h->buf_alloc);
    wire_put_u32(&w, h->fwd_cnt);
}

/* Copies len bytes at byte offset off of a chain (its buffers in order)
 * to or from p.  The caller checked that off + len fits.  0 or ERR_RANGE
 * (guest memory refused). */
static int chain_copy(struct virtio_vsock *v, const struct vq_buf *bufs, unsigned n, uint64_t off,
                      void *p, size_t len, bool to_guest)
{
    uint8_t *q = p;

    for (unsigned i = 0; i < n && len; i++) {
        if (off >= bufs[i].len) {
            off -= bufs[i].len;
            continue;
        }
        uint64_t room = bufs[i].len - off;
        size_t k = len < room ? len : (size_t)room;
        int r = to_guest ? v->t.mem.write(v->t.mem.ctx, bufs[i].addr + off, q, k)
                         : v->t.mem.read(v->t.mem.ctx, bufs[i].addr + off, q, k);
        if (r != 0)
            return ERR_RANGE;
        off = 0;
        q += k;
        len -= k;
    }
    return 0;
}

/* ---- connections (all under the transport lock) ---- */

static uint32_t conn_credit(const struct vsock_conn *c)
{
    /* Unsigned wrap-around is the spec's arithmetic; a guest whose numbers
     * do not add up (in flight above buf_alloc) gets no credit. */
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

    return in_flight > c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void conn_free(struct vsock_conn *c)
{
    struct virtio_vsock *v = c->dev;

    /* The buffers need no clearing: their lengths say what is valid. */
    memset(c, 0, offsetof(struct vsock_conn, rx));
    c->dev = v;
}

static void rst_queue(struct virtio_vsock *v, uint64_t src_cid, uint32_t src_port, uint64_t dst_cid,
                      uint32_t dst_port, uint16_t type)
{
    if (v->rst_count == VIRTIO_VSOCK_RST_QUEUE) {
        v->stats.dropped++; /* cannot happen: vv_tx waits while it could fill up */
        return;
    }
    struct virtio_vsock_hdr *h = &v->rst[(v->rst_head + v->rst_count) % VIRTIO_VSOCK_RST_QUEUE];
    *h = (struct virtio_vsock_hdr){
        .src_cid = src_cid,
        .dst_cid = dst_cid,
        .src_port = src_port,
        .dst_port = dst_port,
        .type = type,
        .op = VIRTIO_VSOCK_OP_RST,
    };
    v->rst_count++;
}

/* The answer to a packet that has no connection: addresses swapped. */
static void rst_reply(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
    if (h->op != VIRTIO_VSOCK_OP_RST) /* never answer an RST */
        rst_queue(v, h->dst_cid, h->dst_port, h->src_cid, h->src_port, h->type);
}

/* The connection is over (rst: tell the guest).  The host gets closed()
 * if it accepted it, or if an accept is in flight (which sorts it out). */
static void conn_end(struct virtio_vsock *v, struct vsock_conn *c, bool rst)
{
    if (c->state == VV_FREE || c->state == VV_DEAD)
        return;
    if (rst)
        rst_queue(v, VIRTIO_VSOCK_HOST_CID, c->local_port, v->cid, c->peer_port,
                  VIRTIO_VSOCK_TYPE_STREAM);
    if (!c->owned && !c->busy) {
        conn_free(c);
        return;
    }
    c->state = VV_DEAD;
    c->ctl = 0;
    c->tx_len = 0;
    c->want_writable = false;
    /* A last readable() for what is still buffered, then closed(). */
    c->events = (uint8_t)((c->rx_len ? EV_READABLE : 0) | EV_CLOSED);
}

static void conn_reset(struct virtio_vsock *v, struct vsock_conn *c)
{
    conn_end(v, c, true);
}

static void conns_end_all(struct virtio_vsock *v)
{
    for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS; i++)
        conn_end(v, &v->conns[i], false);
    v->rst_count = 0;
    v->rst_head = 0;
}

/* A live connection (not free, not over) for the guest's port pair. */
static struct vsock_conn *conn_find(struct virtio_vsock *v, uint32_t peer_port, uint32_t local_port)
{
    for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS; i++) {
        struct vsock_conn *c = &v->conns[i];
        if (c->state != VV_FREE && c->state != VV_DEAD && c->peer_port == peer_port &&
            c->local_port == local_port)
            return c;
    }
    return NULL;
}

/* ---- to the guest: the rx queue ---- */

/* Pops a receive chain with room for a header into v->rx_bufs.  Returns
 * the head and its room, or ERR_AGAIN (none: the caller stops) or
 * ERR_BROKEN (now NEEDS_RESET). */
static int rx_chain(struct virtio_vsock *v, unsigned *count, uint64_t *room, bool *pushed)
{
    for (;;) {
        int head =
            virtio_mmio_pop(&v->t, VIRTIO_VSOCK_RXQ, v->rx_bufs, VIRTIO_VSOCK_QUEUE_MAX, count);
        if (head < 0)
            return head;
        *room = 0;
        for (unsigned i = 0; i < *count; i++) {
            if (!v->rx_bufs[i].write) {
                virtio_mmio_needs_reset(&v->t); /* receive buffers are device-writable */
                return ERR_BROKEN;
            }
            *room += v->rx_bufs[i].len;
        }
        if (*room >= VIRTIO_VSOCK_HDR_LEN)
            return head;
        /* No room for a header: back unused, as virtio-net does. */
        if (virtio_mmio_push(&v->t, VIRTIO_VSOCK_RXQ, (uint16_t)head, 0) != 0)
            return ERR_BROKEN;
        *pushed = true;
    }
}

/* Sends one packet: h, then len bytes of c's tx ring (c NULL: none).
 * 0, ERR_AGAIN (no receive chain) or ERR_BROKEN. */
static int rx_send(struct virtio_vsock *v, struct virtio_vsock_hdr *h, struct vsock_conn *c,
                   uint32_t want, bool *pushed)
{
    unsigned count;
    uint64_t room;
    int head = rx_chain(v, &count, &room, pushed);

    if (head < 0)
        return head;
    uint32_t len = want;
    if (len > room - VIRTIO_VSOCK_HDR_LEN)
        len = (uint32_t)(room - VIRTIO_VSOCK_HDR_LEN);
    h->len = len;
    uint8_t b[VIRTIO_VSOCK_HDR_LEN];
    hdr_encode(h, b);
    int r = chain_copy(v, v->rx_bufs, count, 0, b, sizeof(b), true);
    if (r == 0 && len) {
        /* The tx ring in at most two pieces. */
        uint32_t first = VIRTIO_VSOCK_TX_BUF - c->tx_head;
        if (first > len)
            first = len;
        r = chain_copy(v, v->rx_bufs, count, VIRTIO_VSOCK_HDR_LEN, c->tx + c->tx_head, first, true);
        if (r == 0 && len > first)
            r = chain_copy(v, v->rx_bufs, count, VIRTIO_VSOCK_HDR_LEN + first, c->tx, len - first,
                           true);
    }
    if (r != 0) {
        virtio_mmio_needs_reset(&v->t); /* a buffer outside guest RAM */
        return ERR_BROKEN;
    }
    if (virtio_mmio_push(&v->t, VIRTIO_VSOCK_RXQ, (uint16_t)head, VIRTIO_VSOCK_HDR_LEN + len) != 0)
        return ERR_BROKEN;
    *pushed = true;
    v->stats.rx_packets++;
    v->stats.rx_bytes += len;
    if (h->op == VIRTIO_VSOCK_OP_RST)
        v->stats.resets++;
    return (int)len;
}

/* What c owes the guest, as far as chains go.  0 when done with c, or
 * ERR_AGAIN / ERR_BROKEN to stop. */
static int conn_flush(struct virtio_vsock *v, struct vsock_conn *c, bool *pushed)
{
    if (c->state != VV_ESTABLISHED)
        return 0; /* CLOSING owes nothing; DEAD's RST is in the queue */
    for (;;) {
        struct virtio_vsock_hdr h = {
            .src_cid = VIRTIO_VSOCK_HOST_CID,
            .dst_cid = c->dev->cid,
            .src_port = c->local_port,
            .dst_port = c->peer_port,
            .type = VIRTIO_VSOCK_TYPE_STREAM,
            .buf_alloc = VIRTIO_VSOCK_RX_BUF,
            .fwd_cnt = c->fwd_cnt,
        };
        uint32_t want = 0;
        uint32_t credit = conn_credit(c);

        if (c->ctl & CTL_RESPONSE) {
            h.op = VIRTIO_VSOCK_OP_RESPONSE;
        } else if (c->tx_len && credit) {
            h.op = VIRTIO_VSOCK_OP_RW;
            want = c->tx_len < credit ? c->tx_len : credit;
            if (want > VIRTIO_VSOCK_MAX_PKT)
                want = VIRTIO_VSOCK_MAX_PKT;
        } else if (c->ctl & CTL_CREDIT) {
            h.op = VIRTIO_VSOCK_OP_CREDIT_UPDATE;
        } else if (c->close_wanted && !c->tx_len) {
            h.op = VIRTIO_VSOCK_OP_SHUTDOWN;
            h.flags = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
        } else {
            return 0;
        }
        int r = rx_send(v, &h, h.op == VIRTIO_VSOCK_OP_RW ? c : NULL, want, pushed);
        if (r < 0)
            return r;
        /* Every header carries fwd_cnt: the guest has the news. */
        c->fwd_cnt_sent = c->fwd_cnt;
        c->ctl &= (uint8_t)~CTL_CREDIT;
        if (h.op == VIRTIO_VSOCK_OP_RESPONSE) {
            c->ctl &= (uint8_t)~CTL_RESPONSE;
        } else if (h.op == VIRTIO_VSOCK_OP_RW) {
            c->tx_head = (c->tx_head + (uint32_t)r) % VIRTIO_VSOCK_TX_BUF;
            c->tx_len -= (uint32_t)r;
            c->tx_cnt += (uint32_t)r;
            if (r && c->want_writable) {
                c->want_writable = false;
                c->events |= EV_WRITABLE;
            }
        } else if (h.op == VIRTIO_VSOCK_OP_SHUTDOWN) {
            c->state = VV_CLOSING;
            return 0;
        }
    }
}

/* Everything the device owes the guest, as far as its buffers go: the
 * event, RSTs, then each connection's packets (starting one further on
 * each time, so one busy connection cannot starve the rest). */
static void vv_flush(struct virtio_vsock *v)
{
    bool pushed = false;

    if (v->held)
        return;
    if (v->event_pending) {
        unsigned count;
        int head =
            virtio_mmio_pop(&v->t, VIRTIO_VSOCK_EVQ, v->rx_bufs, VIRTIO_VSOCK_QUEUE_MAX, &count);
        if (head >= 0) {
            uint8_t ev[4] = {VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, 0, 0, 0};
            uint32_t written = 0;
            if (count && !v->rx_bufs[0].write) {
                virtio_mmio_needs_reset(&v->t); /* event buffers are device-writable */
                return;
            }
            if (count && v->rx_bufs[0].len >= sizeof(ev)) {
                if (chain_copy(v, v->rx_bufs, 1, 0, ev, sizeof(ev), true) != 0) {
                    virtio_mmio_needs_reset(&v->t);
                    return;
                }
                written = sizeof(ev);
                v->event_pending = false;
            }
            /* A buffer too small for the event is given back empty; the
             * event waits for the next one. */
            if (virtio_mmio_push(&v->t, VIRTIO_VSOCK_EVQ, (uint16_t)head, written) != 0)
                return;
            virtio_mmio_used(&v->t, VIRTIO_VSOCK_EVQ);
        }
    }
    int r = 0;
    while (v->rst_count) {
        r = rx_send(v, &v->rst[v->rst_head], NULL, 0, &pushed);
        if (r < 0)
            break;
        v->rst_head = (v->rst_head + 1) % VIRTIO_VSOCK_RST_QUEUE;
        v->rst_count--;
    }
    for (unsigned k = 0; r >= 0 && k < VIRTIO_VSOCK_CONNS; k++)
        r = conn_flush(v, &v->conns[(v->next_conn + k) % VIRTIO_VSOCK_CONNS], &pushed);
    v->next_conn = (v->next_conn + 1) % VIRTIO_VSOCK_CONNS;
    if (pushed)
        virtio_mmio_used(&v->t, VIRTIO_VSOCK_RXQ);
}

/* ---- from the guest: the tx queue ---- */

/* A REQUEST for a port pair with no connection. */
static void tx_request(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
    struct vsock_conn *c = NULL, *closing = NULL;

    for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS && !c; i++) {
        if (v->conns[i].state == VV_FREE)
            c = &v->conns[i];
        else if (v->conns[i].state == VV_CLOSING && !closing)
            closing = &v->conns[i];
    }
    if (!c) {
        /* Full.  A connection the host has closed and whose guest end
         * never answered would hold its slot for ever: end it, so that
         * the guest's next attempt finds room once closed() ran. */
        if (closing)
            conn_reset(v, closing);
        rst_reply(v, h);
        return;
    }
    c->state = VV_CONNECTING;
    c->local_port = h->dst_port;
    c->peer_port = h->src_port;
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    c->events = EV_ACCEPT;
}

/* RW for an established connection: the payload (at offset HDR_LEN of the
 * chain) into its receive buffer.  0 or ERR_RANGE. */
static int tx_data(struct virtio_vsock *v, struct vsock_conn *c, const struct virtio_vsock_hdr *h,
                   unsigned count)
{
    if (c->close_wanted)
        return 0; /* the host reads no more: dropped */
    if ((c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) ||
        h->len > VIRTIO_VSOCK_RX_BUF - c->rx_len) {
        /* Data after its own SHUTDOWN, or beyond the credit it was given
         * (which never exceeds the free room: fwd_cnt only grows). */
        conn_reset(v, c);
        return 0;
    }
    uint32_t tail = (c->rx_head + c->rx_len) % VIRTIO_VSOCK_RX_BUF;
    uint32_t first = VIRTIO_VSOCK_RX_BUF - tail;
    if (first > h->len)
        first = h->len;
    if (chain_copy(v, v->tx_bufs, count, VIRTIO_VSOCK_HDR_LEN, c->rx + tail, first, false) != 0 ||
        chain_copy(v, v->tx_bufs, count, VIRTIO_VSOCK_HDR_LEN + first, c->rx, h->len - first,
                   false) != 0)
        return ERR_RANGE;
    c->rx_len += h->len;
    c->rx_cnt += h->len;
    v->stats.tx_bytes += h->len;
    if (h->len)
        c->events |= EV_READABLE;
    return 0;
}

/* One packet of count buffers (all device-readable), total bytes.  0 or
 * ERR_RANGE (a buffer outside guest RAM). */
static int tx_packet(struct virtio_vsock *v, unsigned count, uint64_t total)
{
    uint8_t b[VIRTIO_VSOCK_HDR_LEN];
    struct virtio_vsock_hdr h;

    if (total < VIRTIO_VSOCK_HDR_LEN) {
        v->stats.dropped++;
        return 0;
    }
    if (chain_copy(v, v->tx_bufs, count, 0, b, sizeof(b), false) != 0)
        return ERR_RANGE;
    hdr_decode(b, &h);
    v->stats.tx_packets++;
    if (h.src_cid != v->cid) {
        v->stats.dropped++; /* not from this guest's address: no answer */
        return 0;
    }
    bool bad_len = h.len > total - VIRTIO_VSOCK_HDR_LEN || h.len > VIRTIO_VSOCK_MAX_PKT;
    if (h.dst_cid != VIRTIO_VSOCK_HOST_CID || h.type != VIRTIO_VSOCK_TYPE_STREAM) {
        /* No such peer here, or a socket type not offered. */
        if (bad_len)
            v->stats.dropped++;
        else
            rst_reply(v, &h);
        return 0;
    }
    struct vsock_conn *c = conn_find(v, h.src_port, h.dst_port);
    if (bad_len) {
        v->stats.dropped++;
        if (c)
            conn_reset(v, c); /* its stream would have a hole */
        return 0;
    }
    if (!c) {
        if (h.op == VIRTIO_VSOCK_OP_REQUEST)
            tx_request(v, &h);
        else
            rst_reply(v, &h);
        return 0;
    }
    /* Every packet of a flow carries the sender's credit information. */
    c->peer_buf_alloc = h.buf_alloc;
    c->peer_fwd_cnt = h.fwd_cnt;
    switch (h.op) {
    case VIRTIO_VSOCK_OP_RW:
        if (c->state == VV_CLOSING)
            return 0; /* sent before it saw our SHUTDOWN */
        if (c->state != VV_ESTABLISHED) {
            conn_reset(v, c); /* before RESPONSE */
            return 0;
        }
        return tx_data(v, c, &h, count);
    case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
        return 0; /* taken above; vv_flush sends what it allows */
    case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
        c->ctl |= CTL_CREDIT;
        return 0;
    case VIRTIO_VSOCK_OP_SHUTDOWN:
        c->peer_shutdown |=
            (uint8_t)(h.flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND));
        if ((c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV) ||
            (c->state == VV_CLOSING && (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)))
            conn_reset(v, c); /* both sides done: RST finishes it, as Linux's host does */
        else if (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)
            c->events |= EV_READABLE; /* end of stream, for vsock_conn_eof */
        return 0;
    case VIRTIO_VSOCK_OP_RST:
        conn_end(v, c, false);
        return 0;
    default: /* REQUEST again, RESPONSE (we never connect), unknown */
        conn_reset(v, c);
        return 0;
    }
}

/* RSTs the queue may still have to take: one per connection whose accept
 * is pending (the host may refuse it). */
static unsigned rst_owed(const struct virtio_vsock *v)
{
    unsigned n = v->rst_count;

    for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS; i++)
        n += v->conns[i].state == VV_CONNECTING;
    return n;
}

/* Packets from the tx queue, a bounded number.  Waits (leaves chains in
 * the ring) while the RST queue might not take a packet's answers. */
static void vv_tx(struct virtio_vsock *v)
{
    struct virtio_mmio *t = &v->t;
    bool pushed = false;

    _Static_assert(VIRTIO_VSOCK_RST_QUEUE >= VIRTIO_VSOCK_CONNS + 2, "RST queue too small");
    for (unsigned i = 0; i < VIRTIO_WORK_ROUNDS * t->queues[VIRTIO_VSOCK_TXQ].num; i++) {
        unsigned count;

        if (rst_owed(v) > VIRTIO_VSOCK_RST_QUEUE - 2) {
            v->tx_waiting = true; /* a packet may need two (tx_request reclaiming a slot) */
            break;
        }
        int head = virtio_mmio_pop(t, VIRTIO_VSOCK_TXQ, v->tx_bufs, VIRTIO_VSOCK_QUEUE_MAX, &count);
        if (head < 0)
            break;
        uint64_t total = 0;
        for (unsigned k = 0; k < count; k++) {
            if (v->tx_bufs[k].write) {
                virtio_mmio_needs_reset(t); /* transmit buffers are device-readable */
                return;
            }
            total += v->tx_bufs[k].len;
        }
        if (tx_packet(v, count, total) != 0) {
            virtio_mmio_needs_reset(t); /* a buffer outside guest RAM */
            return;
        }
        if (virtio_mmio_push(t, VIRTIO_VSOCK_TXQ, (uint16_t)head, 0) != 0)
            return;
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(t, VIRTIO_VSOCK_TXQ);
}

/* ---- the host's callbacks (transport lock released) ---- */

/* Lock held: after accept returned r for c. */
static void conn_accepted(struct virtio_vsock *v, struct vsock_conn *c, int r)
{
    if (r < 0) {
        if (c->state == VV_CONNECTING)
            rst_queue(v, VIRTIO_VSOCK_HOST_CID, c->local_port, v->cid, c->peer_port,
                      VIRTIO_VSOCK_TYPE_STREAM);
        conn_free(c); /* never the host's: no closed() */
        return;
    }
    c->owned = true;
    if (c->state == VV_CONNECTING) {
        c->state = VV_ESTABLISHED;
        c->ctl |= CTL_RESPONSE;
    } /* else it ended meanwhile: closed() is pending */
}

/* Lock held: the next event to deliver for c (and clears it), or 0. */
static uint8_t conn_event(struct vsock_conn *c)
{
    uint8_t ev = 0;

    if (!c->owned && !(c->events & EV_ACCEPT)) {
        /* Refused, or never accepted: nothing to tell. */
        if (c->events & EV_CLOSED)
            conn_free(c);
        c->events = 0;
        return 0;
    }
    if (c->close_wanted)
        c->events &= (uint8_t) ~(EV_READABLE | EV_WRITABLE); /* the host is done with it */
    if (c->state == VV_DEAD)
        c->events &= (uint8_t)~EV_WRITABLE;
    if (c->events & EV_ACCEPT)
        ev = EV_ACCEPT;
    else if (c->events & EV_READABLE)
        ev = EV_READABLE;
    else if (c->events & EV_WRITABLE)
        ev = EV_WRITABLE;
    else if (c->events & EV_CLOSED)
        ev = EV_CLOSED; /* last */
    c->events &= (uint8_t)~ev;
    return ev;
}

/* Delivers pending events, no lock held on entry.  A connection busy in a
 * callback elsewhere is left to that caller, which looks again before it
 * lets go.  Bounded: what is left waits for the next call. */
static void vv_dispatch(struct virtio_vsock *v)
{
    const struct virtio_vsock_host *host = v->host;

    spin_lock(&v->t.lock);
    for (unsigned pass = 0; pass < 4; pass++) {
        bool any = false;
        for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS; i++) {
            struct vsock_conn *c = &v->conns[i];
            while (c->events && !c->busy) {
                uint8_t ev = conn_event(c);
                if (!ev)
                    break;
                any = true;
                c->busy = true;
                spin_unlock(&v->t.lock);
                int r = ERR_NOENT;
                if (ev == EV_ACCEPT)
                    r = host && host->accept ? host->accept(c) : ERR_NOENT;
                else if (ev == EV_READABLE && host && host->readable)
                    host->readable(c);
                else if (ev == EV_WRITABLE && host && host->writable)
                    host->writable(c);
                else if (ev == EV_CLOSED && host && host->closed)
                    host->closed(c);
                spin_lock(&v->t.lock);
                c->busy = false;
                if (ev == EV_ACCEPT) {
                    conn_accepted(v, c, r);
                    vv_flush(v); /* RESPONSE (or RST) now */
                } else if (ev == EV_CLOSED) {
                    conn_free(c);
                }
            }
        }
        if (!any)
            break;
    }
    spin_unlock(&v->t.lock);
}

/* ---- transport callbacks ---- */

static void vv_kick(void *dev, unsigned queue)
{
    struct virtio_vsock *v = dev;

    /* New receive buffers may also unblock a tx queue that waited for
     * room for its RSTs; answered accepts (dispatch) may too.  A few
     * rounds: what is left waits for the guest's next notification. */
    for (unsigned round = 0; round < 4; round++) {
        spin_lock(&v->t.lock);
        v->tx_waiting = false;
        if (queue == VIRTIO_VSOCK_TXQ || queue == VIRTIO_VSOCK_RXQ) {
            vv_tx(v);
            vv_flush(v);
            vv_tx(v);
        }
        vv_flush(v);
        bool again = v->tx_waiting && rst_owed(v) > v->rst_count;
        spin_unlock(&v->t.lock);
        vv_dispatch(v);
        if (!again)
            break;
    }
}

/* Lock held: the driver reset the device; every connection is over. */
static void vv_reset(void *dev)
{
    struct virtio_vsock *v = dev;

    conns_end_all(v);
    v->event_pending = false;
    v->next_conn = 0;
}

static void vv_reset_done(void *dev)
{
    vv_dispatch(dev);
}

static void vv_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
    struct virtio_vsock *v = dev;
    uint8_t cfg[VIRTIO_VSOCK_CONFIG_LEN];
    struct wire w = wire_out(cfg, sizeof(cfg));

    wire_put_u64(&w, v->cid);
    memcpy(buf, cfg + off, len);
}

static const struct virtio_dev_ops vv_ops = {
    .device_id = VIRTIO_ID_VSOCK,
    .features = 1ull << VIRTIO_VSOCK_F_STREAM,
    .nqueues = VIRTIO_VSOCK_NQ,
    .queue_max = VIRTIO_VSOCK_QUEUE_MAX,
    .config_size = VIRTIO_VSOCK_CONFIG_LEN,
    .max_chain_bytes = VIRTIO_VSOCK_MAX_CHAIN,
    .config_read = vv_config_read,
    .reset = vv_reset,
    .kick = vv_kick,
    .reset_done = vv_reset_done,
};

void virtio_vsock_init(struct virtio_vsock *v, const struct guest_mem *mem,
                       const struct irq_line *irq, uint64_t cid,
                       const struct virtio_vsock_host *host, void *owner)
{
    /* The buffers (most of the struct) need no clearing. */
    memset(v, 0, offsetof(struct virtio_vsock, conns));
    for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS; i++) {
        memset(&v->conns[i], 0, offsetof(struct vsock_conn, rx));
        v->conns[i].dev = v;
    }
    v->cid = cid;
    v->host = host;
    v->owner = owner;
    virtio_mmio_init(&v->t, &vv_ops, v, mem, irq);
}

/* ---- the host side ---- */

size_t virtio_vsock_conn_recv(struct vsock_conn *c, void *buf, size_t n)
{
    struct virtio_vsock *v = c->dev;
    uint8_t *p = buf;

    spin_lock(&v->t.lock);
    size_t k = n < c->rx_len ? n : c->rx_len;
    size_t first = VIRTIO_VSOCK_RX_BUF - c->rx_head;
    if (first > k)
        first = k;
    memcpy(p, c->rx + c->rx_head, first);
    memcpy(p + first, c->rx, k - first);
    c->rx_head = (uint32_t)((c->rx_head + k) % VIRTIO_VSOCK_RX_BUF);
    c->rx_len -= (uint32_t)k;
    c->fwd_cnt += (uint32_t)k;
    /* Tell the guest once a quarter of the buffer is free again: enough
     * that a guest which ran out of credit always hears of it (it stops
     * with rx_len + unadvertised = the whole buffer), few enough that a
     * chatty stream does not double its packets. */
    if (c->state == VV_ESTABLISHED && !c->close_wanted &&
        c->fwd_cnt - c->fwd_cnt_sent >= VIRTIO_VSOCK_RX_BUF / 4) {
        c->ctl |= CTL_CREDIT;
        vv_flush(v);
    }
    spin_unlock(&v->t.lock);
    return k;
}

size_t virtio_vsock_conn_send(struct vsock_conn *c, const void *buf, size_t n)
{
    struct virtio_vsock *v = c->dev;
    const uint8_t *p = buf;
    size_t k = 0;

    spin_lock(&v->t.lock);
    if ((c->state == VV_CONNECTING || c->state == VV_ESTABLISHED) && !c->close_wanted) {
        size_t room = VIRTIO_VSOCK_TX_BUF - c->tx_len;
        k = n < room ? n : room;
        uint32_t tail = (c->tx_head + c->tx_len) % VIRTIO_VSOCK_TX_BUF;
        size_t first = VIRTIO_VSOCK_TX_BUF - tail;
        if (first > k)
            first = k;
        memcpy(c->tx + tail, p, first);
        memcpy(c->tx, p + first, k - first);
        c->tx_len += (uint32_t)k;
        if (k < n)
            c->want_writable = true;
        vv_flush(v);
    }
    spin_unlock(&v->t.lock);
    return k;
}

void virtio_vsock_conn_close(struct vsock_conn *c)
{
    struct virtio_vsock *v = c->dev;

    spin_lock(&v->t.lock);
    if ((c->state == VV_CONNECTING || c->state == VV_ESTABLISHED) && !c->close_wanted) {
        c->close_wanted = true;
        c->want_writable = false;
        vv_flush(v);
    }
    spin_unlock(&v->t.lock);
}

bool virtio_vsock_conn_eof(struct vsock_conn *c)
{
    struct virtio_vsock *v = c->dev;

    spin_lock(&v->t.lock);
    bool eof = (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->rx_len;
    spin_unlock(&v->t.lock);
    return eof;
}

void virtio_vsock_hold(struct virtio_vsock *v, bool on)
{
    spin_lock(&v->t.lock);
    v->held = on;
    vv_flush(v);
    spin_unlock(&v->t.lock);
    if (!on)
        vv_dispatch(v);
}

void virtio_vsock_detach(struct virtio_vsock *v)
{
    spin_lock(&v->t.lock);
    conns_end_all(v);
    spin_unlock(&v->t.lock);
    /* Until every slot is free: a callback in flight on another hart
     * finishes first, and closed() follows it. */
    for (;;) {
        vv_dispatch(v);
        bool left = false;
        spin_lock(&v->t.lock);
        for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS; i++)
            left |= v->conns[i].state != VV_FREE;
        spin_unlock(&v->t.lock);
        if (!left)
            break;
    }
}

static void vv_state_put(const void *dev, struct wire *w)
{
    const struct virtio_vsock *v = dev;

    wire_put_u64(w, v->cid);
    wire_put_u8(w, v->event_pending);
}

static int vv_state_get(void *dev, struct wire_in *r, bool apply)
{
    struct virtio_vsock *v = dev;
    uint64_t cid = wire_get_u64(r);
    uint8_t pending = wire_get_u8(r);

    if (r->bad)
        return ERR_TRUNCATED;
    if (cid != v->cid)
        return ERR_MISMATCH;
    if (pending > 1)
        return ERR_RANGE;
    if (apply) {
        /* The guest's sockets are from another time than ours: it is
         * told, as after a migration, and every connection here ends. */
        conns_end_all(v);
        v->event_pending = true;
    }
    return 0;
}

long virtio_vsock_save(const struct virtio_vsock *v, void *buf, size_t size)
{
    return virtio_mmio_save(&v->t, VIRTIO_VSOCK_STATE_VERSION, vv_state_put, buf, size);
}

int virtio_vsock_load(struct virtio_vsock *v, const void *buf, size_t size)
{
    int r = virtio_mmio_load(&v->t, VIRTIO_VSOCK_STATE_VERSION, vv_state_get, buf, size);

    if (r == 0) {
        spin_lock(&v->t.lock);
        vv_flush(v); /* the event, unless held (then on release) */
        spin_unlock(&v->t.lock);
        vv_dispatch(v);
    }
    return r;
}
