/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual console (see vconsole.h): input queues with flow control,
 * output logs and lines, binding. */
#include "core/vconsole.h"

#include "core/console.h"
#include "devices/virtio_console.h"
#include "devices/vuart.h"
#include "lib/string.h"

/* The queue holds VCONSOLE_IN_SIZE typed bytes; the spare room takes back
 * what a UART held when its VM ends (FIFO and held bytes, at most twice
 * its FIFO) without ever refusing it. */
#define IN_SPARE (2 * VUART_FIFO_SIZE)
#define IN_CAP   (VCONSOLE_IN_SIZE + VCONSOLE_IN_SPARE)

_Static_assert(VCONSOLE_IN_SPARE >= IN_SPARE, "no room to take back a UART's input");

/* Under vcon_lock: the ports, the binding, the reader's state. */
static struct spinlock vcon_lock = SPINLOCK_INIT;
static struct vconsole_port *ports[VCONSOLE_MAX_PORTS];
static unsigned nports;
static struct vconsole_port *bound;   /* with the shell: the bound port, or NULL */
static struct vconsole_port *last_in; /* without: where input went last */
static const struct vconsole_shell *shell;
static void (*reader_fn)(void *ctx, bool on);
static void *reader_ctx;
static bool reader_stopped;

void vconsole_port_init(struct vconsole_port *p, const char *name)
{
    memset(p, 0, sizeof(*p));
    spin_init(&p->in_lock);
    spin_init(&p->out_lock);
    p->name = name;
    spin_lock(&vcon_lock);
    p->index = nports;
    if (nports < VCONSOLE_MAX_PORTS)
        ports[nports++] = p;
    spin_unlock(&vcon_lock);
}

static unsigned port_fill(const struct vconsole_port *p)
{
    return __atomic_load_n(&p->in_count, __ATOMIC_ACQUIRE);
}

/* vcon_lock held: where a typed byte goes.  NULL with the shell: to the
 * shell; without it: nowhere yet (no VM ever ran). */
static struct vconsole_port *target(void)
{
    if (shell)
        return bound;
    for (unsigned i = 0; i < nports; i++) {
        if (__atomic_load_n(&ports[i]->attached, __ATOMIC_ACQUIRE)) {
            last_in = ports[i];
            break;
        }
    }
    return last_in;
}

/* vcon_lock held: stops the host reader when the target's queue is full
 * (or nothing can take input), resumes it once a quarter is free again.
 * The hysteresis keeps a guest that reads byte by byte from toggling the
 * host UART for every byte. */
static void flow_update(void)
{
    struct vconsole_port *p = target();
    bool stop;

    if (!p)
        stop = !shell;
    else if (reader_stopped)
        stop = VCONSOLE_IN_SIZE - port_fill(p) < VCONSOLE_RESUME;
    else
        stop = port_fill(p) >= VCONSOLE_IN_SIZE;
    if (stop == reader_stopped)
        return;
    __atomic_store_n(&reader_stopped, stop, __ATOMIC_RELEASE);
    if (reader_fn)
        reader_fn(reader_ctx, !stop);
}

void vconsole_port_remove(struct vconsole_port *p)
{
    const struct vconsole_shell *sh = NULL;

    spin_lock(&vcon_lock);
    for (unsigned i = 0; i < nports; i++) {
        if (ports[i] != p)
            continue;
        /* Kept in order: without the shell, input goes to the first
         * attached port, and that must not change by a deletion. */
        for (unsigned j = i; j + 1 < nports; j++) {
            ports[j] = ports[j + 1];
            ports[j]->index = j;
        }
        ports[--nports] = NULL;
        break;
    }
    if (bound == p) {
        bound = NULL;
        sh = shell;
    }
    if (last_in == p)
        last_in = NULL;
    spin_lock(&p->in_lock);
    p->in_count = 0;
    spin_unlock(&p->in_lock);
    flow_update();
    spin_unlock(&vcon_lock);
    if (sh)
        sh->escaped(sh->ctx);
}

static void flow_check(void)
{
    spin_lock(&vcon_lock);
    flow_update();
    spin_unlock(&vcon_lock);
}

/* in_lock held: n bytes at the back (typed) or the front (taken back). */
static size_t queue_put(struct vconsole_port *p, const char *s, size_t n, unsigned limit)
{
    size_t k = 0;

    while (k < n && p->in_count < limit) {
        p->in[(p->in_head + p->in_count) % IN_CAP] = s[k++];
        __atomic_store_n(&p->in_count, p->in_count + 1, __ATOMIC_RELEASE);
    }
    return k;
}

static void queue_put_front(struct vconsole_port *p, const char *s, size_t n)
{
    for (size_t i = n; i-- > 0 && p->in_count < IN_CAP;) {
        p->in_head = (p->in_head + IN_CAP - 1) % IN_CAP;
        p->in[p->in_head] = s[i];
        __atomic_store_n(&p->in_count, p->in_count + 1, __ATOMIC_RELEASE);
    }
}

static void queue_drop(struct vconsole_port *p, size_t n)
{
    p->in_head = (unsigned)((p->in_head + n) % IN_CAP);
    __atomic_store_n(&p->in_count, p->in_count - (unsigned)n, __ATOMIC_RELEASE);
}

