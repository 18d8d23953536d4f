/* SPDX-License-Identifier: Apache-2.0 */
/* Trace records into Chrome Trace Event JSON and an exit summary
 * (trace_json.h).  Tracks: one process per VM ("VM alpha") with a thread
 * per vCPU ("alpha / vcpu 0"), and one process "Vireo harts" with a
 * thread per hart.  On a vCPU's track: "guest" slices while it runs in
 * the guest, B/E pairs for each exit's handling (named by its cause),
 * instant events for its SBI calls, MMIO accesses, interrupts and virtio
 * notifications.  On a hart's track: a slice per vCPU visit, instants
 * for virtio completions.  Records come from Vireo but are read as
 * outside input: every index is checked, names are escaped, and a
 * begin whose end was dropped is left out rather than guessed. */
#include "tools/vireoctl/trace_json.h"

#include <stdlib.h>
#include <string.h>

#define PID_HARTS 1
#define PID_VM0   10

static int rec_cmp(const void *pa, const void *pb)
{
    const struct trace_rec *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    /* At one tick: a vCPU leaves before it (or another) comes in. */
    int ra = a->type == TRACE_EV_VCPU_OUT ? 0 : a->type == TRACE_EV_VCPU_IN ? 2 : 1;
    int rb = b->type == TRACE_EV_VCPU_OUT ? 0 : b->type == TRACE_EV_VCPU_IN ? 2 : 1;
    if (ra != rb)
        return ra - rb;
    return 0;
}

struct keyed {
    struct trace_rec r;
    size_t pos;
};

