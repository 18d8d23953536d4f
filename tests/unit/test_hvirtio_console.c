/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for the host virtio console driver (drivers/hvirtio_console.c),
 * the management port's transport: against Vireo's own virtio-console
 * model through the fake MMIO space (as test_hvirtio.c does for the other
 * host drivers), a device that holds on to what it is given (the fake
 * space unrouted: notifies go nowhere), and a scripted register file that
 * returns garbage. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "devices/virtio_console.h"
#include "devices/virtio_mmio.h"
#include "drivers/hvirtio.h"
#include "drivers/hvirtio_console.h"
#include "lib/err.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/hvirtio_testlib.h"

#define BASE 0x1000 /* in the fake device space */

static struct virtio_console model;
static struct mmio_dev dev = {&virtio_mmio_ops, "console", BASE, VIRTIO_MMIO_SIZE, &model.t};
static struct hvcons drv;
static void *rings, *bufs;

/* What the device sent to its host side. */
static uint8_t out[1 << 20];
static size_t out_len;

static void output(void *ctx, const char *buf, size_t n)
{
    (void)ctx;
    assert_true(out_len + n <= sizeof(out));
    memcpy(out + out_len, buf, n);
    out_len += n;
}

static void *zalloc4k(size_t n)
{
    void *p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
    assert_non_null(p);
    memset(p, 0, n);
    return p;
}

static int setup(void **state)
{
    (void)state;
    char err[160];

    out_len = 0;
    virtio_console_init(&model, &idmem, &noirq, output, NULL);
    fake_mmio_route(&dev);
    rings = zalloc4k(2 * hvirtio_ring_bytes(HVCONS_QUEUE));
    bufs = zalloc4k(HVCONS_BUFS_BYTES);
    if (hvcons_init(&drv, BASE, rings, bufs, err, sizeof(err)) < 0)
        fail_msg("hvcons_init: %s", err);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_mmio_unroute();
    free(rings);
    free(bufs);
    rings = bufs = NULL;
    return 0;
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 131 + (i >> 8) * 7 + 1);
}

static void test_init(void **state)
{
    (void)state;
    /* VERSION_1 only: never MULTIPORT (port 0 on queues 0 and 1), and not
     * the model's EMERG_WRITE either. */
    assert_int_equal(drv.v.features, 1ull << VIRTIO_F_VERSION_1);
    assert_true(virtio_console_listening(&model));
    assert_int_equal(drv.nbufs, HVCONS_QUEUE);
    assert_false(hvcons_failed(&drv));
    assert_int_equal(hvcons_poll(&drv), 0); /* nothing happened */
    uint8_t b[8];
    assert_int_equal(hvcons_read(&drv, b, sizeof(b)), 0);
}

static void test_not_a_console(void **state)
{
    (void)state;
    char err[160];
    static struct hvcons other;

    /* A modern virtio-rng (id 4) in the register file at BASE + 0x1000. */
    memset(fake_mmio + BASE + 0x1000, 0, 0x1000);
    uint32_t v = VIRTIO_MMIO_MAGIC;
    memcpy(fake_mmio + BASE + 0x1000 + VIRTIO_MMIO_MAGIC_VALUE, &v, 4);
    v = 2;
    memcpy(fake_mmio + BASE + 0x1000 + VIRTIO_MMIO_VERSION, &v, 4);
    v = 4;
    memcpy(fake_mmio + BASE + 0x1000 + VIRTIO_MMIO_DEVICE_ID, &v, 4);
    v = 1; /* VERSION_1 (bit 32): DeviceFeatures reads 1 for both words */
    memcpy(fake_mmio + BASE + 0x1000 + VIRTIO_MMIO_DEVICE_FEATURES, &v, 4);
    assert_int_equal(hvcons_init(&other, BASE + 0x1000, rings, bufs, err, sizeof(err)), ERR_NOENT);
    assert_string_equal(err, "device at 0x2000 is not a virtio console");
}

/* Writes go out whole and in order; a device that sends at once (the
 * model, like QEMU with room in its socket) lets one write take more
 * than all the buffers hold. */
static void test_write(void **state)
{
    (void)state;
    static uint8_t data[100000];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = pattern(i);
    assert_int_equal(hvcons_write(&drv, data, 1), 1);
    assert_int_equal(hvcons_write(&drv, data + 1, sizeof(data) - 1), sizeof(data) - 1);
    assert_int_equal(out_len, sizeof(data));
    assert_memory_equal(out, data, sizeof(data));
    assert_int_equal(drv.tx_bytes, sizeof(data));
    /* Nobody was turned away: no writable news. */
    assert_int_equal(hvcons_poll(&drv), 0);
}

/* A device that holds the buffers: write takes what fits, then 0; once
 * the device sends, poll says writable (once) and the rest goes out. */
