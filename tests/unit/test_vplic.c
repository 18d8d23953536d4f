/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "devices/vplic.h"
#include "lib/err.h"

#define PRIO(s)      (4u * (s))
#define PENDING(w)   (0x1000u + 4u * (w))
#define ENABLE(c, w) (0x2000u + 0x80u * (c) + 4u * (w))
#define THRESH(c)    (0x200000u + 0x1000u * (c))
#define CLAIM(c)     (0x200004u + 0x1000u * (c))

/* What notify reported, per context.  Atomics, and no cmocka asserts in the
 * callback, because the threaded test calls it from other threads; every
 * test checks notify_bad when it ends. */
static unsigned notify_calls[VPLIC_MAX_CONTEXTS];
static unsigned notify_total;
static unsigned notify_bad; /* calls that reported no change */
static bool notify_last[VPLIC_MAX_CONTEXTS];

static void record_notify(void *opaque, unsigned context, bool eip)
{
    (void)opaque;
    if (context >= VPLIC_MAX_CONTEXTS ||
        __atomic_load_n(&notify_last[context], __ATOMIC_RELAXED) == eip) {
        __atomic_fetch_add(&notify_bad, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&notify_last[context], eip, __ATOMIC_RELAXED);
    __atomic_fetch_add(&notify_calls[context], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&notify_total, 1, __ATOMIC_RELAXED);
}

static struct vplic plic;
static struct mmio_dev dev;

static void setup(unsigned ndev, unsigned ncontexts)
{
    memset(notify_calls, 0, sizeof(notify_calls));
    memset(notify_last, 0, sizeof(notify_last));
    notify_total = 0;
    notify_bad = 0;
    vplic_init(&plic, ndev, ncontexts, record_notify, NULL);
    dev = (struct mmio_dev){
        .ops = &vplic_ops, .name = "plic", .base = 0xc000000, .size = VPLIC_SIZE, .priv = &plic};
}

static int check_notify(void **state)
{
    (void)state;
    assert_int_equal(notify_bad, 0);
    return 0;
}

static uint32_t rd(uint64_t off)
{
    uint64_t v = 0xdeadbeef;

    assert_int_equal(dev.ops->read(&dev, off, 4, &v), 0);
    assert_true(v <= 0xffffffffu);
    return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t v)
{
    assert_int_equal(dev.ops->write(&dev, off, 4, v), 0);
}

static void enable(unsigned c, unsigned s)
{
    wr(ENABLE(c, s / 32), rd(ENABLE(c, s / 32)) | 1u << (s % 32));
}

static void disable(unsigned c, unsigned s)
{
    wr(ENABLE(c, s / 32), rd(ENABLE(c, s / 32)) & ~(1u << (s % 32)));
}

static bool is_pending(unsigned s)
{
    return (rd(PENDING(s / 32)) >> (s % 32)) & 1;
}

static void test_reset_state(void **state)
{
    (void)state;
    setup(100, 4);
    for (unsigned s = 0; s < 1024; s++)
        assert_int_equal(rd(PRIO(s)), 0);
    for (unsigned w = 0; w < 32; w++)
        assert_int_equal(rd(PENDING(w)), 0);
    for (unsigned c = 0; c < 4; c++) {
        for (unsigned w = 0; w < 32; w++)
            assert_int_equal(rd(ENABLE(c, w)), 0);
        assert_int_equal(rd(THRESH(c)), 0);
        assert_int_equal(rd(CLAIM(c)), 0);
        assert_false(vplic_eip(&plic, c));
    }
    assert_int_equal(notify_total, 0);
}

static void test_priority_warl(void **state)
{
    (void)state;
    setup(64, 1);
    wr(PRIO(1), 0xffffffff);
    assert_int_equal(rd(PRIO(1)), 7);
    wr(PRIO(2), 5);
    assert_int_equal(rd(PRIO(2)), 5);
    wr(PRIO(3), 8); /* only the low three bits are variable */
    assert_int_equal(rd(PRIO(3)), 0);
    wr(PRIO(64), 3); /* the last source */
    assert_int_equal(rd(PRIO(64)), 3);
    wr(PRIO(0), 7); /* source 0 does not exist */
    assert_int_equal(rd(PRIO(0)), 0);
    wr(PRIO(65), 7); /* beyond ndev */
    assert_int_equal(rd(PRIO(65)), 0);
    wr(PRIO(1023), 7);
    assert_int_equal(rd(PRIO(1023)), 0);
    wr(THRESH(0), 0xffffffff);
    assert_int_equal(rd(THRESH(0)), 7);
    wr(THRESH(0), 9);
    assert_int_equal(rd(THRESH(0)), 1);
}

static void test_pending_read_only(void **state)
{
    (void)state;
    setup(64, 1);
    wr(PENDING(0), 0xffffffff);
    wr(PENDING(1), 0xffffffff);
    assert_int_equal(rd(PENDING(0)), 0);
    assert_int_equal(rd(PENDING(1)), 0);
    vplic_set_level(&plic, 33, true);
    assert_int_equal(rd(PENDING(1)), 1u << 1);
    wr(PENDING(1), 0);
    assert_int_equal(rd(PENDING(1)), 1u << 1);
    /* Pending does not depend on priority or enables. */
    vplic_trigger(&plic, 64);
    assert_int_equal(rd(PENDING(2)), 1u << 0);
    /* Sources outside 1..ndev do not exist. */
    vplic_set_level(&plic, 0, true);
    vplic_set_level(&plic, 65, true);
    vplic_trigger(&plic, 1000);
    assert_int_equal(rd(PENDING(0)), 0);
    assert_int_equal(rd(PENDING(2)), 1u << 0);
    assert_false(vplic_eip(&plic, 0));
}

static void test_enables_per_context(void **state)
{
    (void)state;
    setup(64, 4);
    wr(ENABLE(0, 0), 0xffffffff);
    wr(ENABLE(1, 1), 0x12345678);
    wr(ENABLE(3, 2), 0xffffffff);
    assert_int_equal(rd(ENABLE(0, 0)), 0xfffffffe); /* source 0 is hardwired off */
    assert_int_equal(rd(ENABLE(0, 1)), 0);
    assert_int_equal(rd(ENABLE(1, 0)), 0);
    assert_int_equal(rd(ENABLE(1, 1)), 0x12345678);
    assert_int_equal(rd(ENABLE(2, 1)), 0);
    assert_int_equal(rd(ENABLE(3, 2)), 1); /* only source 64 exists there */
    assert_int_equal(rd(ENABLE(3, 3)), 0);

    /* A source signals exactly the contexts that enable it. */
    wr(PRIO(5), 1);
    vplic_set_level(&plic, 5, true);
    assert_true(vplic_eip(&plic, 0));
    assert_false(vplic_eip(&plic, 1));
    assert_false(vplic_eip(&plic, 2));
    assert_false(vplic_eip(&plic, 3));
    enable(2, 5);
    assert_true(vplic_eip(&plic, 2));
    disable(0, 5);
    assert_false(vplic_eip(&plic, 0));
    assert_int_equal(rd(CLAIM(0)), 0);
    assert_int_equal(rd(CLAIM(1)), 0);
    assert_int_equal(rd(CLAIM(2)), 5);
}

static void test_threshold_masking(void **state)
{
    (void)state;
    setup(64, 2);
    wr(PRIO(10), 3);
    enable(0, 10);
    enable(1, 10);
    wr(THRESH(0), 3);
    wr(THRESH(1), 2);
    vplic_trigger(&plic, 10);
    assert_false(vplic_eip(&plic, 0)); /* priority == threshold is masked */
    assert_true(vplic_eip(&plic, 1));
    wr(THRESH(0), 2);
    assert_true(vplic_eip(&plic, 0));
    wr(THRESH(0), 7);
    assert_false(vplic_eip(&plic, 0));
    wr(PRIO(10), 0); /* priority 0: never interrupts, even at threshold 0 */
    wr(THRESH(1), 0);
    assert_false(vplic_eip(&plic, 1));
    assert_true(is_pending(10));
    assert_int_equal(rd(CLAIM(1)), 0); /* ... and is never claimed */
    assert_true(is_pending(10));
}

static void test_claim_ignores_threshold(void **state)
{
    (void)state;
    setup(64, 1);
    /* The spec: claim is not affected by the threshold, so a guest can mask
     * notifications and poll. */
    wr(PRIO(4), 2);
    enable(0, 4);
    wr(THRESH(0), 7);
    vplic_trigger(&plic, 4);
    assert_false(vplic_eip(&plic, 0));
    assert_int_equal(rd(CLAIM(0)), 4);
    assert_false(is_pending(4));
}

static void test_claim_order(void **state)
{
    (void)state;
    setup(200, 1);
    unsigned srcs[] = {3, 63, 64, 65, 130, 199, 200};
    for (unsigned i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        enable(0, srcs[i]);
        vplic_trigger(&plic, srcs[i]);
    }
    wr(PRIO(3), 1);
    wr(PRIO(63), 1);
    wr(PRIO(64), 5);
    wr(PRIO(65), 7);
    wr(PRIO(130), 5);
    wr(PRIO(199), 7);
    wr(PRIO(200), 2);
    /* Highest priority first, ties to the lowest ID. */
    unsigned want[] = {65, 199, 64, 130, 200, 3, 63, 0, 0};
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(rd(CLAIM(0)), want[i]);
    assert_false(vplic_eip(&plic, 0));
}

static void test_claim_clears_pending(void **state)
{
    (void)state;
    setup(64, 1);
    assert_int_equal(rd(CLAIM(0)), 0); /* nothing pending */
    wr(PRIO(7), 1);
    wr(PRIO(8), 1);
    enable(0, 7);
    enable(0, 8);
    vplic_set_level(&plic, 7, true);
    vplic_set_level(&plic, 8, true);
    assert_int_equal(rd(PENDING(0)), 1u << 7 | 1u << 8);
    assert_int_equal(rd(CLAIM(0)), 7);
    assert_int_equal(rd(PENDING(0)), 1u << 8);
    assert_true(vplic_eip(&plic, 0)); /* 8 still pending */
    assert_int_equal(rd(CLAIM(0)), 8);
    assert_int_equal(rd(PENDING(0)), 0);
    assert_false(vplic_eip(&plic, 0));
    assert_int_equal(rd(CLAIM(0)), 0); /* in service: not pending again */
}

static void test_complete_not_enabled_ignored(void **state)
{
    (void)state;
    setup(64, 2);
    wr(PRIO(9), 1);
    enable(0, 9);
    vplic_set_level(&plic, 9, true);
    assert_int_equal(rd(CLAIM(0)), 9);
    /* Context 1 does not enable 9, context 0 no longer does: ignored. */
    wr(CLAIM(1), 9);
    disable(0, 9);
    wr(CLAIM(0), 9);
    assert_false(is_pending(9));
    /* IDs that name no source are ignored too. */
    wr(CLAIM(0), 0);
    wr(CLAIM(0), 65);
    wr(CLAIM(0), 0xffffffff);
    assert_false(is_pending(9));
    /* Any context that enables the source may complete it (the spec does
     * not check who claimed). */
    enable(1, 9);
    wr(CLAIM(1), 9);
    assert_true(is_pending(9));
    assert_true(vplic_eip(&plic, 1));
    assert_false(vplic_eip(&plic, 0));
}

static void test_level_gateway(void **state)
{
    (void)state;
    setup(64, 1);
    wr(PRIO(20), 1);
    enable(0, 20);
    vplic_set_level(&plic, 20, true);
    assert_int_equal(rd(CLAIM(0)), 20);
    wr(CLAIM(0), 20);
    assert_true(is_pending(20)); /* line still high: a new request */
    assert_int_equal(rd(CLAIM(0)), 20);
    vplic_set_level(&plic, 20, false);
    wr(CLAIM(0), 20);
    assert_false(is_pending(20)); /* line low at completion */
    assert_int_equal(rd(CLAIM(0)), 0);

    /* Lowering the line does not retract a forwarded request. */
    vplic_set_level(&plic, 20, true);
    vplic_set_level(&plic, 20, false);
    assert_true(is_pending(20));
    assert_int_equal(rd(CLAIM(0)), 20);
    /* A high line during service is seen at completion. */
    vplic_set_level(&plic, 20, true);
    assert_false(is_pending(20));
    wr(CLAIM(0), 20);
    assert_true(is_pending(20));
    /* Completing a source that is not in service changes nothing. */
    wr(CLAIM(0), 20);
    assert_true(is_pending(20));
    /* A pulse (trigger) on a level source while in service is lost. */
    vplic_set_level(&plic, 20, false);
    assert_int_equal(rd(CLAIM(0)), 20);
    vplic_trigger(&plic, 20);
    wr(CLAIM(0), 20);
    assert_false(is_pending(20));
    vplic_trigger(&plic, 20); /* outside service it is a request */
    assert_true(is_pending(20));
}

static void test_edge_gateway(void **state)
{
    (void)state;
    setup(64, 1);
    vplic_set_edge(&plic, 30, true);
    wr(PRIO(30), 1);
    enable(0, 30);
    vplic_trigger(&plic, 30);
    vplic_trigger(&plic, 30); /* merges with the pending request */
    assert_int_equal(rd(CLAIM(0)), 30);
    assert_int_equal(rd(CLAIM(0)), 0);
    /* Events during service: not pending, remembered once. */
    vplic_trigger(&plic, 30);
    vplic_trigger(&plic, 30);
    assert_false(is_pending(30));
    assert_false(vplic_eip(&plic, 0));
    wr(CLAIM(0), 30);
    assert_true(is_pending(30));
    assert_int_equal(rd(CLAIM(0)), 30);
    wr(CLAIM(0), 30);
    assert_false(is_pending(30));
    assert_int_equal(rd(CLAIM(0)), 0);

    /* Through the line: rising edges only; a level held high is no request
     * after completion. */
    vplic_set_level(&plic, 30, true);
    assert_int_equal(rd(CLAIM(0)), 30);
    wr(CLAIM(0), 30);
    assert_false(is_pending(30));
    vplic_set_level(&plic, 30, true); /* still high: no edge */
    assert_false(is_pending(30));
    vplic_set_level(&plic, 30, false);
    vplic_set_level(&plic, 30, true);
    assert_true(is_pending(30));

    /* Back to level with the line high: pending at once. */
    assert_int_equal(rd(CLAIM(0)), 30);
    wr(CLAIM(0), 30);
    vplic_set_edge(&plic, 30, false);
    assert_true(is_pending(30));
}

static void test_notify_on_change_only(void **state)
{
    (void)state;
    setup(64, 4);
    wr(PRIO(1), 1);
    wr(PRIO(2), 2);
    vplic_set_level(&plic, 1, true);
    assert_int_equal(notify_total, 0); /* not enabled anywhere */
    enable(0, 1);
    assert_int_equal(notify_total, 1);
    assert_true(notify_last[0]);
    vplic_set_level(&plic, 2, true);
    enable(0, 2);
    assert_int_equal(notify_total, 1); /* already signalled */
    enable(2, 2);
    assert_int_equal(notify_calls[2], 1);
    assert_true(notify_last[2]);
    wr(THRESH(2), 2);
    assert_int_equal(notify_calls[2], 2);
    assert_false(notify_last[2]);
    wr(THRESH(2), 3);
    assert_int_equal(notify_calls[2], 2);
    wr(THRESH(2), 1);
    assert_int_equal(notify_calls[2], 3);
    assert_int_equal(rd(CLAIM(0)), 2); /* clears 2 for context 2 as well */
    assert_int_equal(notify_calls[0], 1);
    assert_int_equal(notify_calls[2], 4);
    assert_false(notify_last[2]);
    assert_int_equal(rd(CLAIM(0)), 1);
    assert_int_equal(notify_calls[0], 2);
    assert_false(notify_last[0]);
    wr(CLAIM(0), 1); /* line 1 still high */
    assert_int_equal(notify_calls[0], 3);
    assert_true(notify_last[0]);
    wr(PRIO(1), 0);
    assert_int_equal(notify_calls[0], 4);
    assert_false(notify_last[0]);
    wr(PRIO(1), 0);
    wr(PRIO(5), 7); /* not pending: no change */
    assert_int_equal(notify_calls[0], 4);
    assert_int_equal(notify_calls[1], 0);
    assert_int_equal(notify_calls[3], 0);
    assert_int_equal(notify_total, 8);
}

static void test_many_sources_contexts(void **state)
{
    (void)state;
    setup(1023, 64);
    wr(PRIO(1023), 4);
    wr(PRIO(512), 4);
    wr(PRIO(1), 3);
    enable(63, 1023);
    enable(63, 512);
    enable(63, 1);
    assert_int_equal(rd(ENABLE(63, 31)), 0x80000000u);
    vplic_trigger(&plic, 1);
    vplic_trigger(&plic, 1023);
    vplic_trigger(&plic, 512);
    assert_int_equal(rd(PENDING(31)), 0x80000000u);
    assert_true(vplic_eip(&plic, 63));
    assert_true(notify_last[63]);
    for (unsigned c = 0; c < 63; c++)
        assert_false(vplic_eip(&plic, c));
    assert_int_equal(rd(CLAIM(62)), 0);
    assert_int_equal(rd(CLAIM(63)), 512);
    assert_int_equal(rd(CLAIM(63)), 1023);
    assert_int_equal(rd(CLAIM(63)), 1);
    assert_false(vplic_eip(&plic, 63));
    assert_int_equal(notify_total, 2);
    wr(THRESH(63), 5);
    assert_int_equal(rd(THRESH(63)), 5);
    assert_int_equal(rd(THRESH(62)), 0);

    /* ndev and ncontexts are clamped to what the map can hold. */
    setup(5000, 1000);
    assert_int_equal(plic.ndev, 1023);
    assert_int_equal(plic.ncontexts, 64);
    setup(0, 0);
    assert_int_equal(plic.ndev, 1);
    assert_int_equal(plic.ncontexts, 1);
}

static void test_bad_accesses(void **state)
{
    (void)state;
    setup(64, 4);
    uint64_t v = 0;
    const unsigned widths[] = {1, 2, 8};
    const uint64_t offs[] = {PRIO(1), PENDING(0), ENABLE(0, 0), THRESH(0), CLAIM(0), 0x1080};

    wr(PRIO(1), 1);
    enable(0, 1);
    vplic_trigger(&plic, 1);
    for (unsigned i = 0; i < 3; i++) {
        for (unsigned j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
            assert_int_equal(dev.ops->read(&dev, offs[j], widths[i], &v), ERR_NOTSUP);
            assert_int_equal(dev.ops->write(&dev, offs[j], widths[i], 7), ERR_NOTSUP);
        }
    }
    for (unsigned off = 1; off < 4; off++) {
        assert_int_equal(dev.ops->read(&dev, CLAIM(0) + off, 4, &v), ERR_NOTSUP);
        assert_int_equal(dev.ops->write(&dev, PRIO(2) + off, 4, 7), ERR_NOTSUP);
        assert_int_equal(dev.ops->read(&dev, PRIO(2) + off, 1, &v), ERR_NOTSUP);
    }
    /* None of them claimed or changed anything. */
    assert_int_equal(rd(PRIO(2)), 0);
    assert_true(is_pending(1));
    assert_int_equal(rd(CLAIM(0)), 1);
}

static void test_undefined_offsets(void **state)
{
    (void)state;
    setup(64, 4);
    const uint64_t offs[] = {
        0x1080,   0x1ffc,     ENABLE(4, 0), /* no context 4 */
        0x1f1ffc, 0x1ffffc,   THRESH(0) + 8, THRESH(0) + 0xffc, THRESH(4),
        CLAIM(4), THRESH(63), 0x3fff004,     0x3fffffc,
    };

    wr(PRIO(1), 1);
    enable(0, 1);
    vplic_trigger(&plic, 1);
    for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        wr(offs[i], 0xffffffff);
        assert_int_equal(rd(offs[i]), 0);
    }
    /* Nothing else moved. */
    for (unsigned c = 0; c < 4; c++) {
        assert_int_equal(rd(THRESH(c)), 0);
        assert_int_equal(rd(ENABLE(c, 0)), c == 0 ? 2 : 0);
    }
    assert_int_equal(rd(CLAIM(0)), 1);
}

