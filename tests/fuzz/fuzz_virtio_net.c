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
 * port with or without offloads (the switch's cuts). */
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

static int other_deliver(void *ctx, const struct vnet_hdr *h, const void *frame, size_t len)
{
    if (ctx != &other || len < VSWITCH_MIN_FRAME || frame == NULL)
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
    switch (sel % 6) {
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
    virtio_net_init(&net, &fz_mem, &fz_irq, mac, &sw);
    fz_t = &net.t;
    fz_nq = 2;
    fz_dev = (struct mmio_dev){&virtio_mmio_ops, "virtio-net", 0x10001000, VIRTIO_MMIO_SIZE, fz_t};
    fz_run(data, size);
    if (net.port.sw == NULL && !detached)
        abort();
    return 0;
}
