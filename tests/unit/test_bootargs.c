/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/bootargs.h"

static void test_get(void **state)
{
    (void)state;
    const char *v;
    size_t n;
    const char *args = "  vireo.poweroff vireo.selftest=trap\tkey= last=1";

    assert_true(bootargs_get(args, "vireo.poweroff", &v, &n));
    assert_int_equal(n, 0);
    assert_true(bootargs_get(args, "vireo.selftest", &v, &n));
    assert_int_equal(n, 4);
    assert_memory_equal(v, "trap", 4);
    assert_true(bootargs_get(args, "key", &v, &n));
    assert_int_equal(n, 0);
    assert_true(bootargs_get(args, "last", &v, &n));
    assert_int_equal(n, 1);
    assert_false(bootargs_get(args, "vireo", &v, &n)); /* prefix is not a match */
    assert_false(bootargs_get(args, "poweroff", &v, &n));
    assert_false(bootargs_get(args, "missing", &v, &n));
    assert_false(bootargs_get("", "x", &v, &n));
    assert_false(bootargs_get(NULL, "x", &v, &n));
    assert_false(bootargs_get("x", "", &v, &n));
}

static void test_flag_and_is(void **state)
{
    (void)state;
    assert_true(bootargs_flag("a b", "a"));
    assert_true(bootargs_flag("a=1", "a"));
    assert_false(bootargs_flag("a=0", "a"));
    assert_false(bootargs_flag("a=off", "a"));
    assert_false(bootargs_flag("a=no", "a"));
    assert_false(bootargs_flag("ab", "a"));
    assert_true(bootargs_is("x=trap y", "x", "trap"));
    assert_false(bootargs_is("x=trapz", "x", "trap"));
    assert_false(bootargs_is("x=tra", "x", "trap"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_flag_and_is),
    };
    return cmocka_run_group_tests_name("bootargs", tests, NULL, NULL);
}
