/* SPDX-License-Identifier: Apache-2.0 */
/* Tracing (docs/tracing.md): each hart writes fixed-size records
 * (lib/trace_rec.h) into a ring of its own; a reader (the shell, the
 * control plane) drains them.  The writer never blocks and never waits:
 * with the ring full, the record is dropped and counted.
 *
 * Hooks test one global word of enabled classes before they call in:
 * tracing off costs a load and a branch where a hook sits.  The exit
 * path itself does not even look here: it tests the hart's own copy of
 * the word (struct hart's trace_on, one load from tp) and takes
 * vcpu_exit_traced() (core/exit.c) when it is set.
 *
 * Calling context: the emit calls from any hart, interrupts off (Vireo
 * runs with them off), each on its own hart's ring: one writer per ring,
 * with no lock.  The reader calls take a lock among readers. */
#ifndef VIREO_CORE_TRACE_H
#define VIREO_CORE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/trace_rec.h"

/* The classes enabled now (enum trace_class bits); 0: tracing is off. */
extern uint32_t trace_on;

static inline bool trace_wants(uint32_t cls)
{
    return __builtin_expect((__atomic_load_n(&trace_on, __ATOMIC_RELAXED) & cls) != 0, 0);
}

/* Exit reasons the summary counts, by scause: exceptions 0..23, then
 * interrupts 0..15 at TRACE_EXIT_IRQ0 + code. */
#define TRACE_EXIT_IRQ0    24
#define TRACE_EXIT_REASONS (TRACE_EXIT_IRQ0 + 16)

/* One exit reason's handling times on one hart (timebase ticks). */
struct trace_exit_stat {
    uint64_t count, sum, min, max;
};

/* What the reader sees of one hart's ring. */
struct trace_ring_info {
    uint64_t written; /* records put in the ring since boot */
    uint64_t dropped; /* records lost because it was full (or absent) */
    uint64_t pending; /* records waiting for the reader */
    uint32_t size;    /* its capacity in records; 0: no ring */
};

/* Gives hart index `hart` its ring: nrec records (a power of two) at
 * buf.  Once per hart, before tracing is first switched on; the ring is
 * never taken away (a writer may be in it). */
void trace_ring_attach(unsigned hart, struct trace_rec *buf, uint32_t nrec);
bool trace_ring_attached(unsigned hart);

/* Sets the enabled classes (the global word only: core/trace_ctl.c also
 * updates every hart's copy). */
void trace_set(uint32_t classes);

/* One record on this hart's ring, stamped with the time CSR. */
void trace_emit(uint8_t type, uint16_t vm, uint16_t vcpu, uint16_t x, uint64_t a, uint64_t b);
/* The same with a time taken earlier (the ring is then not in time
 * order: readers sort). */
void trace_emit_at(uint64_t time, uint8_t type, uint16_t vm, uint16_t vcpu, uint16_t x, uint64_t a,
                   uint64_t b);
/* The same, for the vCPU this hart runs now (none when it runs none). */
void trace_emit_here(uint8_t type, uint16_t x, uint64_t a, uint64_t b);

/* An exit's begin and end on this hart (they nest nothing: one exit at a
 * time per hart).  The end's record carries the time since the begin,
 * which also goes into the per-reason summary. */
void trace_exit_begin(uint16_t vm, uint16_t vcpu, uint16_t cause, uint64_t pc, uint64_t addr);
void trace_exit_end(uint16_t vm, uint16_t vcpu, uint16_t cause, unsigned action);

/* Reader side.  Copies up to max of hart's oldest records out of its
 * ring (they are gone from it then); returns how many. */
size_t trace_read(unsigned hart, struct trace_rec *out, size_t max);
/* Drops every record waiting in hart's ring. */
void trace_discard(unsigned hart);
void trace_ring_info(unsigned hart, struct trace_ring_info *info);
/* The exit summary of one hart, reason by reason (out[TRACE_EXIT_REASONS]). */
void trace_exit_stats(unsigned hart, struct trace_exit_stat *out);
/* Clears the exit summary of every hart (tracing off: no writer in it). */
void trace_exit_stats_clear(void);

/* The summary's index for an exit cause as records carry it (x of
 * EXIT/EXIT_DONE); TRACE_EXIT_REASONS for none. */
static inline unsigned trace_exit_reason(uint16_t cause)
{
    unsigned code = cause & 0x7fffu;
    if (cause & TRACE_CAUSE_IRQ)
        return code < 16 ? TRACE_EXIT_IRQ0 + code : TRACE_EXIT_REASONS;
    return code < TRACE_EXIT_IRQ0 ? code : TRACE_EXIT_REASONS;
}

#endif
