/* SPDX-License-Identifier: Apache-2.0 */
/* Switching tracing on and off (core/trace.h is the rings and the hooks):
 * what the shell's `trace` command and the control protocol's trace-*
 * commands call, under the operations' lock.  The rings are allocated
 * the first time tracing is switched on and stay (docs/tracing.md says
 * their size). */
#ifndef VIREO_CORE_TRACE_CTL_H
#define VIREO_CORE_TRACE_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "core/trace.h"

/* Records per hart ring (32 bytes each: 512 KiB per hart). */
#define TRACE_RING_RECORDS 16384u

/* Sets the enabled classes (TRACE_* bits; 0 switches tracing off).  From
 * off to on: the rings are allocated if need be, records left from an
 * earlier run are dropped and the exit summary starts again.  0, or
 * ERR_NOMEM with err saying how much memory it needed. */
int trace_ctl_set(uint32_t classes, char *err, size_t errlen);
uint32_t trace_ctl_classes(void);

/* The harts with a ring (hart_count once tracing was on, else 0). */
unsigned trace_ctl_harts(void);

/* Formats a class mask as names joined by ',' ("off" for none). */
void trace_ctl_format(uint32_t classes, char *buf, size_t size);

/* Sums the exit summary over every hart into out[TRACE_EXIT_REASONS]. */
void trace_ctl_summary(struct trace_exit_stat *out);

/* The name of an exit reason of the summary ("ecall", "load-guest-page-fault"). */
const char *trace_ctl_reason_name(unsigned reason);

/* The time CSR's frequency, for turning ticks into time. */
void trace_ctl_init(uint32_t timebase_hz);
uint32_t trace_ctl_timebase(void);

#endif
