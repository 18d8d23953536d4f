/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-console: features and config, transmit to the output callback,
 * input into receive buffers and the backlog (before the driver, when
 * buffers run out, flushed by a notify), emergency writes, NEEDS_RESET on
 * broken chains, reset, and a mutation loop. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "devices/virtio_console.h"
#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "tests/unit/testutil.h"
#include "tests/unit/virtio_testlib.h"

static struct vt_dev d;
static struct virtio_console con;
static char out[1 << 17];
static size_t out_len;
static unsigned out_calls;

static void output(void *ctx, const char *buf, size_t n)
{
    assert_ptr_equal(ctx, out);
    assert_true(n > 0);
    assert_true(spin_is_locked(&con.t.lock));
    if (out_len + n <= sizeof(out))
        memcpy(out + out_len, buf, n);
    out_len += n;
    out_calls++;
}

static int setup(void **state)
{
    (void)state;
    vt_init(&d);
    out_len = 0;
    out_calls = 0;
    virtio_console_init(&con, &d.mem, &d.irq, output, out);
    vt_attach(&d, &con.t, "virtio-console");
    return 0;
}

#define RXQ 0
#define TXQ 1

static void tx(unsigned i, const char *s)
{
    size_t n = strlen(s);
    memcpy(vt_at(&d, VT_BUF(i)), s, n);
    vt_qdesc(&d, TXQ, i, VT_BUF(i), (uint32_t)n, 0, 0);
    vt_avail_add(&d, TXQ, (uint16_t)i);
}

static void post_rx(unsigned i, uint32_t len)
{
    memset(vt_at(&d, VT_BUF(16 + i)), 0, len);
    vt_qdesc(&d, RXQ, i, VT_BUF(16 + i), len, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, RXQ, (uint16_t)i);
}

