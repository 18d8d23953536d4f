/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/printf.h"

#include <stdbool.h>
#include <stdint.h>

#include "lib/string.h"

struct spec {
    bool left, zero, plus, space, alt;
    int width;
    int prec; /* -1: none */
};

static void pad(fmt_out_fn out, void *ctx, char c, int n)
{
    char chunk[16];

    memset(chunk, c, sizeof(chunk));
    while (n > 0) {
        int k = n < (int)sizeof(chunk) ? n : (int)sizeof(chunk);
        out(ctx, chunk, (size_t)k);
        n -= k;
    }
}

/* Emits prefix + zero padding + digits, honouring width and precision. */
static int put_number(fmt_out_fn out, void *ctx, const struct spec *sp, uint64_t v, bool neg,
                      unsigned base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char buf[24];
    int n = 0;
    const char *prefix = "";

    if (!(sp->prec == 0 && v == 0)) {
        do {
            buf[sizeof(buf) - 1 - n++] = digits[v % base];
            v /= base;
        } while (v);
    }
    if (neg)
        prefix = "-";
    else if (sp->plus && base == 10)
        prefix = "+";
    else if (sp->space && base == 10)
        prefix = " ";
    else if (sp->alt && base == 16 && n > 0 && !(n == 1 && buf[sizeof(buf) - 1] == '0'))
        prefix = upper ? "0X" : "0x";
    else if (sp->alt && base == 8 && buf[sizeof(buf) - n] != '0')
        prefix = "0";

    int plen = (int)strlen(prefix);
    int zeros = sp->prec > n ? sp->prec - n : 0;
    int body = plen + zeros + n;
    int fill = sp->width > body ? sp->width - body : 0;

    if (sp->zero && !sp->left && sp->prec < 0) {
        zeros += fill;
        fill = 0;
    }
    if (!sp->left)
        pad(out, ctx, ' ', fill);
    out(ctx, prefix, (size_t)plen);
    pad(out, ctx, '0', zeros);
    out(ctx, buf + sizeof(buf) - n, (size_t)n);
    if (sp->left)
        pad(out, ctx, ' ', fill);
    return plen + zeros + n + fill;
}

static int put_str(fmt_out_fn out, void *ctx, const struct spec *sp, const char *s)
{
    if (!s)
        s = "(null)";
    int n = (int)(sp->prec >= 0 ? strnlen(s, (size_t)sp->prec) : strlen(s));
    int fill = sp->width > n ? sp->width - n : 0;

    if (!sp->left)
        pad(out, ctx, ' ', fill);
    out(ctx, s, (size_t)n);
    if (sp->left)
        pad(out, ctx, ' ', fill);
    return n + fill;
}

int fmt_vformat(fmt_out_fn out, void *ctx, const char *fmt, va_list ap)
{
    int total = 0;

    while (*fmt) {
        const char *start = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        if (fmt > start) {
            out(ctx, start, (size_t)(fmt - start));
            total += (int)(fmt - start);
        }
        if (!*fmt)
            break;
        fmt++; /* '%' */

        struct spec sp = {.prec = -1};
        for (;; fmt++) {
            if (*fmt == '-')
                sp.left = true;
            else if (*fmt == '0')
                sp.zero = true;
            else if (*fmt == '+')
                sp.plus = true;
            else if (*fmt == ' ')
                sp.space = true;
            else if (*fmt == '#')
                sp.alt = true;
            else
                break;
        }
        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                sp.width = sp.width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            sp.prec = 0;
            if (*fmt == '*') {
                sp.prec = va_arg(ap, int);
                if (sp.prec < 0)
                    sp.prec = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    sp.prec = sp.prec * 10 + (*fmt++ - '0');
            }
        }

        /* Length: 0 int, 1 char, 2 short, 3 long, 4 long long, 5 size_t, 6 ptrdiff_t, 7 intmax. */
        int len = 0;
        switch (*fmt) {
        case 'h':
            len = fmt[1] == 'h' ? 1 : 2;
            fmt += fmt[1] == 'h' ? 2 : 1;
            break;
        case 'l':
            len = fmt[1] == 'l' ? 4 : 3;
            fmt += fmt[1] == 'l' ? 2 : 1;
            break;
        case 'z':
            len = 5;
            fmt++;
            break;
        case 't':
            len = 6;
            fmt++;
            break;
        case 'j':
            len = 7;
            fmt++;
            break;
        default:
            break;
        }

        char conv = *fmt;
        if (!conv)
            break;
        fmt++;

        switch (conv) {
        case 'd':
        case 'i': {
            int64_t v;
            switch (len) {
            case 1:
                v = (signed char)va_arg(ap, int);
                break;
            case 2:
                v = (short)va_arg(ap, int);
                break;
            case 3:
                v = va_arg(ap, long);
                break;
            case 4:
                v = va_arg(ap, long long);
                break;
            case 5:
            case 6:
                v = va_arg(ap, ptrdiff_t);
                break;
            case 7:
                v = va_arg(ap, intmax_t);
                break;
            default:
                v = va_arg(ap, int);
                break;
            }
            /* Negate in unsigned arithmetic so INT64_MIN is well defined. */
            uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
            total += put_number(out, ctx, &sp, mag, v < 0, 10, false);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v;
            switch (len) {
            case 1:
                v = (unsigned char)va_arg(ap, unsigned);
                break;
            case 2:
                v = (unsigned short)va_arg(ap, unsigned);
                break;
            case 3:
                v = va_arg(ap, unsigned long);
                break;
            case 4:
                v = va_arg(ap, unsigned long long);
                break;
            case 5:
            case 6:
                v = va_arg(ap, size_t);
                break;
            case 7:
                v = va_arg(ap, uintmax_t);
                break;
            default:
                v = va_arg(ap, unsigned);
                break;
            }
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            total += put_number(out, ctx, &sp, v, false, base, conv == 'X');
            break;
        }
        case 'p': {
            sp.alt = true;
            total += put_number(out, ctx, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false);
            break;
        }
        case 's':
            total += put_str(out, ctx, &sp, va_arg(ap, const char *));
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            int fill = sp.width > 1 ? sp.width - 1 : 0;
            if (!sp.left)
                pad(out, ctx, ' ', fill);
            out(ctx, &c, 1);
            if (sp.left)
                pad(out, ctx, ' ', fill);
            total += 1 + fill;
            break;
        }
        case '%':
            out(ctx, "%", 1);
            total++;
            break;
        default:
            /* Unknown conversion: show it rather than guess at varargs. */
            out(ctx, "%", 1);
            out(ctx, &conv, 1);
            total += 2;
            break;
        }
    }
    return total;
}

struct buf_ctx {
    char *buf;
    size_t size, pos;
};

static void buf_out(void *ctx, const char *s, size_t n)
{
    struct buf_ctx *b = ctx;

    if (b->pos + 1 < b->size) {
        size_t room = b->size - 1 - b->pos;
        memcpy(b->buf + b->pos, s, n < room ? n : room);
    }
    b->pos += n;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct buf_ctx b = {buf, size, 0};
    int n = fmt_vformat(buf_out, &b, fmt, ap);

    if (size)
        buf[b.pos < size ? b.pos : size - 1] = '\0';
    return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
