/* SPDX-License-Identifier: Apache-2.0 */
/* One hexadecimal digit, for the parsers of outside input (cpio headers,
 * JSON escapes, gdb packets): each decides its own field widths. */
#ifndef VIREO_LIB_HEX_H
#define VIREO_LIB_HEX_H

/* The digit's value (0..15), or -1 for anything else. */
static inline int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