static void test_identity(void **s)
{
    (void)s;
    assert_int_equal(vt_rd(&d, VIRTIO_MMIO_DEVICE_ID), 3);
    assert_int_equal(vt_offered(&d),
                     (1ull << VIRTIO_CONSOLE_F_EMERG_WRITE) | VT_F_V1 | VT_F_INDIRECT | VT_F_EVENT);
    assert_int_equal(vt_cfg(&d, 0, 2), 0); /* cols */
    assert_int_equal(vt_cfg(&d, 2, 2), 0); /* rows */
    assert_int_equal(vt_cfg(&d, 4, 4), 1); /* max_nr_ports */
    assert_int_equal(vt_cfg(&d, 8, 4), 0); /* emerg_wr */
    for (unsigned q = 0; q < 3; q++) {
        vt_wr(&d, VIRTIO_MMIO_QUEUE_SEL, q);
        assert_int_equal(vt_rd(&d, VIRTIO_MMIO_QUEUE_NUM_MAX),
                         q < 2 ? VIRTIO_CONSOLE_QUEUE_MAX : 0);
    }
    /* MULTIPORT and SIZE are not offered. */
    assert_false(vt_negotiate(&d, VT_F_V1 | 2) & VIRTIO_STATUS_FEATURES_OK);
    assert_false(vt_negotiate(&d, VT_F_V1 | 1) & VIRTIO_STATUS_FEATURES_OK);
    assert_true(vt_negotiate(&d, vt_offered(&d)) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_emerg_write(void **s)
{
    (void)s;
    /* Any time, even before the driver. */
    assert_int_equal(d.dev.ops->write(&d.dev, VIRTIO_MMIO_CONFIG + 8, 4, 0x41424344), 0);
    assert_int_equal(d.dev.ops->write(&d.dev, VIRTIO_MMIO_CONFIG + 8, 1, 'x'), 0);
    assert_int_equal(d.dev.ops->write(&d.dev, VIRTIO_MMIO_CONFIG + 0, 4, 'y'), 0); /* cols */
    assert_int_equal(d.dev.ops->write(&d.dev, VIRTIO_MMIO_CONFIG + 10, 2, 'z'), 0);
    assert_int_equal(out_len, 2);
    assert_memory_equal(out, "Dx", 2);
}

static void test_transmit(void **s)
{
    (void)s;
    vt_start(&d, VT_F_EVENT, 2, 16);
    tx(0, "hello, ");
    tx(1, "world\n");
    vt_kick(&d, TXQ);
    assert_int_equal(vt_used_idx(&d, TXQ), 2);
    uint32_t id, len;
    vt_used_elem(&d, TXQ, 1, &id, &len);
    assert_int_equal(id, 1);
    assert_int_equal(len, 0);
    assert_int_equal(out_len, 13);
    assert_memory_equal(out, "hello, world\n", 13);
    assert_true(d.level);
    /* A chain of two, and a big buffer (chunked). */
    memcpy(vt_at(&d, VT_BUF(2)), "ab", 2);
    memcpy(vt_at(&d, VT_BUF(3)), "cd", 2);
    vt_qdesc(&d, TXQ, 2, VT_BUF(2), 2, VRING_DESC_F_NEXT, 3);
    vt_qdesc(&d, TXQ, 3, VT_BUF(3), 2, 0, 0);
    vt_avail_add(&d, TXQ, 2);
    memset(vt_at(&d, VT_BUF(4)), 'q', 0x3000);
    vt_qdesc(&d, TXQ, 4, VT_BUF(4), 0x3000, 0, 0);
    vt_avail_add(&d, TXQ, 4);
    vt_kick(&d, TXQ);
    assert_int_equal(out_len, 13 + 4 + 0x3000);
    assert_memory_equal(out + 13, "abcdqq", 6);
    assert_int_equal(con.stats.tx_bytes, out_len);
    /* An empty buffer: completed, nothing out. */
    vt_qdesc(&d, TXQ, 5, VT_BUF(5), 0, 0, 0);
    vt_avail_add(&d, TXQ, 5);
    unsigned calls = out_calls;
    vt_kick(&d, TXQ);
    assert_int_equal(out_calls, calls);
    assert_int_equal(vt_used_idx(&d, TXQ), 5);
    vt_assert_healthy(&d);
}

static void test_input(void **s)
{
    (void)s;
    /* Before the driver: into the backlog, up to its size. */
    assert_int_equal(virtio_console_room(&con), VIRTIO_CONSOLE_BACKLOG);
    assert_int_equal(virtio_console_input(&con, "early ", 6), 6);
    assert_int_equal(virtio_console_room(&con), VIRTIO_CONSOLE_BACKLOG - 6);
    vt_start(&d, 0, 2, 16);
    /* Still no buffers. */
    assert_int_equal(virtio_console_input(&con, "bird", 4), 4);
    /* Buffers posted and notified: the backlog arrives. */
    post_rx(0, 64);
    vt_kick(&d, RXQ);
    assert_int_equal(vt_used_idx(&d, RXQ), 1);
    uint32_t id, len;
    vt_used_elem(&d, RXQ, 0, &id, &len);
    assert_int_equal(len, 10);
    assert_memory_equal(vt_at(&d, VT_BUF(16)), "early bird", 10);
    assert_true(d.level);
    assert_int_equal(virtio_console_room(&con), VIRTIO_CONSOLE_BACKLOG);
    /* Input straight into a buffer. */
    post_rx(1, 4);
    post_rx(2, 64);
    assert_int_equal(virtio_console_input(&con, "ls -l\n", 6), 6);
    assert_int_equal(vt_used_idx(&d, RXQ), 3);
    vt_used_elem(&d, RXQ, 1, &id, &len);
    assert_int_equal(len, 4);
    vt_used_elem(&d, RXQ, 2, &id, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(vt_at(&d, VT_BUF(17)), "ls -", 4);
    assert_memory_equal(vt_at(&d, VT_BUF(18)), "l\n", 2);
    /* Out of buffers: the backlog fills, then input is refused. */
    char big[400];
    memset(big, 'k', sizeof(big));
    assert_int_equal(virtio_console_input(&con, big, sizeof(big)), VIRTIO_CONSOLE_BACKLOG);
    assert_int_equal(virtio_console_room(&con), 0);
    assert_int_equal(virtio_console_input(&con, "z", 1), 0);
    /* Input arriving with buffers posted (no notify) flushes the backlog
     * first, keeping the order. */
    post_rx(3, 200);
    post_rx(4, 200);
    assert_int_equal(virtio_console_input(&con, "Z", 1), 1);
    assert_int_equal(vt_used_idx(&d, RXQ), 5);
    vt_used_elem(&d, RXQ, 4, &id, &len);
    assert_int_equal(len, VIRTIO_CONSOLE_BACKLOG - 200);
    assert_int_equal(*vt_at(&d, VT_BUF(20) + len - 1), 'k');
    assert_int_equal(con.stats.rx_bytes, 10 + 6 + VIRTIO_CONSOLE_BACKLOG);
    assert_int_equal(virtio_console_room(&con), VIRTIO_CONSOLE_BACKLOG - 1); /* "Z" waits */
    /* A reset keeps what is in the backlog. */
    assert_int_equal(virtio_console_input(&con, "after", 5), 5);
    vt_start(&d, 0, 2, 16);
    post_rx(0, 64);
    vt_kick(&d, RXQ);
    assert_memory_equal(vt_at(&d, VT_BUF(16)), "Zafter", 6);
    vt_assert_healthy(&d);
}

static void broken_case(void (*build)(void), unsigned q)
{
    setup(NULL);
    vt_start(&d, VT_F_INDIRECT, 2, 16);
    build();
    d.accesses = 0;
    if (q == RXQ)
        virtio_console_input(&con, "abc", 3);
    else
        vt_kick(&d, TXQ);
    assert_true(d.accesses < 600);
    vt_assert_needs_reset(&d);
    /* Ignored from now on. */
    d.accesses = 0;
    vt_kick(&d, TXQ);
    vt_kick(&d, RXQ);
    assert_int_equal(d.accesses, 0);
    vt_start(&d, 0, 2, 16);
    tx(0, "ok");
    vt_kick(&d, TXQ);
    assert_int_equal(vt_used_idx(&d, TXQ), 1);
    vt_assert_healthy(&d);
}

static void build_tx_writable(void)
{
    vt_qdesc(&d, TXQ, 0, VT_BUF(0), 4, VRING_DESC_F_NEXT, 1);
    vt_qdesc(&d, TXQ, 1, VT_BUF(1), 4, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, TXQ, 0);
}

static void build_tx_outside(void)
{
    vt_qdesc(&d, TXQ, 0, VT_RAM_BASE + VT_RAM_SIZE - 1, 2, 0, 0);
    vt_avail_add(&d, TXQ, 0);
}

static void build_tx_huge(void)
{
    vt_qdesc(&d, TXQ, 0, VT_BUF(0), VIRTIO_CONSOLE_MAX_CHAIN + 1, 0, 0);
    vt_avail_add(&d, TXQ, 0);
}

static void build_tx_loop(void)
{
    vt_qdesc(&d, TXQ, 3, VT_BUF(0), 4, VRING_DESC_F_NEXT, 3);
    vt_avail_add(&d, TXQ, 3);
}

static void build_rx_readable(void)
{
    vt_qdesc(&d, RXQ, 0, VT_BUF(0), 4, 0, 0);
    vt_avail_add(&d, RXQ, 0);
}

static void build_rx_outside(void)
{
    vt_qdesc(&d, RXQ, 0, 0x4000, 4, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, RXQ, 0);
}

static void build_rx_bad_head(void)
{
    vt_avail_add(&d, RXQ, 99);
}

static void build_rx_indirect_nested(void)
{
    vt_desc(&d, VT_INDIR, 0, VT_INDIR, 16, VRING_DESC_F_INDIRECT, 0);
    vt_qdesc(&d, RXQ, 0, VT_INDIR, 16, VRING_DESC_F_INDIRECT, 0);
    vt_avail_add(&d, RXQ, 0);
}

static void test_broken(void **s)
{
    (void)s;
    broken_case(build_tx_writable, TXQ);
    broken_case(build_tx_outside, TXQ);
    broken_case(build_tx_huge, TXQ);
    broken_case(build_tx_loop, TXQ);
    broken_case(build_rx_readable, RXQ);
    broken_case(build_rx_outside, RXQ);
    broken_case(build_rx_bad_head, RXQ);
    broken_case(build_rx_indirect_nested, RXQ);
    assert_int_equal(con.stats.rx_dropped, 0);
    /* Input lost to a buffer outside RAM is counted. */
    setup(NULL);
    vt_start(&d, 0, 2, 16);
    vt_qdesc(&d, RXQ, 0, 0x4000, 2, VRING_DESC_F_WRITE, 0);
    vt_avail_add(&d, RXQ, 0);
    assert_int_equal(virtio_console_input(&con, "abc", 3), 3); /* 2 lost, 1 backlogged */
    assert_int_equal(con.stats.rx_dropped, 2);
    assert_int_equal(virtio_console_room(&con), VIRTIO_CONSOLE_BACKLOG - 1);
}

static void test_mutation(void **s)
{
    (void)s;
    const unsigned num = 16;
    unsigned broken = 0, served = 0;

    rng_state = 0xda3e39cb94b95bdbull;
    for (unsigned iter = 0; iter < 20000; iter++) {
        uint64_t feat = (rng() & 1 ? VT_F_EVENT : 0) | (rng() & 1 ? VT_F_INDIRECT : 0);
        unsigned q = (unsigned)(rng() & 1);
        memset(vt_at(&d, VT_QUEUE(0)), 0, 0x8000);
        memset(vt_at(&d, VT_INDIR), 0, 0x400);
        vt_start(&d, feat, 2, (uint16_t)num);
        unsigned n = 1 + (unsigned)(rng() % 6);
        for (unsigned i = 0; i < n; i++) {
            if (q == RXQ)
                post_rx(i, 1 + (uint32_t)(rng() % 64));
            else
                tx(i, "mutant");
        }
        if (feat & VT_F_INDIRECT) {
            vt_desc(&d, VT_INDIR, 0, VT_BUF(8), 3, q == RXQ ? VRING_DESC_F_WRITE : 0, 0);
            vt_qdesc(&d, q, n, VT_INDIR, 16, VRING_DESC_F_INDIRECT, 0);
            vt_avail_add(&d, q, (uint16_t)n);
        }
        vt_mutate(&d, q, rng);
        d.accesses = 0;
        if (q == RXQ) {
            char in[300];
            memset(in, 'm', sizeof(in));
            size_t room = virtio_console_room(&con);
            assert_true(virtio_console_input(&con, in, sizeof(in)) >= room);
            vt_kick(&d, RXQ);
        } else {
            vt_kick(&d, TXQ);
        }
        assert_true(d.accesses < 20000);
        if (vt_needs_reset(&d)) {
            broken++;
        } else {
            served++;
            /* The device wrote at most a ring's worth.  Only the transmit
             * ring's used entries can be checked in guest memory: mutated
             * receive buffers may point anywhere, the used ring included. */
            assert_true(con.t.queues[q].used_idx <= num);
            uint16_t u = q == TXQ ? vt_used_idx(&d, q) : 0;
            assert_true(u <= num);
            for (uint16_t i = 0; i < u; i++) {
                uint32_t id, len;
                vt_used_elem(&d, q, i, &id, &len);
                assert_true(id < num);
                assert_int_equal(len, 0);
            }
        }
        /* Empty the backlog now and then. */
        if (iter % 16 == 0)
            con.backlog_len = 0;
    }
    assert_true(broken > 500);
    assert_true(served > 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_identity, setup),
        cmocka_unit_test_setup(test_emerg_write, setup),
        cmocka_unit_test_setup(test_transmit, setup),
        cmocka_unit_test_setup(test_input, setup),
        cmocka_unit_test_setup(test_broken, setup),
        cmocka_unit_test_setup(test_mutation, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
