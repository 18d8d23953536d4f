/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane's sessions: bytes in and out of the transports, lines
 * handed to the server (server.c), replies, events and console output
 * out, with flow control (docs/control.md).  The bottom of core/control/:
 * it knows nothing of the commands. */
#include <stdarg.h>

#include "arch/arch.h"
#include "core/hart.h"
#include "core/console.h"
#include "core/hart_loop.h"
#include "core/pmem.h"
#include "core/control/internal.h"
#include "core/vconsole.h"
#include "core/version.h"
#include "core/vm.h"
#include "core/vm_life.h"
#include "core/vm_ops.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/spinlock.h"
#include "lib/string.h"

static struct spinlock control_lock;
static int kick_pending; /* news arrived while the lock was held */
static struct control_session sessions[CONTROL_SESSIONS];
static uint32_t timebase;
static bool (*server)(struct control_session *s, const char *line, size_t n);

uint32_t control_timebase(void)
{
    return timebase ? timebase : 1;
}

uint64_t control_ms(uint64_t ticks)
{
    uint32_t per_ms = control_timebase() / 1000;
    return ticks / (per_ms ? per_ms : 1);
}

/* ---- events ------------------------------------------------------------- */

#define EVENT_RING 64

struct control_event {
    enum vm_event ev;
    char name[CONFIG_NAME_MAX + 1];
    char state[16];
    enum vm_end end;
    unsigned boots;
    char reason[192];
    uint64_t time;
};

static struct spinlock event_lock;
static struct control_event events[EVENT_RING];
static uint64_t event_seq; /* events ever noted; events[seq % EVENT_RING] */

static void control_vm_event(struct vm *vm, enum vm_event ev)
{
    spin_lock(&event_lock);
    struct control_event *e = &events[event_seq % EVENT_RING];
    e->ev = ev;
    memcpy(e->name, vm->name, sizeof(e->name));
    e->name[sizeof(e->name) - 1] = 0;
    fmt_snprintf(e->state, sizeof(e->state), "%s",
                 ev == VM_EVENT_DELETED ? "deleted" : vm_ops_state(vm));
    e->end = vm->end;
    e->boots = vm->boots;
    memcpy(e->reason, vm->reason, sizeof(e->reason));
    e->reason[sizeof(e->reason) - 1] = 0;
    e->time = arch_time();
    __atomic_store_n(&event_seq, event_seq + 1, __ATOMIC_RELEASE);
    spin_unlock(&event_lock);
    control_poke();
}

static void control_console_watch(struct vconsole_port *p)
{
    (void)p;
    control_poke();
}

/* News from places that may hold locks the control plane's commands take
 * (a VM ending inside a shell command holds the operations' lock): noted
 * here, acted on by the run loop at its next stop (hart_loop_poke), or by
 * whoever kicks first. */
void control_poke(void)
{
    __atomic_store_n(&kick_pending, 1, __ATOMIC_SEQ_CST);
    hart_loop_poke();
}

/* A request that must run where no vCPU is loaded waits for this: the
 * run loop's stop.  Not kick_pending, which would have the kick that
 * deferred it run the work again at once, in the same place. */
static int loop_pending;

static void control_defer_to_loop(void)
{
    __atomic_store_n(&loop_pending, 1, __ATOMIC_SEQ_CST);
    hart_loop_poke();
}

static void control_service(void)
{
    if (__atomic_exchange_n(&loop_pending, 0, __ATOMIC_ACQ_REL) ||
        __atomic_load_n(&kick_pending, __ATOMIC_ACQUIRE))
        control_kick();
}

static const struct control_session_hooks *hooks;

void control_sessions_init(uint32_t timebase_hz,
                           bool (*serve)(struct control_session *s, const char *line, size_t n),
                           const struct control_session_hooks *session_hooks)
{
    timebase = timebase_hz;
    server = serve;
    hooks = session_hooks;
    vm_life_observe(control_vm_event);
    vconsole_set_watcher(control_console_watch);
    hart_loop_set_service(control_service);
}

static const char *end_word(enum vm_end end)
{
    switch (end) {
    case VM_END_SHUTDOWN:
        return "shutdown";
    case VM_END_FAILURE:
        return "failure";
    case VM_END_STOPPED:
        return "stopped";
    case VM_END_REBOOT:
        return "reboot";
    case VM_END_NONE:
        break;
    }
    return "none";
}

