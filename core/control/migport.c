/* SPDX-License-Identifier: Apache-2.0 */
/* The migration port (docs/migration.md): vsock CID 2, port
 * MIGRATE_VSOCK_PORT, for control VMs only.  A control VM's `vireoctl
 * migrate` or `vireoctl migrate-listen` connects, says in one line which
 * end it is, and then only pumps bytes between this connection and its
 * TCP connection to the other host; the stream itself is made and checked
 * here by the engines (core/migrate.h).
 *
 *   "out NAME TO [DOWNTIME_MS] [OPTION...]\n"
 *                                  this host's VM NAME goes to TO (a label
 *                                  for messages: the other host); options:
 *                                  shared-disks (host-disk disks stay in
 *                                  place), no-converge (no throttling)
 *   "in [AS]\n"                    a VM comes in (named AS here)
 *
 * Vireo answers "ok\n" and then the stream flows (out: Vireo sends the
 * stream and reads the destination's replies; in: the reverse), or
 * "error: REASON\n" and closes.  When the engine is over Vireo sends what
 * is left and closes; the result is in query-migration.  One migration
 * out and one in at a time.  The work runs in the control plane's work
 * (no vCPU loaded on the hart), under the VM operations' lock. */
#include "arch/arch.h"
#include "core/console.h"
#include "core/control/internal.h"
#include "core/control/migport.h"
#include "core/migrate.h"
#include "core/vm_ops.h"
#include "core/vsock.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/spinlock.h"
#include "lib/string.h"

#define LINE_MAX    160
#define CHUNK       (64u << 10)
#define WORK_BUDGET (4u << 20) /* stream bytes per work call, then the loop again */

enum role { ROLE_LINE, ROLE_OUT, ROLE_IN, ROLE_CLOSING };

struct mig_client {
    bool used;
    struct spinlock lock;
    struct vsock_conn *conn; /* NULL once closed() came */
    enum role role;
    char line[LINE_MAX + 1];
    size_t line_len;
    char answer[LINE_MAX + 32];
    size_t answer_len, answer_pos;
    uint8_t *pend; /* bytes an engine gave that vsock has not taken yet */
    size_t pend_len, pend_pos;
};

static struct spinlock clients_lock;
static struct mig_client clients[2];
static struct migrate_src out_engine;
static struct migrate_dst in_engine;
static bool out_busy, in_busy;
static uint8_t pend_buf[2][CHUNK];
static uint8_t scratch[CHUNK];

const struct migrate_src *migport_out(void)
{
    return out_engine.vm ? &out_engine : NULL;
}

const struct migrate_dst *migport_in(void)
{
    return in_engine.phase != MIGRATE_IDLE ? &in_engine : NULL;
}

/* ---- the connection, outside callbacks: under its lock, conn checked ---- */

static size_t conn_recv(struct mig_client *cl, void *buf, size_t n)
{
    spin_lock(&cl->lock);
    size_t k = cl->conn ? vsock_conn_recv(cl->conn, buf, n) : 0;
    spin_unlock(&cl->lock);
    return k;
}

static size_t conn_send(struct mig_client *cl, const void *buf, size_t n)
{
    spin_lock(&cl->lock);
    size_t k = cl->conn ? vsock_conn_send(cl->conn, buf, n) : 0;
    spin_unlock(&cl->lock);
    return k;
}

static bool conn_gone(struct mig_client *cl)
{
    spin_lock(&cl->lock);
    bool gone = !cl->conn || vsock_conn_eof(cl->conn);
    spin_unlock(&cl->lock);
    return gone;
}

static void conn_close(struct mig_client *cl)
{
    spin_lock(&cl->lock);
    if (cl->conn)
        vsock_conn_close(cl->conn);
    spin_unlock(&cl->lock);
}

/* ---- the request line ---- */

static void answer(struct mig_client *cl, const char *fmt, ...) FMT_PRINTF(2, 3);

