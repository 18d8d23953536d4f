/* SPDX-License-Identifier: Apache-2.0 */
/* Where clients reach the control plane: the host management port (one
 * session for as long as Vireo runs: the port is a byte stream with no
 * notion of a client connecting, so there is no greeting; a client starts
 * with a newline and `hello`) and, for control VMs, vsock: CID 2, port
 * CONTROL_VSOCK_PORT, a session per connection. */
#include "core/console.h"
#include "core/control/internal.h"
#include "core/control/migport.h"
#include "core/hostdev.h"
#include "core/vm.h"
#include "core/vsock.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/spinlock.h"

/* ---- vsock -------------------------------------------------------------- */

/* One vsock connection that is a session.  The slot belongs to the
 * session until the session is freed (ended), so a session the control
 * plane is still working on never reads another connection's bytes; conn
 * is cleared (under lock) when the device closes the connection, after
 * which nothing touches it (core/vsock.h, "The closed() race"). */
struct vsock_client {
    bool used;
    struct spinlock lock;
    struct vsock_conn *conn;
    struct control_session *s;
};

static struct spinlock clients_lock;
static struct vsock_client clients[CONTROL_SESSIONS];

static size_t vs_read(void *ctx, void *buf, size_t n)
{
    struct vsock_client *cl = ctx;
    spin_lock(&cl->lock);
    size_t k = cl->conn ? vsock_conn_recv(cl->conn, buf, n) : 0;
    spin_unlock(&cl->lock);
    return k;
}

static size_t vs_write(void *ctx, const void *buf, size_t n)
{
    struct vsock_client *cl = ctx;
    spin_lock(&cl->lock);
    size_t k = cl->conn ? vsock_conn_send(cl->conn, buf, n) : n; /* gone: dropped */
    spin_unlock(&cl->lock);
    return k;
}

static void vs_ended(void *ctx)
{
    struct vsock_client *cl = ctx;
    spin_lock(&cl->lock);
    if (cl->conn)
        vsock_conn_close(cl->conn); /* the session ended first (not today: only on close) */
    spin_unlock(&cl->lock);
    spin_lock(&clients_lock);
    cl->used = false;
    spin_unlock(&clients_lock);
}

static const struct control_transport vsock_port = {vs_read, vs_write, vs_ended};

static int vs_accept(struct vsock_conn *c)
{
    struct vm *vm = vsock_conn_vm(c);
    char who[64];

    if (!vm || !vm->cfg || !vm->cfg->control) {
        console_printf("vireo: vsock: vm %s (cid %llu) may not open the control port: not a "
                       "control VM; refused\n",
                       vm ? vm->name : "?", (unsigned long long)vsock_conn_peer_cid(c));
        return ERR_PERM;
    }
    struct vsock_client *cl = NULL;
    spin_lock(&clients_lock);
    for (unsigned i = 0; i < CONTROL_SESSIONS && !cl; i++) {
        if (!clients[i].used) {
            cl = &clients[i];
            cl->used = true;
        }
    }
    spin_unlock(&clients_lock);
    if (!cl)
        return ERR_NOSPC;
    spin_lock(&cl->lock);
    cl->conn = c;
    spin_unlock(&cl->lock);
    vsock_conn_set_priv(c, cl);
    fmt_snprintf(who, sizeof(who), "vm %s over vsock", vm->name);
    cl->s = control_open(&vsock_port, cl, vm, who, true);
    if (!cl->s) {
        spin_lock(&clients_lock);
        cl->used = false;
        spin_unlock(&clients_lock);
        return ERR_NOSPC;
    }
    return 0;
}

static void vs_news(struct vsock_conn *c)
{
    (void)c;
    control_kick();
}

static void vs_closed(struct vsock_conn *c)
{
    struct vsock_client *cl = vsock_conn_priv(c);

    spin_lock(&cl->lock);
    cl->conn = NULL;
    spin_unlock(&cl->lock);
    control_close(cl->s);
}

static const struct vsock_service control_service = {
    .port = CONTROL_VSOCK_PORT,
    .accept = vs_accept,
    .readable = vs_news,
    .writable = vs_news,
    .closed = vs_closed,
};

/* ---- the host management port ------------------------------------------ */

static size_t host_read(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    return hostdev_mgmt_read(buf, n);
}

static size_t host_write(void *ctx, const void *buf, size_t n)
{
    (void)ctx;
    return hostdev_mgmt_write(buf, n);
}

static const struct control_transport host_port = {host_read, host_write, NULL};

/* The port's interrupt, on the hart that takes it, with nothing held. */
static void host_news(void)
{
    control_kick();
}

void control_ports_start(void)
{
    migport_start();
    if (vsock_listen(&control_service) == 0)
        console_printf("vireo: control plane on vsock port %u (control VMs only)\n",
                       CONTROL_VSOCK_PORT);
    if (hostdev_mgmt_present()) {
        if (control_open(&host_port, NULL, NULL, "the management port", false)) {
            hostdev_mgmt_notify(host_news, host_news);
            console_printf("vireo: control plane on the management port (protocol %u)\n",
                           CONTROL_PROTOCOL);
        }
    }
}