static void test_write_full(void **state)
{
    (void)state;
    static uint8_t data[3 * HVCONS_QUEUE * HVCONS_BUF];
    size_t cap = (size_t)HVCONS_QUEUE * HVCONS_BUF;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = pattern(i);
    fake_mmio_unroute(); /* notifies now reach nobody */
    assert_int_equal(hvcons_write(&drv, data, sizeof(data)), cap);
    assert_int_equal(hvcons_write(&drv, data + cap, sizeof(data) - cap), 0);
    assert_int_equal(hvcons_poll(&drv), 0); /* still nothing sent */
    fake_mmio_route(&dev);
    mmio_write32(BASE + VIRTIO_MMIO_QUEUE_NOTIFY, HVCONS_TXQ); /* the device gets to it */
    assert_int_equal(out_len, cap);
    assert_memory_equal(out, data, cap);
    assert_int_equal(hvcons_poll(&drv), HVCONS_WRITABLE);
    assert_int_equal(hvcons_poll(&drv), 0); /* said once */
    assert_int_equal(hvcons_write(&drv, data + cap, sizeof(data) - cap), sizeof(data) - cap);
    assert_int_equal(out_len, sizeof(data));
    assert_memory_equal(out, data, sizeof(data));
}

/* Input arrives in the posted buffers; poll says readable once; small
 * reads take it in order; emptied buffers go back to the device. */
static void test_read(void **state)
{
    (void)state;
    static uint8_t data[3000], got[3000];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = pattern(i);
    assert_int_equal(virtio_console_offer(&model, (const char *)data, sizeof(data)), sizeof(data));
    assert_int_equal(hvcons_poll(&drv), HVCONS_READABLE);
    assert_int_equal(hvcons_poll(&drv), 0);
    size_t done = 0, k;
    while ((k = hvcons_read(&drv, got + done, 7)) > 0)
        done += k;
    assert_int_equal(done, sizeof(data));
    assert_memory_equal(got, data, sizeof(data));
    assert_int_equal(drv.rx_count, 0);
    /* Read without a poll first: read collects by itself. */
    assert_int_equal(virtio_console_offer(&model, "abc", 3), 3);
    assert_int_equal(hvcons_read(&drv, got, sizeof(got)), 3);
    assert_memory_equal(got, "abc", 3);
    /* ... and a poll then has nothing unread to announce. */
    assert_int_equal(hvcons_poll(&drv), 0);
}

/* Flow control: while the reader does not read, the device has no buffer
 * for more, so the sender (the model's flow-controlled offer, as QEMU's
 * socket) is held back and nothing is lost; reading lets it go on. */
static void test_read_flow_control(void **state)
{
    (void)state;
    static uint8_t data[200000], got[200000];
    size_t cap = (size_t)HVCONS_QUEUE * HVCONS_BUF, sent = 0, done = 0;

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = pattern(i);
    sent = virtio_console_offer(&model, (const char *)data, sizeof(data));
    assert_int_equal(sent, cap); /* every buffer full, then refused */
    assert_int_equal(virtio_console_offer(&model, (const char *)data + sent, 10), 0);
    assert_int_equal(hvcons_poll(&drv), HVCONS_READABLE);
    while (done < sizeof(data)) {
        size_t k = hvcons_read(&drv, got + done, 999);
        done += k;
        if (sent < sizeof(data))
            sent += virtio_console_offer(&model, (const char *)data + sent, sizeof(data) - sent);
        assert_true(k > 0 || sent > done);
    }
    assert_int_equal(done, sizeof(data));
    assert_memory_equal(got, data, sizeof(data));
    assert_int_equal(drv.rx_bytes, sizeof(data));
    assert_int_equal(model.stats.rx_dropped, 0);
}

/* Many harts write at once: each write of one record goes out whole, each
 * writer's records in its order, none lost. */
#define WRITERS 4
#define RECORDS 2000
#define RECLEN  48

static void *writer(void *arg)
{
    unsigned t = (unsigned)(uintptr_t)arg;
    char rec[RECLEN];

    for (unsigned i = 0; i < RECORDS; i++) {
        memset(rec, '.', sizeof(rec));
        int head = snprintf(rec, sizeof(rec), "writer %u record %06u ", t, i);
        rec[head] = '.'; /* not the NUL */
        rec[RECLEN - 1] = '\n';
        for (size_t done = 0; done < RECLEN;) {
            size_t k = hvcons_write(&drv, rec + done, RECLEN - done);
            assert_true(k == 0 || k == RECLEN); /* one buffer: all or nothing */
            done += k;
        }
    }
    return NULL;
}

static void test_write_threads(void **state)
{
    (void)state;
    pthread_t th[WRITERS];
    unsigned next[WRITERS] = {0};

    for (unsigned i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, writer, (void *)(uintptr_t)i), 0);
    for (unsigned i = 0; i < WRITERS; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(out_len, (size_t)WRITERS * RECORDS * RECLEN);
    for (size_t off = 0; off < out_len; off += RECLEN) {
        unsigned t, i;
        assert_int_equal(sscanf((const char *)out + off, "writer %u record %u", &t, &i), 2);
        assert_true(t < WRITERS);
        assert_int_equal(i, next[t]);
        next[t]++;
        assert_int_equal(out[off + RECLEN - 1], '\n');
    }
}

