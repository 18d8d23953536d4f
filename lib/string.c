/* SPDX-License-Identifier: Apache-2.0 */
/* Freestanding implementations for the hypervisor image (see string.h). */
#include "lib/string.h"

#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    /* Guest images and page copies are large, and a source inside a cpio
     * bundle is only 4-byte aligned: copy the widest words both sides
     * allow once the destination is aligned, eight at a time. */
    if (n >= 32 && (((uintptr_t)d ^ (uintptr_t)s) & 7) == 0) {
        for (; ((uintptr_t)d & 7) != 0; n--)
            *d++ = *s++;
        for (; n >= 64; n -= 64, d += 64, s += 64) {
            uint64_t *dw = (uint64_t *)(void *)d;
            const uint64_t *sw = (const uint64_t *)(const void *)s;
            uint64_t a = sw[0], b = sw[1], c = sw[2], e = sw[3];
            uint64_t f = sw[4], g = sw[5], h = sw[6], i = sw[7];
            dw[0] = a;
            dw[1] = b;
            dw[2] = c;
            dw[3] = e;
            dw[4] = f;
            dw[5] = g;
            dw[6] = h;
            dw[7] = i;
        }
        for (; n >= 8; n -= 8, d += 8, s += 8)
            *(uint64_t *)(void *)d = *(const uint64_t *)(const void *)s;
    } else if (n >= 64) {
        /* Alignments differ (network frames: a 12-byte virtio header in
         * front, payload at any offset): aligned stores, each built from
         * two aligned loads by shifts (little-endian).  Every word loaded
         * holds at least one byte of the source, so nothing past its end
         * (or its page) is touched. */
        for (; ((uintptr_t)d & 7) != 0; n--)
            *d++ = *s++;
        unsigned sh = (unsigned)((uintptr_t)s & 7) * 8;
        const uint64_t *sw = (const uint64_t *)(const void *)(s - ((uintptr_t)s & 7));
        uint64_t *dw = (uint64_t *)(void *)d;
        if (sh) {
            uint64_t lo = *sw++;
            /* Four words a round (a guest image in a bundle comes this
             * way): the last word loaded still holds a source byte. */
            for (; n >= 32; n -= 32, s += 32, sw += 4, dw += 4) {
                uint64_t h0 = sw[0], h1 = sw[1], h2 = sw[2], h3 = sw[3];
                dw[0] = lo >> sh | h0 << (64 - sh);
                dw[1] = h0 >> sh | h1 << (64 - sh);
                dw[2] = h1 >> sh | h2 << (64 - sh);
                dw[3] = h2 >> sh | h3 << (64 - sh);
                lo = h3;
            }
            for (; n >= 8; n -= 8, s += 8) {
                uint64_t hi = *sw++;
                *dw++ = lo >> sh | hi << (64 - sh);
                lo = hi;
            }
        } else {
            for (; n >= 8; n -= 8, s += 8)
                *dw++ = *sw++;
        }
        d = (unsigned char *)dw;
    } else if (n >= 16 && (((uintptr_t)d ^ (uintptr_t)s) & 3) == 0) {
        for (; ((uintptr_t)d & 3) != 0; n--)
            *d++ = *s++;
        for (; n >= 16; n -= 16, d += 16, s += 16) {
            uint32_t *dw = (uint32_t *)(void *)d;
            const uint32_t *sw = (const uint32_t *)(const void *)s;
            uint32_t a = sw[0], b = sw[1], c = sw[2], e = sw[3];
            dw[0] = a;
            dw[1] = b;
            dw[2] = c;
            dw[3] = e;
        }
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;

    if (((uintptr_t)d & 7) == 0) {
        uint64_t v = (unsigned char)c;
        v |= v << 8;
        v |= v << 16;
        v |= v << 32;
        /* Whole pages are cleared here on hosts without Zicboz. */
        for (; n >= 32; n -= 32, d += 32) {
            uint64_t *w = (uint64_t *)(void *)d;
            w[0] = v;
            w[1] = v;
            w[2] = v;
            w[3] = v;
        }
        for (; n >= 8; n -= 8, d += 8)
            *(uint64_t *)(void *)d = v;
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;

    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s, *end = p + n;
    unsigned char ch = (unsigned char)c;

    /* Device-tree names are looked at on every walk, and are short: four
     * bytes a round (a word at a time lost to the alignment and the tail). */
    for (; end - p >= 4; p += 4) {
        if (p[0] == ch)
            return (void *)p;
        if (p[1] == ch)
            return (void *)(p + 1);
        if (p[2] == ch)
            return (void *)(p + 2);
        if (p[3] == ch)
            return (void *)(p + 3);
    }
    for (; p < end; p++) {
        if (*p == ch)
            return (void *)p;
    }
    return NULL;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}
