/* SPDX-License-Identifier: Apache-2.0 */
/* vireoctl's byte pump for live migration (docs/migration.md): sockets to
 * the other host (TCP) and to Vireo's migration port (vsock), and the
 * loop that moves bytes between two of them both ways until both
 * directions have ended. */
#ifndef VIREO_TOOLS_VIREOCTL_PUMP_H
#define VIREO_TOOLS_VIREOCTL_PUMP_H

#include <stddef.h>
#include <stdint.h>

/* Each returns a connected (or listening) socket, or -1 with err saying why. */
int pump_tcp_connect(const char *host, unsigned port, char *err, size_t errlen);
int pump_tcp_listen(unsigned port, char *err, size_t errlen);
/* Waits for one connection on a listening socket; who: the peer's address. */
int pump_tcp_accept(int lfd, char *who, size_t wholen, char *err, size_t errlen);
int pump_vsock_connect(unsigned cid, unsigned port, char *err, size_t errlen);

/* The TCP connection's state, for progress lines: 0 or -1. */
struct pump_tcp_info {
    unsigned rtt_us, cwnd, retrans; /* smoothed round trip, segments, retransmitted */
};
int pump_tcp_info(int fd, struct pump_tcp_info *ti);

/* Reads one line (up to and without its '\n') byte by byte, so nothing
 * after it is consumed: 0, or -1 (closed, too long, timeout_s passed). */
int pump_read_line(int fd, char *buf, size_t size, int timeout_s);

struct pump_stats {
    uint64_t a_to_b, b_to_a; /* bytes */
};

/* Fault injection for tests: byte at (counting from 0) of the a -> b
 * direction of the next pump_run is flipped (XOR 0x40) on its way. */
void pump_flip_byte(uint64_t at);

/* Moves bytes a -> b and b -> a.  When one side ends its sending (EOF),
 * the other's sending side is shut down; it returns when both directions
 * have ended (0) or a socket failed (-1, err naming it: a_name, b_name).  tick(ctx) runs
 * every interval_s seconds meanwhile (progress). */
int pump_run(int a, const char *a_name, int b, const char *b_name, double interval_s,
             void (*tick)(void *ctx), void *ctx, struct pump_stats *st, char *err, size_t errlen);

#endif
