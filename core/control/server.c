/* SPDX-License-Identifier: Apache-2.0 */
/* Serving one request line: parsed, checked against the protocol's shape
 * and the command's arguments before anything runs, run under the
 * operations' lock, answered with its return value or an error naming
 * what was wrong (docs/control.md).  The top of core/control/. */
#include <stdarg.h>

#include "arch/arch.h"
#include "core/control/internal.h"
#include "core/hart.h"
#include "core/vm_debug.h"
#include "core/vm_ops.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

static char msg[CONTROL_REPLY_MAX + 1024]; /* the reply being built (under the lock) */
static char value[CONTROL_REPLY_MAX];      /* a command's return value */

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
    control_reply_error(s, id, idlen, cls, desc);
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

/* A string from the request, for a message ("(a long name)" if it does not
 * fit or is no proper string). */
static const char *name_of(const struct json_doc *d, int tok, char *buf, size_t size)
{
    if (json_str(d, tok, buf, size) < 0)
        fmt_snprintf(buf, size, "(a long name)");
    return buf;
}

static bool serve(struct control_session *s, const char *line, size_t n)
{
    static jsmntok_t toks[CONTROL_TOKENS];
    struct json_doc d;
    char err[256];
    const char *id = NULL;
    size_t idlen = 0;

    int rc = json_parse(&d, line, n, toks, CONTROL_TOKENS);
    if (rc < 0) {
        if (rc == ERR_NOSPC)
            reply_errorf(s, NULL, 0, "InvalidRequest", "more than %d JSON tokens", CONTROL_TOKENS);
        else if (rc == ERR_DEPTH)
            reply_errorf(s, NULL, 0, "InvalidRequest", "nested deeper than %d", JSON_DEPTH);
        else
            reply_errorf(s, NULL, 0, "InvalidRequest", "not JSON (%s at byte %zu)", err_str(rc),
                         d.bad_at < n ? d.bad_at : n);
        return true;
    }
    if (json_type(&d, 0) != JSON_OBJECT) {
        control_reply_error(s, NULL, 0, "InvalidRequest", "a request is a JSON object");
        return true;
    }
    int idt = json_get(&d, 0, "id");
    if (idt >= 0)
        id = json_raw(&d, idt, &idlen);
    if (json_dup_key(&d, 0)) {
        control_reply_error(s, id, idlen, "InvalidRequest", "a member is given twice");
        return true;
    }
    int j = 1;
    for (int k = 0; k < json_size(&d, 0); k++, j = json_next(&d, j + 1)) {
        if (!json_str_eq(&d, j, "execute") && !json_str_eq(&d, j, "arguments") &&
            !json_str_eq(&d, j, "id")) {
            char key[48];
            reply_errorf(s, id, idlen, "InvalidRequest",
                         "unknown member \"%s\" (a request has execute, arguments and id)",
                         name_of(&d, j, key, sizeof(key)));
            return true;
        }
    }
    int ex = json_get(&d, 0, "execute");
    if (ex < 0 || json_type(&d, ex) != JSON_STRING) {
        control_reply_error(s, id, idlen, "InvalidRequest",
                            "\"execute\" must name a command (a string)");
        return true;
    }
    const struct control_cmd *c = cmd_find(&d, ex);
    if (!c) {
        char name[48];
        reply_errorf(s, id, idlen, "CommandNotFound",
                     "no command \"%s\" (query-commands lists them)",
                     name_of(&d, ex, name, sizeof(name)));
        return true;
    }
    int args = json_get(&d, 0, "arguments");
    if (check_args(c, &d, args, err, sizeof(err)) < 0) {
        control_reply_error(s, id, idlen, "InvalidArgument", err);
        return true;
    }

    struct hart *here = arch_this_hart();
    if (c->in_loop && here && __atomic_load_n(&here->current, __ATOMIC_ACQUIRE))
        return false; /* it waits for the run loop: no guest exit may wait for vCPUs */
    struct jw w;
    jw_init(&w, value, sizeof(value));
    struct control_req r = {.s = s, .doc = &d, .args = args < 0 ? -1 : args, .w = &w};
    vm_ops_hold();
    rc = c->run(&r);
    vm_ops_release();
    if (rc < 0) {
        control_reply_error(s, id, idlen, control_error_class(rc), r.err[0] ? r.err : err_str(rc));
        return true;
    }
    long vn = jw_finish(&w);
    if (vn <= 0) { /* a command that wrote nothing returns {} */
        if (vn < 0) {
            reply_errorf(s, id, idlen, "Failed", "%s: the reply does not fit %u bytes", c->name,
                         CONTROL_REPLY_MAX);
            return true;
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
    control_emit(s, &m);
    return true;
}

static void gdb_notify(struct vm *vm)
{
    (void)vm;
    control_poke(); /* the stub polls at the next work */
}

void control_init(uint32_t timebase_hz)
{
    static const struct control_session_hooks hooks = {control_gdb_pump, control_gdb_gone};
    control_sessions_init(timebase_hz, serve, &hooks);
    vm_debug_set_notify(gdb_notify);
}
