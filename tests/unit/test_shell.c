/* SPDX-License-Identifier: Apache-2.0 */
/* The management shell's command table: `help` lists every row, a wrong
 * number of words answers with the row's usage, unknown words say so.
 * Typed through shell_input, as on the console; no VM exists. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/hart.h"
#include "core/pmem.h"
#include "core/shell.h"

static char out[8192];
static size_t outlen;

static void capture(const char *s, size_t n)
{
    if (n > sizeof(out) - 1 - outlen)
        n = sizeof(out) - 1 - outlen;
    memcpy(out + outlen, s, n);
    outlen += n;
    out[outlen] = '\0';
}

/* Types line and returns what the shell printed, prompt excluded. */
static const char *type(const char *line)
{
    outlen = 0;
    out[0] = '\0';
    for (const char *c = line; *c; c++)
        shell_input(*c);
    shell_input('\r');
    size_t n = strlen("vireo> ");
    if (outlen >= n && strcmp(out + outlen - n, "vireo> ") == 0)
        out[outlen - n] = '\0';
    return out;
}

static int setup(void **state)
{
    (void)state;
    console_set_output(capture);
    shell_start(10000000);
    return 0;
}

static void test_help_lists_every_command(void **state)
{
    (void)state;
    const char *o = type("help");
    static const char *const lines[] = {
        "commands:\n",
        "  vm list                 VMs: state, vCPUs, memory, uptime\n",
        "  vm info NAME            configuration, devices, vCPUs, exits by reason\n",
        "  vm start NAME           boot a VM that is off or stopped\n",
        "  vm stop NAME            power a VM off (its memory is freed)\n",
        "  vm pause NAME           stop running its vCPUs (memory kept)\n",
        "  vm resume NAME          run a paused VM again\n",
        "  vm reset NAME           reboot a VM (disk data kept)\n",
        "  vm delete NAME          remove a VM that is off or stopped (its slot is free)\n",
        "  vm snapshot NAME [disk] save its state in memory, or in its snapshot region (paused "
        "meanwhile)\n",
        "  vm restore NAME [disk]  put a paused VM back to its snapshot (disk: also a VM that is "
        "off)\n",
        "  vm snapshots            the snapshots in memory and in snapshot regions\n",
        "  vm log NAME             what the VM printed lately (the last 4 KiB)\n",
        "  vm dirty NAME OP        dirty logging: OP start, stop, or fetch (count and clear)\n",
        "  vm dirtycheck NAME SECS dirty-log self-check: pre-copy for SECS, pause, compare\n",
        "  console NAME            bind this console to the VM; Ctrl-] comes back\n",
        "  trace on CLASSES        trace exit,sbi,mmio,irq,sched,virtio,vm (or all), joined by "
        "','\n",
        "  trace off               stop tracing\n",
        "  trace status            classes on; records and drops per hart\n",
        "  trace summary           exits by reason: count, share, min/avg/max handling time\n",
        "  harts                   host harts and what they run\n",
        "  mem                     host memory\n",
        "  version                 Vireo's version\n",
        "  help                    this list\n",
    };
    char want[4096] = "\n"; /* the echo's newline */

    for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        strcat(want, lines[i]);
    assert_string_equal(strstr(o, "\n"), want);
}

static void test_wrong_word_count_prints_usage(void **state)
{
    (void)state;
    assert_non_null(strstr(type("vm info"), "\nusage: vm info NAME\n"));
    assert_non_null(strstr(type("vm list extra"), "\nusage: vm list\n"));
    assert_non_null(strstr(type("help me"), "\nusage: help\n"));
    assert_non_null(strstr(type("console"), "\nusage: console NAME\n"));
    assert_non_null(strstr(type("vm"),
                           "\nusage: vm COMMAND [NAME] (list, info, start, stop, "
                           "pause, resume, reset, delete, snapshot, restore, snapshots, log, "
                           "dirty, dirtycheck)\n"));
    assert_non_null(strstr(type("vm dirty x"), "\nusage: vm dirty NAME OP\n"));
    assert_non_null(strstr(type("vm snapshot"), "\nusage: vm snapshot NAME [disk]\n"));
    assert_non_null(strstr(type("vm restore"), "\nusage: vm restore NAME [disk]\n"));
    assert_non_null(strstr(type("vm dirtycheck x"), "\nusage: vm dirtycheck NAME SECS\n"));
    assert_non_null(strstr(type("vm delete"), "\nusage: vm delete NAME\n"));
}

static void test_unknown_words(void **state)
{
    (void)state;
    assert_non_null(strstr(type("frobnicate"),
                           "\nunknown command \"frobnicate\" (`help` lists the commands)\n"));
    assert_non_null(strstr(type("vm frob x"), "\nunknown vm command \"frob\" (list, info, start, "
                                              "stop, pause, resume, reset, delete, snapshot, "
                                              "restore, snapshots, log, dirty, dirtycheck)\n"));
    assert_non_null(
        strstr(type("vm info nosuch"), "\nno VM named \"nosuch\" (`vm list` shows them)\n"));
    assert_non_null(strstr(type("console nosuch"), "\nno VM named \"nosuch\""));
    assert_non_null(
        strstr(type("vm delete nosuch"), "\nno VM named \"nosuch\" (`vm list` shows them)\n"));
    assert_non_null(strstr(type("a b c d e"), "\ntoo many words"));
}

static void test_trace_commands(void **state)
{
    (void)state;
    /* One hart; memory for its ring (512 KiB). */
    static void *arena;
    if (!arena) {
        arena = aligned_alloc(2u << 20, 4u << 20);
        assert_non_null(arena);
        struct pmem_range r = {(uintptr_t)arena, 4u << 20};
        pmem_reset();
        assert_int_equal(pmem_init(&r, 1, NULL, 0), 0);
    }
    hart_count = 1;
    assert_non_null(strstr(type("trace"), "\nusage: trace COMMAND (on, off, status, summary)\n"));
    assert_non_null(strstr(type("trace on"), "\nusage: trace on CLASSES\n"));
    assert_non_null(strstr(type("trace on exit,bogus"), "\nno trace class \"bogus\""));
    assert_non_null(strstr(type("trace status"), "\ntracing: off\n"));
    assert_non_null(strstr(type("trace on exit,sbi"), "\ntracing exit,sbi on 1 harts"));
    assert_non_null(strstr(type("trace status"), "\ntracing: exit,sbi\n"));
    assert_non_null(strstr(type("trace summary"), "\nno exits traced"));
    assert_non_null(strstr(type("trace off"), "\ntracing off"));
    assert_non_null(strstr(type("trace status"), "\ntracing: off\n"));
}

static void test_commands_without_vms(void **state)
{
    (void)state;
    assert_non_null(strstr(type("version"), "\nVireo "));
    assert_string_equal(strstr(type("vm list"), "\n"), "\nNAME             STATE     VCPUS    "
                                                       "MEMORY     UPTIME\n");
    assert_non_null(strstr(type("mem"), "\nfree "));
    assert_string_equal(type(""), "\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_lists_every_command),
        cmocka_unit_test(test_wrong_word_count_prints_usage),
        cmocka_unit_test(test_unknown_words),
        cmocka_unit_test(test_trace_commands),
        cmocka_unit_test(test_commands_without_vms),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
