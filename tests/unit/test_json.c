/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/json.c (reading checked to RFC 8259, writing) and
 * lib/base64.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lib/base64.h"
#include "lib/err.h"
#include "lib/json.h"

static jsmntok_t toks[64];

static int parse(struct json_doc *d, const char *s)
{
    return json_parse(d, s, strlen(s), toks, 64);
}

static void test_json_accepts_valid(void **state)
{
    static const char *const ok[] = {
        "{}",
        "[]",
        " {\"a\" : 1 , \"b\":[true,false,null, -0.5e+3, \"x\\n\\u00e9\"] } \n",
        "\"just a string\"",
        "[0,-12,1E9]",
        "[[[[{\"k\":{}}]]]]",
        "{\"\\u0041\":\"\\ud83d\\ude00\"}",
    };
    struct json_doc d;
    (void)state;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int r = parse(&d, ok[i]);
        if (r != 0)
            fail_msg("refused valid JSON %s: %d at %zu", ok[i], r, d.bad_at);
    }
}

static void test_json_refuses_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "{",
        "{\"a\":1,}",
        "{\"a\":1 \"b\":2}",
        "[1 2]",
        "[1,,2]",
        "[,1]",
        "{\"a\" 1}",
        "{\"a\"::1}",
        "{1:2}",
        "{\"a\"}",
        "[\"a\":1]",
        "{} {}",
        "{}x",
        "01",
        "1.",
        ".5",
        "+1",
        "1e",
        "tru",
        "nul",
        "True",
        "\"a\tb\"",
        "\"\\x\"",
        "\"\\u12\"",
        "[}",
        "{]",
        "\"unterminated",
        "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]",
        "1", /* a bare top-level number (see json_parse) */
    };
    struct json_doc d;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int r = parse(&d, bad[i]);
        if (r == 0)
            fail_msg("accepted invalid JSON '%s'", bad[i]);
    }
    /* A NUL inside is refused, not cut short. */
    assert_int_equal(json_parse(&d, "{}\0{", 4, toks, 64), ERR_INVAL);
    /* Too many tokens. */
    assert_int_equal(json_parse(&d, "[1,2,3]", 7, toks, 3), ERR_NOSPC);
}

static void test_json_accessors(void **state)
{
    struct json_doc d;
    char buf[32];
    uint64_t u;
    int64_t s;
    bool b;
    (void)state;

    assert_int_equal(parse(&d, "{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"a\\\"b\","
                               "\"n\":18446744073709551615,\"m\":-5,\"f\":1.5,\"big\":"
                               "18446744073709551616,\"on\":true},\"id\":[1,{\"x\":2}]}"),
                     0);
    assert_int_equal(json_type(&d, 0), JSON_OBJECT);
    int ex = json_get(&d, 0, "execute");
    assert_true(json_str_eq(&d, ex, "vm-start"));
    assert_false(json_str_eq(&d, ex, "vm-stop"));
    int args = json_get(&d, 0, "arguments");
    assert_int_equal(json_type(&d, args), JSON_OBJECT);
    assert_int_equal(json_str(&d, json_get(&d, args, "name"), buf, sizeof(buf)), 3);
    assert_string_equal(buf, "a\"b");
    assert_int_equal(json_str(&d, json_get(&d, args, "name"), buf, 3), ERR_NOSPC);
    assert_int_equal(json_u64(&d, json_get(&d, args, "n"), &u), 0);
    assert_true(u == UINT64_MAX);
    assert_int_equal(json_u64(&d, json_get(&d, args, "m"), &u), ERR_INVAL);
    assert_int_equal(json_i64(&d, json_get(&d, args, "m"), &s), 0);
    assert_true(s == -5);
    assert_int_equal(json_u64(&d, json_get(&d, args, "f"), &u), ERR_INVAL);
    assert_int_equal(json_u64(&d, json_get(&d, args, "big"), &u), ERR_RANGE);
    assert_int_equal(json_bool(&d, json_get(&d, args, "on"), &b), 0);
    assert_true(b);
    assert_int_equal(json_bool(&d, json_get(&d, args, "n"), &b), ERR_INVAL);
    assert_int_equal(json_get(&d, args, "missing"), ERR_NOENT);
    assert_int_equal(json_get(&d, ex, "x"), ERR_INVAL);
    int id = json_get(&d, 0, "id");
    assert_int_equal(json_size(&d, id), 2);
    int e1 = json_elem(&d, id, 1);
    assert_int_equal(json_type(&d, e1), JSON_OBJECT);
    assert_int_equal(json_elem(&d, id, 2), ERR_NOENT);
    size_t n;
    const char *raw = json_raw(&d, id, &n);
    assert_int_equal(n, strlen("[1,{\"x\":2}]"));
    assert_memory_equal(raw, "[1,{\"x\":2}]", n);
    assert_int_equal(json_next(&d, id), d.n);
    assert_false(json_dup_key(&d, 0));
    assert_int_equal(parse(&d, "{\"a\":1,\"b\":{\"a\":2},\"a\":3}"), 0);
    assert_true(json_dup_key(&d, 0));
}

