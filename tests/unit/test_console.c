/* SPDX-License-Identifier: Apache-2.0 */
/* The console lock keeps each console_printf() call whole, even when
 * several harts (threads here) print at once through a slow device. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "core/console.h"

#define THREADS 2 /* no more than the machine has cores: a ticket lock convoys otherwise */
#define LINES   400

static char out[THREADS * LINES * 200];
static size_t out_len;

/* A deliberately slow device: yields between bytes so that, without the
 * lock, other writers would interleave. */
static void slow_sink(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[out_len++] = s[i];
        if (i % 7 == 0)
            sched_yield();
    }
}

static void *writer(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < LINES; i++)
        console_printf("writer %d line %04d: %s\n", id, i,
                       "the quick brown fox jumps over the lazy dog, then over the rest of the "
                       "pack, so this line is longer than the console's buffer of 128 bytes");
    return NULL;
}

static void test_lines_stay_whole(void **state)
{
    (void)state;
    pthread_t t[THREADS];

    out_len = 0;
    console_set_output(slow_sink);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    int seen[THREADS] = {0};
    size_t pos = 0;
    int lines = 0;
    while (pos < out_len) {
        char *nl = memchr(out + pos, '\n', out_len - pos);
        assert_non_null(nl);
        *nl = '\0';
        int id, n, used = 0;
        if (sscanf(out + pos, "writer %d line %d: %n", &id, &n, &used) != 2 || used == 0)
            fail_msg("torn line: \"%s\"", out + pos);
        assert_true(id >= 0 && id < THREADS);
        if (n != seen[id])
            fail_msg("writer %d: expected line %d, got %d", id, seen[id], n);
        seen[id]++;
        if (strncmp(out + pos + used, "the quick brown fox", 19) ||
            strcmp(out + pos + strlen(out + pos) - 9, "128 bytes"))
            fail_msg("torn line: \"%s\"", out + pos);
        pos = (size_t)(nl - out) + 1;
        lines++;
    }
    assert_int_equal(lines, THREADS * LINES);
}

static void test_no_output_device(void **state)
{
    (void)state;
    console_set_output(NULL);
    /* Before any device is chosen, printing is harmless. */
    assert_int_equal(console_printf("%s", "dropped"), 7);
}

static size_t panic_len;
static void panic_sink(const char *s, size_t n)
{
    (void)s;
    panic_len += n;
}

static void test_panic_mode_bypasses_lock(void **state)
{
    (void)state;
    console_set_output(panic_sink);
    /* A hart that panics while holding the console lock must still print.
     * Take the lock by hand (as an interrupted printer would) and check
     * that panic-mode output goes through. */
    console_test_hold_lock();
    console_enter_panic();
    console_printf("still here %d\n", 1);
    assert_int_equal(panic_len, 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_stay_whole),
        cmocka_unit_test(test_no_output_device),
        cmocka_unit_test(test_panic_mode_bypasses_lock),
    };
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
