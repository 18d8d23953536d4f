/* SPDX-License-Identifier: Apache-2.0 */
/* smp: brings up every hart the FDT lists with SBI HSM and checks the HSM
 * answers a hypervisor must get right: hart_get_status reaches STARTED, each
 * started hart really runs (prints and checks in), and hart_start refuses a
 * running hart (SBI_ERR_ALREADY_AVAILABLE) and a hart that does not exist
 * (SBI_ERR_INVALID_PARAM). */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "guests/rt/sbi.h"

const char guest_name[] = "smp";

#define MAX_HARTS (GUEST_MAX_SLOTS - 4) /* slots for the refused starts too */
#define WAIT_MS   5000

static uint32_t arrived;

static void secondary(uint64_t hartid, void *arg)
{
    (void)arg;
    glog("hart %lu up", (unsigned long)hartid);
    __atomic_fetch_add(&arrived, 1, __ATOMIC_RELEASE);
}

/* Runs only if a hart_start that had to be refused was not. */
static void wrongly_started(uint64_t hartid, void *arg)
{
    (void)arg;
    guest_fail("hart %lu runs, but its hart_start should have been refused", (unsigned long)hartid);
}

static void expect_start_error(uint64_t hartid, long want, const char *why)
{
    long err = guest_hart_start(hartid, wrongly_started, NULL);

    if (err != want)
        guest_fail("hart_start(hart %lu, %s) returned %ld (%s), expected %ld (%s)",
                   (unsigned long)hartid, why, err, sbi_strerror(err), want, sbi_strerror(want));
}

void guest_main(uint64_t boot)
{
    uint64_t ids[MAX_HARTS];
    int n = gfdt_harts(ids, MAX_HARTS);
    uint64_t deadline = guest_time() + guest_ms_to_ticks(WAIT_MS);
    uint64_t max_id = boot;
    uint32_t started = 0;
    bool boot_listed = false;
    long st;

    if (n == 0)
        guest_fail("expected cpu nodes under /cpus in the FDT, found none");
    if (n > MAX_HARTS)
        guest_fail("the FDT lists %d harts; this guest handles at most %d", n, MAX_HARTS);
    if (sbi_probe(SBI_EXT_HSM) == 0)
        guest_fail("expected the SBI HSM extension, probe says it is absent");
    glog("%d hart(s) in /cpus", n);

    st = sbi_hart_status(boot);
    if (st != SBI_HSM_STARTED)
        guest_fail("hart_get_status(boot hart %lu) = %ld, expected %d (STARTED)",
                   (unsigned long)boot, st, SBI_HSM_STARTED);

    for (int i = 0; i < n; i++) {
        if (ids[i] > max_id)
            max_id = ids[i];
        if (ids[i] == boot) {
            boot_listed = true;
            continue;
        }
        long err = guest_hart_start(ids[i], secondary, NULL);
        if (err != SBI_SUCCESS)
            guest_fail("hart_start(hart %lu) returned %ld (%s), expected 0 (SBI_SUCCESS)",
                       (unsigned long)ids[i], err, sbi_strerror(err));
        /* STOPPED -> START_PENDING -> STARTED; anything else is wrong. */
        while ((st = sbi_hart_status(ids[i])) != SBI_HSM_STARTED) {
            if (st != SBI_HSM_START_PENDING && st != SBI_HSM_STOPPED)
                guest_fail("hart_get_status(hart %lu) = %ld after hart_start, expected %d "
                           "(START_PENDING) or %d (STARTED)",
                           (unsigned long)ids[i], st, SBI_HSM_START_PENDING, SBI_HSM_STARTED);
            if (guest_time() > deadline)
                guest_fail("hart_get_status(hart %lu) still %ld %d ms after hart_start, "
                           "expected %d (STARTED)",
                           (unsigned long)ids[i], st, WAIT_MS, SBI_HSM_STARTED);
        }
        started++;
    }
    if (!boot_listed)
        guest_fail("boot hart %lu is not among the enabled cpu nodes in /cpus",
                   (unsigned long)boot);

    while (__atomic_load_n(&arrived, __ATOMIC_ACQUIRE) < started) {
        if (guest_time() > deadline)
            guest_fail("%u of %u started harts checked in within %d ms",
                       __atomic_load_n(&arrived, __ATOMIC_ACQUIRE), started, WAIT_MS);
    }

    /* Secondaries park in wfi after checking in, so they stay STARTED. */
    expect_start_error(boot, SBI_ERR_ALREADY_AVAILABLE, "the running boot hart");
    for (int i = 0; i < n; i++) {
        if (ids[i] != boot) {
            expect_start_error(ids[i], SBI_ERR_ALREADY_AVAILABLE, "a started secondary");
            break;
        }
    }
    expect_start_error(max_id + 1, SBI_ERR_INVALID_PARAM, "one past the highest hart id");
    expect_start_error(0x7fffffff, SBI_ERR_INVALID_PARAM, "a made-up hart id");

    guest_pass("%u of %u harts up; hart_start refused a running hart (ALREADY_AVAILABLE) and "
               "bogus ids (INVALID_PARAM)",
               started + 1, (unsigned)n);
}
