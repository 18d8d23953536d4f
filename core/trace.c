/* SPDX-License-Identifier: Apache-2.0 */
/* Per-hart trace rings (core/trace.h, docs/tracing.md).
 *
 * Each ring has one writer, its hart, which runs with interrupts off, so
 * an emit is never interrupted by another emit on the same ring; and one
 * reader at a time (reader_lock).  head counts records written, tail
 * records read; both only grow.  The writer fills slot head, then
 * publishes it with a release store of head; the reader takes head with
 * an acquire load, copies, and gives the slots back with a release store
 * of tail, which the writer loads with acquire before it reuses a slot:
 * a slot the reader is still copying is never written.  A full ring
 * drops the new record and counts it. */
#include "core/trace.h"

#include "arch/arch.h"
#include "core/hart.h"
#include "core/vm.h"
#include "lib/spinlock.h"
#include "lib/string.h"

uint32_t trace_on;

struct trace_ring {
    struct trace_rec *rec;
    uint32_t mask; /* records - 1; rec == NULL: no ring */
    uint64_t head; /* written by the writer only */
    uint64_t tail; /* written by the reader only */
    uint64_t dropped;
    /* The exit being handled on this hart: its begin time. */
    uint64_t exit_t0;
    struct trace_exit_stat stats[TRACE_EXIT_REASONS];
};

static struct trace_ring rings[HART_MAX];
static struct spinlock reader_lock = SPINLOCK_INIT;

void trace_ring_attach(unsigned hart, struct trace_rec *buf, uint32_t nrec)
{
    if (hart >= HART_MAX || !buf || !nrec || (nrec & (nrec - 1)))
        return;
    struct trace_ring *r = &rings[hart];
    if (__atomic_load_n(&r->rec, __ATOMIC_ACQUIRE))
        return;
    r->mask = nrec - 1;
    /* Published last: a writer that sees rec sees mask. */
    __atomic_store_n(&r->rec, buf, __ATOMIC_RELEASE);
}

bool trace_ring_attached(unsigned hart)
{
    return hart < HART_MAX && __atomic_load_n(&rings[hart].rec, __ATOMIC_ACQUIRE) != NULL;
}

void trace_set(uint32_t classes)
{
    __atomic_store_n(&trace_on, classes & TRACE_ALL, __ATOMIC_RELEASE);
}

static void ring_put(struct trace_ring *r, const struct trace_rec *rec)
{
    struct trace_rec *buf = __atomic_load_n(&r->rec, __ATOMIC_ACQUIRE);
    uint64_t head = r->head;

    if (!buf || head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) > r->mask) {
        __atomic_store_n(&r->dropped, r->dropped + 1, __ATOMIC_RELAXED);
        return;
    }
    buf[head & r->mask] = *rec;
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
}

static struct trace_ring *this_ring(unsigned *index)
{
    *index = arch_this_hart()->index;
    return *index < HART_MAX ? &rings[*index] : NULL;
}

void trace_emit(uint8_t type, uint16_t vm, uint16_t vcpu, uint16_t x, uint64_t a, uint64_t b)
{
    trace_emit_at(arch_time(), type, vm, vcpu, x, a, b);
}

void trace_emit_at(uint64_t time, uint8_t type, uint16_t vm, uint16_t vcpu, uint16_t x, uint64_t a,
                   uint64_t b)
{
    unsigned hart;
    struct trace_ring *r = this_ring(&hart);

    if (!r)
        return;
    struct trace_rec rec = {
        .time = time,
        .type = type,
        .hart = (uint8_t)hart,
        .vm = vm,
        .vcpu = vcpu,
        .x = x,
        .a = a,
        .b = b,
    };
    ring_put(r, &rec);
}

void trace_emit_here(uint8_t type, uint16_t x, uint64_t a, uint64_t b)
{
    const struct vcpu *v = __atomic_load_n(&arch_this_hart()->current, __ATOMIC_RELAXED);

    trace_emit(type, v ? (uint16_t)v->vm->index : TRACE_NONE, v ? (uint16_t)v->id : TRACE_NONE, x,
               a, b);
}