/* ---- a scripted register file returning garbage -------------------------------- */

static void set32(uintptr_t addr, uint32_t v)
{
    memcpy(&fake_mmio[addr], &v, 4);
}

static void scripted_console(uint32_t queue_max)
{
    char err[160];

    fake_mmio_unroute();
    memset(fake_mmio, 0, 0x3000);
    set32(BASE + VIRTIO_MMIO_MAGIC_VALUE, VIRTIO_MMIO_MAGIC);
    set32(BASE + VIRTIO_MMIO_VERSION, 2);
    set32(BASE + VIRTIO_MMIO_DEVICE_ID, 3);
    /* DeviceFeatures reads 1 for both selectors: VERSION_1 (bit 32) and
     * SIZE (bit 0); the driver takes only VERSION_1. */
    set32(BASE + VIRTIO_MMIO_DEVICE_FEATURES, 1);
    set32(BASE + VIRTIO_MMIO_QUEUE_NUM_MAX, queue_max);
    if (hvcons_init(&drv, BASE, rings, bufs, err, sizeof(err)) < 0)
        fail_msg("hvcons_init: %s", err);
}

static void put_used(struct hvq *q, uint32_t id, uint32_t len)
{
    volatile uint8_t *u = q->used;
    uint16_t idx = (uint16_t)(u[2] | u[3] << 8);
    volatile uint8_t *e = u + 4 + 8 * (idx % q->num);

    for (unsigned i = 0; i < 4; i++) {
        e[i] = (uint8_t)(id >> (8 * i));
        e[4 + i] = (uint8_t)(len >> (8 * i));
    }
    idx++;
    u[2] = (uint8_t)idx;
    u[3] = (uint8_t)(idx >> 8);
}

static void assert_dead(void)
{
    uint8_t b[16] = {0};

    assert_true(hvcons_failed(&drv));
    assert_int_equal(hvcons_read(&drv, b, sizeof(b)), 0);
    assert_int_equal(hvcons_write(&drv, b, sizeof(b)), 0);
    assert_int_equal(hvcons_poll(&drv), 0);
}

static void test_garbage_rx_len(void **state)
{
    (void)state;
    uint8_t b[16];

    scripted_console(16);
    put_used(&drv.v.q[HVCONS_RXQ], 0, 5); /* fine */
    assert_int_equal(hvcons_poll(&drv), HVCONS_READABLE);
    put_used(&drv.v.q[HVCONS_RXQ], 1, HVCONS_BUF + 1); /* more than the buffer holds */
    assert_int_equal(hvcons_read(&drv, b, sizeof(b)), 0);
    assert_dead();
}

static void test_garbage_rx_id(void **state)
{
    (void)state;
    uint8_t b[16];

    scripted_console(16);
    put_used(&drv.v.q[HVCONS_RXQ], 3, 4);
    assert_int_equal(hvcons_read(&drv, b, 2), 2);
    put_used(&drv.v.q[HVCONS_RXQ], 3, 4); /* 3 again: still with the driver */
    assert_int_equal(hvcons_read(&drv, b, 2), 0);
    assert_dead();
}

static void test_garbage_tx_id(void **state)
{
    (void)state;
    scripted_console(16);
    put_used(&drv.v.q[HVCONS_TXQ], 5, 0); /* nothing was sent */
    assert_int_equal(hvcons_poll(&drv), 0);
    assert_dead();
}

static void test_garbage_id_range(void **state)
{
    (void)state;
    scripted_console(16);
    put_used(&drv.v.q[HVCONS_TXQ], 1000, 0); /* no such descriptor */
    assert_int_equal(hvcons_write(&drv, "x", 1), 0);
    assert_dead();
}

/* A device with short queues gets one buffer per entry. */
static void test_short_queues(void **state)
{
    (void)state;
    static uint8_t data[8 * HVCONS_BUF];

    scripted_console(4);
    assert_int_equal(drv.nbufs, 4);
    assert_int_equal(hvcons_write(&drv, data, sizeof(data)), 4 * HVCONS_BUF);
    assert_int_equal(hvcons_write(&drv, data, 1), 0);
    for (uint32_t id = 0; id < 2; id++)
        put_used(&drv.v.q[HVCONS_TXQ], drv.v.q[HVCONS_TXQ].num - 1 - id, 0);
    assert_int_equal(hvcons_poll(&drv), HVCONS_WRITABLE);
    assert_int_equal(hvcons_write(&drv, data, sizeof(data)), 2 * HVCONS_BUF);
    assert_false(hvcons_failed(&drv));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_a_console, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_flow_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_rx_len, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_rx_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_tx_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_id_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_queues, setup, teardown),
    };

    return cmocka_run_group_tests_name("hvirtio_console", tests, NULL, NULL);
}
