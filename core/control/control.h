/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane (docs/control.md): one protocol, JSON messages one per
 * line in the shape of QEMU's QMP, over two transports: the host
 * management port (privileged: physical access) and virtio-vsock from a
 * VM configured as `control`.  The shell and the protocol are two front
 * ends of the same operations (core/vm_ops.c).
 *
 * All of it runs under one lock, taken by control_kick: a transport with
 * news (bytes arrived, room to send) calls control_kick, which does the
 * work at once if the lock is free and otherwise leaves it to the hart
 * that holds it, which looks again before it lets go.  Nothing waits for
 * the lock.  News from inside other work (a VM changed state, a watched
 * console printed) goes through control_poke: the run loop acts on it. */
#ifndef VIREO_CORE_CONTROL_CONTROL_H
#define VIREO_CORE_CONTROL_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTROL_PROTOCOL   1 /* the version docs/control.md describes */
#define CONTROL_VSOCK_PORT 7000

struct vm;

/* A byte stream, both ways, non-blocking.  read and write return how
 * many bytes they moved (0: nothing now; the transport kicks when that
 * changes). */
struct control_transport {
    size_t (*read)(void *ctx, void *buf, size_t n);
    size_t (*write)(void *ctx, const void *buf, size_t n);
    /* Optional: the session on ctx is gone (after control_close); ctx is
     * the transport's again.  Called with the control lock held. */
    void (*ended)(void *ctx);
};

struct control_session;

/* Boot, once: hooks into VM events and console output. */
void control_init(uint32_t timebase_hz);

/* Opens the transports: the host management port, if there is one, and
 * vsock for control VMs.  Boot, after the host devices' interrupts are
 * set up. */
void control_ports_start(void);

/* A client on transport t (ctx is its own).  peer: the control VM at the
 * other end, or NULL for the host management port.  who names it in
 * messages and stop reasons ("the management port", "vm ctl over vsock").
 * greet: send the greeting now (a transport that knows when a client
 * connects).  NULL when every session is in use. */
struct control_session *control_open(const struct control_transport *t, void *ctx, struct vm *peer,
                                     const char *who, bool greet);
/* The client is gone: the session ends at the next work (its upload is
 * dropped, its console detached), and then the transport's ended(ctx)
 * says ctx is the transport's again.  Until then read and write may still
 * be called on ctx: a transport whose connection is already over answers
 * them with 0 (read) or drops the bytes (write).  Never blocks; any
 * context. */
void control_close(struct control_session *s);

/* Something happened that the control plane may have to act on (a
 * transport has bytes or room): the work is done now if nobody is doing
 * it.  From a place that holds no lock a command takes. */
void control_kick(void);
/* The same from anywhere: the work is done at the run loop's next stop. */
void control_poke(void);

/* For tests: forget every session, upload and event. */
void control_reset(void);

#endif
