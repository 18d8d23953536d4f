/* SPDX-License-Identifier: Apache-2.0 */
/* fmt_* against the C library's snprintf, which is the specification we
 * follow for every conversion we support. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "lib/printf.h"

#define CHECK(...)                                                                                 \
    do {                                                                                           \
        char ours[256], libc[256];                                                                 \
        int n1 = fmt_snprintf(ours, sizeof(ours), __VA_ARGS__);                                    \
        int n2 = snprintf(libc, sizeof(libc), __VA_ARGS__);                                        \
        if (strcmp(ours, libc) || n1 != n2)                                                        \
            fail_msg("format %s: expected \"%s\" (%d), got \"%s\" (%d)", #__VA_ARGS__, libc, n2,   \
                     ours, n1);                                                                    \
    } while (0)

static void test_integers(void **state)
{
    (void)state;
    CHECK("%d", 0);
    CHECK("%d", -1);
    CHECK("%d", INT_MAX);
    CHECK("%d", INT_MIN);
    CHECK("%i|%5d|%-5d|%05d|%+d|% d", 42, 42, 42, -42, 42, 42);
    CHECK("%u", UINT_MAX);
    CHECK("%ld %lu", LONG_MIN, ULONG_MAX);
    CHECK("%lld %llu", LLONG_MIN, ULLONG_MAX);
    CHECK("%zu %zx", (size_t)123456789, (size_t)0xdeadbeef);
    /* An int passed for %hh/%h must be narrowed, as C's printf does. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
    CHECK("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
#pragma GCC diagnostic pop
    CHECK("%x %X %#x %#X %#o %o", 0xabcdu, 0xabcdu, 0xabcdu, 0xabcdu, 8u, 8u);
    CHECK("%#x %#o", 0u, 0u);
    CHECK("%016lx", 0x1234UL);
    CHECK("%.5d|%8.3d|%-8.3d|%.0d|%5.0d", 42, 42, 42, 0, 0);
    CHECK("%*d|%-*d|%.*d", 6, 7, 6, 7, 4, 7);
    CHECK("%*d", -6, 7);
    CHECK("%jd %td", (intmax_t)-5, (ptrdiff_t)-6);
}

static void test_strings_chars(void **state)
{
    (void)state;
    CHECK("%s", "hello");
    CHECK("[%10s][%-10s][%.3s][%10.2s]", "abc", "abc", "abcdef", "abcdef");
    CHECK("%.*s", 3, "abcdef");
    CHECK("%c%c%5c%-3c|", 'a', 'b', 'c', 'd');
    CHECK("100%% sure");
    CHECK("%p", (void *)0x80200000);
}

static void test_truncation(void **state)
{
    (void)state;
    char buf[8];

    memset(buf, 'x', sizeof(buf));
    int n = fmt_snprintf(buf, 5, "%s", "abcdefgh");
    assert_int_equal(n, 8);
    assert_string_equal(buf, "abcd");
    assert_int_equal(buf[5], 'x'); /* nothing written past size */

    n = fmt_snprintf(buf, 0, "%d", 12345);
    assert_int_equal(n, 5);
    assert_int_equal(buf[0], 'a');

    n = fmt_snprintf(buf, 1, "%d", 12345);
    assert_int_equal(n, 5);
    assert_int_equal(buf[0], '\0');
}

static void test_unknown_conversion(void **state)
{
    (void)state;
    char buf[32];
    /* An unknown conversion is shown, not interpreted: no varargs consumed. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
    fmt_snprintf(buf, sizeof(buf), "a%qb%d", 5);
#pragma GCC diagnostic pop
    assert_string_equal(buf, "a%qb5");
}

struct sink {
    char buf[64];
    size_t len;
    int calls;
};

static void sink_out(void *ctx, const char *s, size_t n)
{
    struct sink *k = ctx;
    memcpy(k->buf + k->len, s, n);
    k->len += n;
    k->calls++;
}

static int format_to(struct sink *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vformat(sink_out, k, fmt, ap);
    va_end(ap);
    return n;
}

static void test_callback(void **state)
{
    (void)state;
    struct sink k = {0};
    int n = format_to(&k, "x=%d y=%s", 3, "ok");
    assert_int_equal(n, 8);
    assert_int_equal(k.len, 8);
    assert_memory_equal(k.buf, "x=3 y=ok", 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers),   cmocka_unit_test(test_strings_chars),
        cmocka_unit_test(test_truncation), cmocka_unit_test(test_unknown_conversion),
        cmocka_unit_test(test_callback),
    };
    return cmocka_run_group_tests_name("printf", tests, NULL, NULL);
}