static int keyed_cmp(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    int c = rec_cmp(&a->r, &b->r);
    if (c)
        return c;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

void tj_sort(struct trace_rec *recs, size_t n)
{
    /* qsort is not stable: the original position breaks ties. */
    struct keyed *k = n ? malloc(n * sizeof(*k)) : NULL;
    if (!k)
        return;
    for (size_t i = 0; i < n; i++)
        k[i] = (struct keyed){recs[i], i};
    qsort(k, n, sizeof(*k), keyed_cmp);
    for (size_t i = 0; i < n; i++)
        recs[i] = k[i].r;
    free(k);
}

/* A JSON string of s (at most TJ_NAME bytes of it). */
static void put_str(FILE *o, const char *s)
{
    fputc('"', o);
    for (size_t i = 0; s[i] && i < 4 * TJ_NAME; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(o, "\\u%04x", c);
        else
            fputc(c, o);
    }
    fputc('"', o);
}

static double us(const struct tj *t, uint64_t ticks)
{
    uint32_t hz = t->meta->timebase_hz ? t->meta->timebase_hz : 10000000;
    return (double)ticks * 1e6 / hz;
}

static bool vm_known(const struct tj *t, unsigned vm)
{
    return vm < TJ_VMS && t->meta->vm[vm].used;
}

static void vm_name(const struct tj *t, unsigned vm, char *buf, size_t size)
{
    if (vm_known(t, vm))
        snprintf(buf, size, "%s", t->meta->vm[vm].name);
    else
        snprintf(buf, size, "vm#%u", vm);
}

static void sep(struct tj *t)
{
    fputs(t->events++ ? ",\n" : "\n", t->out);
}

static bool vcpu_track(const struct trace_rec *r)
{
    return r->vm < TJ_VMS && r->vcpu < TJ_VCPUS;
}

/* Opens an event: name, phase, time, track; the caller adds fields and
 * closes it with '}'. */
static void ev_open(struct tj *t, const char *name, char ph, uint64_t time, unsigned pid,
                    unsigned tid)
{
    sep(t);
    fputs("{\"name\":", t->out);
    put_str(t->out, name);
    fprintf(t->out, ",\"ph\":\"%c\",\"ts\":%.3f,\"pid\":%u,\"tid\":%u", ph, us(t, time - t->t0),
            pid, tid);
}

static void meta_name(struct tj *t, const char *what, unsigned pid, unsigned tid, const char *name)
{
    sep(t);
    fprintf(t->out, "{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":", what,
            pid, tid);
    put_str(t->out, name);
    fputs("}}", t->out);
}

static void track_vcpu(struct tj *t, unsigned vm, unsigned vcpu)
{
    struct tj_vcpu *c = &t->vcpu[vm][vcpu];
    char name[TJ_NAME + 32], vmn[TJ_NAME];
    if (c->seen)
        return;
    c->seen = true;
    vm_name(t, vm, vmn, sizeof(vmn));
    bool first = true;
    for (unsigned k = 0; k < TJ_VCPUS; k++)
        if (k != vcpu && t->vcpu[vm][k].seen)
            first = false;
    if (first) {
        snprintf(name, sizeof(name), "VM %s", vmn);
        meta_name(t, "process_name", PID_VM0 + vm, 0, name);
    }
    snprintf(name, sizeof(name), "%s / vcpu %u", vmn, vcpu);
    meta_name(t, "thread_name", PID_VM0 + vm, vcpu, name);
}

static void track_hart(struct tj *t, unsigned hart)
{
    char name[32];
    if (t->hart[hart].seen)
        return;
    t->hart[hart].seen = true;
    snprintf(name, sizeof(name), "hart %u", hart);
    meta_name(t, "thread_name", PID_HARTS, hart, name);
}

void tj_begin(struct tj *t, FILE *out, const struct tj_meta *meta)
{
    memset(t, 0, sizeof(*t));
    t->out = out;
    t->meta = meta;
    fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", out);
    meta_name(t, "process_name", PID_HARTS, 0, "Vireo harts");
}

static const char *out_reason(unsigned x)
{
    static const char *const n[] = {"blocked", "yield", "preempt", "leave"};
    return x < 4 ? n[x] : "?";
}

static const char *irq_name(unsigned x)
{
    static const char *const n[] = {"irq timer", "irq ipi", "irq external"};
    return x < 3 ? n[x] : "irq ?";
}

static const char *vm_event_name(unsigned x)
{
    static const char *const n[] = {"vm started", "vm ended", "vm rebooting", "vm paused",
                                    "vm resumed", "vm added", "vm deleted"};
    return x < TRACE_VM_EVENTS ? n[x] : "vm ?";
}

/* The guest slice of a vCPU that was running, up to time. */
static void guest_slice_end(struct tj *t, const struct trace_rec *r)
{
    struct tj_vcpu *c = &t->vcpu[r->vm][r->vcpu];
    if (!c->running)
        return;
    c->running = false;
    if (r->time < c->run_from)
        return;
    ev_open(t, "guest", 'X', c->run_from, PID_VM0 + r->vm, r->vcpu);
    fprintf(t->out, ",\"dur\":%.3f,\"cat\":\"guest\"}", us(t, r->time - c->run_from));
}

static void on_exit_done(struct tj *t, const struct trace_rec *r)
{
    struct tj_vcpu *c = &t->vcpu[r->vm][r->vcpu];
    if (!c->in_exit || c->exit.x != r->x || r->time < c->exit.time) {
        c->in_exit = false; /* its begin was dropped (full ring) or never seen */
        t->skipped++;
        return;
    }
    c->in_exit = false;
    const char *name = trace_cause_name(r->x);
    ev_open(t, name, 'B', c->exit.time, PID_VM0 + r->vm, r->vcpu);
    fprintf(t->out, ",\"cat\":\"exit\",\"args\":{\"pc\":\"%#llx\",\"addr\":\"%#llx\",\"hart\":%u}}",
            (unsigned long long)c->exit.a, (unsigned long long)c->exit.b, c->exit.hart);
    ev_open(t, name, 'E', r->time, PID_VM0 + r->vm, r->vcpu);
    static const char *const acts[] = {"resume", "block", "yield", "leave"};
    fprintf(t->out, ",\"cat\":\"exit\",\"args\":{\"then\":\"%s\"}}", r->a < 4 ? acts[r->a] : "?");
    t->pairs++;
    c->exits++;
    unsigned reason = (r->x & TRACE_CAUSE_IRQ) ? 24 + (r->x & 0x7fffu) : (r->x & 0x7fffu);
    if (reason < TJ_REASONS) {
        struct tj_stat *s = &t->stat[reason];
        uint64_t d = r->time - c->exit.time;
        if (!s->count || d < s->min)
            s->min = d;
        if (d > s->max)
            s->max = d;
        s->sum += d;
        s->count++;
    }
    if (r->a == 0) { /* resumed: back in the guest */
        c->running = true;
        c->run_from = r->time;
    }
}

static void dev_name(const struct tj *t, unsigned vm, unsigned idx, bool virtio, char *buf,
                     size_t size)
{
    if (vm_known(t, vm) && idx < TJ_DEVS) {
        const char *n = virtio ? t->meta->vm[vm].virtio[idx] : t->meta->vm[vm].bus[idx];
        if (n[0]) {
            snprintf(buf, size, "%s", n);
            return;
        }
    }
    snprintf(buf, size, "%s#%u", virtio ? "virtio" : "dev", idx);
}

void tj_add(struct tj *t, const struct trace_rec *r)
{
    char name[2 * TJ_NAME + 64];
    t->records++;
    if (r->type <= TRACE_EV_NONE || r->type >= TRACE_EV_TYPES) {
        t->skipped++;
        return;
    }
    if (!t->started) {
        t->started = true;
        t->t0 = r->time;
    }
    if (r->time < t->t0) {
        t->skipped++; /* out of order: before the first record */
        return;
    }
    track_hart(t, r->hart);
    bool vt = vcpu_track(r);
    if (vt)
        track_vcpu(t, r->vm, r->vcpu);
    unsigned pid = vt ? PID_VM0 + r->vm : PID_HARTS;
    unsigned tid = vt ? r->vcpu : r->hart;
    struct tj_hart *h = &t->hart[r->hart];

    switch (r->type) {
    case TRACE_EV_EXIT:
        if (!vt)
            break;
        guest_slice_end(t, r);
        t->vcpu[r->vm][r->vcpu].in_exit = true;
        t->vcpu[r->vm][r->vcpu].exit = *r;
        break;
    case TRACE_EV_EXIT_DONE:
        if (vt)
            on_exit_done(t, r);
        break;
    case TRACE_EV_VCPU_IN:
        if (vt) {
            t->vcpu[r->vm][r->vcpu].running = true;
            t->vcpu[r->vm][r->vcpu].run_from = r->time;
            t->vcpu[r->vm][r->vcpu].in_exit = false;
        }
        h->busy = true;
        h->busy_from = r->time;
        h->vm = r->vm;
        h->vcpu = r->vcpu;
        break;
    case TRACE_EV_VCPU_OUT:
        if (vt) {
            guest_slice_end(t, r);
            t->vcpu[r->vm][r->vcpu].in_exit = false;
        }
        if (h->busy && h->vm == r->vm && h->vcpu == r->vcpu) {
            char vmn[TJ_NAME];
            vm_name(t, r->vm, vmn, sizeof(vmn));
            snprintf(name, sizeof(name), "%s / vcpu %u", vmn, r->vcpu);
            ev_open(t, name, 'X', h->busy_from, PID_HARTS, r->hart);
            fprintf(t->out, ",\"dur\":%.3f,\"cat\":\"sched\",\"args\":{\"out\":\"%s\"}}",
                    us(t, r->time - h->busy_from), out_reason(r->x));
        }
        h->busy = false;
        break;
    case TRACE_EV_SBI:
        snprintf(name, sizeof(name), "sbi %#llx/%u", (unsigned long long)(r->a & 0xffffffffu),
                 r->x);
        ev_open(t, name, 'i', r->time, pid, tid);
        fprintf(t->out,
                ",\"s\":\"t\",\"cat\":\"sbi\",\"args\":{\"ext\":\"%#llx\",\"fid\":%u,\"error\":%d,"
                "\"value\":\"%#llx\"}}",
                (unsigned long long)(r->a & 0xffffffffu), r->x, (int)(int32_t)(r->a >> 32),
                (unsigned long long)r->b);
        break;
    case TRACE_EV_MMIO: {
        char dn[TJ_NAME + 16];
        dev_name(t, r->vm, r->x >> 8, false, dn, sizeof(dn));
        snprintf(name, sizeof(name), "mmio %s %s", (r->x & TRACE_MMIO_WRITE) ? "write" : "read",
                 dn);
        ev_open(t, name, 'i', r->time, pid, tid);
        fprintf(t->out,
                ",\"s\":\"t\",\"cat\":\"mmio\",\"args\":{\"offset\":\"%#llx\",\"width\":%u,"
                "\"value\":\"%#llx\"}}",
                (unsigned long long)r->a, r->x & 0xfu, (unsigned long long)r->b);
        break;
    }
    case TRACE_EV_IRQ:
        ev_open(t, irq_name(r->x), 'i', r->time, pid, tid);
        fprintf(t->out, ",\"s\":\"t\",\"cat\":\"irq\",\"args\":{\"from-hart\":%llu}}",
                (unsigned long long)r->a);
        break;
    case TRACE_EV_VIRTIO_NOTIFY:
    case TRACE_EV_VIRTIO_DONE: {
        char dn[TJ_NAME + 16];
        unsigned dvm = (unsigned)(r->a >> 8) & 0xff;
        dev_name(t, dvm, (unsigned)(r->a & 0xff), true, dn, sizeof(dn));
        bool notify = r->type == TRACE_EV_VIRTIO_NOTIFY;
        snprintf(name, sizeof(name), "virtio %s %s q%u", notify ? "notify" : "done", dn, r->x);
        /* A completion goes on its device's VM track when the hart ran
         * none of that VM's vCPUs (the host's interrupt, a peer's send). */
        ev_open(t, name, 'i', r->time, notify ? pid : PID_HARTS, notify ? tid : r->hart);
        fprintf(t->out, ",\"s\":\"t\",\"cat\":\"virtio\",\"args\":{\"queue\":%u,\"used\":%llu}}",
                r->x, (unsigned long long)r->b);
        break;
    }
    case TRACE_EV_VM: {
        char vmn[TJ_NAME];
        vm_name(t, r->vm, vmn, sizeof(vmn));
        snprintf(name, sizeof(name), "%s: %s", vm_event_name(r->x), vmn);
        ev_open(t, name, 'i', r->time, PID_HARTS, r->hart);
        fputs(",\"s\":\"g\",\"cat\":\"vm\"}", t->out);
        break;
    }
    default:
        break;
    }
}

void tj_end(struct tj *t)
{
    fprintf(t->out,
            "\n],\"otherData\":{\"source\":\"vireo\",\"timebase-hz\":%u,\"records\":%llu,"
            "\"dropped-in-vireo\":%u,\"unpaired\":%llu}}\n",
            t->meta->timebase_hz, (unsigned long long)t->records, t->meta->dropped,
            (unsigned long long)t->skipped);
}

void tj_summary(const struct tj *t, FILE *o)
{
    uint64_t n = 0, sum = 0;
    for (unsigned i = 0; i < TJ_REASONS; i++) {
        n += t->stat[i].count;
        sum += t->stat[i].sum;
    }
    fprintf(o, "Exits by reason, all VMs and vCPUs (handling time in Vireo):\n\n");
    fprintf(o, "%-24s %9s %8s %8s %10s %10s %10s\n", "exit reason", "samples", "samples%", "time%",
            "min us", "max us", "avg us");
    for (unsigned i = 0; i < TJ_REASONS; i++) {
        const struct tj_stat *s = &t->stat[i];
        if (!s->count)
            continue;
        uint16_t x = i >= 24 ? (uint16_t)(TRACE_CAUSE_IRQ | (i - 24)) : (uint16_t)i;
        fprintf(o, "%-24s %9llu %7.2f%% %7.2f%% %10.2f %10.2f %10.2f\n", trace_cause_name(x),
                (unsigned long long)s->count, 100.0 * (double)s->count / (double)n,
                sum ? 100.0 * (double)s->sum / (double)sum : 0.0, us(t, s->min), us(t, s->max),
                us(t, s->sum) / (double)s->count);
    }
    fprintf(o,
            "\nTotal samples: %llu; %llu records, %llu without their pair, %u dropped in "
            "Vireo\n",
            (unsigned long long)n, (unsigned long long)t->records, (unsigned long long)t->skipped,
            t->meta->dropped);
}
