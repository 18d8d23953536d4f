/* SPDX-License-Identifier: Apache-2.0 */
/* Tracing (docs/tracing.md): the per-hart ring (core/trace.c) fills,
 * drops and counts without overwriting, wraps, and hands records to a
 * reader running beside the writer whole and in order; the record's wire
 * form and the class names round-trip; and vireoctl's converter
 * (tools/vireoctl/trace_json.c) writes JSON that parses, with one track
 * per vCPU and every exit's begin matched by its end, also from records
 * that are garbage. */
#define _GNU_SOURCE /* open_memstream */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hart.h"
#include "core/trace.h"
#include "lib/json.h"
#include "testutil.h"
#include "tools/vireoctl/trace_json.h"

#define RING 64u /* hart 0's ring in these tests: attached once */

static struct trace_rec ring_buf[RING];
static struct trace_rec out[4 * RING];

static int setup(void **state)
{
    (void)state;
    hart_count = 1;
    harts[0].index = 0;
    trace_ring_attach(0, ring_buf, RING);
    trace_discard(0);
    return 0;
}

static void emit_seq(uint64_t seq)
{
    trace_emit(TRACE_EV_SBI, 1, 2, 3, seq, ~seq);
}

static void test_trace_ring_fills_drops_and_counts(void **state)
{
    (void)state;
    struct trace_ring_info a, b;
    trace_ring_info(0, &a);
    assert_int_equal(a.size, RING);
    assert_int_equal(a.pending, 0);
    for (uint64_t i = 0; i < RING + 10; i++)
        emit_seq(i);
    trace_ring_info(0, &b);
    if (b.pending != RING || b.dropped - a.dropped != 10 || b.written - a.written != RING)
        fail_msg("expected %u waiting, 10 dropped, %u written; got %llu, %llu, %llu", RING, RING,
                 (unsigned long long)b.pending, (unsigned long long)(b.dropped - a.dropped),
                 (unsigned long long)(b.written - a.written));
    /* The oldest stay: a full ring drops the new record, never overwrites. */
    size_t n = trace_read(0, out, 4 * RING);
    assert_int_equal(n, RING);
    for (size_t i = 0; i < n; i++) {
        if (out[i].a != i || out[i].b != ~(uint64_t)i)
            fail_msg("record %zu: expected seq %zu, got %llu", i, i, (unsigned long long)out[i].a);
        assert_int_equal(out[i].type, TRACE_EV_SBI);
        assert_int_equal(out[i].vm, 1);
        assert_int_equal(out[i].vcpu, 2);
        assert_int_equal(out[i].x, 3);
    }
    /* Times come from the time CSR and only grow. */
    for (size_t i = 1; i < n; i++)
        assert_true(out[i].time > out[i - 1].time);
    assert_int_equal(trace_read(0, out, 4 * RING), 0);
}

static void test_trace_ring_wraps(void **state)
{
    (void)state;
    uint64_t seq = 1000, want = 1000;
    /* Many times round the ring, in uneven steps. */
    for (unsigned round = 0; round < 50; round++) {
        unsigned k = 1 + round % 37;
        for (unsigned i = 0; i < k; i++)
            emit_seq(seq++);
        size_t n = trace_read(0, out, 1 + round % 5);
        for (size_t i = 0; i < n; i++, want++)
            if (out[i].a != want)
                fail_msg("round %u: expected seq %llu, got %llu", round, (unsigned long long)want,
                         (unsigned long long)out[i].a);
        /* Keep it from filling: drain what is left. */
        while ((n = trace_read(0, out, RING)) > 0)
            for (size_t i = 0; i < n; i++, want++)
                assert_int_equal(out[i].a, want);
    }
    assert_int_equal(want, seq);
}

/* A writer on another thread stands for the hart; the reader takes
 * records while it writes.  Every record read is whole (b == ~a), in
 * order, and read + dropped == written. */
static volatile int writer_done;
static uint64_t writer_total = 200000;

