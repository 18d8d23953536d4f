/* SPDX-License-Identifier: Apache-2.0 */
/* Base64 encoding and strict decoding. */
#include <stdbool.h>
#include <stdint.h>

#include "lib/base64.h"
#include "lib/err.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t base64_encode(const void *in, size_t n, char *out, size_t cap)
{
    const uint8_t *p = in;
    size_t o = 0;

    if (cap < base64_encoded_len(n))
        return 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? alphabet[v & 63] : '=';
    }
    return o;
}

static int sextet(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long base64_decode(const char *in, size_t n, void *out, size_t cap)
{
    uint8_t *o = out;
    size_t len = 0;

    if (n % 4)
        return ERR_INVAL;
    for (size_t i = 0; i < n; i += 4) {
        bool last = i + 4 == n;
        int pad = 0;
        if (last)
            pad = in[i + 3] == '=' ? (in[i + 2] == '=' ? 2 : 1) : 0;
        int a = sextet(in[i]), b = sextet(in[i + 1]);
        int c = pad == 2 ? 0 : sextet(in[i + 2]);
        int d = pad >= 1 ? 0 : sextet(in[i + 3]);
        if (a < 0 || b < 0 || c < 0 || d < 0)
            return ERR_INVAL;
        uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
        /* The bits padding leaves over must be zero (RFC 4648, 3.5). */
        if ((pad == 2 && (v & 0xffff)) || (pad == 1 && (v & 0xff)))
            return ERR_INVAL;
        size_t k = 3 - (size_t)pad;
        if (k > cap - len)
            return ERR_NOSPC;
        o[len++] = (uint8_t)(v >> 16);
        if (k > 1)
            o[len++] = (uint8_t)(v >> 8);
        if (k > 2)
            o[len++] = (uint8_t)v;
    }
    return (long)len;
}
