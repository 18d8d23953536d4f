/* SPDX-License-Identifier: Apache-2.0 */
/* vireoctl: drives Vireo's control plane (docs/control.md).
 *
 * One program for both places it runs: on the build machine it talks to
 * the Unix socket `tools/vireo run --mgmt PATH` exposes (Vireo's host
 * management port); in a control VM (a static riscv64 binary in its
 * initramfs) it talks AF_VSOCK to Vireo, CID 2.  The protocol is JSON
 * lines shaped like QEMU's QMP; lib/json.c reads the replies. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "lib/base64.h"
#include "lib/json.h"
#include "lib/trace_rec.h"
#include "tools/vireoctl/trace_json.h"
#include "tools/vireoctl/pump.h"

#define VSOCK_HOST_CID 2
#define VSOCK_CTL_PORT 7000
#define MIGRATE_PORT   7001 /* Vireo's migration port (vsock), and the TCP port between hosts */
#define CHUNK          (48u << 10) /* bytes per upload-data (Vireo's chunk-max) */
#define UPLOAD_WINDOW  4           /* upload-data requests in flight */
/* Replies coming back are kept small and one at a time: on QEMU the
 * management port is a virtconsole, which drops what it cannot write at
 * once when this end reads late (docs/platform-notes.md); a 16 KiB chunk
 * (22 KB of base64) stays well within what its socket buffers. */
#define READ_CHUNK     (16u << 10)
#define READ_WINDOW    1
#define TOKENS         8192
#define LINE_MAX_BYTES (1u << 20)

/* Exit codes (docs/control.md, "vireoctl"). */
enum {
    EXIT_OK = 0,
    EXIT_REFUSED = 1,  /* Vireo answered with an error not listed below */
    EXIT_USAGE = 2,    /* wrong command line */
    EXIT_CONNECT = 3,  /* no connection, or it broke, or no answer in time */
    EXIT_NOTFOUND = 4, /* NotFound / CommandNotFound */
    EXIT_STATE = 5,    /* InvalidState */
    EXIT_DENIED = 6,   /* PermissionDenied */
    EXIT_NOMEM = 7,    /* NoMemory / NoSpace */
    EXIT_MISMATCH = 8, /* console --expect text never came */
};

static int fd = -1;
static bool json_out;
static int timeout_s = 30;
static unsigned long id_base;
static unsigned long next_id;

static char *inbuf;
static size_t in_len;
static jsmntok_t *toks;
static struct json_doc doc;

