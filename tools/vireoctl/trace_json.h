/* SPDX-License-Identifier: Apache-2.0 */
/* Trace records (lib/trace_rec.h) into Chrome Trace Event JSON, which
 * Perfetto UI and chrome://tracing open, and into a summary of exits by
 * reason in the manner of `perf kvm stat report` (docs/tracing.md).
 * vireoctl's `trace dump` uses it; tests/unit/test_trace.c tests it. */
#ifndef VIREO_TOOLS_VIREOCTL_TRACE_JSON_H
#define VIREO_TOOLS_VIREOCTL_TRACE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/trace_rec.h"

#define TJ_VMS     64 /* VM indexes a trace can name (records beyond: hart tracks only) */
#define TJ_VCPUS   64
#define TJ_HARTS   256
#define TJ_DEVS    32
#define TJ_NAME    48
#define TJ_REASONS (24 + 16)

/* What names the records: from trace-status. */
struct tj_meta {
    uint32_t timebase_hz;
    struct {
        bool used;
        char name[TJ_NAME];
        unsigned vcpus;
        char bus[TJ_DEVS][TJ_NAME];    /* MMIO device names by bus index */
        char virtio[TJ_DEVS][TJ_NAME]; /* virtio device labels by slot */
    } vm[TJ_VMS];
    unsigned dropped; /* records lost in Vireo (full rings), for the header */
};

struct tj_stat {
    uint64_t count, sum, min, max; /* ticks */
};

struct tj_vcpu {
    bool seen;
    bool in_exit; /* an EXIT without its EXIT_DONE yet */
    struct trace_rec exit;
    bool running; /* in the guest since run_from */
    uint64_t run_from;
    uint64_t exits;
};

struct tj_hart {
    bool seen;
    bool busy; /* a vCPU came in (VCPU_IN) since busy_from */
    uint64_t busy_from;
    uint16_t vm, vcpu;
};

struct tj {
    FILE *out;
    const struct tj_meta *meta;
    uint64_t t0; /* the first record's time: 0 us in the JSON */
    bool started;
    uint64_t events; /* JSON events written */
    uint64_t records, skipped;
    uint64_t pairs; /* B/E pairs written */
    struct tj_vcpu vcpu[TJ_VMS][TJ_VCPUS];
    struct tj_hart hart[TJ_HARTS];
    struct tj_stat stat[TJ_REASONS];
};

/* Sorts records by time; records of one hart keep their order (they are
 * in order already), and at one tick a vCPU leaving comes before one
 * coming in. */
void tj_sort(struct trace_rec *recs, size_t n);

/* Writes the JSON's head; then tj_add for each record in time order;
 * tj_end closes it (slices still open at the end are left out).  t is
 * zeroed by tj_begin: it may be large, keep it static or on the heap. */
void tj_begin(struct tj *t, FILE *out, const struct tj_meta *meta);
void tj_add(struct tj *t, const struct trace_rec *r);
void tj_end(struct tj *t);

/* The exit summary of what tj_add saw. */
void tj_summary(const struct tj *t, FILE *out);

#endif
