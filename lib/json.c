/* SPDX-License-Identifier: Apache-2.0 */
/* JSON reading (on jsmn, checked to RFC 8259) and writing. */
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "lib/base64.h"
#include "lib/err.h"
#include "lib/hex.h"
#include "lib/json.h"
#include "lib/string.h"

/* ---- checking what jsmn tokenized --------------------------------------- */

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Where token t's text begins and ends, quotes included. */
static int span_start(const jsmntok_t *t)
{
    return t->type == JSMN_STRING ? t->start - 1 : t->start;
}

static int span_end(const jsmntok_t *t)
{
    return t->type == JSMN_STRING ? t->end + 1 : t->end;
}

/* s[a..b) is whitespace with exactly one sep in it (no sep when sep is 0). */
static bool gap_ok(struct json_doc *d, int a, int b, char sep)
{
    bool seen = sep == 0;

    for (int i = a; i < b; i++) {
        char c = d->s[i];
        if (is_ws(c))
            continue;
        if (c == sep && !seen) {
            seen = true;
            continue;
        }
        d->bad_at = (size_t)i;
        return false;
    }
    if (!seen)
        d->bad_at = (size_t)b;
    return seen;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* number = [ minus ] int [ frac ] [ exp ] (RFC 8259, 6) */
static bool number_ok(const char *s, int n)
{
    int i = 0;

    if (i < n && s[i] == '-')
        i++;
    if (i >= n || !is_digit(s[i]))
        return false;
    if (s[i] == '0')
        i++;
    else
        while (i < n && is_digit(s[i]))
            i++;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || !is_digit(s[i]))
            return false;
        while (i < n && is_digit(s[i]))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || !is_digit(s[i]))
            return false;
        while (i < n && is_digit(s[i]))
            i++;
    }
    return i == n;
}

static bool literal_is(const char *s, int n, const char *lit)
{
    return (size_t)n == strlen(lit) && memcmp(s, lit, (size_t)n) == 0;
}

static bool primitive_ok(const char *s, int n)
{
    return literal_is(s, n, "true") || literal_is(s, n, "false") || literal_is(s, n, "null") ||
           number_ok(s, n);
}

/* Raw control characters are not allowed in strings; escapes exact. */
static bool string_ok(struct json_doc *d, const jsmntok_t *t)
{
    for (int i = t->start; i < t->end; i++) {
        unsigned char c = (unsigned char)d->s[i];
        if (c < 0x20) {
            d->bad_at = (size_t)i;
            return false;
        }
        if (c != '\\')
            continue;
        if (i + 1 >= t->end)
            goto bad;
        if (d->s[i + 1] == 'u') {
            if (i + 5 >= t->end)
                goto bad;
            for (int k = 2; k < 6; k++)
                if (hex_digit(d->s[i + k]) < 0)
                    goto bad;
            i += 5;
        } else {
            i++; /* jsmn checked the escaped character */
        }
        continue;
    bad:
        d->bad_at = (size_t)i;
        return false;
    }
    return true;
}

/* Checks the value at token i and everything inside it; returns the index
 * after it, or a negative ERR_*. */
static int check_value(struct json_doc *d, int i, int depth)
{
    const jsmntok_t *t;

    if (i >= d->n)
        return ERR_STRUCTURE;
    t = &d->tok[i];
    if (t->start < 0 || t->end < t->start)
        return ERR_TRUNCATED;
    switch (t->type) {
    case JSMN_PRIMITIVE:
        if (t->size != 0 || !primitive_ok(d->s + t->start, t->end - t->start)) {
            d->bad_at = (size_t)t->start;
            return ERR_INVAL;
        }
        return i + 1;
    case JSMN_STRING:
        if (t->size != 0) {
            d->bad_at = (size_t)t->end;
            return ERR_INVAL;
        }
        return string_ok(d, t) ? i + 1 : ERR_INVAL;
    case JSMN_ARRAY:
    case JSMN_OBJECT: {
        bool obj = t->type == JSMN_OBJECT;
        int pos = t->start + 1, j = i + 1;

        if (depth >= JSON_DEPTH)
            return ERR_DEPTH;
        for (int k = 0; k < t->size; k++) {
            if (j >= d->n)
                return ERR_STRUCTURE;
            if (!gap_ok(d, pos, span_start(&d->tok[j]), k ? ',' : 0))
                return ERR_INVAL;
            if (obj) {
                const jsmntok_t *key = &d->tok[j];
                if (key->type != JSMN_STRING || key->size != 1 || !string_ok(d, key)) {
                    d->bad_at = (size_t)span_start(key);
                    return ERR_INVAL;
                }
                if (j + 1 >= d->n)
                    return ERR_STRUCTURE;
                if (!gap_ok(d, span_end(key), span_start(&d->tok[j + 1]), ':'))
                    return ERR_INVAL;
                j++;
            }
            int next = check_value(d, j, depth + 1);
            if (next < 0)
                return next;
            pos = span_end(&d->tok[j]);
            j = next;
        }
        if (!gap_ok(d, pos, t->end - 1, 0))
            return ERR_INVAL;
        return j;
    }
    default:
        return ERR_INVAL;
    }
}