static void die(int code, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

static void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vireoctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(code);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the connection ----------------------------------------------------- */

static void connect_unix(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(a.sun_path))
        die(EXIT_USAGE, "socket path too long: %s", path);
    strcpy(a.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die(EXIT_CONNECT, "cannot connect to %s: %s (is `tools/vireo run --mgmt %s` running?)",
            path, strerror(errno), path);
}

static void connect_vsock(unsigned cid, unsigned port)
{
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
    fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die(EXIT_CONNECT, "no vsock here: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        die(EXIT_CONNECT, "cannot connect to vsock %u:%u: %s%s", cid, port, strerror(errno),
            errno == ECONNRESET || errno == ECONNREFUSED
                ? " (only a VM configured as `control` may open the control port)"
                : "");
}

/* Called instead of dying when the connection ends (trace dump --follow:
 * Vireo powering off is how a traced run ends). */
static void (*on_lost)(void);

static void send_all(const char *s, size_t n)
{
    while (n) {
        ssize_t k = write(fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 && on_lost)
            on_lost();
        if (k <= 0)
            die(EXIT_CONNECT, "connection lost while sending: %s", strerror(errno));
        s += k;
        n -= (size_t)k;
    }
}

/* Reads until a whole line is there (or the deadline passes: NULL). */
static char *read_line(double deadline, size_t *len)
{
    for (;;) {
        char *nl = memchr(inbuf, '\n', in_len);
        if (nl) {
            *nl = 0;
            *len = (size_t)(nl - inbuf);
            return inbuf;
        }
        if (in_len >= LINE_MAX_BYTES)
            die(EXIT_CONNECT, "a line from Vireo longer than %u bytes", LINE_MAX_BYTES);
        double left = deadline - now_s();
        if (left <= 0)
            return NULL;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            continue;
        ssize_t k = read(fd, inbuf + in_len, LINE_MAX_BYTES - in_len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0 && on_lost)
            on_lost();
        if (k <= 0)
            die(EXIT_CONNECT, "Vireo closed the connection%s", k < 0 ? strerror(errno) : "");
        in_len += (size_t)k;
    }
}

/* Drops the line read_line returned. */
static void consume_line(size_t len)
{
    memmove(inbuf, inbuf + len + 1, in_len - len - 1);
    in_len -= len + 1;
}

static char line_copy[LINE_MAX_BYTES + 1];

enum msg_kind { MSG_TIMEOUT, MSG_NOISE, MSG_EVENT, MSG_REPLY };

/* The next line from Vireo, copied into line_copy (its length in *len)
 * and parsed into doc: an event, a reply, noise (not a JSON object: bytes
 * an earlier client left), or nothing by the deadline. */
static enum msg_kind next_message(double deadline, size_t *len)
{
    char *l = read_line(deadline, len);
    if (!l)
        return MSG_TIMEOUT;
    memcpy(line_copy, l, *len + 1);
    consume_line(*len);
    if (json_parse(&doc, line_copy, *len, toks, TOKENS) != 0 || json_type(&doc, 0) != JSON_OBJECT)
        return MSG_NOISE;
    return json_get(&doc, 0, "event") >= 0 ? MSG_EVENT : MSG_REPLY;
}

/* Sends a request; returns its id.  args is a JSON object's text or NULL. */
static unsigned long request_send(const char *cmd, const char *args)
{
    static char buf[CHUNK * 2];
    unsigned long id = next_id++;
    int n = snprintf(buf, sizeof(buf), "{\"execute\":\"%s\"%s%s,\"id\":\"%lx-%lu\"}\n", cmd,
                     args ? ",\"arguments\":" : "", args ? args : "", id_base, id);
    if (n < 0 || (size_t)n >= sizeof(buf))
        die(EXIT_USAGE, "request too long");
    send_all(buf, (size_t)n);
    return id;
}

/* Events that arrive while waiting for a reply go here (console output). */
static void (*on_event)(void);

/* Waits for the reply to request id; it is parsed into doc (a copy of the
 * line).  Lines for other ids (an earlier client's) are skipped. */
static void reply_wait(unsigned long id)
{
    char want[64];
    snprintf(want, sizeof(want), "\"%lx-%lu\"", id_base, id);
    double deadline = now_s() + timeout_s;
    for (;;) {
        size_t len;
        enum msg_kind k = next_message(deadline, &len);
        if (k == MSG_TIMEOUT)
            die(EXIT_CONNECT, "no answer from Vireo within %d s", timeout_s);
        if (k == MSG_NOISE)
            continue;
        if (k == MSG_EVENT) {
            if (on_event)
                on_event();
            continue;
        }
        size_t n;
        int idt = json_get(&doc, 0, "id");
        const char *raw = idt >= 0 ? json_raw(&doc, idt, &n) : "";
        if (idt < 0 || n != strlen(want) || memcmp(raw, want, n) != 0)
            continue;
        return;
    }
}

static int class_exit(const char *cls)
{
    if (!strcmp(cls, "NotFound") || !strcmp(cls, "CommandNotFound"))
        return EXIT_NOTFOUND;
    if (!strcmp(cls, "InvalidState"))
        return EXIT_STATE;
    if (!strcmp(cls, "PermissionDenied"))
        return EXIT_DENIED;
    if (!strcmp(cls, "NoMemory") || !strcmp(cls, "NoSpace"))
        return EXIT_NOMEM;
    return EXIT_REFUSED;
}

/* The reply's "return" token; on an error reply, says it and exits. */
static int reply_return(void)
{
    int e = json_get(&doc, 0, "error");
    if (e >= 0) {
        char cls[64] = "?", desc[512] = "?";
        json_str(&doc, json_get(&doc, e, "class"), cls, sizeof(cls));
        json_str(&doc, json_get(&doc, e, "desc"), desc, sizeof(desc));
        if (json_out)
            printf("%s\n", line_copy);
        fprintf(stderr, "vireoctl: %s (%s)\n", desc, cls);
        exit(class_exit(cls));
    }
    int r = json_get(&doc, 0, "return");
    if (r < 0)
        die(EXIT_CONNECT, "a reply without return or error: %.200s", line_copy);
    return r;
}

static int call(const char *cmd, const char *args)
{
    reply_wait(request_send(cmd, args));
    return reply_return();
}

/* The same, but an error reply is returned (-1, its desc in *why) rather
 * than the end of the program. */
static int call_may_fail(const char *cmd, const char *args, char *why, size_t whylen)
{
    reply_wait(request_send(cmd, args));
    int e = json_get(&doc, 0, "error");
    if (e >= 0) {
        json_str(&doc, json_get(&doc, e, "desc"), why, whylen);
        return -1;
    }
    return reply_return();
}

/* A JSON string literal for s (names are plain; quotes and backslashes
 * escaped anyway). */
static const char *jstr(const char *s)
{
    static char bufs[4][512];
    static int k;
    char *b = bufs[k++ % 4];
    size_t o = 0;
    b[o++] = '"';
    for (; *s && o < sizeof(bufs[0]) - 8; s++) {
        if (*s == '"' || *s == '\\')
            b[o++] = '\\';
        if ((unsigned char)*s < 0x20)
            continue;
        b[o++] = *s;
    }
    b[o++] = '"';
    b[o] = 0;
    return b;
}

static const char *name_arg(const char *name)
{
    static char buf[600];
    snprintf(buf, sizeof(buf), "{\"name\":%s}", jstr(name));
    return buf;
}

/* ---- output helpers ----------------------------------------------------- */

static void print_return(int r)
{
    size_t n;
    const char *raw = json_raw(&doc, r, &n);
    printf("%.*s\n", (int)n, raw);
}

static uint64_t get_u64(int obj, const char *key)
{
    uint64_t v = 0;
    json_u64(&doc, json_get(&doc, obj, key), &v);
    return v;
}

static const char *get_str(int obj, const char *key)
{
    static char bufs[4][1024];
    static int k;
    char *b = bufs[k++ % 4];
    if (json_str(&doc, json_get(&doc, obj, key), b, sizeof(bufs[0])) < 0)
        strcpy(b, "-");
    return b;
}

static bool get_bool(int obj, const char *key)
{
    bool v = false;
    json_bool(&doc, json_get(&doc, obj, key), &v);
    return v;
}

/* ---- commands ----------------------------------------------------------- */

static int do_list(void)
{
    int r = call("query-vms", NULL);
    if (json_out)
        return print_return(r), 0;
    printf("%-16s %-9s %5s %9s %10s %s\n", "NAME", "STATE", "VCPUS", "MEMORY", "UPTIME", "");
    for (int i = 0; i < json_size(&doc, r); i++) {
        int v = json_elem(&doc, r, i);
        uint64_t ms = get_u64(v, "uptime-ms"), s = ms / 1000;
        char up[32] = "-";
        if (!strcmp(get_str(v, "state"), "running") || !strcmp(get_str(v, "state"), "paused"))
            snprintf(up, sizeof(up), "%lu:%02lu:%02lu", (unsigned long)(s / 3600),
                     (unsigned long)(s / 60 % 60), (unsigned long)(s % 60));
        printf("%-16s %-9s %5lu %6lu MiB %10s %s\n", get_str(v, "name"), get_str(v, "state"),
               (unsigned long)get_u64(v, "vcpus"), (unsigned long)(get_u64(v, "memory") >> 20), up,
               get_bool(v, "control") ? "control" : "");
    }
    return 0;
}

static int do_host(void)
{
    int r = call("query-host", NULL);
    if (json_out)
        return print_return(r), 0;
    int m = json_get(&doc, r, "memory"), v = json_get(&doc, r, "vms"),
        h = json_get(&doc, r, "harts");
    printf("Vireo %s, up %lu s\n", get_str(r, "version"),
           (unsigned long)(get_u64(r, "uptime-ms") / 1000));
    printf("memory: %lu MiB free of %lu MiB\n", (unsigned long)(get_u64(m, "free") >> 20),
           (unsigned long)(get_u64(m, "total") >> 20));
    printf("VMs: %lu of %lu slots\n", (unsigned long)get_u64(v, "count"),
           (unsigned long)get_u64(v, "max"));
    for (int i = 0; i < json_size(&doc, h); i++) {
        int e = json_elem(&doc, h, i);
        if (json_get(&doc, e, "vm") >= 0)
            printf("hart %lu (hartid %lu): vm %s vcpu %lu\n", (unsigned long)get_u64(e, "index"),
                   (unsigned long)get_u64(e, "hartid"), get_str(e, "vm"),
                   (unsigned long)get_u64(e, "vcpu"));
        else
            printf("hart %lu (hartid %lu): idle\n", (unsigned long)get_u64(e, "index"),
                   (unsigned long)get_u64(e, "hartid"));
    }
    printf("isa: %s\nguest isa: %s\n", get_str(r, "isa"), get_str(r, "guest-isa"));
    return 0;
}

static void print_exits(int e)
{
    for (int k = 0, j = e + 1; k < json_size(&doc, e); k++, j = json_next(&doc, j + 1)) {
        char key[32];
        uint64_t v = 0;
        json_str(&doc, j, key, sizeof(key));
        json_u64(&doc, j + 1, &v);
        printf(" %s %lu", key, (unsigned long)v);
    }
    printf("\n");
}

static int do_info(const char *name)
{
    int r = call("query-vm", name_arg(name));
    if (json_out)
        return print_return(r), 0;
    int c = json_get(&doc, r, "config");
    printf("vm %s: %s, boot %lu, %lu vCPUs, %lu MiB RAM%s\n", get_str(r, "name"),
           get_str(r, "state"), (unsigned long)get_u64(r, "boots"),
           (unsigned long)get_u64(r, "vcpus"), (unsigned long)(get_u64(r, "memory") >> 20),
           get_bool(r, "control") ? ", control VM" : "");
    printf("  kernel %lu bytes, initrd %lu bytes, bootargs \"%s\"\n",
           (unsigned long)get_u64(c, "kernel-size"), (unsigned long)get_u64(c, "initrd-size"),
           get_str(c, "bootargs"));
    if (json_get(&doc, r, "reason") >= 0)
        printf("  ended: %s: %s\n", get_str(r, "how"), get_str(r, "reason"));
    int d = json_get(&doc, r, "devices");
    for (int i = 0; i < json_size(&doc, d); i++) {
        int e = json_elem(&doc, d, i);
        printf("  %-14s %-15s at %#lx irq %lu\n", get_str(e, "name"), get_str(e, "model"),
               (unsigned long)get_u64(e, "base"), (unsigned long)get_u64(e, "irq"));
    }
    int v = json_get(&doc, r, "vcpus");
    for (int i = 0; i < json_size(&doc, v); i++) {
        int e = json_elem(&doc, v, i);
        printf("  vcpu %lu: %s", (unsigned long)get_u64(e, "id"), get_str(e, "state"));
        if (json_get(&doc, e, "hart") >= 0)
            printf(" on hart %lu", (unsigned long)get_u64(e, "hart"));
        if (json_get(&doc, e, "pinned") >= 0)
            printf(", pinned to hart %lu", (unsigned long)get_u64(e, "pinned"));
        printf("\n");
    }
    int x = json_get(&doc, r, "exits");
    if (x >= 0) {
        printf("  exits since boot:");
        print_exits(x);
    }
    return 0;
}

static int do_stats(const char *name)
{
    int r = call("query-stats", name_arg(name));
    if (json_out)
        return print_return(r), 0;
    printf("vm %s: %s\n", get_str(r, "name"), get_str(r, "state"));
    int x = json_get(&doc, r, "exits");
    if (x < 0)
        return 0;
    printf("  exits:");
    print_exits(x);
    int v = json_get(&doc, r, "vcpus");
    for (int i = 0; i < json_size(&doc, v); i++) {
        int e = json_elem(&doc, v, i);
        printf("  vcpu %lu: ran %lu ms; exits:", (unsigned long)get_u64(e, "id"),
               (unsigned long)get_u64(e, "run-ms"));
        print_exits(json_get(&doc, e, "exits"));
    }
    int d = json_get(&doc, r, "devices");
    for (int i = 0; i < json_size(&doc, d); i++) {
        int e = json_elem(&doc, d, i);
        printf("  %-14s notifications %lu, requests %lu, %lu bytes from the guest, %lu to it\n",
               get_str(e, "name"), (unsigned long)get_u64(e, "notifications"),
               (unsigned long)get_u64(e, "requests"), (unsigned long)get_u64(e, "bytes-from-guest"),
               (unsigned long)get_u64(e, "bytes-to-guest"));
    }
    printf("  console output: %lu bytes\n", (unsigned long)get_u64(r, "console-output-bytes"));
    return 0;
}

static int do_simple(const char *cmd, const char *name, const char *done)
{
    int r = call(cmd, name_arg(name));
    if (json_out)
        print_return(r);
    else if (done)
        printf("vm %s %s\n", name, done);
    return 0;
}

static int do_log(const char *name)
{
    static char text[8192], bytes[8192];
    int r = call("vm-log", name_arg(name));
    if (json_out)
        return print_return(r), 0;
    int n = json_str(&doc, json_get(&doc, r, "data"), text, sizeof(text));
    long k = n < 0 ? -1 : base64_decode(text, (size_t)n, bytes, sizeof(bytes));
    if (k < 0)
        die(EXIT_CONNECT, "a log that is not base64");
    fwrite(bytes, 1, (size_t)k, stdout);
    return 0;
}

/* Progress on stderr, when it is a terminal: at most 5 times a second. */
static void progress(const char *what, const char *path, uint64_t done, uint64_t total, double t0,
                     bool last_one)
{
    static double last;
    double t = now_s();

    if (!isatty(2) || (t - last < 0.2 && !last_one))
        return;
    last = t;
    fprintf(stderr, "\rvireoctl: %s %s: %.1f of %.1f MiB (%.1f MiB/s)   %s", what, path,
            (double)done / 1048576.0, (double)total / 1048576.0,
            (double)done / 1048576.0 / (t - t0 > 0 ? t - t0 : 1), last_one ? "\n" : "");
}

/* Uploads a file in chunks, several in flight: the upload's id. */
static uint64_t upload_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(EXIT_USAGE, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || st.st_size <= 0)
        die(EXIT_USAGE, "%s: empty or unreadable", path);
    uint64_t size = (uint64_t)st.st_size;
    char args[256];
    snprintf(args, sizeof(args), "{\"size\":%llu}", (unsigned long long)size);
    int r = call("upload-begin", args);
    uint64_t up = get_u64(r, "upload");
    static char chunk[CHUNK], msg[CHUNK * 2];
    static char b64[CHUNK * 4 / 3 + 8];
    uint64_t sent = 0;
    unsigned long inflight[UPLOAD_WINDOW];
    unsigned nin = 0;
    double t0 = now_s();
    while (sent < size || nin) {
        if (sent < size && nin < UPLOAD_WINDOW) {
            size_t k = fread(chunk, 1, sizeof(chunk), f);
            if (k == 0)
                die(EXIT_USAGE, "%s: read failed", path);
            size_t m = base64_encode(chunk, k, b64, sizeof(b64));
            b64[m] = 0;
            snprintf(msg, sizeof(msg), "{\"upload\":%llu,\"offset\":%llu,\"data\":\"%s\"}",
                     (unsigned long long)up, (unsigned long long)sent, b64);
            inflight[nin++] = request_send("upload-data", msg);
            sent += k;
            continue;
        }
        reply_wait(inflight[0]);
        reply_return();
        memmove(inflight, inflight + 1, (nin - 1) * sizeof(inflight[0]));
        nin--;
        progress("uploading", path, sent, size, t0, sent == size && !nin);
    }
    fclose(f);
    return up;
}