static void *writer(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < writer_total; i++)
        emit_seq(i);
    __atomic_store_n(&writer_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void test_trace_ring_reader_beside_writer(void **state)
{
    (void)state;
    struct trace_ring_info a, b;
    pthread_t t;
    uint64_t got = 0, last = 0;
    bool any = false;

    trace_discard(0);
    trace_ring_info(0, &a);
    writer_done = 0;
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    for (;;) {
        int done = __atomic_load_n(&writer_done, __ATOMIC_ACQUIRE);
        size_t n = trace_read(0, out, 1 + rng_state++ % 40);
        for (size_t i = 0; i < n; i++) {
            if (out[i].b != ~out[i].a)
                fail_msg("torn record: a %llx b %llx", (unsigned long long)out[i].a,
                         (unsigned long long)out[i].b);
            if (any && out[i].a <= last)
                fail_msg("out of order: %llu after %llu", (unsigned long long)out[i].a,
                         (unsigned long long)last);
            last = out[i].a;
            any = true;
        }
        got += n;
        if (done && n == 0)
            break;
    }
    pthread_join(t, NULL);
    trace_ring_info(0, &b);
    uint64_t dropped = b.dropped - a.dropped;
    if (got + dropped != writer_total)
        fail_msg("expected read + dropped = %llu, got %llu + %llu",
                 (unsigned long long)writer_total, (unsigned long long)got,
                 (unsigned long long)dropped);
    assert_true(got > 0);
}

static void test_trace_exit_pairs_and_summary(void **state)
{
    (void)state;
    struct trace_exit_stat st[TRACE_EXIT_REASONS];

    trace_discard(0);
    trace_exit_stats_clear();
    trace_exit_begin(0, 1, 10, 0x80001000, 0);
    trace_exit_end(0, 1, 10, 0);
    trace_exit_begin(0, 1, TRACE_CAUSE_IRQ | 5, 0x80002000, 0);
    trace_exit_end(0, 1, TRACE_CAUSE_IRQ | 5, 2);
    size_t n = trace_read(0, out, RING);
    assert_int_equal(n, 4);
    assert_int_equal(out[0].type, TRACE_EV_EXIT);
    assert_int_equal(out[1].type, TRACE_EV_EXIT_DONE);
    assert_int_equal(out[1].b, out[1].time - out[0].time); /* the time it took */
    assert_int_equal(out[3].a, 2);
    trace_exit_stats(0, st);
    assert_int_equal(st[10].count, 1);
    assert_int_equal(st[TRACE_EXIT_IRQ0 + 5].count, 1);
    assert_int_equal(st[10].sum, out[1].b);
    assert_int_equal(trace_exit_reason(TRACE_CAUSE_IRQ | 99), TRACE_EXIT_REASONS);
}

static void test_trace_wire_and_classes(void **state)
{
    (void)state;
    struct trace_rec r = {0x0102030405060708ull, TRACE_EV_MMIO,        7, 0x1234, 0xfffe, 0xabcd,
                          0x1122334455667788ull, 0x99aabbccddeeff00ull};
    struct trace_rec back;
    uint8_t w[TRACE_REC_WIRE_SIZE];
    trace_rec_encode(&r, w);
    assert_int_equal(w[0], 0x08); /* little-endian */
    assert_true(trace_rec_decode(w, &back));
    assert_memory_equal(&r, &back, sizeof(r));
    w[8] = TRACE_EV_TYPES;
    assert_false(trace_rec_decode(w, &back));
    w[8] = 0;
    assert_false(trace_rec_decode(w, &back));

    const char *bad = NULL;
    size_t badlen = 0;
    assert_int_equal(trace_classes_parse("all", 3, NULL, NULL), TRACE_ALL);
    assert_int_equal(trace_classes_parse("exit,mmio", 9, NULL, NULL), TRACE_EXIT | TRACE_MMIO);
    assert_int_equal(trace_classes_parse("exit,bogus", 10, &bad, &badlen), -1);
    assert_int_equal(badlen, 5);
    assert_memory_equal(bad, "bogus", 5);
    assert_int_equal(trace_classes_parse("exit,", 5, NULL, NULL), -1);
    assert_int_equal(trace_classes_parse("exi", 3, NULL, NULL), -1);
    assert_int_equal(trace_classes_parse("exits", 5, NULL, NULL), -1);
    assert_string_equal(trace_cause_name(10), "sbi-call");
    assert_string_equal(trace_cause_name(TRACE_CAUSE_IRQ | 5), "host-timer");
    assert_string_equal(trace_cause_name(14), "other-exception");
}

/* ---- the converter ---------------------------------------------------- */

static struct tj conv;
static struct tj_meta meta;
static jsmntok_t toks[1 << 16];

static char *convert(const struct trace_rec *recs, size_t n, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    assert_non_null(f);
    tj_begin(&conv, f, &meta);
    for (size_t i = 0; i < n; i++)
        tj_add(&conv, &recs[i]);
    tj_end(&conv);
    fclose(f);
    return buf;
}

/* Counts, per (pid, tid), B and E events (they must match) and events
 * whose phase is ph. */
struct tally {
    unsigned b, e, x, i, m, tracks_vcpu;
};

static struct tally check_json(const char *s, size_t len)
{
    struct json_doc d;
    struct tally t = {0};
    int depth[64][64] = {{0}};
    if (json_parse(&d, s, len, toks, (int)(sizeof(toks) / sizeof(toks[0]))) != 0)
        fail_msg("converter output is not JSON: %.300s", s);
    int evs = json_get(&d, 0, "traceEvents");
    assert_true(evs >= 0);
    for (int k = 0, e; (e = json_elem(&d, evs, k)) >= 0; k++) {
        char ph[4] = "", name[128] = "";
        uint64_t pid = 0, tid = 0;
        json_str(&d, json_get(&d, e, "ph"), ph, sizeof(ph));
        json_str(&d, json_get(&d, e, "name"), name, sizeof(name));
        json_u64(&d, json_get(&d, e, "pid"), &pid);
        json_u64(&d, json_get(&d, e, "tid"), &tid);
        assert_true(pid < 64 + 10 && tid < 64);
        if (ph[0] == 'B') {
            t.b++;
            depth[pid - (pid >= 10 ? 10 : 0)][tid]++;
        } else if (ph[0] == 'E') {
            t.e++;
            if (--depth[pid - (pid >= 10 ? 10 : 0)][tid] < 0)
                fail_msg("an E without its B on pid %llu tid %llu", (unsigned long long)pid,
                         (unsigned long long)tid);
        } else if (ph[0] == 'X') {
            t.x++;
        } else if (ph[0] == 'i') {
            t.i++;
        } else if (ph[0] == 'M') {
            t.m++;
            if (!strcmp(name, "thread_name") && pid >= 10)
                t.tracks_vcpu++;
        } else {
            fail_msg("unexpected phase \"%s\"", ph);
        }
    }
    for (unsigned p = 0; p < 64; p++)
        for (unsigned q = 0; q < 64; q++)
            if (depth[p][q])
                fail_msg("a B without its E on track %u/%u", p, q);
    return t;
}

static struct trace_rec mk(uint64_t time, uint8_t type, uint8_t hart, uint16_t vm, uint16_t vcpu,
                           uint16_t x, uint64_t a, uint64_t b)
{
    return (struct trace_rec){time, type, hart, vm, vcpu, x, a, b};
}

static void test_trace_json_tracks_and_pairs(void **state)
{
    (void)state;
    memset(&meta, 0, sizeof(meta));
    meta.timebase_hz = 10000000;
    meta.vm[0].used = true;
    strcpy(meta.vm[0].name, "al\"pha"); /* escaped in the output */
    strcpy(meta.vm[0].bus[0], "uart");
    struct trace_rec r[] = {
        mk(100, TRACE_EV_VM, 0, 0, TRACE_NONE, TRACE_VM_STARTED, 0, 0),
        mk(110, TRACE_EV_VCPU_IN, 0, 0, 0, 0, 0, 0),
        mk(120, TRACE_EV_VCPU_IN, 1, 0, 1, 0, 0, 0),
        mk(130, TRACE_EV_EXIT, 0, 0, 0, 10, 0x80000000, 0),
        mk(131, TRACE_EV_SBI, 0, 0, 0, 1, 0x10, 0),
        mk(132, TRACE_EV_EXIT_DONE, 0, 0, 0, 10, 0, 2),
        mk(140, TRACE_EV_EXIT, 1, 0, 1, 21, 0x80000004, 0x10000000),
        mk(141, TRACE_EV_MMIO, 1, 0, 1, 1 | 0 << 8, 5, 0x60),
        mk(142, TRACE_EV_EXIT_DONE, 1, 0, 1, 21, 0, 2),
        /* An exit whose end was dropped, then one whole. */
        mk(150, TRACE_EV_EXIT, 0, 0, 0, 10, 0x80000008, 0),
        mk(160, TRACE_EV_EXIT, 0, 0, 0, TRACE_CAUSE_IRQ | 5, 0x8000000c, 0),
        mk(165, TRACE_EV_EXIT_DONE, 0, 0, 0, TRACE_CAUSE_IRQ | 5, 1, 5),
        /* An end whose begin was dropped. */
        mk(170, TRACE_EV_EXIT_DONE, 1, 0, 1, 21, 0, 3),
        mk(180, TRACE_EV_VCPU_OUT, 0, 0, 0, TRACE_OUT_BLOCKED, 70, 0),
        mk(181, TRACE_EV_IRQ, 1, 0, 0, TRACE_IRQ_IPI, 1, 0),
        mk(182, TRACE_EV_VIRTIO_NOTIFY, 1, 0, 1, 0, 0x0001, 0),
        mk(183, TRACE_EV_VIRTIO_DONE, 0, TRACE_NONE, TRACE_NONE, 0, 0x0001, 1),
        mk(190, TRACE_EV_VCPU_OUT, 1, 0, 1, TRACE_OUT_LEAVE, 70, 0),
    };
    size_t n = sizeof(r) / sizeof(r[0]), len;
    char *s = convert(r, n, &len);
    struct tally t = check_json(s, len);
    assert_int_equal(t.b, 3); /* the three exits with both ends */
    assert_int_equal(t.e, 3);
    assert_int_equal(t.tracks_vcpu, 2); /* "al\"pha / vcpu 0" and "/ vcpu 1" */
    assert_int_equal(conv.skipped, 1);  /* the end without a begin */
    assert_non_null(strstr(s, "al\\\"pha / vcpu 1"));
    assert_non_null(strstr(s, "mmio read uart"));
    assert_int_equal(conv.stat[10].count, 1);
    assert_int_equal(conv.stat[24 + 5].count, 1);
    assert_int_equal(conv.stat[24 + 5].max, 5);
    free(s);

    char *sum = NULL;
    size_t sl;
    FILE *f = open_memstream(&sum, &sl);
    tj_summary(&conv, f);
    fclose(f);
    assert_non_null(strstr(sum, "sbi-call"));
    assert_non_null(strstr(sum, "load-guest-page-fault"));
    assert_non_null(strstr(sum, "host-timer"));
    free(sum);
}

static void test_trace_json_sort(void **state)
{
    (void)state;
    struct trace_rec r[] = {
        mk(200, TRACE_EV_VCPU_IN, 1, 0, 0, 0, 0, 0),
        mk(200, TRACE_EV_VCPU_OUT, 0, 0, 0, 0, 0, 0),
        mk(100, TRACE_EV_EXIT, 0, 0, 0, 10, 0, 0),
        mk(100, TRACE_EV_EXIT_DONE, 0, 0, 0, 10, 0, 0),
    };
    tj_sort(r, 4);
    assert_int_equal(r[0].type, TRACE_EV_EXIT); /* same tick: order kept */
    assert_int_equal(r[1].type, TRACE_EV_EXIT_DONE);
    assert_int_equal(r[2].type, TRACE_EV_VCPU_OUT); /* leaving before coming in */
    assert_int_equal(r[3].type, TRACE_EV_VCPU_IN);
}

/* Records that are garbage (random bytes, indexes out of range, time
 * going back): the output is still JSON with every B matched. */
static void test_trace_json_garbage(void **state)
{
    (void)state;
    static struct trace_rec r[4000];
    uint8_t w[TRACE_REC_WIRE_SIZE];
    size_t n = 0;
    memset(&meta, 0, sizeof(meta));
    rng_state = 0x5eed;
    for (unsigned i = 0; i < 20000 && n < 4000; i++) {
        for (unsigned k = 0; k < sizeof(w); k++)
            w[k] = (uint8_t)rng();
        w[8] = (uint8_t)(rng() % (TRACE_EV_TYPES + 2));
        w[9] = (uint8_t)(rng() % 4);  /* hart */
        w[10] = (uint8_t)(rng() % 3); /* VM 0..2, high byte random */
        w[12] = (uint8_t)(rng() % 3);
        if (rng() % 2)
            w[11] = w[13] = 0;
        if (!trace_rec_decode(w, &r[n]))
            continue;
        r[n].time = 1000 + n * 7 - rng() % 20;
        if (rng() % 2)
            r[n].x &= 0x801f;
        n++;
    }
    tj_sort(r, n);
    size_t len;
    char *s = convert(r, n, &len);
    struct tally t = check_json(s, len);
    assert_int_equal(t.b, t.e);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_trace_ring_fills_drops_and_counts, setup),
        cmocka_unit_test_setup(test_trace_ring_wraps, setup),
        cmocka_unit_test_setup(test_trace_ring_reader_beside_writer, setup),
        cmocka_unit_test_setup(test_trace_exit_pairs_and_summary, setup),
        cmocka_unit_test(test_trace_wire_and_classes),
        cmocka_unit_test(test_trace_json_tracks_and_pairs),
        cmocka_unit_test(test_trace_json_sort),
        cmocka_unit_test(test_trace_json_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