int json_parse(struct json_doc *d, const char *s, size_t len, jsmntok_t *tok, int cap)
{
    jsmn_parser p;
    int r;

    *d = (struct json_doc){.s = s, .len = len, .tok = tok, .cap = cap};
    if (len > 0x7fffffff)
        return ERR_RANGE;
    if (memchr(s, 0, len)) { /* jsmn would stop there */
        d->bad_at = (size_t)((const char *)memchr(s, 0, len) - s);
        return ERR_INVAL;
    }
    jsmn_init(&p);
    r = jsmn_parse(&p, s, len, tok, (unsigned)cap);
    if (r == JSMN_ERROR_NOMEM)
        return ERR_NOSPC;
    if (r == JSMN_ERROR_PART)
        return ERR_TRUNCATED;
    if (r < 0) {
        d->bad_at = p.pos;
        return ERR_INVAL;
    }
    if (r == 0) {
        d->bad_at = len;
        return ERR_TRUNCATED;
    }
    d->n = r;
    /* Leading whitespace, the value, trailing whitespace: nothing else. */
    if (!gap_ok(d, 0, span_start(&tok[0]), 0))
        return ERR_INVAL;
    int next = check_value(d, 0, 0);
    if (next < 0)
        return next;
    if (next != r) { /* a second value after the first */
        d->bad_at = (size_t)span_start(&tok[next]);
        return ERR_INVAL;
    }
    if (!gap_ok(d, span_end(&tok[0]), (int)len, 0))
        return ERR_INVAL;
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

static bool tok_ok(const struct json_doc *d, int i)
{
    return i >= 0 && i < d->n;
}

enum json_type json_type(const struct json_doc *d, int i)
{
    if (!tok_ok(d, i))
        return JSON_INVALID;
    const jsmntok_t *t = &d->tok[i];
    switch (t->type) {
    case JSMN_OBJECT:
        return JSON_OBJECT;
    case JSMN_ARRAY:
        return JSON_ARRAY;
    case JSMN_STRING:
        return JSON_STRING;
    case JSMN_PRIMITIVE:
        switch (d->s[t->start]) {
        case 't':
            return JSON_TRUE;
        case 'f':
            return JSON_FALSE;
        case 'n':
            return JSON_NULL;
        default:
            return JSON_NUMBER;
        }
    default:
        return JSON_INVALID;
    }
}

int json_size(const struct json_doc *d, int i)
{
    enum json_type ty = json_type(d, i);
    return ty == JSON_OBJECT || ty == JSON_ARRAY ? d->tok[i].size : 0;
}

int json_next(const struct json_doc *d, int i)
{
    /* Every token inside i starts before i ends; tokens are in text order. */
    int end;

    if (!tok_ok(d, i))
        return d->n;
    end = d->tok[i].end;
    i++;
    while (i < d->n && d->tok[i].start < end)
        i++;
    return i;
}

int json_get(const struct json_doc *d, int obj, const char *key)
{
    if (json_type(d, obj) != JSON_OBJECT)
        return ERR_INVAL;
    int j = obj + 1;
    for (int k = 0; k < d->tok[obj].size; k++) {
        if (json_str_eq(d, j, key))
            return j + 1;
        j = json_next(d, j + 1);
    }
    return ERR_NOENT;
}

bool json_dup_key(const struct json_doc *d, int obj)
{
    char a[64], b[64];

    if (json_type(d, obj) != JSON_OBJECT)
        return false;
    int j = obj + 1;
    for (int k = 0; k < d->tok[obj].size; k++) {
        int m = json_next(d, j + 1);
        if (json_str(d, j, a, sizeof(a)) < 0)
            return true; /* a key too long to compare is refused as well */
        for (int l = k + 1; l < d->tok[obj].size; l++) {
            if (json_str(d, m, b, sizeof(b)) >= 0 && strcmp(a, b) == 0)
                return true;
            m = json_next(d, m + 1);
        }
        j = json_next(d, j + 1);
    }
    return false;
}

int json_elem(const struct json_doc *d, int arr, int k)
{
    if (json_type(d, arr) != JSON_ARRAY)
        return ERR_INVAL;
    if (k < 0 || k >= d->tok[arr].size)
        return ERR_NOENT;
    int j = arr + 1;
    while (k--)
        j = json_next(d, j);
    return j;
}

static unsigned hex4(const char *s)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 4 | (unsigned)hex_digit(s[i]); /* string_ok checked them */
    return v;
}

