/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: device-state payloads (docs/snapshot-devices.md) fed
 * to each model's load.  The first byte picks the model (vplic, vuart,
 * virtio rng, console, blk, net), the rest is the payload.  Invariants: a
 * refused load leaves the model's saved state as it was; an accepted one
 * saves back exactly the payload. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "devices/vplic.h"
#include "devices/vuart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x10000ull
static uint8_t ram[RAM_SIZE];

static int mem_read(void *ctx, uint64_t gpa, void *dst, size_t n)
{
    (void)ctx;
    if (gpa < RAM_BASE || n > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - n)
        return -1;
    memcpy(dst, ram + (gpa - RAM_BASE), n);
    return 0;
}

static int mem_write(void *ctx, uint64_t gpa, const void *src, size_t n)
{
    (void)ctx;
    if (gpa < RAM_BASE || n > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - n)
        return -1;
    memcpy(ram + (gpa - RAM_BASE), src, n);
    return 0;
}

static void set_level(void *ctl, unsigned source, bool level)
{
    (void)ctl;
    (void)source;
    (void)level;
}

/* The payload is all that is fuzzed here: a disk that does nothing. */
static int disk_submit(void *ctx, const struct blk_io *io)
{
    (void)ctx;
    (void)io;
    return 0;
}

static struct vplic plic;
static struct vuart uart;
static struct virtio_rng rng;
static struct virtio_console con;
static struct virtio_blk blk;
static struct virtio_net net;

#define MAX 8192
static uint8_t before[MAX], after[MAX];

static void check(long (*save)(const void *, void *, size_t),
                  int (*load)(void *, const void *, size_t), void *m, const uint8_t *p, size_t n)
{
    long b = save(m, before, MAX);
    int e = load(m, p, n);
    long a = save(m, after, MAX);

    if (b < 0 || a < 0)
        abort();
    if (e < 0 && (a != b || memcmp(before, after, (size_t)a) != 0))
        abort(); /* refused, yet changed */
    if (e == 0 && ((size_t)a != n || memcmp(after, p, n) != 0))
        abort(); /* taken, but not as given */
}

/* Adapters: each model's save/load with void pointers. */
#define ADAPT(name, save_fn, load_fn)                                                              \
    static long name##_save(const void *m, void *b, size_t s)                                      \
    {                                                                                              \
        return save_fn(m, b, s);                                                                   \
    }                                                                                              \
    static int name##_load(void *m, const void *b, size_t s)                                       \
    {                                                                                              \
        return load_fn(m, b, s);                                                                   \
    }
ADAPT(plic, vplic_save, vplic_load)
ADAPT(uart, vuart_save, vuart_load)
ADAPT(rng, virtio_rng_save, virtio_rng_load)
ADAPT(con, virtio_console_save, virtio_console_load)
ADAPT(blk, virtio_blk_save, virtio_blk_load)
ADAPT(net, virtio_net_save, virtio_net_load)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    const struct guest_mem mem = {.read = mem_read, .write = mem_write};
    const struct irq_line irq = {set_level, NULL, 1};
    const struct blk_backend be = {.sectors = 64, .submit = disk_submit};

    if (size < 1)
        return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    switch (data[0] % 6) {
    case 0:
        vplic_init(&plic, 95, 4, NULL, NULL);
        check(plic_save, plic_load, &plic, p, n);
        break;
    case 1:
        vuart_init(&uart, &irq, NULL, NULL);
        check(uart_save, uart_load, &uart, p, n);
        break;
    case 2:
        virtio_rng_init(&rng, &mem, &irq, NULL, NULL);
        check(rng_save, rng_load, &rng, p, n);
        break;
    case 3:
        virtio_console_init(&con, &mem, &irq, NULL, NULL);
        check(con_save, con_load, &con, p, n);
        break;
    case 4:
        virtio_blk_init(&blk, &mem, &irq, &be, "fuzz");
        check(blk_save, blk_load, &blk, p, n);
        break;
    default:
        virtio_net_init(&net, &mem, &irq, mac, NULL);
        check(net_save, net_load, &net, p, n);
        break;
    }
    return 0;
}
