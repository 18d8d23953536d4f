/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: virtio-console (devices/virtio_console.h) behind the
 * virtio-mmio transport.  Guest RAM (64 KiB) is tiled with the input; the
 * input is also a program of register and config accesses (emerg_wr
 * included), descriptor and ring writes, notifications, resets and host
 * input.  Checks: no crash or sanitizer report, the interrupt line equal
 * to InterruptStatus != 0, output in pieces of 1 to 256 bytes, and input
 * accepted at least up to virtio_console_room() */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "devices/virtio_console.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "tests/fuzz/virtio_fuzz.h"

/* ---- the device ---- */

static struct virtio_console con;

static void output(void *ctx, const char *buf, size_t n)
{
    if (ctx != &con || buf == NULL || n == 0 || n > 256)
        abort();
}

static void fz_host_op(struct input *in)
{
    char buf[512];
    size_t n = take16(in) % sizeof(buf);

    memset(buf, 'i', n);
    unsigned room = virtio_console_room(&con);
    if (room > VIRTIO_CONSOLE_BACKLOG)
        abort();
    size_t got = virtio_console_input(&con, buf, n);
    if (got > n || got < (n < room ? n : room))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_level = false;
    virtio_console_init(&con, &fz_mem, &fz_irq, output, &con);
    fz_t = &con.t;
    fz_nq = 2;
    fz_dev =
        (struct mmio_dev){&virtio_mmio_ops, "virtio-console", 0x10001000, VIRTIO_MMIO_SIZE, fz_t};
    fz_run(data, size);
    return 0;
}
