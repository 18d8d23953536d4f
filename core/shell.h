/* SPDX-License-Identifier: Apache-2.0 */
/* The management shell on Vireo's console (docs/shell.md): enabled by
 * Vireo's command-line flag vireo.shell. */
#ifndef VIREO_CORE_SHELL_H
#define VIREO_CORE_SHELL_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Prints the greeting and the prompt; from now on the virtual console
 * gives typed bytes to shell_input while it is bound to no VM, and guest
 * output reaches the console only from the bound VM. */
void shell_start(uint32_t timebase_hz);
bool shell_active(void);
/* A byte typed on the console while it is bound to no VM. */
void shell_input(char c);

#endif
