/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: virtio-rng (devices/virtio_rng.h) behind the virtio-mmio
 * transport.  Guest RAM (64 KiB) is tiled with the input; the input is
 * also a program of register and config accesses, descriptor and ring
 * writes, notifications, resets and entropy-source changes.  Checks: no
 * crash or sanitizer report, the interrupt line equal to
 * InterruptStatus != 0, and entropy requests never larger than the chunk
 * the model asks for */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "devices/virtio_rng.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/virtio_fuzz.h"

/* ---- the device ---- */

static struct virtio_rng rng;
static size_t entropy_left;

static size_t entropy(void *ctx, void *buf, size_t n)
{
    if (ctx != &rng || n == 0 || n > 256)
        abort();
    if (n > entropy_left)
        n = entropy_left;
    memset(buf, 0xa5, n);
    entropy_left -= n;
    return n;
}

static void fz_host_op(struct input *in)
{
    entropy_left = take8(in) == 0 ? 0 : SIZE_MAX;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    entropy_left = SIZE_MAX;
    fz_level = false;
    virtio_rng_init(&rng, &fz_mem, &fz_irq, entropy, &rng);
    fz_t = &rng.t;
    fz_nq = 1;
    fz_dev = (struct mmio_dev){&virtio_mmio_ops, "virtio-rng", 0x10001000, VIRTIO_MMIO_SIZE, fz_t};
    fz_run(data, size);
    return 0;
}
