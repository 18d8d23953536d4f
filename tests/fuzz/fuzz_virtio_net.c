/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: virtio-net (devices/virtio_net.h) on a virtual switch
 * (devices/vswitch.h), behind the virtio-mmio transport.  Guest RAM
 * (64 KiB) is tiled with the input; the input is also a program of
 * register and config accesses, descriptor and ring writes,
 * notifications (transmit runs in the unlocked kick), resets, frames
 * arriving from another switch port, and detaching.  Checks: no crash or
 * sanitizer report, the interrupt line equal to InterruptStatus != 0,
 * frames reaching the other port only of legal length, and nothing
 * delivered after detach */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/virtio_fuzz.h"

/* ---- the device ---- */

static struct virtio_net net;
static struct vswitch sw;
static struct vswitch_port other;
static bool detached;

static int other_deliver(void *ctx, const struct vnet_hdr *h, const void *frame, size_t len)
{
    (void)h;
    if (ctx != &other || len < VSWITCH_MIN_FRAME || len > VSWITCH_MAX_FRAME || frame == NULL)
        abort();
    return 0;
}

static void fz_host_op(struct input *in)
{
    static const uint8_t mac[6] = {0x52, 0x54, 0, 0, 0, 1};
    uint8_t f[1600];
    uint32_t sel = take8(in);
    size_t len = take16(in) % sizeof(f);

    memset(f, 0x33, sizeof(f));
    switch (sel % 4) {
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
