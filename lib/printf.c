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

/* Length modifiers, as parse_length reads them. */
enum len_mod { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_PTRDIFF, LEN_MAX };

/* Flags, width and precision after the '%'; *fmt moves past them.  The
 * va_list goes by pointer (to a copy) so '*' arguments are consumed. */
static void parse_spec(const char **fmt, va_list *ap, struct spec *sp)
{
    const char *f = *fmt;

    for (;; f++) {
        if (*f == '-')
            sp->left = true;
        else if (*f == '0')
            sp->zero = true;
        else if (*f == '+')
            sp->plus = true;
        else if (*f == ' ')
            sp->space = true;
        else if (*f == '#')
            sp->alt = true;
        else
            break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = true;
            sp->width = -sp->width;
        }
        f++;
    } else {
        while (*f >= '0' && *f <= '9')
            sp->width = sp->width * 10 + (*f++ - '0');
    }
    if (*f == '.') {
        f++;
        sp->prec = 0;
        if (*f == '*') {
            sp->prec = va_arg(*ap, int);
            if (sp->prec < 0)
                sp->prec = -1;
            f++;
        } else {
            while (*f >= '0' && *f <= '9')
                sp->prec = sp->prec * 10 + (*f++ - '0');
        }
    }
    *fmt = f;
}

static enum len_mod parse_length(const char **fmt)
{
    const char *f = *fmt;
    enum len_mod len = LEN_INT;

    switch (*f) {
    case 'h':
        len = f[1] == 'h' ? LEN_CHAR : LEN_SHORT;
        f += f[1] == 'h' ? 2 : 1;
        break;
    case 'l':
        len = f[1] == 'l' ? LEN_LLONG : LEN_LONG;
        f += f[1] == 'l' ? 2 : 1;
        break;
    case 'z':
        len = LEN_SIZE;
        f++;
        break;
    case 't':
        len = LEN_PTRDIFF;
        f++;
        break;
    case 'j':
        len = LEN_MAX;
        f++;
        break;
    default:
        break;
    }
    *fmt = f;
    return len;
}

static int64_t arg_signed(va_list *ap, enum len_mod len)
{
    switch (len) {
    case LEN_CHAR:
        return (signed char)va_arg(*ap, int);
    case LEN_SHORT:
        return (short)va_arg(*ap, int);
    case LEN_LONG:
        return va_arg(*ap, long);
    case LEN_LLONG:
        return va_arg(*ap, long long);
    case LEN_SIZE:
    case LEN_PTRDIFF:
        return va_arg(*ap, ptrdiff_t);
    case LEN_MAX:
        return va_arg(*ap, intmax_t);
    default:
        return va_arg(*ap, int);
    }
}

static uint64_t arg_unsigned(va_list *ap, enum len_mod len)
{
    switch (len) {
    case LEN_CHAR:
        return (unsigned char)va_arg(*ap, unsigned);
    case LEN_SHORT:
        return (unsigned short)va_arg(*ap, unsigned);
    case LEN_LONG:
        return va_arg(*ap, unsigned long);
    case LEN_LLONG:
        return va_arg(*ap, unsigned long long);
    case LEN_SIZE:
    case LEN_PTRDIFF:
        return va_arg(*ap, size_t);
    case LEN_MAX:
        return va_arg(*ap, uintmax_t);
    default:
        return va_arg(*ap, unsigned);
    }
}

static int put_char(fmt_out_fn out, void *ctx, const struct spec *sp, char c)
{
    int fill = sp->width > 1 ? sp->width - 1 : 0;

    if (!sp->left)
        pad(out, ctx, ' ', fill);
    out(ctx, &c, 1);
    if (sp->left)
        pad(out, ctx, ' ', fill);
    return 1 + fill;
}

/* One conversion, its argument taken from *ap; the characters written. */
static int put_conv(fmt_out_fn out, void *ctx, struct spec *sp, enum len_mod len, char conv,
                    va_list *ap)
{
    switch (conv) {
    case 'd':
    case 'i': {
        int64_t v = arg_signed(ap, len);
        /* Negate in unsigned arithmetic so INT64_MIN is well defined. */
        uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
        return put_number(out, ctx, sp, mag, v < 0, 10, false);
    }
    case 'u':
    case 'x':
    case 'X':
    case 'o': {
        uint64_t v = arg_unsigned(ap, len);
        unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
        return put_number(out, ctx, sp, v, false, base, conv == 'X');
    }
    case 'p':
        sp->alt = true;
        return put_number(out, ctx, sp, (uintptr_t)va_arg(*ap, void *), false, 16, false);
    case 's':
        return put_str(out, ctx, sp, va_arg(*ap, const char *));
    case 'c':
        return put_char(out, ctx, sp, (char)va_arg(*ap, int));
    case '%':
        out(ctx, "%", 1);
        return 1;
    default:
        /* Unknown conversion: show it rather than guess at varargs. */
        out(ctx, "%", 1);
        out(ctx, &conv, 1);
        return 2;
    }
}

int fmt_vformat(fmt_out_fn out, void *ctx, const char *fmt, va_list ap)
{
    int total = 0;
    va_list args; /* helpers take it by pointer, which a va_list parameter cannot portably give */

    va_copy(args, ap);
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
        parse_spec(&fmt, &args, &sp);
        enum len_mod len = parse_length(&fmt);
        char conv = *fmt;
        if (!conv)
            break;
        fmt++;
        total += put_conv(out, ctx, &sp, len, conv, &args);
    }
    va_end(args);
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