/* in_lock held: whether a device of the guest takes input (else SBI
 * console reads get it). */
static bool port_device_listens(const struct vconsole_port *p)
{
    return (p->vcon && virtio_console_listening(p->vcon)) ||
           (p->uart && vuart_input_listening(p->uart));
}

/* in_lock held: hands the guest what it has room for, the virtio console
 * first once its driver is up.  A device that refuses some remembers that
 * we wait and calls vconsole_port_room when it has room again. */
static size_t port_offer(struct vconsole_port *p, const char *s, size_t n)
{
    if (p->vcon) {
        size_t k = virtio_console_offer(p->vcon, s, n);
        if (k || virtio_console_listening(p->vcon))
            return k;
    }
    return p->uart ? vuart_input_offer(p->uart, s, n) : 0;
}

void vconsole_port_pump(struct vconsole_port *p)
{
    /* Called whenever a guest made room: nothing queued is the common case. */
    if (!port_fill(p))
        return;
    spin_lock(&p->in_lock);
    while (p->in_count && p->attached && !p->held) {
        unsigned run = IN_CAP - p->in_head;
        size_t n = p->in_count < run ? p->in_count : run;
        size_t k = port_offer(p, p->in + p->in_head, n);
        if (!k)
            break;
        queue_drop(p, k);
        if (k < n)
            break;
    }
    spin_unlock(&p->in_lock);
    if (__atomic_load_n(&reader_stopped, __ATOMIC_ACQUIRE))
        flow_check();
}

void vconsole_port_room(void *ctx)
{
    vconsole_port_pump(ctx);
}

void vconsole_port_attach(struct vconsole_port *p, struct vuart *uart, struct virtio_console *vcon)
{
    if (uart)
        vuart_set_room_notify(uart, vconsole_port_room, p);
    if (vcon)
        virtio_console_set_room_notify(vcon, vconsole_port_room, p);
    spin_lock(&p->in_lock);
    p->uart = uart;
    p->vcon = vcon;
    __atomic_store_n(&p->attached, true, __ATOMIC_RELEASE);
    spin_unlock(&p->in_lock);
    flow_check(); /* without the shell, input may now come here */
    vconsole_port_pump(p);
}

void vconsole_port_detach(struct vconsole_port *p)
{
    char back[IN_SPARE];

    spin_lock(&p->in_lock);
    if (p->uart)
        queue_put_front(p, back, vuart_input_reclaim(p->uart, back, sizeof(back)));
    p->uart = NULL;
    p->vcon = NULL;
    __atomic_store_n(&p->attached, false, __ATOMIC_RELEASE);
    spin_unlock(&p->in_lock);
    flow_check();
}

void vconsole_port_hold(struct vconsole_port *p, bool on)
{
    spin_lock(&p->in_lock);
    p->held = on;
    spin_unlock(&p->in_lock);
    if (!on)
        vconsole_port_pump(p);
}

size_t vconsole_port_read(struct vconsole_port *p, char *buf, size_t n)
{
    size_t k = 0;

    if (!port_fill(p))
        return 0;
    spin_lock(&p->in_lock);
    if (!port_device_listens(p) && !p->held) {
        for (; k < n && p->in_count; k++) {
            buf[k] = p->in[p->in_head];
            queue_drop(p, 1);
        }
    }
    spin_unlock(&p->in_lock);
    if (k && __atomic_load_n(&reader_stopped, __ATOMIC_ACQUIRE))
        flow_check();
    return k;
}

size_t vconsole_port_push(struct vconsole_port *p, const char *s, size_t n)
{
    spin_lock(&p->in_lock);
    size_t k = queue_put(p, s, n, VCONSOLE_IN_SIZE);
    spin_unlock(&p->in_lock);
    flow_check();
    vconsole_port_pump(p);
    return k;
}

void vconsole_set_reader(void (*reader)(void *ctx, bool on), void *ctx)
{
    spin_lock(&vcon_lock);
    reader_fn = reader;
    reader_ctx = ctx;
    flow_update();
    spin_unlock(&vcon_lock);
}

bool vconsole_input_open(void)
{
    return !__atomic_load_n(&reader_stopped, __ATOMIC_ACQUIRE);
}

void vconsole_input(char c)
{
    spin_lock(&vcon_lock);
    struct vconsole_port *p = target();
    const struct vconsole_shell *sh = shell;
    if (sh && p && c == VCONSOLE_ESC) {
        bound = NULL;
        flow_update();
        spin_unlock(&vcon_lock);
        sh->escaped(sh->ctx);
        return;
    }
    if (p) {
        /* The reader stops at a full queue, so this always fits; the
         * queue is filled under vcon_lock so that the stop decision below
         * sees it. */
        spin_lock(&p->in_lock);
        queue_put(p, &c, 1, VCONSOLE_IN_SIZE);
        spin_unlock(&p->in_lock);
    }
    flow_update();
    spin_unlock(&vcon_lock);
    if (p)
        vconsole_port_pump(p);
    else if (sh)
        sh->input(sh->ctx, c);
}