static void answer(struct mig_client *cl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(cl->answer, sizeof(cl->answer), fmt, ap);
    va_end(ap);
    cl->answer_len = n > 0 && (size_t)n < sizeof(cl->answer) ? (size_t)n : sizeof(cl->answer) - 1;
    cl->answer_pos = 0;
}

/* Splits line into at most max words (in place): how many. */
static unsigned words(char *line, char **w, unsigned max)
{
    unsigned n = 0;
    char *p = line;

    while (*p) {
        while (*p == ' ')
            *p++ = '\0';
        if (!*p)
            break;
        if (n == max)
            return max + 1;
        w[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

static uint32_t parse_ms(const char *s, bool *ok)
{
    uint64_t v = 0;
    *ok = *s != '\0';
    for (; *s && *ok; s++) {
        *ok = *s >= '0' && *s <= '9' && v < 100000000;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return (uint32_t)v;
}

static void request(struct mig_client *cl, unsigned idx)
{
    char *w[7], err[192];
    unsigned n = words(cl->line, w, 7);

    cl->role = ROLE_CLOSING;
    if (n >= 3 && n <= 7 && strcmp(w[0], "out") == 0) {
        struct migrate_params p = {.to = w[2]};
        bool ok = true;
        const char *bad = NULL;
        unsigned k = 3;
        if (n > 3 && w[3][0] >= '0' && w[3][0] <= '9')
            p.downtime_ms = parse_ms(w[k++], &ok);
        for (; k < n && !bad; k++) {
            if (strcmp(w[k], "shared-disks") == 0)
                p.shared_disks = true;
            else if (strcmp(w[k], "no-converge") == 0)
                p.no_converge = true;
            else
                bad = w[k];
        }
        struct vm *vm = vm_find(w[1]);
        if (!ok) {
            answer(cl, "error: downtime %s: a number of milliseconds\n", w[3]);
        } else if (bad) {
            answer(cl, "error: option %s: expected shared-disks or no-converge\n", bad);
        } else if (!vm) {
            answer(cl, "error: no VM named %s\n", w[1]);
        } else if (out_busy) {
            answer(cl, "error: a migration out of this host runs already (vm %s)\n",
                   out_engine.name);
        } else if (out_engine.phase == MIGRATE_UNKNOWN) {
            answer(cl,
                   "error: the last migration out of this host (vm %s to %s) has an unknown "
                   "outcome: migrate-resolve it first\n",
                   out_engine.name, out_engine.to);
        } else if (migrate_src_start(&out_engine, vm, &p, err, sizeof(err)) < 0) {
            answer(cl, "error: %s\n", err);
        } else {
            out_busy = true;
            cl->role = ROLE_OUT;
            cl->pend = pend_buf[idx];
            answer(cl, "ok\n");
            console_printf("vireo: migrate %s to %s: started\n", vm->name, out_engine.to);
        }
        return;
    }
    if (n >= 1 && n <= 2 && strcmp(w[0], "in") == 0) {
        if (in_busy)
            answer(cl, "error: a migration into this host runs already\n");
        else if (migrate_dst_start(&in_engine, n == 2 ? w[1] : NULL, err, sizeof(err)) < 0)
            answer(cl, "error: %s\n", err);
        else {
            in_busy = true;
            cl->role = ROLE_IN;
            cl->pend = pend_buf[idx];
            answer(cl, "ok\n");
        }
        return;
    }
    answer(cl, "error: expected 'out NAME TO [DOWNTIME_MS] [OPTION...]' or 'in [AS]'\n");
}

static void read_line(struct mig_client *cl, unsigned idx)
{
    while (cl->role == ROLE_LINE) {
        char c;
        if (!conn_recv(cl, &c, 1))
            return;
        if (c == '\n') {
            cl->line[cl->line_len] = '\0';
            request(cl, idx);
        } else if (cl->line_len == LINE_MAX || c < 0x20 || c > 0x7e) {
            cl->role = ROLE_CLOSING;
            answer(cl, "error: the request line is too long or not text\n");
        } else {
            cl->line[cl->line_len++] = c;
        }
    }
}

/* ---- pumping ---- */

/* Sends what waits in pend: true when it is all out (or can never go: the
 * connection is gone, and its bytes with it). */
static bool flush_pend(struct mig_client *cl)
{
    spin_lock(&cl->lock);
    bool gone = !cl->conn;
    spin_unlock(&cl->lock);
    if (gone)
        cl->pend_pos = cl->pend_len;
    while (cl->pend_pos < cl->pend_len) {
        size_t k = conn_send(cl, cl->pend + cl->pend_pos, cl->pend_len - cl->pend_pos);
        if (!k)
            return false;
        cl->pend_pos += k;
    }
    cl->pend_pos = cl->pend_len = 0;
    return true;
}

static bool flush_answer(struct mig_client *cl)
{
    spin_lock(&cl->lock);
    bool gone = !cl->conn;
    spin_unlock(&cl->lock);
    if (gone)
        cl->answer_pos = cl->answer_len;
    while (cl->answer_pos < cl->answer_len) {
        size_t k = conn_send(cl, cl->answer + cl->answer_pos, cl->answer_len - cl->answer_pos);
        if (!k)
            return false;
        cl->answer_pos += k;
    }
    return true;
}

/* One client's work: true if it should run again soon (budget used up). */
static bool pump(struct mig_client *cl, unsigned idx)
{
    size_t moved = 0;

    if (cl->role == ROLE_LINE)
        read_line(cl, idx);
    if (!flush_answer(cl))
        return false;
    if (cl->role == ROLE_OUT) {
        struct migrate_src *m = &out_engine;
        for (;;) {
            size_t k = conn_recv(cl, scratch, sizeof(scratch));
            if (!k)
                break;
            vm_ops_hold();
            migrate_src_push(m, scratch, k);
            vm_ops_release();
        }
        while (migrate_src_sending(m) && flush_pend(cl) && moved < WORK_BUDGET) {
            vm_ops_hold();
            cl->pend_len = migrate_src_pull(m, cl->pend, CHUNK);
            vm_ops_release();
            if (!cl->pend_len)
                break;
            moved += cl->pend_len;
        }
        vm_ops_hold();
        if (conn_gone(cl))
            migrate_src_closed(m, "the control VM's connection closed");
        migrate_src_poll(m);
        vm_ops_release();
        if (!migrate_src_sending(m) && flush_pend(cl)) {
            migrate_src_free(m);
            out_busy = false;
            cl->role = ROLE_CLOSING;
        }
    } else if (cl->role == ROLE_IN) {
        struct migrate_dst *d = &in_engine;
        for (;;) {
            if (!flush_pend(cl))
                break;
            cl->pend_len = migrate_dst_pull(d, cl->pend, CHUNK);
            if (!cl->pend_len) {
                if (migrate_dst_over(d))
                    break;
                size_t k = conn_recv(cl, scratch, sizeof(scratch));
                if (!k)
                    break;
                vm_ops_hold();
                migrate_dst_push(d, scratch, k);
                vm_ops_release();
                moved += k;
                if (moved >= WORK_BUDGET)
                    break;
            }
        }
        vm_ops_hold();
        if (conn_gone(cl) && !migrate_dst_over(d))
            migrate_dst_closed(d, "the control VM's connection closed");
        vm_ops_release();
        if (migrate_dst_over(d) && flush_pend(cl)) {
            migrate_dst_free(d);
            in_busy = false;
            cl->role = ROLE_CLOSING;
        }
    }
    if (cl->role == ROLE_CLOSING && flush_answer(cl))
        conn_close(cl);
    return moved >= WORK_BUDGET;
}

static void migport_work(void)
{
    bool again = false;
    for (unsigned i = 0; i < 2; i++) {
        if (clients[i].used)
            again |= pump(&clients[i], i);
    }
    if (again)
        control_poke();
}

/* ---- query-migration ---- */

static void put_out(struct jw *w, const struct migrate_src *m)
{
    uint64_t now = arch_time(), end = migrate_src_over(m) ? m->st.ended : now;

    jw_obj(w);
    jw_kstr(w, "vm", m->name);
    jw_kstr(w, "to", m->to);
    jw_kstr(w, "phase", migrate_phase_name(m->phase));
    jw_ku64(w, "rounds", m->st.rounds);
    jw_ku64(w, "pages", m->st.pages);
    jw_ku64(w, "zero-pages", m->st.zero_pages);
    jw_ku64(w, "bytes", m->st.bytes);
    jw_ku64(w, "ram-pages", (m->vm_ram + 4095) / 4096);
    jw_ku64(w, "dirty-pages", m->st.last_dirty);
    jw_ku64(w, "final-pages", m->st.final_pages);
    jw_ku64(w, "state-bytes", m->st.state_bytes);
    jw_ku64(w, "bytes-per-sec", m->st.bytes_per_sec);
    jw_ku64(w, "throttle-pct", m->st.throttle_pct);
    jw_ku64(w, "total-ms", control_ms(end - m->st.started));
    if (m->st.paused)
        jw_ku64(w, "downtime-ms", control_ms(end - m->st.paused));
    if (m->phase == MIGRATE_FAILED || m->phase == MIGRATE_UNKNOWN ||
        (m->phase == MIGRATE_DONE && m->reason[0]))
        jw_kstr(w, "reason", m->reason);
    jw_end(w);
}

static void put_in(struct jw *w, const struct migrate_dst *d)
{
    uint64_t end = migrate_dst_over(d) ? d->st.ended : arch_time();

    jw_obj(w);
    jw_kstr(w, "vm", d->vm ? d->vm->name : d->name);
    jw_kstr(w, "phase", migrate_phase_name(d->phase));
    jw_ku64(w, "rounds", d->st.rounds);
    jw_ku64(w, "pages", d->st.pages);
    jw_ku64(w, "zero-pages", d->st.zero_pages);
    jw_ku64(w, "bytes", d->st.bytes);
    jw_ku64(w, "total-ms", control_ms(end - d->st.started));
    if (d->phase == MIGRATE_DONE)
        jw_ku64(w, "downtime-ms", d->st.downtime_ns / 1000000);
    if (d->phase == MIGRATE_FAILED)
        jw_kstr(w, "reason", d->reason);
    jw_end(w);
}

int control_cmd_query_migration(struct control_req *r)
{
    jw_obj(r->w);
    if (migport_out()) {
        jw_key(r->w, "out");
        put_out(r->w, migport_out());
    }
    if (migport_in()) {
        jw_key(r->w, "in");
        put_in(r->w, migport_in());
    }
    jw_end(r->w);
    return 0;
}

/* ---- cancel and resolve ---- */

int control_cmd_migrate_cancel(struct control_req *r)
{
    char name[CONFIG_NAME_MAX + 2], why[96];

    if (control_arg_str(r, "name", name, sizeof(name)) < 0)
        return control_fail(r, ERR_NOENT, "no VM has a name that long");
    fmt_snprintf(why, sizeof(why), "by the operator (%s)",
                 r->s->peer ? "a control VM" : "the management port");
    int rc;
    if (out_busy && strcmp(out_engine.name, name) == 0)
        rc = migrate_src_cancel(&out_engine, why, r->err, sizeof(r->err));
    else if (in_busy && strcmp(in_engine.vm ? in_engine.vm->name
                                            : (in_engine.as[0] ? in_engine.as : in_engine.name),
                               name) == 0)
        rc = migrate_dst_cancel(&in_engine, why, r->err, sizeof(r->err));
    else
        return control_fail(r, ERR_NOENT, "no migration of a VM named %s runs here", name);
    if (rc < 0)
        return rc;
    control_poke(); /* the port's work sends what is left and closes */
    return 0;
}

int control_cmd_migrate_resolve(struct control_req *r)
{
    char name[CONFIG_NAME_MAX + 2], action[8];

    if (control_arg_str(r, "name", name, sizeof(name)) < 0)
        return control_fail(r, ERR_NOENT, "no VM has a name that long");
    if (control_arg_str(r, "action", action, sizeof(action)) < 0 ||
        (strcmp(action, "resume") != 0 && strcmp(action, "drop") != 0))
        return control_fail(r, ERR_INVAL,
                            "action: resume (it does not run at the destination) "
                            "or drop (it does)");
    if (!out_engine.vm || strcmp(out_engine.name, name) != 0 || out_engine.phase != MIGRATE_UNKNOWN)
        return control_fail(r, ERR_STATE,
                            "no migration of a VM named %s has an unknown outcome here", name);
    return migrate_src_resolve(&out_engine, strcmp(action, "resume") == 0, r->err, sizeof(r->err));
}

/* ---- the vsock service ---- */

static int mp_accept(struct vsock_conn *c)
{
    struct vm *vm = vsock_conn_vm(c);

    if (!vm || !vm->cfg || !vm->cfg->control) {
        console_printf("vireo: vsock: vm %s may not open the migration port: not a control VM; "
                       "refused\n",
                       vm ? vm->name : "?");
        return ERR_PERM;
    }
    struct mig_client *cl = NULL;
    spin_lock(&clients_lock);
    for (unsigned i = 0; i < 2 && !cl; i++) {
        if (!clients[i].used) {
            cl = &clients[i];
            spin_lock(&cl->lock);
            cl->conn = c;
            cl->role = ROLE_LINE;
            cl->line_len = cl->answer_len = cl->answer_pos = 0;
            cl->pend_len = cl->pend_pos = 0;
            spin_unlock(&cl->lock);
            cl->used = true;
        }
    }
    spin_unlock(&clients_lock);
    if (!cl)
        return ERR_NOSPC;
    vsock_conn_set_priv(c, cl);
    return 0;
}

static void mp_news(struct vsock_conn *c)
{
    (void)c;
    control_kick();
}

/* The connection is over; what its engine still does (fail, clean up)
 * happens at the next work, which finds conn NULL. */
static void mp_closed(struct vsock_conn *c)
{
    struct mig_client *cl = vsock_conn_priv(c);

    spin_lock(&cl->lock);
    cl->conn = NULL;
    spin_unlock(&cl->lock);
    control_poke();
}

static const struct vsock_service migrate_service = {
    .port = MIGRATE_VSOCK_PORT,
    .accept = mp_accept,
    .readable = mp_news,
    .writable = mp_news,
    .closed = mp_closed,
};

/* Slots whose connection is gone and whose engine let go are free again. */
static void migport_reap(void)
{
    for (unsigned i = 0; i < 2; i++) {
        struct mig_client *cl = &clients[i];
        spin_lock(&cl->lock);
        bool gone = cl->used && !cl->conn;
        spin_unlock(&cl->lock);
        if (!gone)
            continue;
        if (cl->role == ROLE_OUT || cl->role == ROLE_IN) {
            pump(cl, i); /* the engine sees the connection gone and lets go */
            if (cl->role != ROLE_CLOSING)
                continue;
        }
        spin_lock(&clients_lock);
        cl->used = false;
        spin_unlock(&clients_lock);
    }
}

static void migport_run(void)
{
    migport_work();
    migport_reap();
}

void migport_start(void)
{
    if (vsock_listen(&migrate_service) == 0) {
        control_set_port_work(migport_run);
        console_printf("vireo: live migration on vsock port %u (control VMs only)\n",
                       MIGRATE_VSOCK_PORT);
    }
}