static const char *event_name(enum vm_event ev)
{
    return ev == VM_EVENT_ENDED ? "VM_STOPPED" : "VM_STATE";
}

static void put_timestamp(struct jw *w, uint64_t t)
{
    uint32_t tb = control_timebase();
    jw_key(w, "timestamp");
    jw_obj(w);
    jw_ku64(w, "seconds", t / tb);
    jw_ku64(w, "microseconds", (t % tb) * 1000000 / tb);
    jw_end(w);
}

/* ---- output ------------------------------------------------------------- */

size_t control_out_room(const struct control_session *s)
{
    return sizeof(s->out) - s->out_len;
}

static void flush(struct control_session *s)
{
    while (s->out_off < s->out_len) {
        size_t k = s->t->write(s->ctx, s->out + s->out_off, s->out_len - s->out_off);
        if (!k)
            break;
        s->out_off += k;
    }
    if (s->out_off == s->out_len) {
        s->out_off = s->out_len = 0;
    } else if (s->out_off > sizeof(s->out) / 2) {
        memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
        s->out_len -= s->out_off;
        s->out_off = 0;
    }
}

/* One message (a JSON object) and its newline, if it fits whole. */
bool control_emit(struct control_session *s, struct jw *w)
{
    long n = jw_finish(w);
    if (n < 0 || (size_t)n + 1 > control_out_room(s))
        return false;
    memcpy(s->out + s->out_len, w->buf, (size_t)n);
    s->out_len += (size_t)n;
    s->out[s->out_len++] = '\n';
    return true;
}

static char msg[4096]; /* one message being built (under the lock) */

static void send_event_record(struct control_session *s, const struct control_event *e)
{
    struct jw w;

    jw_init(&w, msg, sizeof(msg));
    jw_obj(&w);
    jw_kstr(&w, "event", event_name(e->ev));
    jw_key(&w, "data");
    jw_obj(&w);
    jw_kstr(&w, "name", e->name);
    jw_kstr(&w, "state", e->state);
    jw_ku64(&w, "boot", e->boots);
    if (e->ev == VM_EVENT_ENDED) {
        jw_kstr(&w, "how", end_word(e->end));
        if (e->end == VM_END_STOPPED)
            jw_kstr(&w, "reason", e->reason);
    }
    jw_end(&w);
    put_timestamp(&w, e->time);
    jw_end(&w);
    control_emit(s, &w);
}

static void send_events(struct control_session *s)
{
    for (;;) {
        struct control_event e;
        uint64_t lost = 0;

        if (control_out_room(s) < 1024)
            return;
        spin_lock(&event_lock);
        uint64_t seq = event_seq;
        if (s->ev_next >= seq) {
            spin_unlock(&event_lock);
            return;
        }
        if (seq - s->ev_next > EVENT_RING) {
            lost = seq - EVENT_RING - s->ev_next;
            s->ev_next = seq - EVENT_RING;
        }
        e = events[s->ev_next % EVENT_RING];
        s->ev_next++;
        spin_unlock(&event_lock);
        if (lost) {
            struct jw w;
            jw_init(&w, msg, sizeof(msg));
            jw_obj(&w);
            jw_kstr(&w, "event", "EVENTS_LOST");
            jw_key(&w, "data");
            jw_obj(&w);
            jw_ku64(&w, "count", lost);
            jw_end(&w);
            put_timestamp(&w, arch_time());
            jw_end(&w);
            control_emit(s, &w);
        }
        send_event_record(s, &e);
    }
}

/* Console output of the attached VM, as CONSOLE events. */
static void send_console(struct control_session *s)
{
    static char buf[CONTROL_CONSOLE_CHUNK];
    struct vm *vm = s->con_vm;

    if (!vm)
        return;
    if (vm->state == VM_EMPTY || vm->uid != s->con_uid) {
        /* Deleted, or rebooted into a new uid: the port stays, follow it. */
        if (vm->state == VM_EMPTY) {
            control_console_detach(s);
            return;
        }
        s->con_uid = vm->uid;
    }
    while (control_out_room(s) >= 2 * CONTROL_CONSOLE_CHUNK + 1024) {
        uint64_t lost;
        size_t n = vconsole_port_log_since(&vm->con, &s->con_pos, buf, sizeof(buf), &lost);
        if (!n && !lost)
            return;
        struct jw w;
        jw_init(&w, msg, sizeof(msg));
        jw_obj(&w);
        jw_kstr(&w, "event", "CONSOLE");
        jw_key(&w, "data");
        jw_obj(&w);
        jw_kstr(&w, "name", vm->name);
        jw_key(&w, "data");
        jw_base64(&w, buf, n);
        if (lost)
            jw_ku64(&w, "lost", lost);
        jw_end(&w);
        jw_end(&w);
        control_emit(s, &w);
    }
}