static void test_json_unicode_strings(void **state)
{
    struct json_doc d;
    char buf[16];
    (void)state;

    assert_int_equal(parse(&d, "\"\\u00e9\\ud83d\\ude00\""), 0);
    assert_int_equal(json_str(&d, 0, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "\xc3\xa9\xf0\x9f\x98\x80", 6);
    assert_int_equal(parse(&d, "\"\\ud83d\""), 0);
    assert_int_equal(json_str(&d, 0, buf, sizeof(buf)), ERR_INVAL);
    assert_int_equal(parse(&d, "\"\\ude00\""), 0);
    assert_int_equal(json_str(&d, 0, buf, sizeof(buf)), ERR_INVAL);
    assert_int_equal(parse(&d, "\"a\\u0000b\""), 0);
    assert_int_equal(json_str(&d, 0, buf, sizeof(buf)), ERR_INVAL);
}

static void test_jw_writes_valid_json(void **state)
{
    char buf[256];
    struct jw w;
    struct json_doc d;
    (void)state;

    jw_init(&w, buf, sizeof(buf));
    jw_obj(&w);
    jw_kstr(&w, "s", "q\"\\\n\x01\x7f\xff\xc3\xa9");
    jw_ku64(&w, "u", 18446744073709551615ull);
    jw_key(&w, "i");
    jw_i64(&w, INT64_MIN);
    jw_key(&w, "a");
    jw_arr(&w);
    jw_bool(&w, true);
    jw_null(&w);
    jw_obj(&w);
    jw_end(&w);
    jw_base64(&w, "ab", 2);
    jw_end(&w);
    jw_end(&w);
    long n = jw_finish(&w);
    assert_true(n > 0);
    assert_string_equal(buf, "{\"s\":\"q\\\"\\\\\\u000a\\u0001\\u007f?\xc3\xa9\",\"u\":"
                             "18446744073709551615,\"i\":-9223372036854775808,\"a\":[true,"
                             "null,{},\"YWI=\"]}");
    assert_int_equal(json_parse(&d, buf, (size_t)n, toks, 64), 0);

    jw_init(&w, buf, 8);
    jw_obj(&w);
    jw_kstr(&w, "long", "string");
    jw_end(&w);
    assert_int_equal(jw_finish(&w), ERR_NOSPC);

    jw_init(&w, buf, sizeof(buf));
    jw_obj(&w);
    assert_int_equal(jw_finish(&w), ERR_STRUCTURE);
}

static void test_base64(void **state)
{
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    char out[32];
    (void)state;

    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        size_t n = base64_encode(vec[i][0], strlen(vec[i][0]), out, sizeof(out));
        assert_int_equal(n, strlen(vec[i][1]));
        assert_memory_equal(out, vec[i][1], n);
        long m = base64_decode(vec[i][1], strlen(vec[i][1]), out, sizeof(out));
        assert_int_equal(m, (long)strlen(vec[i][0]));
        assert_memory_equal(out, vec[i][0], (size_t)m);
    }
    assert_int_equal(base64_decode("Zg=", 3, out, sizeof(out)), ERR_INVAL);
    assert_int_equal(base64_decode("Zh==", 4, out, sizeof(out)), ERR_INVAL); /* stray bits */
    assert_int_equal(base64_decode("Z===", 4, out, sizeof(out)), ERR_INVAL);
    assert_int_equal(base64_decode("Zg==Zg==", 8, out, sizeof(out)), ERR_INVAL);
    assert_int_equal(base64_decode("Zm9*", 4, out, sizeof(out)), ERR_INVAL);
    assert_int_equal(base64_decode("Zm9v", 4, out, 2), ERR_NOSPC);
    assert_int_equal(base64_encode("foo", 3, out, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_accepts_valid),   cmocka_unit_test(test_json_refuses_invalid),
        cmocka_unit_test(test_json_accessors),       cmocka_unit_test(test_json_unicode_strings),
        cmocka_unit_test(test_jw_writes_valid_json), cmocka_unit_test(test_base64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
