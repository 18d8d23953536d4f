/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: virtio-net (devices/virtio_net.h) on a virtual switch
 * (devices/vswitch.h), behind the virtio-mmio transport.  Guest RAM
 * (64 KiB) is tiled with the input; the input is also a program of
 * register and config accesses, descriptor and ring writes,
 * notifications (transmit runs in the unlocked kick), resets, frames
 * arriving from another switch port, and detaching.  Checks: no crash or
 * sanitizer report, the interrupt line equal to InterruptStatus != 0,
 * frames reaching the other port only of legal length (an offload
 * frame only with a header the switch checked), and nothing delivered
 * after detach.  Frames from the other port also carry offload headers
 * (fuzzed, or a TCP segmentation with fuzzed fields), to the device
 * (GUEST_TSO and MRG_RXBUF as the driver negotiated) or to the other
 * port with or without offloads (the switch's cuts).
 *
 * The direct path (one copy between two guests): the other port takes
 * frames as pieces (deliver_frame) or contiguous, as the input says, and
 * checks that every piece it is handed lies in this VM's RAM or in the
 * device's own staging buffer, adds up to the frame, and reads every
 * byte (ASan); a second virtio-net (the peer, its own 64 KiB RAM and a
 * fixed driver with mergeable receive buffers and the offloads) is on the
 * switch too and gets the flooded frames copied from the pieces, and
 * must write nothing of its RAM but its receive buffers and used ring. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "devices/virtio_net.h"
#include "devices/vswitch.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/virtio_fuzz.h"

/* ---- the device ---- */

static struct virtio_net net;
static struct vswitch sw;
static struct vswitch_port other;
static bool detached;

static bool other_offloads; /* the other port takes offload headers */
static uint64_t other_sum;  /* every byte handed to the other port, read */

/* A piece handed to a port: inside the VM's RAM or the device's staging
 * buffer, nowhere else. */
static bool fz_piece_ok(const struct gm_seg *s)
{
    uintptr_t a = (uintptr_t)s->addr, r = (uintptr_t)ram, t = (uintptr_t)net.tx_frame;

    return (a >= r && a - r <= FZ_SIZE && s->len <= FZ_SIZE - (a - r)) ||
           (a >= t && a - t <= sizeof(net.tx_frame) && s->len <= sizeof(net.tx_frame) - (a - t));
}

static int other_deliver_frame(void *ctx, const struct vswitch_frame *f)
{
    size_t sum = f->len < VSWITCH_MIN_FRAME ? f->len : VSWITCH_MIN_FRAME;

    if (ctx != &other || f->len < VSWITCH_MIN_FRAME)
        abort();
    if (!f->h && f->len > VSWITCH_MAX_FRAME)
        abort();
    if (f->h && (!vnet_hdr_needs(f->h) || !vnet_hdr_valid(f->h, f->len, VSWITCH_MAX_FRAME)))
        abort();
    for (unsigned i = 0; i < f->nseg; i++) {
        if (!fz_piece_ok(&f->segs[i]))
            abort(); /* memory that is not the VM's handed to a port */
        const uint8_t *p = (const uint8_t *)(uintptr_t)f->segs[i].addr;
        for (uint32_t k = 0; k < f->segs[i].len; k++)
            other_sum += p[k];
        sum += f->segs[i].len;
    }
    if (sum != f->len)
        abort();
    return f->h && !other_offloads ? ERR_NOTSUP : 0;
}

/* ---- the peer: a second guest's NIC on the switch ---- */

#define PEER_SIZE   0x10000ull
#define PEER_DESC   (FZ_BASE + 0x0)
#define PEER_AVAIL  (FZ_BASE + 0x1000)
#define PEER_USED   (FZ_BASE + 0x2000)
#define PEER_BUF(i) (FZ_BASE + 0x4000 + 0x800 * (uint64_t)(i)) /* 16 x 2 KiB */
#define PEER_NUM    16
static uint8_t peer_ram[PEER_SIZE];
static struct virtio_net peer;
static struct mmio_dev peer_dev;
static bool peer_level;

static int peer_read(void *ctx, uint64_t gpa, void *dst, size_t n)
{
    if (ctx != peer_ram || gpa < FZ_BASE || n > PEER_SIZE || gpa - FZ_BASE > PEER_SIZE - n)
        abort(); /* the fixed driver gives only buffers inside its RAM */
    memcpy(dst, peer_ram + (gpa - FZ_BASE), n);
    return 0;
}

/* Writes land in the receive buffers or the used ring only. */
static int peer_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    bool used = gpa >= PEER_USED && n <= 0x1000 && gpa - PEER_USED <= 0x1000 - n;
    bool bufs =
        gpa >= PEER_BUF(0) && n <= 0x800 * PEER_NUM && gpa - PEER_BUF(0) <= 0x800 * PEER_NUM - n;

    if (ctx != peer_ram || !(used || bufs))
        abort();
    memcpy(peer_ram + (gpa - FZ_BASE), src, n);
    return 0;
}

