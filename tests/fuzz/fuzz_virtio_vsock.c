/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: virtio-vsock (devices/virtio_vsock.h) behind the
 * virtio-mmio transport, with Vireo's service registry (core/vsock.h) and
 * an echo service on port 7.  Guest RAM (64 KiB) is tiled with the input;
 * the input is also a program of register and config accesses,
 * descriptor and ring writes, notifications, resets and host-side calls
 * (send, recv, close on a live connection; hold; save and load).  Checks:
 * no crash or sanitizer report, the interrupt line equal to
 * InterruptStatus != 0, callbacks never under the device's lock, none
 * for a connection after its closed(), and closed() exactly once for
 * each accepted connection by the time the device is detached. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/vsock.h"
#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtio_vsock.h"
#include "devices/virtqueue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/virtio_fuzz.h"

/* ---- the device and the echo service ---- */

#define ECHO_PORT 7
#define CID       3

static struct virtio_vsock vs;
static bool live[VIRTIO_VSOCK_CONNS]; /* the service's view: accepted, not yet closed */
static unsigned accepted, closed;
static int owner;

static unsigned slot_of(struct vsock_conn *c)
{
    if (spin_is_locked(&vs.t.lock))
        abort(); /* never under the device's lock */
    size_t i = (size_t)(c - vs.conns);
    if (i >= VIRTIO_VSOCK_CONNS || &vs.conns[i] != c)
        abort();
    return (unsigned)i;
}

static int echo_accept(struct vsock_conn *c)
{
    unsigned i = slot_of(c);

    if (live[i] || vsock_conn_vm(c) != (struct vm *)&owner || vsock_conn_peer_cid(c) != CID)
        abort();
    /* Refuse some, by the guest's port. */
    if (vsock_conn_peer_port(c) % 5 == 4)
        return -1;
    live[i] = true;
    accepted++;
    return 0;
}

static void echo_readable(struct vsock_conn *c)
{
    uint8_t buf[512];
    size_t k;

    if (!live[slot_of(c)])
        abort();
    while ((k = vsock_conn_recv(c, buf, sizeof(buf))) > 0) {
        if (k > sizeof(buf))
            abort();
        vsock_conn_send(c, buf, k); /* what does not fit is dropped: fine here */
    }
}

static void echo_writable(struct vsock_conn *c)
{
    if (!live[slot_of(c)])
        abort();
}

static void echo_closed(struct vsock_conn *c)
{
    unsigned i = slot_of(c);

    if (!live[i])
        abort();
    live[i] = false;
    closed++;
}

static const struct vsock_service echo = {
    .port = ECHO_PORT,
    .accept = echo_accept,
    .readable = echo_readable,
    .writable = echo_writable,
    .closed = echo_closed,
};

/* What a driver would do, for the fuzzer to start from: a well-formed
 * header (addresses right, op, ports, len and flags from the input)
 * with a payload, as one descriptor on the tx queue, then a kick.
 * Packets live at 0x4000 + i * 0x400, i the descriptor. */
static void fz_packet(struct input *in)
{
    if (!fz_num[VIRTIO_VSOCK_TXQ])
        return;
    unsigned i = take8(in) % fz_num[VIRTIO_VSOCK_TXQ];
    uint64_t at = FZ_BASE + 0x4000 + 0x400 * (uint64_t)i;
    uint32_t plen = take16(in) % (0x400 - VIRTIO_VSOCK_HDR_LEN);
    uint32_t len = take8(in) & 0x80 ? take32(in) : plen;

    fz_put(at, CID, 8);
    fz_put(at + 8, VIRTIO_VSOCK_HOST_CID, 8);
    fz_put(at + 16, 1000 + take8(in) % 4, 4); /* src_port: a few, so they meet */
    fz_put(at + 20, take8(in) % 2 ? ECHO_PORT : take32(in), 4);
    fz_put(at + 24, len, 4);
    fz_put(at + 28, take8(in) % 8 ? VIRTIO_VSOCK_TYPE_STREAM : take16(in), 2);
    fz_put(at + 30, take8(in) % 9, 2);
    fz_put(at + 32, take8(in) % 4, 4);
    fz_put(at + 36, take8(in) % 2 ? 0x10000 : take32(in), 4); /* buf_alloc */
    fz_put(at + 40, take8(in) % 2 ? 0 : take32(in), 4);       /* fwd_cnt */
    uint64_t e = FZ_DESC(VIRTIO_VSOCK_TXQ) + 16 * (uint64_t)i;
    fz_put(e, at, 8);
    fz_put(e + 8, VIRTIO_VSOCK_HDR_LEN + plen, 4);
    fz_put(e + 12, 0, 4);
    uint16_t num = fz_num[VIRTIO_VSOCK_TXQ];
    fz_put(FZ_AVAIL(VIRTIO_VSOCK_TXQ) + 4 + 2 * (uint64_t)(fz_avail[VIRTIO_VSOCK_TXQ] % num), i, 2);
    fz_avail[VIRTIO_VSOCK_TXQ]++;
    fz_put(FZ_AVAIL(VIRTIO_VSOCK_TXQ) + 2, fz_avail[VIRTIO_VSOCK_TXQ], 2);
    fz_wr(VIRTIO_MMIO_QUEUE_NOTIFY, VIRTIO_VSOCK_TXQ);
}