/* ---- requests ----------------------------------------------------------- */

const char *control_error_class(int code)
{
    switch (code) {
    case ERR_NOENT:
        return "NotFound";
    case ERR_STATE:
        return "InvalidState";
    case ERR_PERM:
        return "PermissionDenied";
    case ERR_NOMEM:
        return "NoMemory";
    case ERR_NOSPC:
        return "NoSpace";
    case ERR_EXIST:
        return "Exists";
    case ERR_AGAIN:
        return "Busy";
    case ERR_INVAL:
    case ERR_RANGE:
    case ERR_TRUNCATED:
    case ERR_STRUCTURE:
    case ERR_BADMAGIC:
    case ERR_VERSION:
    case ERR_MISMATCH:
    case ERR_CHECKSUM:
    case ERR_OFFSET:
    case ERR_DEPTH:
        return "InvalidArgument";
    default:
        return "Failed";
    }
}

void control_reply_error(struct control_session *s, const char *id, size_t idlen, const char *cls,
                         const char *desc)
{
    struct jw w;

    jw_init(&w, msg, sizeof(msg));
    jw_obj(&w);
    jw_key(&w, "error");
    jw_obj(&w);
    jw_kstr(&w, "class", cls);
    jw_kstr(&w, "desc", desc);
    jw_end(&w);
    if (id) {
        jw_key(&w, "id");
        jw_raw(&w, id, idlen);
    }
    jw_end(&w);
    control_emit(s, &w);
}

static void greet(struct control_session *s)
{
    struct jw w;

    jw_init(&w, msg, sizeof(msg));
    jw_obj(&w);
    jw_key(&w, "vireo");
    jw_obj(&w);
    jw_kstr(&w, "version", VIREO_VERSION);
    jw_ku64(&w, "protocol", CONTROL_PROTOCOL);
    jw_kstr(&w, "peer", s->who);
    jw_end(&w);
    jw_end(&w);
    control_emit(s, &w);
}

/* Takes the lines that have arrived, one request each, while there is room
 * for a reply.  Returns true if it did anything. */
static bool serve_input(struct control_session *s, unsigned *budget)
{
    bool did = false;

    for (; *budget; --*budget) {
        if (control_out_room(s) < CONTROL_REPLY_MAX + 1024)
            return did; /* the reply could not be kept: wait for the client to read */
        char *nl = memchr(s->in, '\n', s->in_len);
        if (!nl) {
            size_t room = CONTROL_REQUEST_MAX - s->in_len;
            size_t k = room ? s->t->read(s->ctx, s->in + s->in_len, room) : 0;
            if (k) {
                s->in_len += k;
                did = true;
                continue;
            }
            if (s->in_len < CONTROL_REQUEST_MAX)
                return did;
            /* A line longer than any request: refused once, skipped to its end. */
            if (!s->discarding) {
                char desc[64];
                fmt_snprintf(desc, sizeof(desc), "a request longer than %u bytes",
                             CONTROL_REQUEST_MAX);
                control_reply_error(s, NULL, 0, "InvalidRequest", desc);
            }
            s->discarding = true;
            s->in_len = 0;
            continue;
        }
        size_t n = (size_t)(nl - s->in);
        if (s->discarding) {
            s->discarding = false;
        } else {
            size_t len = n;
            if (len && s->in[len - 1] == '\r')
                len--;
            bool blank = true;
            for (size_t i = 0; i < len && blank; i++)
                blank = s->in[i] == ' ' || s->in[i] == '\t';
            if (!blank && !server(s, s->in, len)) {
                control_defer_to_loop(); /* it runs where no vCPU is loaded */
                return did;
            }
        }
        memmove(s->in, nl + 1, s->in_len - n - 1);
        s->in_len -= n + 1;
        did = true;
        flush(s);
    }
    return did;
}

void control_upload_drop(struct control_upload *up)
{
    if (up->buf)
        pmem_free(up->buf, up->size);
    *up = (struct control_upload){0};
}