static void peer_set_level(void *ctl, unsigned source, bool level)
{
    (void)ctl, (void)source;
    peer_level = level;
}

static const struct guest_mem peer_mem = {peer_read, peer_write, peer_ram, NULL, NULL};
static const struct irq_line peer_irq = {peer_set_level, peer_ram, 4};

static void peer_wr(uint64_t off, uint32_t v)
{
    if (peer_dev.ops->write(&peer_dev, off, 4, v) != 0)
        abort();
}

static void peer_put(uint64_t gpa, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        peer_ram[gpa - FZ_BASE + i] = (uint8_t)(v >> (8 * i));
}

/* The peer's driver: reset, offloads and MRG_RXBUF, the receive queue
 * with 16 posted 2 KiB buffers (the transmit queue unused). */
static void peer_start(void)
{
    uint64_t feat = (1ull << VIRTIO_NET_F_GUEST_CSUM) | (1ull << VIRTIO_NET_F_GUEST_TSO4) |
                    (1ull << VIRTIO_NET_F_GUEST_TSO6) | (1ull << VIRTIO_NET_F_MRG_RXBUF);

    memset(peer_ram, 0, sizeof(peer_ram));
    peer_wr(VIRTIO_MMIO_STATUS, 0);
    peer_wr(VIRTIO_MMIO_STATUS, 3);
    peer_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    peer_wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
    peer_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    peer_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1); /* VERSION_1 */
    peer_wr(VIRTIO_MMIO_STATUS, 0xb);
    peer_wr(VIRTIO_MMIO_QUEUE_SEL, VIRTIO_NET_RXQ);
    peer_wr(VIRTIO_MMIO_QUEUE_NUM, PEER_NUM);
    peer_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)PEER_DESC);
    peer_wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)PEER_AVAIL);
    peer_wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)PEER_USED);
    peer_wr(VIRTIO_MMIO_QUEUE_READY, 1);
    for (unsigned i = 0; i < PEER_NUM; i++) {
        uint64_t e = PEER_DESC + 16 * (uint64_t)i;
        peer_put(e, PEER_BUF(i), 8);
        peer_put(e + 8, 0x800, 4);
        peer_put(e + 12, VRING_DESC_F_WRITE, 2);
        peer_put(PEER_AVAIL + 4 + 2 * (uint64_t)i, i, 2);
    }
    peer_put(PEER_AVAIL + 2, PEER_NUM, 2);
    peer_wr(VIRTIO_MMIO_STATUS, 0xf);
}

static int other_deliver(void *ctx, const struct vnet_hdr *h, const void *frame, size_t len)
{
    uintptr_t a = (uintptr_t)frame, t = (uintptr_t)net.tx_frame, g = (uintptr_t)sw.seg;
    if (ctx != &other || len < VSWITCH_MIN_FRAME || frame == NULL)
        abort();
    /* From the device: staged in its buffer, or a fallback's in the switch's. */
    if (!(a >= t && a - t <= sizeof(net.tx_frame) && len <= sizeof(net.tx_frame) - (a - t)) &&
        !(a >= g && a - g <= sizeof(sw.seg) && len <= sizeof(sw.seg) - (a - g)))
        abort();
    if (!h) {
        if (len > VSWITCH_MAX_FRAME)
            abort(); /* a plain frame, a segment or a checksummed one: legal size */
        return 0;
    }
    /* The switch passes on only headers it checked. */
    if (!vnet_hdr_needs(h) || !vnet_hdr_valid(h, len, VSWITCH_MAX_FRAME))
        abort();
    return other_offloads ? 0 : ERR_NOTSUP;
}