/* Receive (or event) buffers, writable, at 0xa000 + i * 0x200; a kick. */
static void fz_post_rx(struct input *in)
{
    unsigned q = take8(in) % 2 ? VIRTIO_VSOCK_RXQ : VIRTIO_VSOCK_EVQ;
    unsigned count = 1 + take8(in) % 4;

    if (!fz_num[q])
        return;
    for (unsigned k = 0; k < count; k++) {
        unsigned i = take8(in) % fz_num[q];
        uint64_t e = FZ_DESC(q) + 16 * (uint64_t)i;
        fz_put(e, FZ_BASE + 0xa000 + 0x200 * (uint64_t)i + (q == VIRTIO_VSOCK_EVQ ? 0x100 : 0), 8);
        fz_put(e + 8, q == VIRTIO_VSOCK_EVQ ? 4 : 0x200, 4);
        fz_put(e + 12, VRING_DESC_F_WRITE, 4);
        fz_put(FZ_AVAIL(q) + 4 + 2 * (uint64_t)(fz_avail[q] % fz_num[q]), i, 2);
        fz_avail[q]++;
        fz_put(FZ_AVAIL(q) + 2, fz_avail[q], 2);
    }
    fz_wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

static uint8_t snap[4096];
static long snap_len;

static void fz_host_op(struct input *in)
{
    uint32_t op = take8(in);
    struct vsock_conn *c = &vs.conns[(op >> 4) % VIRTIO_VSOCK_CONNS];
    uint8_t buf[1024];
    size_t n = take16(in) % sizeof(buf);

    switch (op % 9) {
    case 0:
        if (live[c - vs.conns]) {
            memset(buf, 'h', n);
            if (vsock_conn_send(c, buf, n) > n)
                abort();
        }
        break;
    case 1:
        if (live[c - vs.conns] && vsock_conn_recv(c, buf, n) > n)
            abort();
        break;
    case 2:
        if (live[c - vs.conns])
            vsock_conn_close(c);
        break;
    case 3:
        virtio_vsock_hold(&vs, true);
        break;
    case 4:
        virtio_vsock_hold(&vs, false);
        break;
    case 5:
        snap_len = virtio_vsock_save(&vs, snap, sizeof(snap));
        if (snap_len <= 0)
            abort();
        break;
    case 6:
        if (snap_len > 0) {
            /* Sometimes a damaged copy: refused or not, nothing breaks. */
            if (n % 3 == 0)
                snap[n % (size_t)snap_len] ^= (uint8_t)(1u << (n % 8));
            virtio_vsock_load(&vs, snap, (size_t)snap_len);
        }
        break;
    case 7:
        fz_packet(in);
        break;
    case 8:
        fz_post_rx(in);
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool listening;

    if (!listening) {
        if (vsock_listen(&echo) != 0)
            abort();
        listening = true;
    }
    fz_level = false;
    memset(live, 0, sizeof(live));
    accepted = closed = 0;
    snap_len = 0;
    virtio_vsock_init(&vs, &fz_mem, &fz_irq, CID, &vsock_host, &owner);
    fz_t = &vs.t;
    fz_nq = VIRTIO_VSOCK_NQ;
    fz_dev =
        (struct mmio_dev){&virtio_mmio_ops, "virtio-vsock", 0x10001000, VIRTIO_MMIO_SIZE, fz_t};
    fz_run(data, size);
    virtio_vsock_hold(&vs, false);
    virtio_vsock_detach(&vs);
    if (accepted != closed)
        abort();
    for (unsigned i = 0; i < VIRTIO_VSOCK_CONNS; i++) {
        if (live[i])
            abort();
    }
    return 0;
}
