/* SPDX-License-Identifier: Apache-2.0 */
/* The control plane's sessions: lines in, requests checked and served,
 * replies and events out (docs/control.md). */
#include <stdarg.h>

#include "arch/arch.h"
#include "core/console.h"
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

uint32_t control_timebase(void)
{
    return timebase ? timebase : 1;
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
    control_kick();
}

static void control_console_watch(struct vconsole_port *p)
{
    (void)p;
    control_kick();
}

void control_init(uint32_t timebase_hz)
{
    timebase = timebase_hz;
    vm_life_observe(control_vm_event);
    vconsole_set_watcher(control_console_watch);
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

static size_t out_room(const struct control_session *s)
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
static bool emit(struct control_session *s, struct jw *w)
{
    long n = jw_finish(w);
    if (n < 0 || (size_t)n + 1 > out_room(s))
        return false;
    memcpy(s->out + s->out_len, w->buf, (size_t)n);
    s->out_len += (size_t)n;
    s->out[s->out_len++] = '\n';
    return true;
}

static char msg[CONTROL_REPLY_MAX + 1024]; /* one message being built (under the lock) */
static char value[CONTROL_REPLY_MAX];     /* a command's return value */

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
    emit(s, &w);
}

static void send_events(struct control_session *s)
{
    for (;;) {
        struct control_event e;
        uint64_t lost = 0;

        if (out_room(s) < 1024)
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
            emit(s, &w);
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
    while (out_room(s) >= 2 * CONTROL_CONSOLE_CHUNK + 1024) {
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
        emit(s, &w);
    }
}

/* ---- requests ----------------------------------------------------------- */

static const char *error_class(int code)
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

static void reply_error(struct control_session *s, const char *id, size_t idlen, const char *cls,
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
    emit(s, &w);
}

static void reply_errorf(struct control_session *s, const char *id, size_t idlen, const char *cls,
                         const char *fmt, ...) FMT_PRINTF(5, 6);

static void reply_errorf(struct control_session *s, const char *id, size_t idlen, const char *cls,
                         const char *fmt, ...)
{
    char desc[256];
    va_list ap;

    va_start(ap, fmt);
    fmt_vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    reply_error(s, id, idlen, cls, desc);
}

int control_fail(struct control_req *r, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fmt_vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    return code;
}

static const struct control_cmd *cmd_find(const struct json_doc *d, int tok)
{
    for (unsigned i = 0; i < control_ncmds; i++)
        if (json_str_eq(d, tok, control_cmds[i].name))
            return &control_cmds[i];
    return NULL;
}

static const char *arg_type_name(enum control_arg_type t)
{
    return t == ARG_STR ? "a string" : t == ARG_UINT ? "a non-negative integer" : "true or false";
}

static bool arg_type_ok(const struct json_doc *d, int tok, enum control_arg_type t)
{
    uint64_t u;
    switch (t) {
    case ARG_STR:
        return json_type(d, tok) == JSON_STRING;
    case ARG_UINT:
        return json_u64(d, tok, &u) == 0;
    case ARG_BOOL:
        return json_type(d, tok) == JSON_TRUE || json_type(d, tok) == JSON_FALSE;
    }
    return false;
}

/* The request's arguments against the command's list: every one known,
 * of its type, the required ones there.  0, or a message in err. */
static int check_args(const struct control_cmd *c, const struct json_doc *d, int args, char *err,
                      size_t errlen)
{
    char key[64];

    if (args >= 0) {
        if (json_type(d, args) != JSON_OBJECT)
            return fmt_snprintf(err, errlen, "\"arguments\" must be an object"), ERR_INVAL;
        if (json_dup_key(d, args))
            return fmt_snprintf(err, errlen, "an argument is given twice"), ERR_INVAL;
        int j = args + 1;
        for (int k = 0; k < json_size(d, args); k++, j = json_next(d, j + 1)) {
            const struct control_arg *a = NULL;
            if (json_str(d, j, key, sizeof(key)) < 0)
                return fmt_snprintf(err, errlen, "an argument name is too long"), ERR_INVAL;
            for (unsigned i = 0; i < CONTROL_MAX_ARGS && c->args[i].name; i++)
                if (strcmp(c->args[i].name, key) == 0)
                    a = &c->args[i];
            if (!a)
                return fmt_snprintf(err, errlen, "%s takes no argument \"%.40s\"", c->name, key),
                       ERR_INVAL;
            if (!arg_type_ok(d, j + 1, a->type))
                return fmt_snprintf(err, errlen, "argument \"%s\" of %s must be %s", a->name,
                                    c->name, arg_type_name(a->type)),
                       ERR_INVAL;
        }
    }
    for (unsigned i = 0; i < CONTROL_MAX_ARGS && c->args[i].name; i++) {
        if (c->args[i].required && (args < 0 || json_get(d, args, c->args[i].name) < 0))
            return fmt_snprintf(err, errlen, "%s needs argument \"%s\" (%s)", c->name,
                                c->args[i].name, arg_type_name(c->args[i].type)),
                   ERR_INVAL;
    }
    return 0;
}

int control_arg_tok(const struct control_req *r, const char *name)
{
    if (r->args < 0)
        return -1;
    int t = json_get(r->doc, r->args, name);
    return t < 0 ? -1 : t;
}

bool control_arg_present(const struct control_req *r, const char *name)
{
    return control_arg_tok(r, name) >= 0;
}

int control_arg_str(struct control_req *r, const char *name, char *buf, size_t size)
{
    int t = control_arg_tok(r, name);
    if (t < 0) {
        if (size)
            buf[0] = 0;
        return ERR_NOENT;
    }
    int n = json_str(r->doc, t, buf, size);
    if (n == ERR_NOSPC)
        return control_fail(r, ERR_INVAL, "argument \"%s\" is longer than %zu bytes", name,
                            size - 1);
    if (n < 0)
        return control_fail(r, ERR_INVAL, "argument \"%s\" holds \\u0000 or a lone surrogate",
                            name);
    return n;
}

uint64_t control_arg_u64(const struct control_req *r, const char *name, uint64_t dflt)
{
    uint64_t v;
    int t = control_arg_tok(r, name);
    return t >= 0 && json_u64(r->doc, t, &v) == 0 ? v : dflt;
}

bool control_arg_bool(const struct control_req *r, const char *name, bool dflt)
{
    bool v;
    int t = control_arg_tok(r, name);
    return t >= 0 && json_bool(r->doc, t, &v) == 0 ? v : dflt;
}

static void serve(struct control_session *s, const char *line, size_t n)
{
    static jsmntok_t toks[CONTROL_TOKENS];
    struct json_doc d;
    char err[256];
    const char *id = NULL;
    size_t idlen = 0;

    int rc = json_parse(&d, line, n, toks, CONTROL_TOKENS);
    if (rc < 0) {
        if (rc == ERR_NOSPC)
            reply_errorf(s, NULL, 0, "InvalidRequest", "more than %d JSON tokens",
                         CONTROL_TOKENS);
        else if (rc == ERR_DEPTH)
            reply_errorf(s, NULL, 0, "InvalidRequest", "nested deeper than %d", JSON_DEPTH);
        else
            reply_errorf(s, NULL, 0, "InvalidRequest", "not JSON (%s at byte %zu)", err_str(rc),
                         d.bad_at < n ? d.bad_at : n);
        return;
    }
    if (json_type(&d, 0) != JSON_OBJECT) {
        reply_error(s, NULL, 0, "InvalidRequest", "a request is a JSON object");
        return;
    }
    int idt = json_get(&d, 0, "id");
    if (idt >= 0)
        id = json_raw(&d, idt, &idlen);
    if (json_dup_key(&d, 0)) {
        reply_error(s, id, idlen, "InvalidRequest", "a member is given twice");
        return;
    }
    int j = 1;
    for (int k = 0; k < json_size(&d, 0); k++, j = json_next(&d, j + 1)) {
        if (!json_str_eq(&d, j, "execute") && !json_str_eq(&d, j, "arguments") &&
            !json_str_eq(&d, j, "id")) {
            char key[48];
            if (json_str(&d, j, key, sizeof(key)) < 0)
                fmt_snprintf(key, sizeof(key), "(a long name)");
            reply_errorf(s, id, idlen, "InvalidRequest",
                         "unknown member \"%s\" (a request has execute, arguments and id)", key);
            return;
        }
    }
    int ex = json_get(&d, 0, "execute");
    if (ex < 0 || json_type(&d, ex) != JSON_STRING) {
        reply_error(s, id, idlen, "InvalidRequest", "\"execute\" must name a command (a string)");
        return;
    }
    const struct control_cmd *c = cmd_find(&d, ex);
    if (!c) {
        char name[48];
        if (json_str(&d, ex, name, sizeof(name)) < 0)
            fmt_snprintf(name, sizeof(name), "(a long name)");
        reply_errorf(s, id, idlen, "CommandNotFound",
                     "no command \"%s\" (query-commands lists them)", name);
        return;
    }
    int args = json_get(&d, 0, "arguments");
    if (check_args(c, &d, args, err, sizeof(err)) < 0) {
        reply_error(s, id, idlen, "InvalidArgument", err);
        return;
    }

    struct jw w;
    jw_init(&w, value, sizeof(value));
    struct control_req r = {.s = s, .doc = &d, .args = args < 0 ? -1 : args, .w = &w};
    rc = c->run(&r);
    if (rc < 0) {
        reply_error(s, id, idlen, error_class(rc), r.err[0] ? r.err : err_str(rc));
        return;
    }
    long vn = jw_finish(&w);
    if (vn <= 0) { /* a command that wrote nothing returns {} */
        if (vn < 0) {
            reply_errorf(s, id, idlen, "Failed", "%s: the reply does not fit %u bytes", c->name,
                         CONTROL_REPLY_MAX);
            return;
        }
        value[0] = '{';
        value[1] = '}';
        vn = 2;
    }
    struct jw m;
    jw_init(&m, msg, sizeof(msg));
    jw_obj(&m);
    jw_key(&m, "return");
    jw_raw(&m, value, (size_t)vn);
    if (id) {
        jw_key(&m, "id");
        jw_raw(&m, id, idlen);
    }
    jw_end(&m);
    emit(s, &m);
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
    emit(s, &w);
}

/* Takes the lines that have arrived, one request each, while there is room
 * for a reply.  Returns true if it did anything. */
static bool serve_input(struct control_session *s)
{
    bool did = false;

    for (unsigned served = 0; served < 64; served++) {
        if (out_room(s) < sizeof(msg))
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
            if (!s->discarding)
                reply_errorf(s, NULL, 0, "InvalidRequest", "a request longer than %u bytes",
                             CONTROL_REQUEST_MAX);
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
            if (!blank)
                serve(s, s->in, len);
        }
        memmove(s->in, nl + 1, s->in_len - n - 1);
        s->in_len -= n + 1;
        did = true;
        flush(s);
    }
    return did;
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
    control_upload_drop(&s->up);
    control_console_detach(s);
    s->used = false;
}

static void work(void)
{
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
            more = serve_input(s);
            flush(s);
        } while (more && out_room(s) >= sizeof(msg));
    }
}

void control_kick(void)
{
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

struct control_session *control_open(const struct control_transport *t, void *ctx,
                                     struct vm *peer, const char *who, bool greet_now)
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
