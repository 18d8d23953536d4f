/* SPDX-License-Identifier: Apache-2.0 */
/* virtio console device (see virtio_console.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_console.h"

#include "lib/err.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/wire.h"

/* Lock held: one chain's readable bytes to the output.  Returns 0 or ERR_RANGE
 * (guest memory refused). */
static int con_tx_chain(struct virtio_console *c, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct vq_buf *b = &c->bufs[i];
        for (uint64_t done = 0; done < b->len;) {
            size_t k =
                b->len - done < sizeof(c->chunk) ? (size_t)(b->len - done) : sizeof(c->chunk);
            if (c->t.mem.read(c->t.mem.ctx, b->addr + done, c->chunk, k) != 0)
                return ERR_RANGE;
            if (c->output)
                c->output(c->ctx, c->chunk, k);
            c->stats.tx_bytes += k;
            done += k;
        }
    }
    return 0;
}

static void con_transmit(struct virtio_console *c)
{
    struct virtio_mmio *t = &c->t;
    bool pushed = false;

    for (unsigned i = 0; i < VIRTIO_WORK_ROUNDS * t->queues[VIRTIO_CONSOLE_TXQ].num; i++) {
        unsigned n;
        int head = virtio_mmio_pop(t, VIRTIO_CONSOLE_TXQ, c->bufs, VIRTIO_CONSOLE_QUEUE_MAX, &n);

        if (head < 0)
            break;
        if (n && c->bufs[n - 1].write) {
            virtio_mmio_needs_reset(t); /* transmit buffers are device-readable */
            break;
        }
        if (con_tx_chain(c, n) != 0) {
            virtio_mmio_needs_reset(t);
            break;
        }
        if (virtio_mmio_push(t, VIRTIO_CONSOLE_TXQ, (uint16_t)head, 0) != 0)
            break;
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(t, VIRTIO_CONSOLE_TXQ);
}

/* Lock held: writes src into receive chains, at most a queue's worth.
 * Returns the bytes consumed (written, or lost to a broken driver). */
static size_t con_deliver(struct virtio_console *c, const char *src, size_t len)
{
    struct virtio_mmio *t = &c->t;
    size_t done = 0;
    bool pushed = false;

    for (unsigned i = 0; done < len && i < t->queues[VIRTIO_CONSOLE_RXQ].num; i++) {
        unsigned n;
        int head = virtio_mmio_pop(t, VIRTIO_CONSOLE_RXQ, c->bufs, VIRTIO_CONSOLE_QUEUE_MAX, &n);

        if (head < 0)
            break;
        if (n && !c->bufs[0].write) {
            virtio_mmio_needs_reset(t); /* receive buffers are device-writable */
            break;
        }
        uint32_t written = 0;
        bool broken = false;
        for (unsigned k = 0; k < n && done < len; k++) {
            const struct vq_buf *b = &c->bufs[k];
            size_t m = len - done < b->len ? len - done : (size_t)b->len;
            if (m && t->mem.write(t->mem.ctx, b->addr, src + done, m) != 0) {
                broken = true;
                break;
            }
            done += m;
            written += (uint32_t)m;
        }
        if (broken) {
            /* What this chain would have taken is lost. */
            uint64_t room = 0;
            for (unsigned k = 0; k < n; k++)
                room += c->bufs[k].len;
            size_t lost = len - done < room - written ? len - done : (size_t)(room - written);
            done += lost;
            c->stats.rx_dropped += lost + written;
            virtio_mmio_needs_reset(t);
            break;
        }
        c->stats.rx_bytes += written;
        if (virtio_mmio_push(t, VIRTIO_CONSOLE_RXQ, (uint16_t)head, written) != 0)
            break;
        pushed = true;
    }
    if (pushed)
        virtio_mmio_used(t, VIRTIO_CONSOLE_RXQ);
    return done;
}

/* Lock held: the backlog into receive buffers, as far as they go. */
static void con_flush(struct virtio_console *c)
{
    if (!c->backlog_len)
        return;
    size_t k = con_deliver(c, c->backlog, c->backlog_len);
    memmove(c->backlog, c->backlog + k, c->backlog_len - k);
    c->backlog_len -= (unsigned)k;
}

size_t virtio_console_input(struct virtio_console *c, const char *buf, size_t n)
{
    size_t accepted = 0;

    spin_lock(&c->t.lock);
    con_flush(c);
    if (!c->backlog_len)
        accepted = con_deliver(c, buf, n);
    size_t k = n - accepted;
    if (k > VIRTIO_CONSOLE_BACKLOG - c->backlog_len)
        k = VIRTIO_CONSOLE_BACKLOG - c->backlog_len;
    memcpy(c->backlog + c->backlog_len, buf + accepted, k);
    c->backlog_len += (unsigned)k;
    accepted += k;
    spin_unlock(&c->t.lock);
    return accepted;
}

unsigned virtio_console_room(struct virtio_console *c)
{
    spin_lock(&c->t.lock);
    unsigned room = VIRTIO_CONSOLE_BACKLOG - c->backlog_len;
    spin_unlock(&c->t.lock);
    return room;
}

static void con_notify(void *dev, unsigned queue)
{
    struct virtio_console *c = dev;

    if (queue == VIRTIO_CONSOLE_TXQ)
        con_transmit(c);
    else
        con_flush(c); /* new receive buffers */
}

/* After a notify, lock released: receive buffers may have arrived for
 * input the host keeps waiting. */
static void con_kick(void *dev, unsigned queue)
{
    struct virtio_console *c = dev;

    if (queue != VIRTIO_CONSOLE_RXQ)
        return;
    spin_lock(&c->t.lock);
    bool due = c->room_wanted && c->room_notify;
    c->room_wanted = false;
    spin_unlock(&c->t.lock);
    if (due)
        c->room_notify(c->room_ctx);
}

static bool con_listening(const struct virtio_console *c)
{
    uint32_t st = __atomic_load_n(&c->t.status, __ATOMIC_RELAXED);

    return (st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

bool virtio_console_listening(struct virtio_console *c)
{
    return con_listening(c);
}

void virtio_console_set_room_notify(struct virtio_console *c, void (*room_notify)(void *ctx),
                                    void *ctx)
{
    spin_lock(&c->t.lock);
    c->room_notify = room_notify;
    c->room_ctx = ctx;
    spin_unlock(&c->t.lock);
}

size_t virtio_console_offer(struct virtio_console *c, const char *buf, size_t n)
{
    size_t k = 0;

    spin_lock(&c->t.lock);
    if (con_listening(c)) {
        con_flush(c);
        if (!c->backlog_len)
            k = con_deliver(c, buf, n);
    }
    if (k < n)
        c->room_wanted = true;
    spin_unlock(&c->t.lock);
    return k;
}

static void con_config_read(void *dev, uint32_t off, void *buf, uint32_t len)
{
    uint8_t cfg[VIRTIO_CONSOLE_CONFIG_LEN] = {0};

    (void)dev;
    cfg[4] = 1; /* max_nr_ports, le32 (only meaningful with MULTIPORT) */
    memcpy(buf, cfg + off, len);
}

static void con_config_write(void *dev, uint32_t off, const void *buf, uint32_t len)
{
    struct virtio_console *c = dev;

    /* emerg_wr (le32 at 8): its low byte is the character. */
    if (off == 8 && len >= 1 && c->output) {
        c->output(c->ctx, buf, 1);
        c->stats.tx_bytes++;
    }
}

static const struct virtio_dev_ops con_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .features = 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE,
    .nqueues = 2,
    .queue_max = VIRTIO_CONSOLE_QUEUE_MAX,
    .config_size = VIRTIO_CONSOLE_CONFIG_LEN,
    .max_chain_bytes = VIRTIO_CONSOLE_MAX_CHAIN,
    .config_read = con_config_read,
    .config_write = con_config_write,
    .notify = con_notify,
    .kick = con_kick,
};

void virtio_console_init(struct virtio_console *c, const struct guest_mem *mem,
                         const struct irq_line *irq,
                         void (*output)(void *ctx, const char *buf, size_t n), void *ctx)
{
    memset(c, 0, sizeof(*c));
    c->output = output;
    c->ctx = ctx;
    virtio_mmio_init(&c->t, &con_ops, c, mem, irq);
}

static void con_state_put(const void *dev, struct wire *w)
{
    const struct virtio_console *c = dev;

    wire_put_u32(w, c->backlog_len);
    wire_put_bytes(w, c->backlog, c->backlog_len);
    wire_put_u8(w, c->room_wanted);
}

static int con_state_get(void *dev, struct wire_in *r, bool apply)
{
    struct virtio_console *c = dev;
    uint32_t len = wire_get_u32(r);

    if (len > VIRTIO_CONSOLE_BACKLOG)
        return ERR_RANGE;
    /* Read where it goes only when applying: the check pass must not
     * touch the backlog. */
    if (apply) {
        wire_get_bytes(r, c->backlog, len);
        c->backlog_len = len;
    } else {
        for (uint32_t i = 0; i < len; i++)
            wire_get_u8(r);
    }
    uint8_t wanted = wire_get_u8(r);
    if (wanted > 1)
        return ERR_RANGE;
    if (apply)
        c->room_wanted = wanted;
    return 0;
}

long virtio_console_save(const struct virtio_console *c, void *buf, size_t size)
{
    return virtio_mmio_save(&c->t, VIRTIO_CONSOLE_STATE_VERSION, con_state_put, buf, size);
}

int virtio_console_load(struct virtio_console *c, const void *buf, size_t size)
{
    return virtio_mmio_load(&c->t, VIRTIO_CONSOLE_STATE_VERSION, con_state_get, buf, size);
}
