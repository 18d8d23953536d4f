/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 (RFC 4648, section 4: the standard alphabet, with padding): how
 * the control protocol carries binary data (images, console bytes) inside
 * JSON strings. */
#ifndef VIREO_LIB_BASE64_H
#define VIREO_LIB_BASE64_H

#include <stddef.h>

/* Characters that n bytes encode to. */
static inline size_t base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Encodes n bytes into out (no NUL added): the characters written, or 0
 * if cap is below base64_encoded_len(n) (and n is not 0). */
size_t base64_encode(const void *in, size_t n, char *out, size_t cap);

/* Decodes n characters: the bytes written, or ERR_INVAL (a character
 * outside the alphabet, a length not a multiple of 4, padding anywhere
 * but the end, or non-zero bits in the padding: only the one canonical
 * encoding of each byte string is accepted) or ERR_NOSPC (cap too
 * small). */
long base64_decode(const char *in, size_t n, void *out, size_t cap);

#endif
