/* SPDX-License-Identifier: Apache-2.0 */
/* Vireo's own command line (the host FDT's /chosen bootargs):
 * space-separated words, "key" or "key=value". */
#ifndef VIREO_CORE_BOOTARGS_H
#define VIREO_CORE_BOOTARGS_H

#include <stdbool.h>
#include <stddef.h>

/* Finds key; on success val and vlen give its value ("" for a bare key). */
bool bootargs_get(const char *args, const char *key, const char **val, size_t *vlen);

/* True when key is present (bare, or with any value but "0", "off", "no"). */
bool bootargs_flag(const char *args, const char *key);

/* True when key=value is present. */
bool bootargs_is(const char *args, const char *key, const char *value);

#endif
