/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's own console: every message the hypervisor prints goes through
 * here.  One call is one unit: a line printed by one hart is never broken
 * up by another hart's output. */
#ifndef VIREO_CORE_CONSOLE_H
#define VIREO_CORE_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

#include "lib/printf.h"

/* Lines that tell tools how VMs ended (tools/vireo run reads them) start
 * with this byte.  Guest output never carries it (vconsole_output drops
 * it), so a guest cannot forge them. */
#define CONSOLE_STATUS "\x1e"

typedef void (*console_write_fn)(const char *s, size_t n);

/* Selects where output goes (the firmware console early, the UART later). */
void console_set_output(console_write_fn fn);

void console_write(const char *s, size_t n);
int console_printf(const char *fmt, ...) FMT_PRINTF(1, 2);
int console_vprintf(const char *fmt, va_list ap);

/* From now on print without taking the lock: the hart that panics may
 * already hold it, and nothing else matters any more. */
void console_enter_panic(void);

#ifdef VIREO_HOST
void console_test_hold_lock(void);
#endif

#endif
