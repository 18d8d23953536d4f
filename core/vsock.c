/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's vsock services (see vsock.h): the registry by port, and the
 * connection calls, which go to the guest's virtio-vsock device. */
#include "core/vsock.h"

#include "devices/virtio_vsock.h"
#include "lib/err.h"
#include "lib/spinlock.h"

/* Registered services; a slot is NULL when free.  Under services_lock. */
static const struct vsock_service *services[VSOCK_MAX_SERVICES];
static struct spinlock services_lock = SPINLOCK_INIT;

int vsock_listen(const struct vsock_service *s)
{
    int r = ERR_NOSPC;

    if (!s || !s->accept || !s->closed)
        return ERR_INVAL;
    spin_lock(&services_lock);
    for (unsigned i = 0; i < VSOCK_MAX_SERVICES; i++) {
        if (services[i] && services[i]->port == s->port) {
            r = ERR_EXIST;
            break;
        }
    }
    for (unsigned i = 0; r == ERR_NOSPC && i < VSOCK_MAX_SERVICES; i++) {
        if (!services[i]) {
            services[i] = s;
            r = 0;
        }
    }
    spin_unlock(&services_lock);
    return r;
}

int vsock_unlisten(const struct vsock_service *s)
{
    int r = ERR_NOENT;

    spin_lock(&services_lock);
    for (unsigned i = 0; i < VSOCK_MAX_SERVICES; i++) {
        if (services[i] == s) {
            services[i] = NULL;
            r = 0;
        }
    }
    spin_unlock(&services_lock);
    return r;
}

static const struct vsock_service *service_find(uint32_t port)
{
    const struct vsock_service *s = NULL;

    spin_lock(&services_lock);
    for (unsigned i = 0; i < VSOCK_MAX_SERVICES && !s; i++) {
        if (services[i] && services[i]->port == port)
            s = services[i];
    }
    spin_unlock(&services_lock);
    return s;
}

/* ---- the device's callbacks: to the connection's service ---- */

static int host_accept(struct vsock_conn *c)
{
    const struct vsock_service *s = service_find(c->local_port);

    if (!s)
        return ERR_NOENT;
    /* Set before accept runs: the service may hand c on from there. */
    c->svc = (void *)s;
    int r = s->accept(c);
    if (r < 0) {
        c->svc = NULL;
        c->priv = NULL;
    }
    return r < 0 ? r : 0;
}

static void host_readable(struct vsock_conn *c)
{
    const struct vsock_service *s = c->svc;

    if (s && s->readable)
        s->readable(c);
}

static void host_writable(struct vsock_conn *c)
{
    const struct vsock_service *s = c->svc;

    if (s && s->writable)
        s->writable(c);
}

static void host_closed(struct vsock_conn *c)
{
    const struct vsock_service *s = c->svc;

    if (s)
        s->closed(c);
    c->svc = NULL;
    c->priv = NULL;
}

const struct virtio_vsock_host vsock_host = {
    .accept = host_accept,
    .readable = host_readable,
    .writable = host_writable,
    .closed = host_closed,
};

/* ---- connections ---- */

size_t vsock_conn_recv(struct vsock_conn *c, void *buf, size_t n)
{
    return virtio_vsock_conn_recv(c, buf, n);
}

size_t vsock_conn_send(struct vsock_conn *c, const void *buf, size_t n)
{
    return virtio_vsock_conn_send(c, buf, n);
}

void vsock_conn_close(struct vsock_conn *c)
{
    virtio_vsock_conn_close(c);
}

bool vsock_conn_eof(struct vsock_conn *c)
{
    return virtio_vsock_conn_eof(c);
}

struct vm *vsock_conn_vm(const struct vsock_conn *c)
{
    return c->dev->owner;
}

uint64_t vsock_conn_peer_cid(const struct vsock_conn *c)
{
    return c->dev->cid;
}

uint32_t vsock_conn_peer_port(const struct vsock_conn *c)
{
    return c->peer_port;
}

uint32_t vsock_conn_local_port(const struct vsock_conn *c)
{
    return c->local_port;
}

void *vsock_conn_priv(const struct vsock_conn *c)
{
    return c->priv;
}

void vsock_conn_set_priv(struct vsock_conn *c, void *priv)
{
    c->priv = priv;
}
