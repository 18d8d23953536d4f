/* SPDX-License-Identifier: Apache-2.0 */
/* A request's arguments, already checked against its command's list
 * (server.c), and failing a request with a message. */
#include <stdarg.h>

#include "core/control/internal.h"
#include "core/vm.h"
#include "lib/err.h"
#include "lib/printf.h"

int control_fail(struct control_req *r, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fmt_vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
    r->rc = code;
    return code;
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

struct vm *control_arg_vm(struct control_req *r, const char *self_verb)
{
    char name[CONFIG_NAME_MAX + 2];

    if (control_arg_str(r, "name", name, sizeof(name)) < 0) {
        control_fail(r, ERR_NOENT, "no VM has a name that long");
        return NULL;
    }
    struct vm *vm = vm_find(name);
    if (!vm) {
        control_fail(r, ERR_NOENT, "no VM named \"%s\" (query-vms lists them)", name);
        return NULL;
    }
    if (self_verb && r->s->peer == vm) {
        control_fail(r, ERR_PERM, "vm %s is the control VM asking: it cannot %s itself", vm->name,
                     self_verb);
        return NULL;
    }
    return vm;
}