static void fz_host_op(struct input *in)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 1};
    static uint8_t f[VIRTIO_NET_MAX_GSO + 16];
    uint32_t sel = take8(in);
    size_t len = take16(in) % 1600;

    memset(f, 0x33, sizeof(f));
    switch (sel % 9) {
    case 0: /* to the device's MAC, through the switch */
        memcpy(f, mac, 6);
        f[6] = 0x02;
        vswitch_send(&sw, &other, f, len);
        break;
    case 1: /* broadcast */
        memset(f, 0xff, 6);
        f[6] = 0x02;
        f[11] = (uint8_t)sel;
        vswitch_send(&sw, &other, f, len);
        break;
    case 2: { /* straight into the device */
        unsigned before = (unsigned)(net.stats.rx_frames);
        int r = virtio_net_receive(&net, f, len);
        if (detached && r == 0 && net.stats.rx_frames == before)
            abort();
        break;
    }
    case 3:
        virtio_net_detach(&net);
        detached = true;
        break;
    case 4: { /* an offload frame to the device's MAC: header and bytes from the input */
        uint8_t hb[VNET_HDR_LEN];
        struct vnet_hdr h;
        for (unsigned i = 0; i < sizeof(hb); i++)
            hb[i] = (uint8_t)take8(in);
        vnet_hdr_parse(hb, &h);
        len = (take16(in) | (size_t)(take8(in) & 1) << 16) % sizeof(f);
        for (size_t i = 0; i < len && i < 128; i++)
            f[i] = (uint8_t)take8(in);
        memcpy(f, mac, 6);
        f[6] = 0x02;
        other_offloads = sel & 0x40;
        if (sel & 0x80)
            virtio_net_receive_hdr(&net, &h, f, len);
        else
            vswitch_send_hdr(&sw, &other, &h, f, len);
        break;
    }
    case 5: { /* a well-formed TCP segmentation offload (IPv4) with fuzzed fields */
        struct vnet_hdr h = {
            VNET_HDR_F_NEEDS_CSUM, VNET_GSO_TCPV4, 54, (uint16_t)take16(in), 34, 16, 0};
        len = 54 + take16(in) % 20000;
        memset(f, 0, 54);
        memcpy(f, mac, 6);
        f[6] = 0x02;
        f[12] = 0x08;
        f[14] = (uint8_t)(0x40 | (take8(in) & 15));
        f[23] = 6;
        f[46] = (uint8_t)take8(in);
        other_offloads = sel & 0x40;
        vswitch_send_hdr(&sw, &other, &h, f, len);
        break;
    }
    case 6: /* the other port takes pieces, or contiguous frames */
        other.deliver_frame = (sel & 0x80) ? other_deliver_frame : NULL;
        other.deliver = (sel & 0x80) ? NULL : other_deliver;
        other_offloads = sel & 0x40;
        break;
    case 7: /* the peer's driver starts again: all its buffers posted */
        peer_start();
        break;
    case 8: { /* a transmit chain of 2 to 4 buffers at fuzzed places (pieces
               * across pages), its last one maybe anywhere: the direct path */
        const unsigned q = VIRTIO_NET_TXQ;
        if (!fz_num[q])
            break;
        unsigned nb = 2 + take8(in) % 3;
        unsigned head = take8(in) % 16;
        for (unsigned i = 0; i < nb; i++) {
            uint64_t addr = FZ_BASE + 0x4000 + take16(in) % 0xb000;
            uint32_t blen =
                (i == 0 ? VIRTIO_NET_HDR_LEN + VSWITCH_MIN_FRAME : 1) + take16(in) % 0x300;
            if (i == 0) { /* no offload, to the peer or broadcast, from a unicast source */
                uint8_t *b = ram + (addr - FZ_BASE);
                memset(b, 0, VIRTIO_NET_HDR_LEN);
                memset(b + VIRTIO_NET_HDR_LEN, 0xff, 6);
                if (sel & 0x40)
                    b[VIRTIO_NET_HDR_LEN + 5] = 2, memcpy(b + VIRTIO_NET_HDR_LEN, mac, 5);
                b[VIRTIO_NET_HDR_LEN + 6] = 0x02;
            }
            if (i == nb - 1 && (sel & 0x80)) {
                addr = take32(in) | (uint64_t)take16(in) << 32;
                blen = take32(in);
            }
            uint64_t e = FZ_DESC(q) + 16 * (uint64_t)((head + i) % 16);
            fz_put(e, addr, 8);
            fz_put(e + 8, blen, 4);
            fz_put(e + 12, i + 1 < nb ? VRING_DESC_F_NEXT : 0, 2);
            fz_put(e + 14, (head + i + 1) % 16, 2);
        }
        fz_put(FZ_AVAIL(q) + 4 + 2 * (uint64_t)(fz_avail[q] % fz_num[q]), head, 2);
        fz_avail[q]++;
        fz_put(FZ_AVAIL(q) + 2, fz_avail[q], 2);
        fz_wr(VIRTIO_MMIO_QUEUE_NOTIFY, q);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 1};

    vswitch_init(&sw);
    other = (struct vswitch_port){.name = "other", .deliver = other_deliver, .ctx = &other};
    if (vswitch_attach(&sw, &other) != 0)
        abort();
    detached = false;
    fz_level = false;
    other_sum = 0;
    static const uint8_t peer_mac[6] = {0x52, 0x54, 0, 0, 0, 2};
    virtio_net_init(&peer, &peer_mem, &peer_irq, peer_mac, &sw);
    peer_dev = (struct mmio_dev){&virtio_mmio_ops, "peer", 0x10002000, VIRTIO_MMIO_SIZE, &peer.t};
    peer_start();
    virtio_net_init(&net, &fz_mem, &fz_irq, mac, &sw);
    fz_t = &net.t;
    fz_nq = 2;
    fz_dev = (struct mmio_dev){&virtio_mmio_ops, "virtio-net", 0x10001000, VIRTIO_MMIO_SIZE, fz_t};
    fz_run(data, size);
    if (net.port.sw == NULL && !detached)
        abort();
    virtio_net_detach(&peer);
    return 0;
}