void trace_exit_begin(uint16_t vm, uint16_t vcpu, uint16_t cause, uint64_t pc, uint64_t addr)
{
    unsigned hart;
    struct trace_ring *r = this_ring(&hart);

    if (!r)
        return;
    uint64_t now = arch_time();
    r->exit_t0 = now;
    struct trace_rec rec = {now, TRACE_EV_EXIT, (uint8_t)hart, vm, vcpu, cause, pc, addr};
    ring_put(r, &rec);
}

void trace_exit_end(uint16_t vm, uint16_t vcpu, uint16_t cause, unsigned action)
{
    unsigned hart;
    struct trace_ring *r = this_ring(&hart);

    if (!r)
        return;
    uint64_t now = arch_time();
    uint64_t took = now - r->exit_t0;
    unsigned reason = trace_exit_reason(cause);
    if (reason < TRACE_EXIT_REASONS) {
        struct trace_exit_stat *s = &r->stats[reason];
        /* Written here only; a reader may see a sum a record ahead of the
         * count, which a summary can live with. */
        __atomic_store_n(&s->min, (!s->count || took < s->min) ? took : s->min, __ATOMIC_RELAXED);
        __atomic_store_n(&s->max, took > s->max ? took : s->max, __ATOMIC_RELAXED);
        __atomic_store_n(&s->sum, s->sum + took, __ATOMIC_RELAXED);
        __atomic_store_n(&s->count, s->count + 1, __ATOMIC_RELAXED);
    }
    struct trace_rec rec = {now, TRACE_EV_EXIT_DONE, (uint8_t)hart, vm, vcpu, cause, action, took};
    ring_put(r, &rec);
}

size_t trace_read(unsigned hart, struct trace_rec *out, size_t max)
{
    if (hart >= HART_MAX)
        return 0;
    struct trace_ring *r = &rings[hart];
    size_t n = 0;

    spin_lock(&reader_lock);
    struct trace_rec *buf = __atomic_load_n(&r->rec, __ATOMIC_ACQUIRE);
    if (buf) {
        uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        uint64_t tail = r->tail;
        while (tail + n != head && n < max) {
            out[n] = buf[(tail + n) & r->mask];
            n++;
        }
        __atomic_store_n(&r->tail, tail + n, __ATOMIC_RELEASE);
    }
    spin_unlock(&reader_lock);
    return n;
}

void trace_discard(unsigned hart)
{
    if (hart >= HART_MAX)
        return;
    struct trace_ring *r = &rings[hart];

    spin_lock(&reader_lock);
    __atomic_store_n(&r->tail, __atomic_load_n(&r->head, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
    spin_unlock(&reader_lock);
}

void trace_ring_info(unsigned hart, struct trace_ring_info *info)
{
    memset(info, 0, sizeof(*info));
    if (hart >= HART_MAX)
        return;
    struct trace_ring *r = &rings[hart];
    spin_lock(&reader_lock);
    uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    info->written = head;
    info->dropped = __atomic_load_n(&r->dropped, __ATOMIC_RELAXED);
    info->pending = head - r->tail;
    info->size = __atomic_load_n(&r->rec, __ATOMIC_ACQUIRE) ? r->mask + 1 : 0;
    spin_unlock(&reader_lock);
}

void trace_exit_stats(unsigned hart, struct trace_exit_stat *out)
{
    for (unsigned i = 0; i < TRACE_EXIT_REASONS; i++) {
        const struct trace_exit_stat *s = hart < HART_MAX ? &rings[hart].stats[i] : NULL;
        out[i] = (struct trace_exit_stat){0, 0, 0, 0};
        if (!s)
            continue;
        out[i].count = __atomic_load_n(&s->count, __ATOMIC_RELAXED);
        out[i].sum = __atomic_load_n(&s->sum, __ATOMIC_RELAXED);
        out[i].min = __atomic_load_n(&s->min, __ATOMIC_RELAXED);
        out[i].max = __atomic_load_n(&s->max, __ATOMIC_RELAXED);
    }
}

void trace_exit_stats_clear(void)
{
    for (unsigned h = 0; h < HART_MAX; h++)
        for (unsigned i = 0; i < TRACE_EXIT_REASONS; i++)
            rings[h].stats[i] = (struct trace_exit_stat){0, 0, 0, 0};
}