void vconsole_set_shell(const struct vconsole_shell *sh)
{
    spin_lock(&vcon_lock);
    shell = sh;
    bound = NULL;
    flow_update();
    spin_unlock(&vcon_lock);
}

bool vconsole_shell_active(void)
{
    return __atomic_load_n(&shell, __ATOMIC_ACQUIRE) != NULL;
}

void vconsole_bind(struct vconsole_port *p)
{
    spin_lock(&vcon_lock);
    bound = p;
    flow_update();
    spin_unlock(&vcon_lock);
    if (p)
        vconsole_port_pump(p);
}

struct vconsole_port *vconsole_bound(void)
{
    return __atomic_load_n(&bound, __ATOMIC_ACQUIRE);
}

/* out_lock held: keeps the last bytes for the shell's `vm log`. */
static void log_append(struct vconsole_port *p, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p->log[p->log_total++ % sizeof(p->log)] = s[i];
}

/* out_lock held. */
static void line_flush(struct vconsole_port *p)
{
    if (p->linelen)
        console_printf("[%s] %.*s\n", p->name, (int)p->linelen, p->line);
    p->linelen = 0;
}

static void (*watcher)(struct vconsole_port *p);

void vconsole_set_watcher(void (*watch)(struct vconsole_port *p))
{
    watcher = watch;
}

void vconsole_port_watch(struct vconsole_port *p, bool on)
{
    __atomic_store_n(&p->watched, on, __ATOMIC_RELEASE);
}

size_t vconsole_port_log_since(struct vconsole_port *p, uint64_t *pos, char *buf, size_t n,
                               uint64_t *lost)
{
    spin_lock(&p->out_lock);
    uint64_t t = p->log_total;
    uint64_t oldest = t > sizeof(p->log) ? t - sizeof(p->log) : 0;
    uint64_t from = *pos;
    if (from > t)
        from = t; /* a position from before a restore rewound the log */
    *lost = from < oldest ? oldest - from : 0;
    if (from < oldest)
        from = oldest;
    size_t k = t - from < n ? (size_t)(t - from) : n;
    for (size_t i = 0; i < k; i++)
        buf[i] = p->log[(from + i) % sizeof(p->log)];
    spin_unlock(&p->out_lock);
    *pos = from + k;
    return k;
}

void vconsole_output(struct vconsole_port *p, const char *s, size_t n)
{
    spin_lock(&p->out_lock);
    log_append(p, s, n);
    spin_unlock(&p->out_lock);
    if (__atomic_load_n(&p->watched, __ATOMIC_ACQUIRE) && watcher)
        watcher(p);
    /* Byte for byte (but for the byte that marks Vireo's status lines):
     * under the shell, only the bound port's output; without it, the
     * output of a VM that runs alone.  Several VMs without the shell:
     * whole lines, each tagged with the VM's name, so they stay readable. */
    bool sh = vconsole_shell_active();
    if (sh ? vconsole_bound() == p : __atomic_load_n(&nports, __ATOMIC_RELAXED) <= 1) {
        char buf[64];
        while (n) {
            size_t k = n < sizeof(buf) ? n : sizeof(buf);
            for (size_t i = 0; i < k; i++)
                buf[i] = s[i] == CONSOLE_STATUS[0] ? '?' : s[i];
            console_write(buf, k);
            s += k;
            n -= k;
        }
        return;
    }
    if (sh)
        return; /* kept in the log for `vm log` */
    spin_lock(&p->out_lock);
    for (size_t i = 0; i < n; i++) {
        char c = s[i] == CONSOLE_STATUS[0] ? '?' : s[i];
        if (c != '\n')
            p->line[p->linelen++] = c;
        if (c == '\n' || p->linelen == sizeof(p->line))
            line_flush(p);
    }
    spin_unlock(&p->out_lock);
}

void vconsole_port_flush(struct vconsole_port *p)
{
    spin_lock(&p->out_lock);
    line_flush(p);
    spin_unlock(&p->out_lock);
}

size_t vconsole_port_log(struct vconsole_port *p, char *buf, size_t n, uint64_t *total)
{
    spin_lock(&p->out_lock);
    uint64_t t = p->log_total;
    size_t k = t < sizeof(p->log) ? (size_t)t : sizeof(p->log);
    if (k > n)
        k = n;
    for (size_t i = 0; i < k; i++)
        buf[i] = p->log[(t - k + i) % sizeof(p->log)];
    spin_unlock(&p->out_lock);
    *total = t;
    return k;
}

void vconsole_port_log_restore(struct vconsole_port *p, const char *buf, size_t n, uint64_t total)
{
    spin_lock(&p->out_lock);
    p->log_total = total;
    for (size_t i = 0; i < n; i++)
        p->log[(total - n + i) % sizeof(p->log)] = buf[i];
    spin_unlock(&p->out_lock);
}

#ifdef VIREO_HOST
void vconsole_test_reset(void)
{
    nports = 0;
    bound = last_in = NULL;
    shell = NULL;
    reader_fn = NULL;
    reader_ctx = NULL;
    reader_stopped = false;
    watcher = NULL;
}
#endif
