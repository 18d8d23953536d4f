/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's driver for the host's virtio console (virtio 1.2 5.3; QEMU
 * -device virtio-serial-device,max_ports=1 -device virtconsole,chardev=C):
 * the host management port, a byte stream to whoever holds the other end
 * (on QEMU a Unix socket; on a board, a second serial line plays the same
 * part).  Port 0 only: VIRTIO_CONSOLE_F_MULTIPORT is never negotiated, so
 * receiveq0 (queue 0) and transmitq0 (queue 1) are the whole device.
 *
 * Non-blocking, and the driver drops nothing either way:
 *  - Receive buffers stay posted.  One that comes back keeps its bytes
 *    until hvcons_read has taken all of them, and only then goes back to
 *    the device: a reader that stops reading stops the device (and, on
 *    QEMU, the socket's writer) instead of losing bytes.
 *  - hvcons_write copies into free transmit buffers, posts them and
 *    returns how many bytes it took: fewer than asked (0 when every buffer
 *    is with the device) means "the rest later".
 *  - hvcons_poll (from the device's interrupt, or called by a poller)
 *    acknowledges the interrupt, collects what the device returned and
 *    says whether bytes arrived and whether room came back for a writer
 *    that was turned away.
 *
 * The device's own flow control is its business: QEMU's virtconsole drops
 * what it cannot write to its chardev at once (docs/platform-notes.md).
 *
 * The device is trusted little: a used id that names no buffer in flight
 * or a length beyond the buffer marks the driver failed (read and write
 * then do nothing) instead of being followed.  One lock inside: every call
 * may come from any hart. */
#ifndef VIREO_DRIVERS_HVIRTIO_CONSOLE_H
#define VIREO_DRIVERS_HVIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/hvirtio.h"
#include "lib/spinlock.h"

#define HVCONS_RXQ   0
#define HVCONS_TXQ   1
#define HVCONS_QUEUE 16   /* entries per queue: one buffer each */
#define HVCONS_BUF   1024 /* bytes per buffer */
/* What hvcons_init's bufs must hold: HVCONS_QUEUE buffers each way. */
#define HVCONS_BUFS_BYTES (2u * HVCONS_QUEUE * HVCONS_BUF)

/* hvcons_poll's answer, a mask. */
#define HVCONS_READABLE 1u /* bytes arrived that hvcons_read has not taken */
#define HVCONS_WRITABLE 2u /* transmit room came back after hvcons_write fell short */

struct hvcons {
    struct hvirtio v;
    struct spinlock lock; /* everything below */
    bool failed;          /* the device broke the protocol: the port is dead */
    uint8_t (*rx)[HVCONS_BUF];
    uint8_t (*tx)[HVCONS_BUF];
    unsigned nbufs;                   /* buffers each way: the queues' size */
    int8_t rx_head_buf[HVCONS_QUEUE]; /* posted chain head -> rx buffer, -1: none */
    int8_t tx_head_buf[HVCONS_QUEUE]; /* likewise for tx */
    uint8_t rx_ready[HVCONS_QUEUE];   /* returned rx buffers, in arrival order */
    uint16_t rx_ready_len[HVCONS_QUEUE];
    unsigned rx_first, rx_count, rx_off; /* the ring of rx_ready; bytes taken of the first */
    uint8_t tx_free[HVCONS_QUEUE];       /* tx buffers not with the device */
    unsigned tx_nfree;
    bool rx_new;    /* bytes arrived since the last poll */
    bool tx_wanted; /* a write fell short: tell of room */
    bool tx_room;   /* ... and room came back since */
    uint64_t rx_bytes, tx_bytes;
};

/* rings: 2 x hvirtio_ring_bytes(HVCONS_QUEUE), 4 KiB aligned; bufs:
 * HVCONS_BUFS_BYTES.  Posts every receive buffer and starts the device.
 * 0, or with a reason hvirtio_open's or hvirtio_queue's code, or
 * ERR_NOENT when the device is not a virtio console. */
int hvcons_init(struct hvcons *c, uintptr_t base, void *rings, void *bufs, char *err,
                size_t errlen);

/* Copies up to n received bytes to buf, in order; returns how many (0:
 * nothing has arrived).  Buffers emptied go back to the device. */
size_t hvcons_read(struct hvcons *c, void *buf, size_t n);

/* Takes up to n bytes for the device (copied: buf may be reused at once);
 * returns how many, 0 when no transmit buffer is free. */
size_t hvcons_write(struct hvcons *c, const void *buf, size_t n);

/* Acknowledges the device's interrupt and collects what it returned;
 * returns HVCONS_READABLE and/or HVCONS_WRITABLE, each reported once per
 * event.  Readable is an edge: bytes a reader leaves unread are not
 * announced again (it must come back by itself, or read until 0). */
unsigned hvcons_poll(struct hvcons *c);

/* Whether the device broke the protocol (the port is then dead). */
bool hvcons_failed(struct hvcons *c);

#endif
