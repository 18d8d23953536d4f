/* SPDX-License-Identifier: Apache-2.0 */
/* The management shell on Vireo's console (docs/shell.md): enabled by
 * Vireo's command-line flag vireo.shell. */
#ifndef VIREO_CORE_SHELL_H
#define VIREO_CORE_SHELL_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Prints the greeting and the prompt; from now on typed bytes go to
 * shell_input and guest output only to bound VMs. */
void shell_start(uint32_t timebase_hz);
bool shell_active(void);
/* A byte typed on the console. */
void shell_input(char c);
/* Whether vm's output goes to the console (bound), and which VM is. */
bool shell_bound_to(const struct vm *vm);
struct vm *shell_bound_vm(void);

#endif