/* A reference model kept as simple as possible: arrays of flags, linear
 * scans. */
struct ref {
    unsigned ndev, nctx;
    uint8_t prio[VPLIC_MAX_SOURCES];
    bool ip[VPLIC_MAX_SOURCES], svc[VPLIC_MAX_SOURCES], line[VPLIC_MAX_SOURCES];
    bool edge[VPLIC_MAX_SOURCES], deferred[VPLIC_MAX_SOURCES];
    bool en[VPLIC_MAX_CONTEXTS][VPLIC_MAX_SOURCES];
    uint8_t thr[VPLIC_MAX_CONTEXTS];
};

static unsigned ref_best(const struct ref *r, unsigned c, unsigned floor)
{
    unsigned best = 0, bp = floor;

    for (unsigned s = 1; s <= r->ndev; s++) {
        if (r->ip[s] && r->en[c][s] && r->prio[s] > bp) {
            best = s;
            bp = r->prio[s];
        }
    }
    return best;
}

static bool ref_eip(const struct ref *r, unsigned c)
{
    return ref_best(r, c, r->thr[c]) != 0;
}

static void ref_event(struct ref *r, unsigned s)
{
    if (!r->svc[s])
        r->ip[s] = true;
    else if (r->edge[s])
        r->deferred[s] = true;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static unsigned rng_below(unsigned n)
{
    return (unsigned)(rng() % n);
}

static uint32_t ref_reg(const struct ref *r, uint64_t off)
{
    uint32_t v = 0;

    if (off < 0x1000) {
        unsigned s = (unsigned)off / 4;
        return s >= 1 && s <= r->ndev ? r->prio[s] : 0;
    }
    if (off >= 0x1000 && off < 0x1080) {
        for (unsigned b = 0; b < 32; b++) {
            unsigned s = ((unsigned)off - 0x1000) / 4 * 32 + b;
            if (s <= r->ndev && r->ip[s])
                v |= 1u << b;
        }
        return v;
    }
    if (off >= 0x2000 && off < 0x2000 + 0x80 * r->nctx) {
        unsigned c = ((unsigned)off - 0x2000) / 0x80;
        for (unsigned b = 0; b < 32; b++) {
            unsigned s = ((unsigned)off - 0x2000) % 0x80 / 4 * 32 + b;
            if (r->en[c][s])
                v |= 1u << b;
        }
        return v;
    }
    if (off >= 0x200000 && (off - 0x200000) % 0x1000 == 0 && (off - 0x200000) / 0x1000 < r->nctx)
        return r->thr[(off - 0x200000) / 0x1000];
    return 0;
}

/* Random register offsets, mostly valid ones, some just outside. */
static uint64_t random_offset(const struct ref *r)
{
    unsigned c = rng_below(r->nctx + 1);

    switch (rng_below(4)) {
    case 0:
        return PRIO(rng_below(r->ndev + 3));
    case 1:
        return PENDING(rng_below(33));
    case 2:
        return ENABLE(c, rng_below(r->ndev / 32 + 2));
    default:
        return THRESH(c) + (rng_below(2) ? 0 : 8); /* reading claim would claim */
    }
}

static void run_random(unsigned ndev, unsigned nctx, unsigned steps)
{
    static struct ref r;
    unsigned last_claim[VPLIC_MAX_CONTEXTS] = {0};
    unsigned want_total = 0;

    memset(&r, 0, sizeof(r));
    r.ndev = ndev;
    r.nctx = nctx;
    setup(ndev, nctx);
    for (unsigned i = 0; i < steps; i++) {
        bool before[VPLIC_MAX_CONTEXTS];
        unsigned c = rng_below(nctx);
        /* Mostly real sources, sometimes 0 and one past the end. */
        unsigned s = rng_below(ndev + 2);
        uint32_t v = (uint32_t)rng();

        for (unsigned k = 0; k < nctx; k++)
            before[k] = ref_eip(&r, k);
        switch (rng_below(12)) {
        case 0: /* priority */
            wr(PRIO(s), rng_below(4) ? v % 8 : v);
            if (s >= 1 && s <= ndev)
                r.prio[s] = v % 8;
            break;
        case 1: { /* enables */
            unsigned w = rng_below(ndev / 32 + 2 < 32 ? ndev / 32 + 2 : 32);
            uint32_t bits = rng_below(2) ? v : v & (uint32_t)rng() & (uint32_t)rng();
            wr(ENABLE(c, w), bits);
            for (unsigned b = 0; b < 32; b++) {
                unsigned src = w * 32 + b;
                if (src >= 1 && src <= ndev)
                    r.en[c][src] = (bits >> b) & 1;
            }
            break;
        }
        case 2: /* threshold */
            wr(THRESH(c), v);
            r.thr[c] = v % 8;
            break;
        case 3:
        case 4: { /* line */
            bool level = rng_below(2);
            vplic_set_level(&plic, s, level);
            if (s >= 1 && s <= ndev) {
                bool was = r.line[s];
                r.line[s] = level;
                if (r.edge[s] ? level && !was : level && !r.svc[s])
                    ref_event(&r, s);
            }
            break;
        }
        case 5: /* trigger */
            vplic_trigger(&plic, s);
            if (s >= 1 && s <= ndev)
                ref_event(&r, s);
            break;
        case 6: /* gateway kind, rarely */
            if (rng_below(4))
                break;
            vplic_set_edge(&plic, s, v & 1);
            if (s >= 1 && s <= ndev) {
                r.edge[s] = v & 1;
                r.deferred[s] = false;
                if (!r.edge[s] && r.line[s] && !r.svc[s])
                    r.ip[s] = true;
            }
            break;
        case 7:
        case 8: { /* claim */
            unsigned want = ref_best(&r, c, 0);
            assert_int_equal(rd(CLAIM(c)), want);
            if (want) {
                r.ip[want] = false;
                r.svc[want] = true;
                last_claim[c] = want;
            }
            break;
        }
        case 9:
        case 10: { /* complete: usually what this context claimed */
            unsigned id = rng_below(4) ? last_claim[c] : s;
            wr(CLAIM(c), id);
            if (id >= 1 && id <= ndev && r.en[c][id] && r.svc[id]) {
                r.svc[id] = false;
                if (r.edge[id] ? r.deferred[id] : r.line[id]) {
                    r.deferred[id] = false;
                    r.ip[id] = true;
                }
            }
            break;
        }
        default: { /* read a register; writes where they are ignored */
            uint64_t off = random_offset(&r);
            if (rng_below(4) == 0 && off >= 0x1000 && off < 0x2000)
                wr(off, v);
            assert_int_equal(rd(off), ref_reg(&r, off));
            break;
        }
        }
        for (unsigned k = 0; k < nctx; k++) {
            bool now = ref_eip(&r, k);
            want_total += now != before[k];
            assert_int_equal(vplic_eip(&plic, k), now);
            assert_int_equal(notify_last[k], now);
        }
        assert_int_equal(notify_total, want_total);
    }
    /* The whole register file agrees at the end. */
    for (uint64_t off = 0; off < 0x1080; off += 4)
        assert_int_equal(rd(off), ref_reg(&r, off));
    for (unsigned k = 0; k < nctx; k++) {
        for (unsigned w = 0; w < 32; w++)
            assert_int_equal(rd(ENABLE(k, w)), ref_reg(&r, ENABLE(k, w)));
        assert_int_equal(rd(THRESH(k)), r.thr[k]);
    }
}

static void test_random_vs_model(void **state)
{
    (void)state;
    run_random(70, 4, 20000);
    run_random(8, 2, 20000); /* few sources: many collisions */
    run_random(1023, 9, 5000);
    run_random(1, 1, 2000);
}

/* notify may call back into the vplic: here it claims and completes at
 * once, as an eager handler would, and must neither deadlock nor lose the
 * change its own claim causes. */
static unsigned reentrant_calls;
static bool reentrant_last;

static void reentrant_notify(void *opaque, unsigned context, bool eip)
{
    struct mmio_dev *d = opaque;
    uint64_t id = 0;

    reentrant_calls++;
    reentrant_last = eip;
    if (!eip)
        return;
    assert_int_equal(d->ops->read(d, CLAIM(context), 4, &id), 0);
    assert_int_equal(id, 3);
    assert_int_equal(d->ops->write(d, CLAIM(context), 4, id), 0);
    vplic_set_level(d->priv, 3, false);
}

static void test_notify_reentrant(void **state)
{
    (void)state;
    struct mmio_dev d = {.ops = &vplic_ops, .name = "plic", .size = VPLIC_SIZE, .priv = &plic};

    vplic_init(&plic, 8, 1, reentrant_notify, &d);
    reentrant_calls = 0;
    d.ops->write(&d, PRIO(3), 4, 1);
    d.ops->write(&d, ENABLE(0, 0), 4, 1u << 3);
    /* Raised: notify(1) claims; the line is high at completion so 3 is
     * pending again; the line is then lowered.  The reporter sees EIP 1
     * now, unchanged from the last report, so notify runs once. */
    vplic_set_level(&plic, 3, true);
    assert_int_equal(reentrant_calls, 1);
    assert_true(reentrant_last);
    assert_true(vplic_eip(&plic, 0));
}

/* Two threads: a device raising, lowering and pulsing lines, and a vCPU
 * claiming and completing on all four contexts.  Under ASan this looks for
 * crashes and deadlocks; afterwards the reports must match the state. */
/* Ticket locks convoy when the host preempts a waiting thread (harts are
 * never preempted), so the counts stay small and the threads few. */
#define THREAD_STEPS 20000

static void *device_thread(void *arg)
{
    uint64_t x = 0x1234567;

    (void)arg;
    for (unsigned i = 0; i < THREAD_STEPS; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        unsigned s = 1 + (unsigned)(x % 16);
        if (x & 0x100)
            vplic_trigger(&plic, s);
        else
            vplic_set_level(&plic, s, (x >> 9) & 1);
    }
    return NULL;
}

static void *vcpu_thread(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < THREAD_STEPS; i++) {
        unsigned c = i % 4;
        uint64_t id = 0;

        if (dev.ops->read(&dev, CLAIM(c), 4, &id) || id > 16)
            return (void *)1;
        if (id && dev.ops->write(&dev, CLAIM(c), 4, id))
            return (void *)1;
        if (i % 1000 == 0)
            dev.ops->write(&dev, THRESH(c), 4, i / 1000 % 3);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t dt, vt;
    void *res;

    setup(16, 4);
    for (unsigned s = 1; s <= 16; s++) {
        wr(PRIO(s), 1 + s % 7);
        if (s % 2)
            vplic_set_edge(&plic, s, true);
    }
    for (unsigned c = 0; c < 4; c++)
        wr(ENABLE(c, 0), 0x1fffe);
    assert_int_equal(pthread_create(&dt, NULL, device_thread, NULL), 0);
    assert_int_equal(pthread_create(&vt, NULL, vcpu_thread, NULL), 0);
    assert_int_equal(pthread_join(dt, NULL), 0);
    assert_int_equal(pthread_join(vt, &res), 0);
    assert_null(res);
    /* The last report for each context is its state. */
    for (unsigned c = 0; c < 4; c++)
        assert_int_equal(notify_last[c], vplic_eip(&plic, c));
    /* Quiesce: lines low, everything in service completed (edges remembered
     * during service become pending), then claimed and completed again. */
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned s = 1; s <= 16; s++) {
            vplic_set_level(&plic, s, false);
            wr(CLAIM(0), s);
        }
        while (rd(CLAIM(0)))
            ;
    }
    assert_int_equal(rd(PENDING(0)), 0);
    for (unsigned c = 0; c < 4; c++) {
        assert_false(vplic_eip(&plic, c));
        assert_false(notify_last[c]);
    }
}

#define T(f) cmocka_unit_test_teardown(f, check_notify)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_reset_state),
        T(test_priority_warl),
        T(test_pending_read_only),
        T(test_enables_per_context),
        T(test_threshold_masking),
        T(test_claim_ignores_threshold),
        T(test_claim_order),
        T(test_claim_clears_pending),
        T(test_complete_not_enabled_ignored),
        T(test_level_gateway),
        T(test_edge_gateway),
        T(test_notify_on_change_only),
        T(test_many_sources_contexts),
        T(test_bad_accesses),
        T(test_undefined_offsets),
        T(test_random_vs_model),
        T(test_notify_reentrant),
        T(test_threads),
    };
    return cmocka_run_group_tests_name("vplic", tests, NULL, NULL);
}
