/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/string.c, the hypervisor's own memcpy/memset/...
 * (the host build otherwise uses the C library's).  The file is compiled
 * here under other names, and every alignment of source and destination
 * and every length up to a few words is checked byte for byte, including
 * that nothing outside the range is touched. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#define memcpy  vireo_memcpy
#define memmove vireo_memmove
#define memset  vireo_memset
#define memcmp  vireo_memcmp
#define memchr  vireo_memchr
#define strlen  vireo_strlen
#define strnlen vireo_strnlen
#define strcmp  vireo_strcmp
#define strncmp vireo_strncmp
#define strchr  vireo_strchr
#include "lib/string.c"
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef memchr
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr

#define AREA 320

static void test_memcpy_alignments(void **state)
{
    (void)state;
    static uint8_t src[AREA], dst[AREA], want[AREA];

    for (int i = 0; i < AREA; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    for (int so = 0; so < 9; so++) {
        for (int dof = 0; dof < 9; dof++) {
            for (int n = 0; n < 200; n++) {
                memset(dst, 0xee, sizeof(dst));
                memset(want, 0xee, sizeof(want));
                memcpy(want + dof, src + so, (size_t)n);
                assert_ptr_equal(vireo_memcpy(dst + dof, src + so, (size_t)n), dst + dof);
                if (memcmp(dst, want, sizeof(dst)) != 0)
                    fail_msg("memcpy of %d bytes, source offset %d, destination offset %d", n, so,
                             dof);
            }
        }
    }
}

static void test_memset_alignments(void **state)
{
    (void)state;
    static uint8_t dst[AREA], want[AREA];

    for (int off = 0; off < 9; off++) {
        for (int n = 0; n < 200; n++) {
            memset(dst, 0xee, sizeof(dst));
            memset(want, 0xee, sizeof(want));
            memset(want + off, 0x5a, (size_t)n);
            assert_ptr_equal(vireo_memset(dst + off, 0x5a, (size_t)n), dst + off);
            if (memcmp(dst, want, sizeof(dst)) != 0)
                fail_msg("memset of %d bytes at offset %d", n, off);
        }
    }
}

static void test_memmove_overlap(void **state)
{
    (void)state;
    uint8_t buf[64], want[64];

    for (int d = -9; d <= 9; d++) {
        for (int i = 0; i < 64; i++)
            buf[i] = want[i] = (uint8_t)i;
        memmove(want + 20 + d, want + 20, 24);
        vireo_memmove(buf + 20 + d, buf + 20, 24);
        assert_memory_equal(buf, want, sizeof(buf));
    }
}

static void test_compare_and_search(void **state)
{
    (void)state;
    assert_int_equal(vireo_memcmp("abc", "abd", 3), -1);
    assert_int_equal(vireo_memcmp("abd", "abc", 3), 1);
    assert_int_equal(vireo_memcmp("abc", "abc", 3), 0);
    assert_int_equal(vireo_strcmp("a", "ab") < 0, 1);
    assert_int_equal(vireo_strncmp("abcx", "abcy", 3), 0);
    assert_int_equal(vireo_strlen("vireo"), 5);
    assert_int_equal(vireo_strnlen("vireo", 3), 3);
    const char *s = "hypervisor";
    assert_ptr_equal(vireo_strchr(s, 'v'), s + 5);
    assert_null(vireo_strchr(s, 'z'));
    assert_ptr_equal(vireo_memchr(s, 'r', 10), s + 4);
}

/* memchr reads whole words once aligned: every offset, length, position
 * of the byte (or none), and bytes that trip a careless zero-byte test
 * (0x80, 0xff, 0x01 next to the one looked for). */
static void test_memchr_words(void **state)
{
    (void)state;
    static const int wanted[] = {0, 0x80, 0xff, 'x'};
    unsigned char buf[64];

    for (size_t w = 0; w < sizeof(wanted) / sizeof(wanted[0]); w++) {
        int c = wanted[w];
        for (int off = 0; off < 8; off++) {
            for (int n = 0; n <= 40; n++) {
                for (int at = -1; at < n; at++) {
                    for (int i = 0; i < 64; i++)
                        buf[i] = (unsigned char)(c == 0x80 ? 0x7f + 2 * (i % 3 == 0)
                                                           : 0x80 + (i % 3 == 0));
                    if (c == 0)
                        for (int i = 0; i < 64; i++)
                            buf[i] = (unsigned char)(i % 2 ? 0x80 : 0x01);
                    if (at >= 0)
                        buf[off + at] = (unsigned char)c;
                    buf[off + n] = (unsigned char)c; /* just past the end: never found */
                    void *want = at >= 0 ? buf + off + at : NULL;
                    void *got = vireo_memchr(buf + off, c, (size_t)n);
                    if (got != want)
                        fail_msg("memchr(0x%x) in %d bytes at offset %d, placed at %d: got %td", c,
                                 n, off, at, got ? (unsigned char *)got - (buf + off) : -1);
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memcpy_alignments), cmocka_unit_test(test_memset_alignments),
        cmocka_unit_test(test_memmove_overlap),   cmocka_unit_test(test_compare_and_search),
        cmocka_unit_test(test_memchr_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