int json_str(const struct json_doc *d, int i, char *buf, size_t size)
{
    size_t o = 0;

    if (json_type(d, i) != JSON_STRING || size == 0)
        return size == 0 ? ERR_NOSPC : ERR_INVAL;
    const jsmntok_t *t = &d->tok[i];
    for (int p = t->start; p < t->end;) {
        char out[4];
        size_t n = 1;
        char c = d->s[p++];

        if (c != '\\') {
            out[0] = c;
        } else {
            char e = d->s[p++];
            switch (e) {
            case 'b':
                out[0] = '\b';
                break;
            case 'f':
                out[0] = '\f';
                break;
            case 'n':
                out[0] = '\n';
                break;
            case 'r':
                out[0] = '\r';
                break;
            case 't':
                out[0] = '\t';
                break;
            case 'u': {
                unsigned cp = hex4(d->s + p);
                p += 4;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return ERR_INVAL; /* a low surrogate alone */
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (p + 6 > t->end || d->s[p] != '\\' || d->s[p + 1] != 'u')
                        return ERR_INVAL;
                    unsigned lo = hex4(d->s + p + 2);
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return ERR_INVAL;
                    p += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp == 0)
                    return ERR_INVAL; /* C strings end there */
                if (cp < 0x80) {
                    out[0] = (char)cp;
                } else if (cp < 0x800) {
                    out[0] = (char)(0xc0 | (cp >> 6));
                    out[1] = (char)(0x80 | (cp & 0x3f));
                    n = 2;
                } else if (cp < 0x10000) {
                    out[0] = (char)(0xe0 | (cp >> 12));
                    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    out[2] = (char)(0x80 | (cp & 0x3f));
                    n = 3;
                } else {
                    out[0] = (char)(0xf0 | (cp >> 18));
                    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                    out[3] = (char)(0x80 | (cp & 0x3f));
                    n = 4;
                }
                break;
            }
            default: /* '"', '\\', '/' */
                out[0] = e;
                break;
            }
        }
        if (o + n >= size)
            return ERR_NOSPC;
        memcpy(buf + o, out, n);
        o += n;
    }
    buf[o] = 0;
    return (int)o;
}

bool json_str_eq(const struct json_doc *d, int i, const char *lit)
{
    char buf[64];
    size_t n = strlen(lit);

    if (json_type(d, i) != JSON_STRING)
        return false;
    /* The common case: no escapes, compare in place. */
    const jsmntok_t *t = &d->tok[i];
    if (!memchr(d->s + t->start, '\\', (size_t)(t->end - t->start)))
        return (size_t)(t->end - t->start) == n && memcmp(d->s + t->start, lit, n) == 0;
    if (n >= sizeof(buf))
        return false;
    return json_str(d, i, buf, sizeof(buf)) == (int)n && memcmp(buf, lit, n) == 0;
}

