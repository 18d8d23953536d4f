/* SPDX-License-Identifier: Apache-2.0 */
/* fpu: every hart fills its FP registers (and vector registers, when its cpu
 * node lists V) with a per-hart pattern and re-checks them for about 2 s of
 * guest time (ms=N in the bootargs: N ms).  Under a hypervisor that
 * time-slices vCPUs, another VM or vCPU runs on the same physical hart in
 * between, so this catches FP/vector state that is not saved and restored
 * (or restored from the wrong vCPU). */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"

const char guest_name[] = "fpu";

#define MAX_HARTS GUEST_MAX_SLOTS
#define SOAK_MS   2000 /* default; ms=N in the bootargs */
#define WAIT_MS   5000 /* after the soak, for every hart to report */

struct fpu_result {
    uint64_t iterations;
    uint64_t what; /* see fpu_soak.S */
    uint64_t expected;
    uint64_t seen;
};

bool fpu_soak(uint64_t seed, uint64_t until, struct fpu_result *res, bool with_vector);

static uint32_t done, failed, vector_harts;
static uint64_t soak_ms = SOAK_MS;

static void describe(uint64_t what, char *buf, size_t size)
{
    if (what < 32)
        fmt_snprintf(buf, size, "f%lu", (unsigned long)what);
    else if (what == 32)
        fmt_snprintf(buf, size, "fcsr");
    else if (what == 33)
        fmt_snprintf(buf, size, "vl");
    else if (what == 34)
        fmt_snprintf(buf, size, "vtype");
    else
        fmt_snprintf(buf, size, "v%lu element", (unsigned long)(what - 64));
}

static void soak(uint64_t hartid, void *arg)
{
    bool vec = gfdt_hart_has_ext(hartid, "v");
    struct fpu_result res = {0};
    uint64_t seed = 0x0123456789abcdefull ^ (hartid * 0x9e3779b97f4a7c15ull);
    char what[24];

    (void)arg;
    /* "Initial", not "off": FP and vector instructions trap while off. */
    csr_set(sstatus, SSTATUS_FS_INIT);
    if (vec)
        csr_set(sstatus, SSTATUS_VS_INIT);
    if (!(csr_read(sstatus) & SSTATUS_FS)) {
        glog("hart %lu: FAIL: sstatus.FS stays 0 (no FP unit?)", (unsigned long)hartid);
        __atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED);
    } else if (vec && !(csr_read(sstatus) & SSTATUS_VS)) {
        glog("hart %lu: FAIL: the FDT lists V but sstatus.VS stays 0", (unsigned long)hartid);
        __atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED);
    } else if (!fpu_soak(seed, guest_time() + guest_ms_to_ticks(soak_ms), &res, vec)) {
        describe(res.what, what, sizeof(what));
        glog("hart %lu: FAIL: %s changed after %lu checks: expected 0x%lx, saw 0x%lx",
             (unsigned long)hartid, what, (unsigned long)res.iterations,
             (unsigned long)res.expected, (unsigned long)res.seen);
        __atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED);
    } else {
        glog("hart %lu: f0-f31, fcsr%s intact over %lu checks in %lu ms", (unsigned long)hartid,
             vec ? ", v0-v31, vl, vtype" : "", (unsigned long)res.iterations,
             (unsigned long)soak_ms);
        if (vec)
            __atomic_fetch_add(&vector_harts, 1, __ATOMIC_RELAXED);
    }
    __atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
}

void guest_main(uint64_t boot)
{
    uint64_t ids[MAX_HARTS];
    int n = gfdt_harts(ids, MAX_HARTS);
    uint32_t harts = 1;
    uint64_t deadline;
    size_t len;
    const char *v = guest_bootarg("ms", &len);

    if (v && (!guest_parse_u64(v, len, &soak_ms) || !soak_ms))
        guest_fail("ms=%.*s is not a positive number", (int)len, v);
    if (n > MAX_HARTS)
        guest_fail("the FDT lists %d harts; this guest handles at most %d", n, MAX_HARTS);
    /* The time limit is read before the soak, which needs the timebase too. */
    deadline = guest_time() + guest_ms_to_ticks(soak_ms + WAIT_MS);
    glog("vector: %s on the boot hart", gfdt_hart_has_ext(boot, "v") ? "yes" : "no");
    for (int i = 0; i < n; i++) {
        if (ids[i] == boot)
            continue;
        long err = guest_hart_start(ids[i], soak, NULL);
        if (err)
            guest_fail("hart_start(hart %lu) returned %ld, expected 0", (unsigned long)ids[i], err);
        harts++;
    }
    soak(boot, NULL);
    while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < harts) {
        if (guest_time() > deadline)
            guest_fail("%u of %u harts finished the %lu ms soak within %lu ms",
                       __atomic_load_n(&done, __ATOMIC_ACQUIRE), harts, (unsigned long)soak_ms,
                       (unsigned long)(soak_ms + WAIT_MS));
    }
    if (failed)
        guest_fail("%u of %u harts saw their FP/vector registers change (see above)", failed,
                   harts);
    guest_pass("%u hart(s) kept their FP registers intact for %lu ms; vector tested on %u of "
               "them%s",
               harts, (unsigned long)soak_ms, vector_harts,
               vector_harts ? "" : " (no V in the FDT)");
}
