/* SPDX-License-Identifier: Apache-2.0 */
/* Switching tracing on and off (core/trace_ctl.h). */
#include "core/trace_ctl.h"

#include "core/hart.h"
#include "core/pmem.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

static unsigned ring_harts;
static uint32_t timebase;

void trace_ctl_init(uint32_t timebase_hz)
{
    timebase = timebase_hz;
}

uint32_t trace_ctl_timebase(void)
{
    return timebase;
}

/* Every hart that is online gets a ring; harts never go away. */
static int rings_alloc(char *err, size_t errlen)
{
    size_t bytes = (size_t)TRACE_RING_RECORDS * sizeof(struct trace_rec);

    for (unsigned i = 0; i < hart_count; i++) {
        if (trace_ring_attached(i))
            continue;
        struct trace_rec *buf = pmem_alloc(bytes, 4096);
        if (!buf) {
            fmt_snprintf(err, errlen,
                         "no memory for the trace ring of hart %u (%zu KiB per hart, %lu KiB "
                         "free)",
                         i, bytes >> 10, (unsigned long)(pmem_free_bytes() >> 10));
            return ERR_NOMEM;
        }
        trace_ring_attach(i, buf, TRACE_RING_RECORDS);
    }
    ring_harts = hart_count;
    return 0;
}

int trace_ctl_set(uint32_t classes, char *err, size_t errlen)
{
    classes &= TRACE_ALL;
    uint32_t old = __atomic_load_n(&trace_on, __ATOMIC_RELAXED);

    if (classes && !old) {
        int r = rings_alloc(err, errlen);
        if (r < 0)
            return r;
        /* Nobody writes the summary while tracing is off. */
        trace_exit_stats_clear();
        for (unsigned i = 0; i < ring_harts; i++)
            trace_discard(i);
    }
    trace_set(classes);
    /* The exit path reads each hart's own copy (core/trace.h). */
    for (unsigned i = 0; i < hart_count; i++)
        __atomic_store_n(&harts[i].trace_on, classes, __ATOMIC_RELEASE);
    return 0;
}

uint32_t trace_ctl_classes(void)
{
    return __atomic_load_n(&trace_on, __ATOMIC_RELAXED);
}

unsigned trace_ctl_harts(void)
{
    return ring_harts;
}

void trace_ctl_format(uint32_t classes, char *buf, size_t size)
{
    size_t n = 0;

    if (!size)
        return;
    buf[0] = 0;
    if (!(classes & TRACE_ALL)) {
        fmt_snprintf(buf, size, "off");
        return;
    }
    for (unsigned c = 0; c < TRACE_CLASSES; c++) {
        if (!(classes & (1u << c)))
            continue;
        int k = fmt_snprintf(buf + n, size - n, "%s%s", n ? "," : "", trace_class_name(c));
        if (k < 0 || (size_t)k >= size - n)
            return;
        n += (size_t)k;
    }
}

void trace_ctl_summary(struct trace_exit_stat *out)
{
    struct trace_exit_stat one[TRACE_EXIT_REASONS];

    memset(out, 0, sizeof(*out) * TRACE_EXIT_REASONS);
    for (unsigned h = 0; h < ring_harts; h++) {
        trace_exit_stats(h, one);
        for (unsigned i = 0; i < TRACE_EXIT_REASONS; i++) {
            if (!one[i].count)
                continue;
            if (!out[i].count || one[i].min < out[i].min)
                out[i].min = one[i].min;
            if (one[i].max > out[i].max)
                out[i].max = one[i].max;
            out[i].count += one[i].count;
            out[i].sum += one[i].sum;
        }
    }
}

const char *trace_ctl_reason_name(unsigned reason)
{
    if (reason >= TRACE_EXIT_REASONS)
        return "?";
    return trace_cause_name(reason >= TRACE_EXIT_IRQ0
                                ? (uint16_t)(TRACE_CAUSE_IRQ | (reason - TRACE_EXIT_IRQ0))
                                : (uint16_t)reason);
}