/* create: the bundle goes up, then vm-create. */
static int do_create(const char *path, bool start)
{
    char args[256];
    uint64_t up = upload_file(path);
    snprintf(args, sizeof(args), "{\"upload\":%llu,\"start\":%s}", (unsigned long long)up,
             start ? "true" : "false");
    int r = call("vm-create", args);
    if (json_out)
        print_return(r);
    else
        printf("vm %s created%s\n", get_str(r, "name"), start ? " and started" : "");
    return 0;
}

/* snapshot: saved into Vireo's memory, then read out in chunks into path. */
static int do_snapshot(const char *name, const char *path)
{
    static char text[CHUNK * 4 / 3 + 8], bytes[CHUNK];
    char args[600];
    int r = call("snapshot-save", name_arg(name));
    uint64_t size = get_u64(r, "size"), ms = get_u64(r, "ms");
    FILE *f = fopen(path, "wb");
    if (!f)
        die(EXIT_USAGE, "cannot write %s: %s", path, strerror(errno));
    unsigned long inflight[READ_WINDOW];
    unsigned nin = 0;
    uint64_t asked = 0, got = 0;
    double t0 = now_s();
    while (got < size) {
        if (asked < size && nin < READ_WINDOW) {
            snprintf(args, sizeof(args), "{\"name\":%s,\"offset\":%llu,\"length\":%u}", jstr(name),
                     (unsigned long long)asked, READ_CHUNK);
            inflight[nin++] = request_send("snapshot-read", args);
            asked += READ_CHUNK;
            continue;
        }
        reply_wait(inflight[0]);
        r = reply_return();
        memmove(inflight, inflight + 1, (nin - 1) * sizeof(inflight[0]));
        nin--;
        if (get_u64(r, "size") != size)
            die(EXIT_REFUSED, "the snapshot changed while it was read (another snapshot-save?)");
        int n = json_str(&doc, json_get(&doc, r, "data"), text, sizeof(text));
        long k = n < 0 ? -1 : base64_decode(text, (size_t)n, bytes, sizeof(bytes));
        if (k <= 0 || fwrite(bytes, 1, (size_t)k, f) != (size_t)k)
            die(EXIT_CONNECT, "a snapshot chunk that is not base64, or %s not written", path);
        got += (uint64_t)k;
        progress("saving", path, got, size, t0, got == size);
    }
    if (fclose(f) != 0)
        die(EXIT_USAGE, "%s: %s", path, strerror(errno));
    printf("vm %s: snapshot of %llu KiB taken in %llu ms, written to %s\n", name,
           (unsigned long long)(size >> 10), (unsigned long long)ms, path);
    return 0;
}

/* restore: the file goes up, then snapshot-restore. */
static int do_restore(const char *name, const char *path)
{
    char args[600];
    uint64_t up = upload_file(path);
    snprintf(args, sizeof(args), "{\"name\":%s,\"upload\":%llu}", jstr(name),
             (unsigned long long)up);
    int r = call("snapshot-restore", args);
    if (json_out)
        print_return(r);
    else
        printf("vm %s restored from %s in %llu ms; %s (vireoctl resume %s)\n", name, path,
               (unsigned long long)get_u64(r, "ms"), get_str(r, "state"), name);
    return 0;
}

/* ---- console ------------------------------------------------------------ */

static const char *con_name;
static char *expect_text;
static size_t expect_seen; /* bytes of output kept for the search */
static char seen_buf[1 << 16];
static bool expect_hit;

