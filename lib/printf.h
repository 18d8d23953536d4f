/* SPDX-License-Identifier: Apache-2.0 */
/* A small printf: enough for a hypervisor's messages, with no allocation and
 * no floating point (the hypervisor must not touch FP registers: they hold
 * guest state).  Output goes through a callback so callers choose whether it
 * lands in a buffer, on a UART, or in a VM's log.
 *
 * Conversions: %d %i %u %x %X %o %p %s %c %%, flags '-' '0' '+' ' ' '#',
 * width and precision (also '*'), length modifiers hh h l ll z t j. */
#ifndef VIREO_LIB_PRINTF_H
#define VIREO_LIB_PRINTF_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*fmt_out_fn)(void *ctx, const char *s, size_t n);

#define FMT_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Returns the number of characters produced. */
int fmt_vformat(fmt_out_fn out, void *ctx, const char *fmt, va_list ap);

/* Like C's vsnprintf: always NUL-terminates when size > 0 and returns the
 * length the full output would have had. */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) FMT_PRINTF(3, 4);

#endif