void control_console_follow(struct control_session *s, struct vm *vm, uint64_t from)
{
    control_console_detach(s);
    s->con_vm = vm;
    s->con_uid = vm->uid;
    s->con_pos = from;
    vconsole_port_watch(&vm->con, true);
    control_poke();
}

void control_console_detach(struct control_session *s)
{
    struct vm *vm = s->con_vm;

    if (!vm)
        return;
    s->con_vm = NULL;
    /* Stop watching the port unless another session follows it too. */
    if (!control_console_followed(vm))
        vconsole_port_watch(&vm->con, false);
}

bool control_console_followed(const struct vm *vm)
{
    for (unsigned i = 0; i < CONTROL_SESSIONS; i++)
        if (sessions[i].used && sessions[i].con_vm == vm)
            return true;
    return false;
}

static void session_free(struct control_session *s)
{
    if (hooks && hooks->gone)
        hooks->gone(s);
    control_upload_drop(&s->up);
    control_console_detach(s);
    s->used = false;
    if (s->t->ended)
        s->t->ended(s->ctx);
}

/* Requests one work() serves at most before it hands the rest to the run
 * loop's next stop: a client streaming an upload does not hold a hart. */
#define WORK_BUDGET 32

static void (*port_work)(void);

void control_set_port_work(void (*fn)(void))
{
    port_work = fn;
}

static void work(void)
{
    unsigned budget = WORK_BUDGET;

    if (port_work)
        port_work();
    for (unsigned i = 0; i < CONTROL_SESSIONS; i++) {
        struct control_session *s = &sessions[i];
        if (!s->used)
            continue;
        if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE)) {
            session_free(s);
            continue;
        }
        if (s->greet) {
            greet(s);
            s->greet = false;
        }
        bool more;
        do {
            flush(s);
            send_events(s);
            send_console(s);
            if (hooks && hooks->pump)
                hooks->pump(s);
            more = serve_input(s, &budget);
            flush(s);
        } while (more && budget && control_out_room(s) >= CONTROL_REPLY_MAX + 1024);
    }
    if (!budget)
        control_defer_to_loop();
}

void control_kick(void)
{
    /* Inside a guest's exit or interrupt, that guest's vCPU is loaded on
     * this hart and would wait for all of the work (a bundle uploading,
     * a VM booting): it is done at the run loop's next stop instead, on a
     * hart with no vCPU, while the scheduler runs the guests elsewhere. */
    struct hart *here = arch_this_hart();
    if (here && __atomic_load_n(&here->current, __ATOMIC_ACQUIRE)) {
        control_defer_to_loop();
        return;
    }
    for (;;) {
        __atomic_store_n(&kick_pending, 1, __ATOMIC_SEQ_CST);
        if (!spin_trylock(&control_lock))
            return; /* the holder looks at kick_pending before it lets go */
        __atomic_store_n(&kick_pending, 0, __ATOMIC_SEQ_CST);
        work();
        spin_unlock(&control_lock);
        if (!__atomic_load_n(&kick_pending, __ATOMIC_SEQ_CST))
            return;
    }
}

struct control_session *control_open(const struct control_transport *t, void *ctx, struct vm *peer,
                                     const char *who, bool greet_now)
{
    struct control_session *s = NULL;

    spin_lock(&control_lock);
    for (unsigned i = 0; i < CONTROL_SESSIONS && !s; i++) {
        if (!sessions[i].used)
            s = &sessions[i];
    }
    if (s) {
        s->t = t;
        s->ctx = ctx;
        s->peer = peer;
        s->peer_uid = peer ? peer->uid : 0;
        fmt_snprintf(s->who, sizeof(s->who), "%s", who);
        s->greet = greet_now;
        s->in_len = 0;
        s->discarding = false;
        s->out_off = s->out_len = 0;
        s->ev_next = __atomic_load_n(&event_seq, __ATOMIC_ACQUIRE);
        s->con_vm = NULL;
        s->up = (struct control_upload){0};
        __atomic_store_n(&s->dead, false, __ATOMIC_RELEASE);
        s->used = true;
    }
    spin_unlock(&control_lock);
    if (s)
        control_kick();
    return s;
}

void control_close(struct control_session *s)
{
    __atomic_store_n(&s->dead, true, __ATOMIC_RELEASE);
    control_kick();
}

void control_reset(void)
{
    for (unsigned i = 0; i < CONTROL_SESSIONS; i++) {
        if (sessions[i].used)
            session_free(&sessions[i]);
    }
    event_seq = 0;
    kick_pending = 0;
}
