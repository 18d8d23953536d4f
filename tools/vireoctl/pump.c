/* SPDX-License-Identifier: Apache-2.0 */
/* vireoctl's byte pump for live migration (pump.h).  The control VM only
 * moves bytes: the stream is made and checked by the two Vireos. */
#define _GNU_SOURCE
#include "tools/vireoctl/pump.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/vm_sockets.h>

#define BUF (256u << 10)
/* Vireo's end may send this much before this control VM reads it (the
 * guest's vsock receive buffer, advertised to Vireo as its credit): the
 * stream out of Vireo waits for a credit update per buffer, a round trip
 * through Vireo on a loaded host.  Linux caps it at
 * SO_VM_SOCKETS_BUFFER_MAX_SIZE (256 KiB by default) unless raised first. */
#define VSOCK_BUF (1u << 20)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A peer that vanishes (its host killed) sends no FIN: unacknowledged
 * data fails the connection after 30 s (the engines' own silence limit:
 * on a loaded host 10 s without an acknowledgement happened on live
 * links), and an idle one is probed. */
static void tcp_tune(int fd)
{
    int one = 1, idle = 5, intvl = 2, cnt = 3;
    unsigned timeout_ms = 30000;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof(timeout_ms));
}

/* An IPv4 address only: a control VM's initramfs has no resolver (and a
 * static binary could not use glibc's). */
int pump_tcp_connect(const char *host, unsigned port, char *err, size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        snprintf(err, errlen, "%s: not an IPv4 address (a.b.c.d)", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        snprintf(err, errlen, "cannot connect to %s:%u: %s", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    tcp_tune(fd);
    return fd;
}

int pump_tcp_listen(unsigned port, char *err, size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0) {
        snprintf(err, errlen, "cannot listen on TCP port %u: %s", port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int pump_tcp_accept(int lfd, char *who, size_t wholen, char *err, size_t errlen)
{
    struct sockaddr_in a;
    socklen_t n = sizeof(a);
    int fd;

    do
        fd = accept4(lfd, (struct sockaddr *)&a, &n, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        snprintf(err, errlen, "accept: %s", strerror(errno));
        return -1;
    }
    char ip[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip));
    snprintf(who, wholen, "%s:%u", ip, ntohs(a.sin_port));
    tcp_tune(fd);
    return fd;
}

int pump_vsock_connect(unsigned cid, unsigned port, char *err, size_t errlen)
{
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        snprintf(err, errlen, "cannot connect to vsock %u:%u: %s%s", cid, port, strerror(errno),
                 errno == ECONNRESET || errno == ECONNREFUSED
                     ? " (only a VM configured as `control` may open the migration port)"
                     : "");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* Bigger socket buffers: the stream is bulk data (the maximum first,
     * or the size is refused above it). */
    unsigned long long size = VSOCK_BUF;
    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &size, sizeof(size));
    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &size, sizeof(size));
    return fd;
}

int pump_tcp_info(int fd, struct pump_tcp_info *ti)
{
    struct tcp_info i;
    socklen_t n = sizeof(i);

    memset(&i, 0, sizeof(i));
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &n) < 0)
        return -1;
    ti->rtt_us = i.tcpi_rtt;
    ti->cwnd = i.tcpi_snd_cwnd;
    ti->retrans = i.tcpi_total_retrans;
    return 0;
}

int pump_read_line(int fd, char *buf, size_t size, int timeout_s)
{
    size_t n = 0;
    double deadline = now_s() + timeout_s;

    while (n + 1 < size) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int ms = (int)((deadline - now_s()) * 1000);
        if (ms <= 0 || poll(&p, 1, ms) <= 0)
            return -1;
        ssize_t k = read(fd, buf + n, 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        if (buf[n] == '\n') {
            buf[n] = '\0';
            return 0;
        }
        n++;
    }
    return -1;
}

