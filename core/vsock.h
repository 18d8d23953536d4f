/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's end of the guests' vsock connections (CID 2, the host): the
 * services it offers by port, and their connections.  A guest reaches them
 * through its virtio-vsock device (devices/virtio_vsock.h, the "vsock"
 * device kind, docs/devices.md).
 *
 * A service registers once with vsock_listen; the struct must live as
 * long as Vireo does (there is vsock_unlisten, for tests and for a
 * service that stops taking new connections: existing ones keep their
 * callbacks).  When a guest connects to the port, accept runs: 0 takes
 * the connection, a negative ERR_* code refuses it (the guest gets RST,
 * and nothing else is called for it).  A guest connecting to a port no
 * service listens on gets RST.  Each guest has its own table of
 * VIRTIO_VSOCK_CONNS connections; when it is full a connection attempt
 * gets RST.
 *
 * Calling context.  Callbacks are never called with a device or
 * transport lock held, and never from inside vsock_conn_recv, _send or
 * _close: they come from a guest's vCPU exit path (the device's kick, on
 * whichever hart that vCPU runs), from a device reset by the guest, and
 * from snapshot restore and VM destruction (management work).  So a
 * callback may call vsock_conn_recv/send/close, and a service may hold
 * its own lock while calling vsock_conn_* and take that lock in its
 * callbacks.  The calls themselves take the device's lock briefly, from
 * any hart; they never block on the guest.
 *
 * Callbacks for one connection never run concurrently (the device marks
 * the connection busy while one runs, and another hart with news for it
 * leaves the news to that caller), in this order: accept; then readable
 * and writable as bytes arrive and room frees; closed last.  readable is
 * edge-triggered: it is called when bytes arrive, so read until recv
 * returns 0 (or keep track of what is left).  After the guest ends the
 * stream or the connection, a last readable comes before closed if bytes
 * are still buffered; what is left unread when closed returns is lost.
 *
 * The closed() race.  A connection (struct vsock_conn *c) is a slot of its
 * device's table: once closed(c) returns, the slot may carry another
 * connection, of another service.  The rule: no service code may use c
 * after closed(c) returned.  Within callbacks that holds by itself
 * (closed is the last, and none runs concurrently with it).  A service
 * that uses c from elsewhere (a thread of the control plane sending a
 * reply later) must exclude closed() from that use with its own lock: it
 * takes the lock in closed() and marks its per-connection state dead,
 * and takes the same lock around every vsock_conn_* call made outside a
 * callback, checking that mark first.  Calls made before closed() runs on
 * a connection that is already over are harmless: send returns 0, recv
 * returns the bytes that arrived before the end, close does nothing.
 * Freeing the device (VM destroyed) delivers closed() for each connection
 * first, waiting for a callback in flight. */
#ifndef VIREO_CORE_VSOCK_H
#define VIREO_CORE_VSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vsock_conn; /* one stream connection between a guest and Vireo (CID 2) */
struct virtio_vsock_host;

#define VSOCK_HOST_CID     2
#define VSOCK_MAX_SERVICES 16

struct vsock_service {
    uint32_t port; /* Vireo's port it listens on */
    /* A guest VM connects from its port: 0 accepts, a negative ERR_* refuses (the guest gets RST).
     */
    int (*accept)(struct vsock_conn *c);
    void (*readable)(struct vsock_conn *c); /* bytes arrived: vsock_conn_recv them */
    void (*writable)(struct vsock_conn *c); /* room freed for vsock_conn_send (credit/rx buffers) */
    void (*closed)(struct vsock_conn *c);   /* last call for c: peer shutdown/RST, device reset, VM
                                               destroyed, transport reset */
};

/* 0, ERR_EXIST (port taken), ERR_NOSPC (VSOCK_MAX_SERVICES listen),
 * ERR_INVAL (no accept or closed callback). */
int vsock_listen(const struct vsock_service *s);
/* Stops offering s's port to new connections: 0 or ERR_NOENT. */
int vsock_unlisten(const struct vsock_service *s);

/* Bytes copied out (0: none buffered); frees the guest's credit. */
size_t vsock_conn_recv(struct vsock_conn *c, void *buf, size_t n);
/* Bytes queued (at most VIRTIO_VSOCK_TX_BUF wait per connection); 0 when no
 * room now (writable comes later), or when the connection is closing or
 * over.  Queued bytes reach the guest as its credit and receive buffers
 * allow. */
size_t vsock_conn_send(struct vsock_conn *c, const void *buf, size_t n);
/* Orderly shutdown from Vireo's side: queued bytes still go, then
 * SHUTDOWN; no readable/writable after it; closed() follows when the
 * guest answers (RST), or on a reset. */
void vsock_conn_close(struct vsock_conn *c);
/* The guest shut down its sending side and every byte it sent was read. */
bool vsock_conn_eof(struct vsock_conn *c);

struct vm *vsock_conn_vm(const struct vsock_conn *c);
uint64_t vsock_conn_peer_cid(const struct vsock_conn *c);
uint32_t vsock_conn_peer_port(const struct vsock_conn *c);
uint32_t vsock_conn_local_port(const struct vsock_conn *c);
void *vsock_conn_priv(const struct vsock_conn *c);
void vsock_conn_set_priv(struct vsock_conn *c, void *priv);

/* For the device kind (core/vdev/vsock.c): the callbacks a virtio-vsock
 * device makes, routed to the services; the device's owner is its
 * struct vm. */
extern const struct virtio_vsock_host vsock_host;

#endif