static int parse_int(const struct json_doc *d, int i, bool allow_minus, uint64_t *mag, bool *neg)
{
    if (json_type(d, i) != JSON_NUMBER)
        return ERR_INVAL;
    const char *s = d->s + d->tok[i].start;
    int n = d->tok[i].end - d->tok[i].start, p = 0;
    uint64_t v = 0;

    *neg = false;
    if (s[0] == '-') {
        if (!allow_minus)
            return ERR_INVAL;
        *neg = true;
        p = 1;
    }
    for (; p < n; p++) {
        if (!is_digit(s[p]))
            return ERR_INVAL; /* a fraction or an exponent */
        unsigned dgt = (unsigned)(s[p] - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return ERR_RANGE;
        v = v * 10 + dgt;
    }
    *mag = v;
    return 0;
}

int json_u64(const struct json_doc *d, int i, uint64_t *out)
{
    bool neg;
    uint64_t v;
    int r = parse_int(d, i, false, &v, &neg);
    if (r == 0)
        *out = v;
    return r;
}

int json_i64(const struct json_doc *d, int i, int64_t *out)
{
    bool neg;
    uint64_t v;
    int r = parse_int(d, i, true, &v, &neg);
    if (r < 0)
        return r;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return ERR_RANGE;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

int json_bool(const struct json_doc *d, int i, bool *out)
{
    enum json_type t = json_type(d, i);
    if (t != JSON_TRUE && t != JSON_FALSE)
        return ERR_INVAL;
    *out = t == JSON_TRUE;
    return 0;
}

const char *json_raw(const struct json_doc *d, int i, size_t *len)
{
    if (!tok_ok(d, i)) {
        *len = 0;
        return "";
    }
    int a = span_start(&d->tok[i]), b = span_end(&d->tok[i]);
    *len = (size_t)(b - a);
    return d->s + a;
}

/* ---- writing ------------------------------------------------------------ */

void jw_init(struct jw *w, char *buf, size_t cap)
{
    *w = (struct jw){.buf = buf, .cap = cap};
    w->first[0] = true;
    if (cap)
        buf[0] = 0;
}

static void put(struct jw *w, const char *s, size_t n)
{
    if (w->bad)
        return;
    if (n > w->cap - w->len) {
        w->bad = true;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void putc1(struct jw *w, char c)
{
    put(w, &c, 1);
}

/* Before any value: the comma between siblings (none after a key). */
static void sep(struct jw *w)
{
    if (w->key) {
        w->key = false;
        return;
    }
    if (!w->first[w->depth])
        putc1(w, ',');
    w->first[w->depth] = false;
}

static void open(struct jw *w, char c)
{
    sep(w);
    putc1(w, c);
    if (w->depth >= JSON_DEPTH) {
        w->bad = true;
        return;
    }
    w->first[++w->depth] = true;
    w->closer[w->depth] = c == '{' ? '}' : ']';
}

void jw_obj(struct jw *w)
{
    open(w, '{');
}

void jw_arr(struct jw *w)
{
    open(w, '[');
}

void jw_end(struct jw *w)
{
    if (w->depth == 0) {
        w->bad = true;
        return;
    }
    putc1(w, w->closer[w->depth]);
    w->depth--;
}

static void put_escaped(struct jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    putc1(w, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(w, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(w, e, 6);
        } else if (c < 0x80) {
            putc1(w, (char)c);
        } else {
            /* Copy a whole valid UTF-8 sequence, or one '?' for a bad byte. */
            size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
            bool ok = len && i + len <= n;
            for (size_t k = 1; ok && k < len; k++)
                ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
            if (ok && len == 3) {
                unsigned c1 = (unsigned char)s[i + 1];
                ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0);
            }
            if (ok && len == 4) {
                unsigned c1 = (unsigned char)s[i + 1];
                ok = !(c == 0xf0 && c1 < 0x90) && !(c == 0xf4 && c1 >= 0x90);
            }
            if (ok) {
                put(w, s + i, len);
                i += len - 1;
            } else {
                putc1(w, '?');
            }
        }
    }
    putc1(w, '"');
}

void jw_key(struct jw *w, const char *k)
{
    sep(w);
    put_escaped(w, k, strlen(k));
    putc1(w, ':');
    w->key = true;
}

void jw_strn(struct jw *w, const char *s, size_t n)
{
    sep(w);
    put_escaped(w, s, n);
}

void jw_str(struct jw *w, const char *s)
{
    jw_strn(w, s, strlen(s));
}

void jw_base64(struct jw *w, const void *p, size_t n)
{
    size_t need = base64_encoded_len(n);

    sep(w);
    putc1(w, '"');
    if (w->bad || need > w->cap - w->len) {
        w->bad = true;
        return;
    }
    w->len += base64_encode(p, n, w->buf + w->len, w->cap - w->len);
    putc1(w, '"');
}

void jw_u64(struct jw *w, uint64_t v)
{
    char tmp[20];
    int n = 0;

    sep(w);
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putc1(w, tmp[--n]);
}

void jw_i64(struct jw *w, int64_t v)
{
    if (v < 0) {
        sep(w);
        putc1(w, '-');
        w->key = true; /* the digits follow without a comma */
        jw_u64(w, 0 - (uint64_t)v);
    } else {
        jw_u64(w, (uint64_t)v);
    }
}

void jw_bool(struct jw *w, bool v)
{
    sep(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w)
{
    sep(w);
    put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
    sep(w);
    put(w, s, n);
}

void jw_kstr(struct jw *w, const char *k, const char *s)
{
    jw_key(w, k);
    jw_str(w, s);
}

void jw_ku64(struct jw *w, const char *k, uint64_t v)
{
    jw_key(w, k);
    jw_u64(w, v);
}

void jw_kbool(struct jw *w, const char *k, bool v)
{
    jw_key(w, k);
    jw_bool(w, v);
}

long jw_finish(struct jw *w)
{
    if (w->bad)
        return ERR_NOSPC;
    if (w->depth != 0 || w->key)
        return ERR_STRUCTURE;
    if (w->len < w->cap)
        w->buf[w->len] = 0;
    return (long)w->len;
}
