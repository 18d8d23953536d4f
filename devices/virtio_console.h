/* SPDX-License-Identifier: Apache-2.0 */
/* virtio console device (virtio 1.2, 5.3): device ID 3, one port, no
 * MULTIPORT: receiveq0 (0) and transmitq0 (1).
 *
 * Features: VIRTIO_CONSOLE_F_EMERG_WRITE plus the transport's.  No
 * F_SIZE: cols and rows read 0 (the host does not know the terminal's
 * size).  Config space: cols, rows, max_nr_ports (1), emerg_wr; a write
 * to emerg_wr sends its low byte to the output, at any time (even before
 * DRIVER_OK, as the spec requires).
 *
 * Transmit: on a notify of transmitq0 the device-readable bytes of each
 * chain go to the output callback, in order, at most a queue's worth of
 * chains per notification; the used length is 0.  output runs with the
 * transport lock held: it must not touch this device.
 *
 * Receive: virtio_console_input fills posted receive buffers (one chain
 * may take many bytes; the used length is what was written).  Input that
 * finds no buffer (driver not started, none posted) waits in a
 * VIRTIO_CONSOLE_BACKLOG-byte backlog, delivered first when input arrives
 * or the driver notifies receiveq0; the backlog survives a device reset
 * (typed-ahead input reaches the driver once it is up).
 *
 * Errors: a device-writable buffer in transmitq0, a device-readable one in
 * receiveq0, a chain over VIRTIO_CONSOLE_MAX_CHAIN bytes or
 * VIRTIO_CONSOLE_QUEUE_MAX descriptors, or a buffer outside guest RAM
 * sets DEVICE_NEEDS_RESET (input bytes that were being written then are
 * lost and counted). */
#ifndef VIREO_DEVICES_VIRTIO_CONSOLE_H
#define VIREO_DEVICES_VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"

#define VIRTIO_ID_CONSOLE 3

#define VIRTIO_CONSOLE_F_SIZE        0
#define VIRTIO_CONSOLE_F_MULTIPORT   1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

#define VIRTIO_CONSOLE_RXQ        0
#define VIRTIO_CONSOLE_TXQ        1
#define VIRTIO_CONSOLE_QUEUE_MAX  128
#define VIRTIO_CONSOLE_MAX_CHAIN  (1u << 16)
#define VIRTIO_CONSOLE_BACKLOG    256
#define VIRTIO_CONSOLE_CONFIG_LEN 12 /* cols, rows, max_nr_ports, emerg_wr */

struct virtio_console_stats {
    uint64_t tx_bytes;   /* guest to output */
    uint64_t rx_bytes;   /* input written into guest buffers */
    uint64_t rx_dropped; /* input lost to a broken driver */
};

struct virtio_console {
    struct virtio_mmio t; /* the mmio_dev's priv is &t */
    void (*output)(void *ctx, const char *buf, size_t n);
    void *ctx;
    struct virtio_console_stats stats;    /* under the transport lock */
    char backlog[VIRTIO_CONSOLE_BACKLOG]; /* under the transport lock */
    unsigned backlog_len;
    struct vq_buf bufs[VIRTIO_CONSOLE_QUEUE_MAX]; /* scratch, under the lock */
    char chunk[256];                              /* scratch, under the lock */
    /* virtio_console_offer: who to tell when receive buffers arrive after
     * an offer found too few (room_wanted, under the lock). */
    void (*room_notify)(void *ctx);
    void *room_ctx;
    bool room_wanted;
};

void virtio_console_init(struct virtio_console *c, const struct guest_mem *mem,
                         const struct irq_line *irq,
                         void (*output)(void *ctx, const char *buf, size_t n), void *ctx);

/* Host input (typed characters) for the guest, from any hart.  Returns
 * the bytes accepted (delivered or kept in the backlog); at least
 * virtio_console_room() of them. */
size_t virtio_console_input(struct virtio_console *c, const char *buf, size_t n);

/* Bytes the next virtio_console_input is sure to accept (free backlog
 * space; it may accept more when receive buffers are posted). */
unsigned virtio_console_room(struct virtio_console *c);

/* Flow-controlled input, for a host that keeps what the guest cannot take
 * yet (the virtual console): writes at most what the posted receive
 * buffers hold (nothing before DRIVER_OK, nothing while the backlog is
 * not empty) and returns how many bytes it took.  When that is fewer than
 * n, room_notify(ctx) is called once the driver next notifies receiveq0
 * (new buffers), with the transport lock released. */
void virtio_console_set_room_notify(struct virtio_console *c, void (*room_notify)(void *ctx),
                                    void *ctx);
size_t virtio_console_offer(struct virtio_console *c, const char *buf, size_t n);
/* Whether the driver is up (DRIVER_OK, not NEEDS_RESET): input is for it. */
bool virtio_console_listening(struct virtio_console *c);

/* Snapshots (docs/snapshot-devices.md): the transport, then the input
 * backlog (typed bytes the driver has not taken) and whether the host
 * waits to be told of receive buffers.  Output is never pending: it goes
 * out during the notification.  Statistics are the host's, not saved.
 * load refuses a backlog over VIRTIO_CONSOLE_BACKLOG (see
 * virtio_mmio_load for the rest). */
#define VIRTIO_CONSOLE_STATE_VERSION 1
long virtio_console_save(const struct virtio_console *c, void *buf, size_t size);
int virtio_console_load(struct virtio_console *c, const void *buf, size_t size);

#endif