static void console_event(void)
{
    static char text[8192], bytes[8192];
    if (!json_str_eq(&doc, json_get(&doc, 0, "event"), "CONSOLE"))
        return;
    int d = json_get(&doc, 0, "data");
    int n = json_str(&doc, json_get(&doc, d, "data"), text, sizeof(text));
    long k = n < 0 ? -1 : base64_decode(text, (size_t)n, bytes, sizeof(bytes));
    if (k <= 0)
        return;
    if (write(1, bytes, (size_t)k) < 0)
        exit(EXIT_CONNECT);
    if (expect_text && !expect_hit) {
        if (expect_seen + (size_t)k >= sizeof(seen_buf)) {
            size_t keep = strlen(expect_text);
            memmove(seen_buf, seen_buf + expect_seen - keep, keep);
            expect_seen = keep;
        }
        memcpy(seen_buf + expect_seen, bytes, (size_t)k);
        expect_seen += (size_t)k;
        seen_buf[expect_seen] = 0;
        expect_hit = memmem(seen_buf, expect_seen, expect_text, strlen(expect_text)) != NULL;
    }
}

/* Types bytes into the console; what the VM's queue cannot take now is
 * sent again until it is taken (no keystroke dropped). */
static void console_type(const char *s, size_t n)
{
    static char b64[CHUNK * 4 / 3 + 8], args[CHUNK * 2];
    while (n) {
        size_t k = n < 1024 ? n : 1024;
        size_t m = base64_encode(s, k, b64, sizeof(b64));
        b64[m] = 0;
        snprintf(args, sizeof(args), "{\"name\":%s,\"data\":\"%s\"}", jstr(con_name), b64);
        int r = call("console-input", args);
        uint64_t took = get_u64(r, "accepted");
        s += took;
        n -= took;
        if (!took)
            usleep(20000);
    }
}

/* Handles the lines that arrived (events) without a request outstanding. */
static void pump_events(double wait_s)
{
    double deadline = now_s() + wait_s;
    size_t len;
    enum msg_kind k;
    while ((k = next_message(deadline, &len)) != MSG_TIMEOUT) {
        if (k == MSG_EVENT)
            console_event();
        deadline = now_s(); /* only what is already here */
    }
}

static int do_console(const char *name, const char *run, const char *expect, bool history)
{
    char args[600];
    con_name = name;
    on_event = console_event;
    snprintf(args, sizeof(args), "{\"name\":%s,\"history\":%s}", jstr(name),
             history ? "true" : "false");
    call("console-attach", args);
    if (run) {
        /* Scripted: type one line, wait for the expected text (or for
         * quiet), detach. */
        expect_text = expect ? strdup(expect) : NULL;
        console_type(run, strlen(run));
        console_type("\n", 1);
        double deadline = now_s() + timeout_s;
        while (now_s() < deadline && !(expect_text && expect_hit))
            pump_events(0.2);
        call("console-detach", NULL);
        if (expect_text && !expect_hit) {
            fprintf(stderr, "\nvireoctl: \"%s\" did not appear within %d s\n", expect_text,
                    timeout_s);
            return EXIT_MISMATCH;
        }
        return EXIT_OK;
    }
    /* Interactive: the terminal raw, Ctrl-] (0x1d) leaves. */
    struct termios saved, raw;
    bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
    if (tty) {
        raw = saved;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
        fprintf(stderr, "vireoctl: console of vm %s; Ctrl-] leaves\r\n", name);
    }
    for (;;) {
        struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        if (in_len)
            pump_events(0);
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents) {
            ssize_t k = read(fd, inbuf + in_len, LINE_MAX_BYTES - in_len);
            if (k <= 0)
                break;
            in_len += (size_t)k;
            pump_events(0);
        }
        if (p[0].revents) {
            char b[256];
            ssize_t k = read(0, b, sizeof(b));
            if (k <= 0)
                break;
            char *esc = memchr(b, 0x1d, (size_t)k);
            console_type(b, esc ? (size_t)(esc - b) : (size_t)k);
            if (esc)
                break;
        }
    }
    if (tty)
        tcsetattr(0, TCSANOW, &saved);
    call("console-detach", NULL);
    fprintf(stderr, "\nvireoctl: left the console of vm %s\n", name);
    return EXIT_OK;
}

/* ---- gdbserver: a VM's gdb stub on a TCP port --------------------------- */

static int gdb_fd = -1; /* the connected gdb, or -1 */
static const char *gdb_vm;
static char gdb_end_reason[512]; /* GDB_END came: why */

/* GDB events: the stub's bytes go to gdb as they are. */
static void gdb_event(void)
{
    static char text[16384], bytes[16384];
    int ev = json_get(&doc, 0, "event"), d = json_get(&doc, 0, "data");
    if (json_str_eq(&doc, ev, "GDB_END")) {
        json_str(&doc, json_get(&doc, d, "reason"), gdb_end_reason, sizeof(gdb_end_reason));
        if (!gdb_end_reason[0])
            snprintf(gdb_end_reason, sizeof(gdb_end_reason), "the stub ended");
        return;
    }
    if (!json_str_eq(&doc, ev, "GDB") || gdb_fd < 0)
        return;
    int n = json_str(&doc, json_get(&doc, d, "bytes"), text, sizeof(text));
    long k = n < 0 ? -1 : base64_decode(text, (size_t)n, bytes, sizeof(bytes));
    for (long off = 0; off < k;) {
        ssize_t w = write(gdb_fd, bytes + off, (size_t)(k - off));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(gdb_fd); /* gdb went away: the loop detaches */
            gdb_fd = -1;
            return;
        }
        off += w;
    }
}

/* [ADDR:]PORT: a listening TCP socket (ADDR defaults to 127.0.0.1: the
 * stub gives whoever connects the VM's memory). */
static int gdb_listen(const char *spec)
{
    char addr[64] = "127.0.0.1";
    unsigned port;
    const char *colon = strrchr(spec, ':');
    if (colon) {
        size_t n = (size_t)(colon - spec);
        if (n == 0 || n >= sizeof(addr))
            die(EXIT_USAGE, "--listen wants [ADDR:]PORT, not '%s'", spec);
        memcpy(addr, spec, n);
        addr[n] = 0;
        spec = colon + 1;
    }
    char *end;
    unsigned long p = strtoul(spec, &end, 10);
    if (!*spec || *end || p == 0 || p > 65535)
        die(EXIT_USAGE, "--listen wants a port 1..65535, not '%s'", spec);
    port = (unsigned)p;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        die(EXIT_USAGE, "--listen: '%s' is not an IPv4 address", addr);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
        die(EXIT_CONNECT, "cannot listen on %s:%u: %s", addr, port, strerror(errno));
    fprintf(stderr, "vireoctl: gdb stub of vm %s on %s:%u (gdb: target remote %s:%u)\n", gdb_vm,
            addr, port, addr, port);
    return l;
}

/* Serves gdb connections to vm name one after another (once: just one),
 * until the VM goes away. */
