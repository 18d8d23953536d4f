/* SPDX-License-Identifier: Apache-2.0 */
/* Where clients reach the control plane: the host management port (one
 * session for as long as Vireo runs: the port is a byte stream with no
 * notion of a client connecting, so there is no greeting; a client starts
 * with a newline and `hello`) and, for control VMs, vsock. */
#include "core/console.h"
#include "core/control/internal.h"
#include "core/hostdev.h"

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

static const struct control_transport host_port = {host_read, host_write};

/* The port's interrupt, on the hart that takes it, with nothing held. */
static void host_news(void)
{
    control_kick();
}

void control_ports_start(void)
{
    if (hostdev_mgmt_present()) {
        if (control_open(&host_port, NULL, NULL, "the management port", false)) {
            hostdev_mgmt_notify(host_news, host_news);
            console_printf("vireo: control plane on the management port (protocol %u)\n",
                           CONTROL_PROTOCOL);
        }
    }
}
