/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/trap.h"

static void test_cause_names(void **state)
{
    (void)state;
    /* Values from the privileged specification's scause table. */
    assert_string_equal(trap_cause_name(2), "illegal instruction");
    assert_string_equal(trap_cause_name(10), "environment call from VS-mode");
    assert_string_equal(trap_cause_name(21), "load guest-page fault");
    assert_string_equal(trap_cause_name(22), "virtual instruction");
    assert_string_equal(trap_cause_name(23), "store/AMO guest-page fault");
    assert_string_equal(trap_cause_name(CAUSE_INTERRUPT | 5), "supervisor timer interrupt");
    assert_string_equal(trap_cause_name(CAUSE_INTERRUPT | 12),
                        "supervisor guest external interrupt");
    assert_string_equal(trap_cause_name(14), "unknown cause");
    assert_string_equal(trap_cause_name(63), "unknown cause");
    assert_string_equal(trap_cause_name(CAUSE_INTERRUPT | 4), "unknown cause");
    assert_string_equal(trap_cause_name(CAUSE_INTERRUPT | 1000), "unknown cause");
    assert_string_equal(trap_cause_name(~0ULL), "unknown cause");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cause_names),
    };
    return cmocka_run_group_tests_name("trap", tests, NULL, NULL);
}