static int do_gdbserver(const char *name, const char *listen_spec, bool once)
{
    static char b64[8192 * 4 / 3 + 8], args[8192 * 2];
    gdb_vm = name;
    on_event = gdb_event;
    int l = gdb_listen(listen_spec);
    for (;;) {
        gdb_fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (gdb_fd < 0) {
            if (errno == EINTR)
                continue;
            die(EXIT_CONNECT, "accept: %s", strerror(errno));
        }
        int one = 1;
        setsockopt(gdb_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        call("gdb-attach", name_arg(name));
        fprintf(stderr, "vireoctl: gdb connected to vm %s\n", name);
        while (gdb_fd >= 0 && !gdb_end_reason[0]) {
            struct pollfd p[2] = {{.fd = gdb_fd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
            /* Whole lines already here first (a call may have read them). */
            if (memchr(inbuf, '\n', in_len)) {
                size_t len;
                if (next_message(now_s(), &len) == MSG_EVENT)
                    gdb_event();
                continue;
            }
            if (poll(p, 2, -1) < 0) {
                if (errno == EINTR)
                    continue;
                break;
            }
            if (p[1].revents) {
                ssize_t k = read(fd, inbuf + in_len, LINE_MAX_BYTES - in_len);
                if (k <= 0)
                    die(EXIT_CONNECT, "Vireo closed the connection");
                in_len += (size_t)k;
            }
            if (p[0].revents) {
                char b[8192];
                ssize_t k = read(gdb_fd, b, sizeof(b));
                if (k <= 0) {
                    close(gdb_fd);
                    gdb_fd = -1;
                    break;
                }
                size_t m = base64_encode(b, (size_t)k, b64, sizeof(b64));
                b64[m] = 0;
                snprintf(args, sizeof(args), "{\"name\":%s,\"bytes\":\"%s\"}", jstr(name), b64);
                call("gdb-input", args);
            }
        }
        if (gdb_end_reason[0]) {
            fprintf(stderr, "vireoctl: vm %s: %s\n", name, gdb_end_reason);
            return EXIT_STATE;
        }
        /* The VM may have ended just as gdb left (then GDB_END is on its
         * way, or the stub is gone already). */
        char why[512];
        if (call_may_fail("gdb-detach", name_arg(name), why, sizeof(why)) < 0) {
            fprintf(stderr, "vireoctl: gdb left vm %s (%s)\n", name, why);
            if (once)
                return EXIT_OK;
            continue;
        }
        fprintf(stderr, "vireoctl: gdb left vm %s; it runs on\n", name);
        if (once)
            return EXIT_OK;
    }
}

static void usage(FILE *o);

/* ---- trace (docs/tracing.md) ----------------------------------------- */

/* Records per trace-read: 16 KiB, the size the management port carries
 * safely in one reply (READ_CHUNK). */
#define TRACE_READ_RECS (READ_CHUNK / TRACE_REC_WIRE_SIZE)

static struct tj_meta trace_meta;
static struct trace_rec *trace_recs;
static size_t trace_n, trace_cap;
static const char *trace_out, *trace_summary_out;
static bool trace_summary;
static uint64_t trace_dropped0, trace_dropped;
static volatile sig_atomic_t trace_stop_asked;

static void trace_signal(int sig)
{
    (void)sig;
    trace_stop_asked = 1;
}

/* trace-status into trace_meta; returns the records lost in Vireo so far. */
static uint64_t trace_status_meta(void)
{
    int r = call("trace-status", NULL);
    uint64_t dropped = 0;

    trace_meta.timebase_hz = (uint32_t)get_u64(r, "timebase-hz");
    int hs = json_get(&doc, r, "harts");
    for (int k = 0, h; (h = json_elem(&doc, hs, k)) >= 0; k++)
        dropped += get_u64(h, "dropped");
    int vs = json_get(&doc, r, "vms");
    for (int k = 0, v; (v = json_elem(&doc, vs, k)) >= 0; k++) {
        uint64_t idx = get_u64(v, "index");
        if (idx >= TJ_VMS)
            continue;
        trace_meta.vm[idx].used = true;
        snprintf(trace_meta.vm[idx].name, TJ_NAME, "%s", get_str(v, "name"));
        trace_meta.vm[idx].vcpus = (unsigned)get_u64(v, "vcpus");
        const char *keys[2] = {"bus", "virtio"};
        for (int w = 0; w < 2; w++) {
            int arr = json_get(&doc, v, keys[w]);
            if (arr < 0)
                continue; /* not built now: keep what an earlier look saw */
            for (int d = 0, e; (e = json_elem(&doc, arr, d)) >= 0 && d < TJ_DEVS; d++) {
                char *dst = w ? trace_meta.vm[idx].virtio[d] : trace_meta.vm[idx].bus[d];
                if (json_str(&doc, e, dst, TJ_NAME) < 0)
                    dst[0] = 0;
            }
        }
    }
    return dropped;
}

/* One trace-read of every hart's ring; returns how many records came. */
static size_t trace_read_once(void)
{
    static char text[READ_CHUNK * 4 / 3 + 16];
    static uint8_t bytes[READ_CHUNK];
    char args[64];

    snprintf(args, sizeof(args), "{\"max\":%u}", TRACE_READ_RECS);
    int r = call("trace-read", args);
    int n = json_str(&doc, json_get(&doc, r, "data"), text, sizeof(text));
    long k = n < 0 ? -1 : base64_decode(text, (size_t)n, bytes, sizeof(bytes));
    if (k < 0 || k % TRACE_REC_WIRE_SIZE)
        die(EXIT_CONNECT, "trace-read: data is not base64 of whole %u-byte records",
            TRACE_REC_WIRE_SIZE);
    uint64_t dropped = 0;
    int hs = json_get(&doc, r, "harts");
    for (int i = 0, h; (h = json_elem(&doc, hs, i)) >= 0; i++)
        dropped += get_u64(h, "dropped");
    trace_dropped = dropped;
    size_t got = 0;
    for (long off = 0; off < k; off += TRACE_REC_WIRE_SIZE) {
        struct trace_rec rec;
        if (!trace_rec_decode(bytes + off, &rec))
            continue; /* a type this vireoctl does not know */
        if (trace_n == trace_cap) {
            size_t cap = trace_cap ? trace_cap * 2 : 65536;
            struct trace_rec *p = realloc(trace_recs, cap * sizeof(*p));
            if (!p)
                die(EXIT_NOMEM, "out of memory for %zu trace records", cap);
            trace_recs = p;
            trace_cap = cap;
        }
        trace_recs[trace_n++] = rec;
        got++;
    }
    (void)got;
    return (size_t)(k / TRACE_REC_WIRE_SIZE); /* read, known or not */
}

static struct tj trace_conv;

/* Sorts what was read and writes the JSON (and the summary). */
static void trace_write(void)
{
    trace_meta.dropped = (unsigned)(trace_dropped - trace_dropped0);
    tj_sort(trace_recs, trace_n);
    FILE *f = fopen(trace_out, "w");
    if (!f)
        die(EXIT_USAGE, "cannot write %s: %s", trace_out, strerror(errno));
    tj_begin(&trace_conv, f, &trace_meta);
    for (size_t i = 0; i < trace_n; i++)
        tj_add(&trace_conv, &trace_recs[i]);
    tj_end(&trace_conv);
    if (fclose(f) != 0)
        die(EXIT_USAGE, "%s: %s", trace_out, strerror(errno));
    fprintf(stderr, "vireoctl: %zu trace records (%llu exits paired, %u dropped in Vireo) -> %s\n",
            trace_n, (unsigned long long)trace_conv.pairs, trace_meta.dropped, trace_out);
    if (trace_summary || trace_summary_out) {
        FILE *o = stdout;
        if (trace_summary_out && !(o = fopen(trace_summary_out, "w")))
            die(EXIT_USAGE, "cannot write %s: %s", trace_summary_out, strerror(errno));
        tj_summary(&trace_conv, o);
        if (o != stdout)
            fclose(o);
    }
}

static void trace_lost(void)
{
    fprintf(stderr, "vireoctl: Vireo closed the connection: writing what was read\n");
    trace_write();
    exit(EXIT_OK);
}

/* dump: what the rings hold now; with follow, keeps reading until Vireo
 * goes away (or SIGINT/SIGTERM), then writes everything. */
static int do_trace_dump(bool follow)
{
    trace_dropped0 = trace_dropped = trace_status_meta();
    if (follow) {
        on_lost = trace_lost;
        signal(SIGINT, trace_signal);
        signal(SIGTERM, trace_signal);
        /* Everything lost in Vireo counts: the rings may have filled before
         * this reader came. */
        trace_dropped0 = 0;
    }
    double meta_at = now_s();
    while (!trace_stop_asked) {
        size_t got = trace_read_once();
        if (!follow && got == 0)
            break;
        if (follow && now_s() - meta_at > 2) {
            trace_status_meta(); /* VMs built since */
            meta_at = now_s();
        }
        if (follow && got < TRACE_READ_RECS / 4)
            usleep(20000);
    }
    on_lost = NULL;
    trace_write();
    return 0;
}

static int do_trace(int nargs, char **a)
{
    if (nargs < 1) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(a[0], "start") && nargs <= 2) {
        char args[160];
        if (nargs == 2)
            snprintf(args, sizeof(args), "{\"classes\":%s}", jstr(a[1]));
        int r = call("trace-start", nargs == 2 ? args : NULL);
        if (json_out)
            print_return(r);
        else
            printf("tracing %s on %llu harts (%llu records each)\n", get_str(r, "classes"),
                   (unsigned long long)get_u64(r, "harts"),
                   (unsigned long long)get_u64(r, "ring-records"));
        return 0;
    }
    if (!strcmp(a[0], "stop") && nargs == 1) {
        int r = call("trace-stop", NULL);
        if (json_out)
            print_return(r);
        else
            printf("tracing off\n");
        return 0;
    }
    if (!strcmp(a[0], "status") && nargs == 1) {
        int r = call("trace-status", NULL);
        if (json_out) {
            print_return(r);
            return 0;
        }
        printf("tracing: %s (timebase %llu Hz)\n", get_str(r, "classes"),
               (unsigned long long)get_u64(r, "timebase-hz"));
        int hs = json_get(&doc, r, "harts");
        for (int k = 0, h; (h = json_elem(&doc, hs, k)) >= 0; k++)
            printf(
                "  hart %llu: %llu written, %llu waiting, %llu dropped (ring of %llu)\n",
                (unsigned long long)get_u64(h, "index"), (unsigned long long)get_u64(h, "written"),
                (unsigned long long)get_u64(h, "pending"),
                (unsigned long long)get_u64(h, "dropped"), (unsigned long long)get_u64(h, "size"));
        return 0;
    }
    if (!strcmp(a[0], "dump")) {
        bool follow = false;
        for (int k = 1; k < nargs; k++) {
            if (!strcmp(a[k], "--out") && k + 1 < nargs)
                trace_out = a[++k];
            else if (!strcmp(a[k], "--summary"))
                trace_summary = true;
            else if (!strcmp(a[k], "--summary-out") && k + 1 < nargs)
                trace_summary_out = a[++k];
            else if (!strcmp(a[k], "--follow"))
                follow = true;
            else {
                usage(stderr);
                return EXIT_USAGE;
            }
        }
        if (!trace_out) {
            usage(stderr);
            return EXIT_USAGE;
        }
        return do_trace_dump(follow);
    }
    usage(stderr);
    return EXIT_USAGE;
}

static int do_events(void) __attribute__((noreturn));
static int do_events(void)
{
    call("hello", NULL);
    for (;;) {
        size_t len;
        if (next_message(now_s() + 3600, &len) == MSG_EVENT) {
            printf("%s\n", line_copy);
            fflush(stdout);
        }
    }
}

/* ---- live migration (docs/migration.md) ------------------------------------- */

/* The control VM pumps bytes: TCP to the other host's control VM <-> vsock
 * to this Vireo's migration port.  Progress and the summary come from
 * query-migration on the control connection. */

static bool mig_tty;
static int mig_tcp = -1; /* the link to the other host, for its TCP state */

static void mig_progress_line(int o, bool out)
{
    char line[320], tcp[96] = "";
    struct pump_tcp_info ti;
    /* The link's round trip and congestion window: what a slow stream
     * between two hosts is bound by shows here. */
    if (mig_tcp >= 0 && pump_tcp_info(mig_tcp, &ti) == 0)
        snprintf(tcp, sizeof(tcp), ", tcp rtt %.0f ms cwnd %u retrans %u", ti.rtt_us / 1000.0,
                 ti.cwnd, ti.retrans);
    const char *phase = get_str(o, "phase");
    double mib = (double)get_u64(o, "bytes") / (1 << 20);
    if (out)
        snprintf(line, sizeof(line),
                 "migrate %s: %s, round %lu, %lu pages + %lu zero sent, %.1f MiB, %.1f MiB/s, "
                 "%lu dirty%s",
                 get_str(o, "vm"), phase, (unsigned long)get_u64(o, "rounds") + 1,
                 (unsigned long)get_u64(o, "pages"), (unsigned long)get_u64(o, "zero-pages"), mib,
                 (double)get_u64(o, "bytes-per-sec") / (1 << 20),
                 (unsigned long)get_u64(o, "dirty-pages"), tcp);
    else
        snprintf(line, sizeof(line), "incoming %s: %s, round %lu, %lu pages + %lu zero, %.1f MiB%s",
                 get_str(o, "vm"), phase, (unsigned long)get_u64(o, "rounds") + 1,
                 (unsigned long)get_u64(o, "pages"), (unsigned long)get_u64(o, "zero-pages"), mib,
                 tcp);
    if (mig_tty)
        fprintf(stderr, "\r%-150.150s", line);
    else
        fprintf(stderr, "%s\n", line);
}

static void mig_tick(void *ctx)
{
    const char *side = ctx;
    int r = call("query-migration", NULL);
    int o = json_get(&doc, r, side);
    if (o >= 0)
        mig_progress_line(o, side[0] == 'o');
}

/* HOST[:PORT] */
static void split_hostport(const char *s, char *host, size_t n, unsigned *port)
{
    const char *colon = strrchr(s, ':');
    size_t len = colon ? (size_t)(colon - s) : strlen(s);
    if (!len || len >= n)
        die(EXIT_USAGE, "--to wants HOST[:PORT], not %s", s);
    memcpy(host, s, len);
    host[len] = 0;
    *port = MIGRATE_PORT;
    if (colon && (sscanf(colon + 1, "%u", port) != 1 || *port == 0 || *port > 65535))
        die(EXIT_USAGE, "--to %s: a port is 1..65535", s);
}

/* Opens Vireo's migration port and says which end this is: its fd. */
static int mig_open_port(const char *request)
{
    char err[256], line[256];
    int v = pump_vsock_connect(VSOCK_HOST_CID, MIGRATE_PORT, err, sizeof(err));
    if (v < 0)
        die(EXIT_CONNECT, "%s", err);
    size_t n = strlen(request);
    if (write(v, request, n) != (ssize_t)n)
        die(EXIT_CONNECT, "migration port: %s", strerror(errno));
    if (pump_read_line(v, line, sizeof(line), timeout_s) < 0)
        die(EXIT_CONNECT, "no answer on Vireo's migration port within %d s", timeout_s);
    if (strcmp(line, "ok") != 0)
        die(!strncmp(line, "error: no VM", 12) ? EXIT_NOTFOUND : EXIT_REFUSED, "%s",
            !strncmp(line, "error: ", 7) ? line + 7 : line);
    return v;
}

static int do_migrate(const char *name, const char *to, unsigned downtime_ms, const char *opts)
{
    char host[256], err[256], req[512];
    unsigned port;
    struct pump_stats st;

    split_hostport(to, host, sizeof(host), &port);
    /* Vireo first: a VM it will not migrate is refused before the other
     * host hears of it.  Its engine waits for the destination's answer. */
    snprintf(req, sizeof(req), "out %s %s:%u %u%s\n", name, host, port, downtime_ms, opts);
    int v = mig_open_port(req);
    int t = pump_tcp_connect(host, port, err, sizeof(err));
    if (t < 0) {
        close(v); /* the engine sees the port closed: the VM runs on */
        die(EXIT_CONNECT, "%s (is `vireoctl migrate-listen` running there?)", err);
    }
    mig_tty = isatty(2);
    mig_tcp = t;
    int rc =
        pump_run(v, "Vireo's migration port", t, to, 0.5, mig_tick, "out", &st, err, sizeof(err));
    mig_tcp = -1;
    close(t);
    close(v);
    if (mig_tty)
        fputc('\n', stderr);
    if (rc < 0) /* why the link ended (Vireo's reason follows) */
        fprintf(stderr, "vireoctl: the link: %s\n", err);
    /* The engine is over once Vireo closed the port; the last word is its. */
    int r = call("query-migration", NULL);
    int o = json_get(&doc, r, "out");
    if (json_out) {
        print_return(r);
    } else if (o >= 0 && !strcmp(get_str(o, "phase"), "done")) {
        printf("migrated %s to %s: %lu rounds, %lu pages + %lu zero pages, %.1f MiB sent "
               "(%lu KiB of state), total %lu ms, downtime %lu ms",
               name, to, (unsigned long)get_u64(o, "rounds"), (unsigned long)get_u64(o, "pages"),
               (unsigned long)get_u64(o, "zero-pages"), (double)get_u64(o, "bytes") / (1 << 20),
               (unsigned long)get_u64(o, "state-bytes") >> 10,
               (unsigned long)get_u64(o, "total-ms"), (unsigned long)get_u64(o, "downtime-ms"));
        if (get_u64(o, "throttle-pct"))
            printf(", vCPUs throttled to %lu%%", 100 - (unsigned long)get_u64(o, "throttle-pct"));
        printf("\n");
    }
    if (o >= 0 && !strcmp(get_str(o, "phase"), "done"))
        return EXIT_OK;
    if (o >= 0 && !strcmp(get_str(o, "phase"), "unknown")) {
        fprintf(stderr,
                "vireoctl: migration of %s to %s: outcome unknown: %s; it stays paused here: "
                "check the destination, then `vireoctl migrate-resolve %s resume` (it does not "
                "run there) or `drop` (it does)\n",
                name, to, get_str(o, "reason"), name);
        return EXIT_STATE;
    }
    fprintf(stderr, "vireoctl: migration of %s to %s failed: %s; it runs on here\n", name, to,
            o >= 0 ? get_str(o, "reason") : (rc < 0 ? err : "?"));
    return EXIT_REFUSED;
}

static int do_migrate_listen(unsigned port, const char *as, bool once)
{
    char err[256], who[64], req[128];
    struct pump_stats st;
    int l = pump_tcp_listen(port, err, sizeof(err)), status = EXIT_OK;

    if (l < 0)
        die(EXIT_CONNECT, "%s", err);
    fprintf(stderr, "vireoctl: waiting for migrations on TCP port %u\n", port);
    do {
        int t = pump_tcp_accept(l, who, sizeof(who), err, sizeof(err));
        if (t < 0)
            die(EXIT_CONNECT, "%s", err);
        snprintf(req, sizeof(req), "in%s%s\n", as ? " " : "", as ? as : "");
        int v = mig_open_port(req);
        mig_tty = isatty(2);
        mig_tcp = t;
        int rc = pump_run(t, who, v, "Vireo's migration port", 0.5, mig_tick, "in", &st, err,
                          sizeof(err));
        mig_tcp = -1;
        close(t);
        close(v);
        if (mig_tty)
            fputc('\n', stderr);
        if (rc < 0)
            fprintf(stderr, "vireoctl: the link: %s\n", err);
        int r = call("query-migration", NULL);
        int o = json_get(&doc, r, "in");
        if (json_out) {
            print_return(r);
            fflush(stdout);
        }
        if (o >= 0 && !strcmp(get_str(o, "phase"), "done")) {
            if (!json_out)
                printf("vm %s migrated in from %s: %lu rounds, %lu pages + %lu zero pages, %.1f "
                       "MiB, %lu ms, paused %lu ms; running\n",
                       get_str(o, "vm"), who, (unsigned long)get_u64(o, "rounds"),
                       (unsigned long)get_u64(o, "pages"), (unsigned long)get_u64(o, "zero-pages"),
                       (double)get_u64(o, "bytes") / (1 << 20),
                       (unsigned long)get_u64(o, "total-ms"),
                       (unsigned long)get_u64(o, "downtime-ms"));
            status = EXIT_OK;
        } else {
            fprintf(stderr, "vireoctl: migration from %s not taken: %s\n", who,
                    o >= 0 ? get_str(o, "reason") : (rc < 0 ? err : "?"));
            status = EXIT_REFUSED;
        }
        fflush(stdout);
    } while (!once);
    close(l);
    return status;
}

static void usage(FILE *o)
{
    fputs("Usage: vireoctl [OPTIONS] COMMAND [ARGS]\n"
          "\n"
          "Drives Vireo's control plane (docs/control.md): over the management port's Unix\n"
          "socket (`tools/vireo run --mgmt PATH`), or from a control VM over vsock.\n"
          "\n"
          "Options:\n"
          "  --socket PATH     the management port's Unix socket [$VIREO_SOCKET]\n"
          "  --vsock [CID:]PORT  vsock instead [2:7000; the default when there is no socket]\n"
          "  --json            print Vireo's replies as JSON\n"
          "  --timeout SECONDS how long to wait for an answer [30]\n"
          "\n"
          "Commands:\n"
          "  version                    Vireo's and the protocol's version\n"
          "  host                       harts, memory, ISA, VM slots\n"
          "  list                       every VM: state, vCPUs, memory, uptime\n"
          "  info NAME                  configuration, devices, vCPUs, exits\n"
          "  stats NAME                 exits by reason, per-vCPU run time, device I/O\n"
          "  start|stop|pause|resume|reset NAME\n"
          "  create BUNDLE [--start]    a VM from a boot bundle (`tools/vireo pack`)\n"
          "  delete NAME                a VM that is off or stopped; its memory returns\n"
          "  snapshot NAME FILE         pause it, save its state into FILE, resume it\n"
          "  restore NAME FILE          put a paused or off VM back to FILE's state\n"
          "  log NAME                   the last 4 KiB it printed\n"
          "  console NAME [--history]   its console here; Ctrl-] leaves\n"
          "  console NAME --run LINE [--expect TEXT]\n"
          "                             type LINE, print the output until TEXT appears\n"
          "  gdbserver NAME --listen [ADDR:]PORT [--once]\n"
          "                             a gdb stub for the VM on a TCP port (ADDR: 127.0.0.1)\n"
          "  events                     print events as they come (JSON lines)\n"
          "  trace start [CLASSES]      trace exit,sbi,mmio,irq,sched,virtio,vm (default all)\n"
          "  trace stop|status          stop tracing; classes on, records and drops per hart\n"
          "  trace dump --out FILE.json [--summary] [--summary-out FILE] [--follow]\n"
          "                             the records as Chrome Trace Event JSON (Perfetto);\n"
          "                             --summary: exits by reason; --follow: until Vireo ends\n"
          "  migrate NAME --to HOST[:PORT] [--downtime MS] [--shared-disks] [--no-converge]\n"
          "                             live-migrate NAME to the host whose control VM runs\n"
          "                             migrate-listen (port 7001; downtime target 300 ms);\n"
          "                             --shared-disks: its host-disk disks stay in place\n"
          "                             (both hosts share them); --no-converge: never\n"
          "                             throttle its vCPUs\n"
          "  migrate-cancel NAME        give up NAME's migration out of (it resumes here) or\n"
          "                             into this host (what was built goes)\n"
          "  migrate-resolve NAME resume|drop\n"
          "                             a migration out whose outcome is unknown (the link\n"
          "                             broke after the final state went): resume it here if\n"
          "                             it does not run at the destination, drop it if it does\n"
          "  migrate-listen [--port PORT] [--as NAME] [--once]\n"
          "                             take VMs migrated to this host (as NAME here)\n"
          "  raw JSON                   send one request, print the reply\n"
          "\n"
          "Exit codes: 0 done; 1 refused; 2 usage; 3 no connection or no answer;\n"
          "4 not found; 5 wrong state; 6 not permitted; 7 no memory; 8 --expect text missing.\n",
          o);
}

int main(int argc, char **argv)
{
    const char *sock = getenv("VIREO_SOCKET");
    bool use_vsock = false;
    unsigned vcid = VSOCK_HOST_CID, vport = VSOCK_CTL_PORT;
    int i = 1;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
            sock = argv[++i];
        } else if (!strcmp(argv[i], "--vsock") && i + 1 < argc) {
            use_vsock = true;
            if (sscanf(argv[++i], "%u:%u", &vcid, &vport) != 2) {
                vcid = VSOCK_HOST_CID;
                if (sscanf(argv[i], "%u", &vport) != 1)
                    die(EXIT_USAGE, "--vsock wants [CID:]PORT");
            }
        } else if (!strcmp(argv[i], "--json")) {
            json_out = true;
        } else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
            timeout_s = atoi(argv[++i]);
        } else if (!strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[i++];
    int nargs = argc - i;
    char **a = argv + i;

    inbuf = malloc(LINE_MAX_BYTES + 1);
    toks = malloc(sizeof(*toks) * TOKENS);
    if (!inbuf || !toks)
        die(EXIT_CONNECT, "out of memory");
    signal(SIGPIPE, SIG_IGN);
    if (!use_vsock && sock && *sock)
        connect_unix(sock);
    else if (use_vsock || access("/dev/vsock", F_OK) == 0)
        connect_vsock(vcid, vport);
    else
        die(EXIT_USAGE, "no --socket and no vsock here (set VIREO_SOCKET or pass --socket)");
    id_base = (unsigned long)getpid() ^ ((unsigned long)time(NULL) << 16);
    /* A newline first: ends whatever an earlier client left half-sent. */
    send_all("\n", 1);

/* The command takes exactly n words: a usage error otherwise. */
#define WANT(n) (nargs != (n) ? (usage(stderr), EXIT_USAGE) : 0)

    if (!strcmp(cmd, "version") || !strcmp(cmd, "hello")) {
        if (WANT(0))
            return EXIT_USAGE;
        int r = call("hello", NULL);
        if (json_out)
            print_return(r);
        else
            printf("Vireo %s, control protocol %lu; this is %s\n", get_str(r, "version"),
                   (unsigned long)get_u64(r, "protocol"), get_str(r, "peer"));
        return 0;
    }
    if (!strcmp(cmd, "host"))
        return WANT(0) ? EXIT_USAGE : do_host();
    if (!strcmp(cmd, "list"))
        return WANT(0) ? EXIT_USAGE : do_list();
    if (!strcmp(cmd, "info"))
        return WANT(1) ? EXIT_USAGE : do_info(a[0]);
    if (!strcmp(cmd, "stats"))
        return WANT(1) ? EXIT_USAGE : do_stats(a[0]);
    static const char *const simple[][3] = {
        {"start", "vm-start", "started"},   {"stop", "vm-stop", "stopping"},
        {"pause", "vm-pause", "paused"},    {"resume", "vm-resume", "resumed"},
        {"reset", "vm-reset", "rebooting"}, {"delete", "vm-delete", "deleted"}};
    for (unsigned k = 0; k < sizeof(simple) / sizeof(simple[0]); k++)
        if (!strcmp(cmd, simple[k][0]))
            return WANT(1) ? EXIT_USAGE : do_simple(simple[k][1], a[0], simple[k][2]);
    if (!strcmp(cmd, "snapshot"))
        return WANT(2) ? EXIT_USAGE : do_snapshot(a[0], a[1]);
    if (!strcmp(cmd, "restore"))
        return WANT(2) ? EXIT_USAGE : do_restore(a[0], a[1]);
    if (!strcmp(cmd, "log"))
        return WANT(1) ? EXIT_USAGE : do_log(a[0]);
    if (!strcmp(cmd, "create")) {
        if (nargs == 2 && !strcmp(a[1], "--start"))
            return do_create(a[0], true);
        return WANT(1) ? EXIT_USAGE : do_create(a[0], false);
    }
    if (!strcmp(cmd, "console")) {
        const char *run = NULL, *expect = NULL;
        bool history = false;
        if (nargs < 1) {
            usage(stderr);
            return EXIT_USAGE;
        }
        for (int k = 1; k < nargs; k++) {
            if (!strcmp(a[k], "--run") && k + 1 < nargs)
                run = a[++k];
            else if (!strcmp(a[k], "--expect") && k + 1 < nargs)
                expect = a[++k];
            else if (!strcmp(a[k], "--history"))
                history = true;
            else {
                usage(stderr);
                return EXIT_USAGE;
            }
        }
        return do_console(a[0], run, expect, history);
    }
    if (!strcmp(cmd, "gdbserver")) {
        const char *spec = NULL;
        bool once = false;
        for (int k = 1; k < nargs; k++) {
            if (!strcmp(a[k], "--listen") && k + 1 < nargs)
                spec = a[++k];
            else if (!strcmp(a[k], "--once"))
                once = true;
            else
                spec = NULL, k = nargs;
        }
        if (nargs < 3 || !spec) {
            usage(stderr);
            return EXIT_USAGE;
        }
        return do_gdbserver(a[0], spec, once);
    }
    if (!strcmp(cmd, "events"))
        return WANT(0) ? EXIT_USAGE : do_events();
    if (!strcmp(cmd, "trace"))
        return do_trace(nargs, a);
    if (!strcmp(cmd, "migrate")) {
        const char *to = NULL;
        unsigned downtime = 0;
        char opts[64] = "";
        for (int k = 1; k < nargs; k++) {
            if (!strcmp(a[k], "--to") && k + 1 < nargs)
                to = a[++k];
            else if (!strcmp(a[k], "--downtime") && k + 1 < nargs)
                downtime = (unsigned)atoi(a[++k]);
            else if (!strcmp(a[k], "--shared-disks") && !strstr(opts, "shared"))
                strcat(opts, " shared-disks");
            else if (!strcmp(a[k], "--no-converge") && !strstr(opts, "converge"))
                strcat(opts, " no-converge");
            else if (!strcmp(a[k], "--flip-byte") && k + 1 < nargs) /* tests: a damaged link */
                pump_flip_byte(strtoull(a[++k], NULL, 0));
            else
                to = NULL, k = nargs;
        }
        if (nargs < 3 || !to) {
            usage(stderr);
            return EXIT_USAGE;
        }
        return do_migrate(a[0], to, downtime, opts);
    }
    if (!strcmp(cmd, "migrate-cancel")) {
        if (WANT(1))
            return EXIT_USAGE;
        return do_simple("migrate-cancel", a[0], "migration cancelled");
    }
    if (!strcmp(cmd, "migrate-resolve")) {
        if (WANT(2))
            return EXIT_USAGE;
        if (strcmp(a[1], "resume") && strcmp(a[1], "drop")) {
            usage(stderr);
            return EXIT_USAGE;
        }
        char args[600];
        snprintf(args, sizeof(args), "{\"name\":%s,\"action\":\"%s\"}", jstr(a[0]), a[1]);
        int r = call("migrate-resolve", args);
        if (json_out)
            print_return(r);
        else
            printf("vm %s %s\n", a[0],
                   !strcmp(a[1], "resume") ? "resumed here"
                                           : "ended here (it runs at the destination)");
        return EXIT_OK;
    }
    if (!strcmp(cmd, "migrate-listen")) {
        const char *as = NULL;
        unsigned port = MIGRATE_PORT;
        bool once = false;
        for (int k = 0; k < nargs; k++) {
            if (!strcmp(a[k], "--port") && k + 1 < nargs)
                port = (unsigned)atoi(a[++k]);
            else if (!strcmp(a[k], "--as") && k + 1 < nargs)
                as = a[++k];
            else if (!strcmp(a[k], "--once"))
                once = true;
            else {
                usage(stderr);
                return EXIT_USAGE;
            }
        }
        return do_migrate_listen(port, as, once);
    }
    if (!strcmp(cmd, "raw")) {
        if (WANT(1))
            return EXIT_USAGE;
        /* The request as given; the reply is the next line that is not
         * an event. */
        send_all(a[0], strlen(a[0]));
        send_all("\n", 1);
        double deadline = now_s() + timeout_s;
        for (;;) {
            size_t len;
            enum msg_kind k = next_message(deadline, &len);
            if (k == MSG_TIMEOUT)
                die(EXIT_CONNECT, "no answer from Vireo within %d s", timeout_s);
            if (k != MSG_REPLY)
                continue;
            printf("%s\n", line_copy);
            return json_get(&doc, 0, "error") >= 0 ? EXIT_REFUSED : EXIT_OK;
        }
    }
    usage(stderr);
    return EXIT_USAGE;
}