/* One direction: bytes read from `from` wait in buf until `to` took them. */
struct dir {
    int from, to;
    const char *from_name, *to_name;
    char buf[BUF];
    size_t len, pos; /* bytes waiting: buf[pos..len) */
    bool eof;        /* from ended; to's sending side shut once buf is empty */
    bool done;       /* and shut */
    bool discard;    /* to is gone: what from still sends is read and dropped */
    uint64_t moved;
};

static struct dir dirs[2];
static uint64_t flip_at = ~0ull;

void pump_flip_byte(uint64_t at)
{
    flip_at = at;
}

int pump_run(int a, const char *a_name, int b, const char *b_name, double interval_s,
             void (*tick)(void *ctx), void *ctx, struct pump_stats *st, char *err, size_t errlen)
{
    struct dir *d0 = &dirs[0], *d1 = &dirs[1];
    double next = now_s() + interval_s;

    *d0 = (struct dir){.from = a, .to = b, .from_name = a_name, .to_name = b_name};
    *d1 = (struct dir){.from = b, .to = a, .from_name = b_name, .to_name = a_name};
    while (!d0->done || !d1->done) {
        struct pollfd p[2] = {{.fd = a}, {.fd = b}};
        for (int i = 0; i < 2; i++) {
            struct dir *d = &dirs[i];
            if (d->done)
                continue;
            if (d->len > d->pos)
                p[i == 0 ? 1 : 0].events |= POLLOUT;
            if (!d->eof && (d->len < BUF || d->pos > BUF / 2))
                p[i].events |= POLLIN;
        }
        int ms = (int)((next - now_s()) * 1000);
        int rc = poll(p, 2, ms < 0 ? 0 : ms);
        if (rc < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            return -1;
        }
        if (now_s() >= next) {
            if (tick)
                tick(ctx);
            next = now_s() + interval_s;
        }
        for (int i = 0; i < 2; i++) {
            struct dir *d = &dirs[i];
            if (d->done)
                continue;
            if (d->pos && d->pos == d->len)
                d->pos = d->len = 0;
            if (d->pos > BUF / 2) { /* room at the end again */
                memmove(d->buf, d->buf + d->pos, d->len - d->pos);
                d->len -= d->pos;
                d->pos = 0;
            }
            /* Reads while there is room, not only once the buffer has
             * drained: the sender is not held up while this side writes. */
            if (d->len < BUF && !d->eof) {
                ssize_t k = recv(d->from, d->buf + d->len, BUF - d->len, MSG_DONTWAIT);
                if (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    snprintf(err, errlen, "%s: the connection broke: %s", d->from_name,
                             strerror(errno));
                    return -1;
                }
                if (k == 0) {
                    d->eof = true;
                } else if (k > 0) {
                    /* moved counts what left; what waits is len - pos. */
                    uint64_t at = d->moved + (d->len - d->pos);
                    if (d == d0 && flip_at >= at && flip_at < at + (uint64_t)k)
                        d->buf[d->len + (flip_at - at)] ^= 0x40;
                    d->len += (size_t)k;
                }
            }
            if (d->pos < d->len && d->discard)
                d->pos = d->len = 0;
            if (d->pos < d->len) {
                ssize_t k =
                    send(d->to, d->buf + d->pos, d->len - d->pos, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                    continue;
                if (k < 0 && (errno == EPIPE || errno == ECONNRESET)) {
                    /* The receiver closed (Vireo ended its engine: the
                     * other direction still carries its last words).
                     * Reading on and dropping, instead of closing with
                     * unread bytes, keeps those words from being lost to
                     * a TCP reset. */
                    d->discard = true;
                    d->pos = d->len = 0;
                    continue;
                }
                if (k < 0) {
                    snprintf(err, errlen, "%s: the connection broke: %s", d->to_name,
                             strerror(errno));
                    return -1;
                }
                d->pos += (size_t)k;
                d->moved += (uint64_t)k;
                if (d->pos == d->len)
                    d->pos = d->len = 0;
            }
            if (d->eof && d->pos == d->len) {
                if (!d->discard)
                    shutdown(d->to, SHUT_WR);
                d->done = true;
            }
        }
    }
    st->a_to_b = d0->moved;
    st->b_to_a = d1->moved;
    return 0;
}
