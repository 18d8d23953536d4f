/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshot state of the virtual PLIC and the UART: a round trip from a
 * busy state into a fresh model (same bytes saved again, same behaviour
 * afterwards, the outputs driven), and hostile payloads (every truncation,
 * trailing bytes, every byte changed, fields out of range), each refused
 * without changing the model or taken exactly. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "devices/vplic.h"
#include "devices/vuart.h"
#include "lib/err.h"
#include "tests/unit/devstate_testlib.h"

#define NDEV 95
#define NCTX 4

/* The vplic's notify, per instance. */
struct eip_log {
    bool eip[NCTX];
    unsigned calls;
};

static void log_notify(void *opaque, unsigned c, bool eip)
{
    struct eip_log *l = opaque;

    assert_true(c < NCTX);
    l->eip[c] = eip;
    l->calls++;
}

static long plic_save(void *m, void *buf, size_t size)
{
    return vplic_save(m, buf, size);
}

static int plic_load(void *m, const void *buf, size_t size)
{
    return vplic_load(m, buf, size);
}

static uint32_t plic_rd(struct vplic *p, uint64_t off)
{
    struct mmio_dev d = {&vplic_ops, "plic", 0, VPLIC_SIZE, p};
    uint64_t v = 0;

    assert_int_equal(d.ops->read(&d, off, 4, &v), 0);
    return (uint32_t)v;
}

static void plic_wr(struct vplic *p, uint64_t off, uint32_t v)
{
    struct mmio_dev d = {&vplic_ops, "plic", 0, VPLIC_SIZE, p};

    assert_int_equal(d.ops->write(&d, off, 4, v), 0);
}

#define CLAIM(c)     (0x200004u + 0x1000u * (c))
#define THRESHOLD(c) (0x200000u + 0x1000u * (c))
#define ENABLE(c, s) (0x2000u + 0x80u * (c) + 4u * ((s) / 32))

static void plic_enable(struct vplic *p, unsigned c, unsigned s)
{
    plic_wr(p, ENABLE(c, s), plic_rd(p, ENABLE(c, s)) | 1u << (s % 32));
}

/* Pending level and edge sources, one in service with a deferred edge,
 * thresholds, enables on several contexts. */
static void plic_busy(struct vplic *p)
{
    for (unsigned s = 1; s <= NDEV; s++)
        plic_wr(p, 4 * s, s % 8);
    plic_wr(p, THRESHOLD(1), 3);
    plic_wr(p, THRESHOLD(3), 7);
    plic_enable(p, 0, 10);
    plic_enable(p, 0, 70);
    plic_enable(p, 1, 10);
    plic_enable(p, 1, 33);
    plic_enable(p, 1, 94);
    plic_enable(p, 2, 94);
    plic_enable(p, 3, 5);
    vplic_set_edge(p, 70, true);
    vplic_set_edge(p, 33, true);
    vplic_set_level(p, 10, true); /* level, priority 2 */
    vplic_trigger(p, 70);         /* edge, priority 6 */
    assert_int_equal(plic_rd(p, CLAIM(0)), 70);
    vplic_trigger(p, 70); /* deferred: in service */
    vplic_trigger(p, 33);
    vplic_set_level(p, 94, true);
    vplic_set_level(p, 5, true);
}

static void test_vplic_round_trip(void **state)
{
    static struct vplic a, b;
    static uint8_t sa[DS_MAX], sb[DS_MAX];
    struct eip_log la = {0}, lb = {0};
    struct ds_model da = {plic_save, plic_load, &a}, db = {plic_save, plic_load, &b};

    (void)state;
    vplic_init(&a, NDEV, NCTX, log_notify, &la);
    plic_busy(&a);
    size_t n = ds_save(&da, sa);
    assert_int_equal(n, 12 + NDEV + NCTX + 5 * 2 * 8 + NCTX * 2 * 8);
    ds_nospc(&da);

    vplic_init(&b, NDEV, NCTX, log_notify, &lb);
    assert_int_equal(vplic_load(&b, sa, n), 0);
    assert_int_equal(ds_save(&db, sb), n);
    assert_memory_equal(sa, sb, n);
    /* Every context reported, with the same EIP as the original. */
    assert_int_equal(lb.calls, NCTX);
    for (unsigned c = 0; c < NCTX; c++) {
        assert_int_equal(vplic_eip(&b, c), vplic_eip(&a, c));
        assert_int_equal(lb.eip[c], vplic_eip(&a, c));
    }
    assert_true(vplic_eip(&b, 1));  /* 94 (priority 6) above threshold 3 */
    assert_false(vplic_eip(&b, 3)); /* threshold 7 masks everything */
    /* Same behaviour: completing 70 makes its deferred edge pending again,
     * claims give the same sources in the same order. */
    plic_wr(&a, CLAIM(0), 70);
    plic_wr(&b, CLAIM(0), 70);
    for (unsigned c = 0; c < NCTX; c++) {
        for (int k = 0; k < 3; k++) {
            uint32_t x = plic_rd(&a, CLAIM(c));
            assert_int_equal(plic_rd(&b, CLAIM(c)), x);
        }
    }
    assert_int_equal(ds_save(&da, sa), ds_save(&db, sb));
    assert_memory_equal(sa, sb, n);
}

static void test_vplic_hostile(void **state)
{
    static struct vplic a, b;
    static uint8_t good[DS_MAX];
    struct eip_log la = {0}, lb = {0};
    struct ds_model da = {plic_save, plic_load, &a}, db = {plic_save, plic_load, &b};

    (void)state;
    vplic_init(&a, NDEV, NCTX, log_notify, &la);
    plic_busy(&a);
    size_t n = ds_save(&da, good);
    vplic_init(&b, NDEV, NCTX, log_notify, &lb);
    assert_int_equal(vplic_load(&b, good, n), 0);
    assert_true(ds_hostile_sweep(&db, good, n) > 0);

    size_t prio = 12, thr = prio + NDEV, maps = thr + NCTX, en = maps + 5 * 16;
    ds_field_refused(&db, good, n, 4, NDEV + 1, 4, ERR_MISMATCH);       /* ndev */
    ds_field_refused(&db, good, n, 8, 64, 4, ERR_MISMATCH);             /* ncontexts */
    ds_field_refused(&db, good, n, prio + 3, 8, 1, ERR_RANGE);          /* priority > 7 */
    ds_field_refused(&db, good, n, thr + 1, 0xff, 1, ERR_RANGE);        /* threshold */
    ds_field_refused(&db, good, n, maps, 1, 8, ERR_RANGE);              /* source 0 pending */
    ds_field_refused(&db, good, n, maps + 8, 1ull << 32, 8, ERR_RANGE); /* source 96 */
    ds_field_refused(&db, good, n, en + 8, 1ull << 63, 8, ERR_RANGE);   /* enable 127 */
    /* Pending and in service at once (source 70, in service). */
    ds_field_refused(&db, good, n, maps + 8, 1ull << 6 | 1ull << 30 | 1ull << 1, 8, ERR_STRUCTURE);
    /* A level source (1) with its line high, neither pending nor in service. */
    uint64_t line0 = 0;
    for (int i = 7; i >= 0; i--)
        line0 = line0 << 8 | good[maps + 2 * 16 + i];
    ds_field_refused(&db, good, n, maps + 2 * 16, line0 | 2, 8, ERR_STRUCTURE);
    /* A deferred request on a level source. */
    ds_field_refused(&db, good, n, maps + 4 * 16, 1ull << 10, 8, ERR_STRUCTURE);
    /* Another configuration. */
    static struct vplic c;
    vplic_init(&c, NDEV, NCTX - 1, NULL, NULL);
    assert_int_equal(vplic_load(&c, good, n), ERR_MISMATCH);
}

/* UART: a recorded line and the output. */
struct uart_env {
    bool level;
    unsigned calls;
    char out[64];
    unsigned out_len;
};

static void uart_level(void *ctl, unsigned source, bool level)
{
    struct uart_env *e = ctl;

    assert_int_equal(source, 10);
    e->level = level;
    e->calls++;
}

static void uart_out(void *ctx, char c)
{
    struct uart_env *e = ctx;

    if (e->out_len < sizeof(e->out))
        e->out[e->out_len++] = c;
}

static long uart_save(void *m, void *buf, size_t size)
{
    return vuart_save(m, buf, size);
}

static int uart_load(void *m, const void *buf, size_t size)
{
    return vuart_load(m, buf, size);
}

static void uart_init(struct vuart *u, struct uart_env *e)
{
    const struct irq_line l = {uart_level, e, 10};

    memset(e, 0, sizeof(*e));
    vuart_init(u, &l, uart_out, e);
}

static uint8_t uart_rd(struct vuart *u, uint64_t off)
{
    struct mmio_dev d = {&vuart_ops, "uart", 0, VUART_SIZE, u};
    uint64_t v = 0;

    assert_int_equal(d.ops->read(&d, off, 1, &v), 0);
    return (uint8_t)v;
}

static void uart_wr(struct vuart *u, uint64_t off, uint8_t v)
{
    struct mmio_dev d = {&vuart_ops, "uart", 0, VUART_SIZE, u};

    assert_int_equal(d.ops->write(&d, off, 1, v), 0);
}

/* Divisor, FIFOs on with trigger 8, scratch, modem control, received
 * bytes waiting, a modem delta pending. */
static void uart_busy(struct vuart *u)
{
    uart_wr(u, 3, 0x80); /* DLAB */
    uart_wr(u, 0, 0x0c);
    uart_wr(u, 1, 0x01);
    uart_wr(u, 3, 0x03);
    uart_wr(u, 2, 0x81); /* FIFO on, trigger 8 */
    uart_wr(u, 7, 0x5a);
    uart_wr(u, 4, 0x0b);
    uart_wr(u, 1, 0x0d); /* ERBFI, ELSI, EDSSI */
    for (const char *s = "hello"; *s; s++)
        assert_true(vuart_input(u, *s));
}

static void test_vuart_round_trip(void **state)
{
    static struct vuart a, b;
    static uint8_t sa[DS_MAX], sb[DS_MAX];
    struct uart_env ea, eb;
    struct ds_model da = {uart_save, uart_load, &a}, db = {uart_save, uart_load, &b};

    (void)state;
    uart_init(&a, &ea);
    uart_busy(&a);
    assert_true(ea.level);
    size_t n = ds_save(&da, sa);
    assert_int_equal(n, 4 + 12 + 1 + 5 + 1);
    ds_nospc(&da);

    uart_init(&b, &eb);
    assert_int_equal(vuart_load(&b, sa, n), 0);
    assert_true(eb.level); /* driven at load */
    assert_int_equal(eb.calls, 1);
    assert_int_equal(ds_save(&db, sb), n);
    assert_memory_equal(sa, sb, n);
    /* Same registers, same bytes, in order, same interrupt identity. */
    for (uint64_t off = 1; off < 8; off++)
        if (off != 5 && off != 6)
            assert_int_equal(uart_rd(&b, off), uart_rd(&a, off));
    for (int i = 0; i < 5; i++) {
        assert_int_equal(uart_rd(&b, 5), uart_rd(&a, 5));
        assert_int_equal(uart_rd(&b, 0), uart_rd(&a, 0));
    }
    assert_int_equal(uart_rd(&b, 0), 0);
    assert_int_equal(ea.level, eb.level);
    uart_wr(&b, 0, 'x');
    assert_int_equal(eb.out_len, 1);
    assert_int_equal(eb.out[0], 'x');
}

static void room(void *ctx)
{
    (*(unsigned *)ctx)++;
}

/* Bytes the guest cleared unread (held) are state too; a waiting host is
 * told after load when the guest has room. */
static void test_vuart_held_bytes(void **state)
{
    static struct vuart a, b;
    static uint8_t sa[DS_MAX];
    struct uart_env ea, eb;
    unsigned rooms = 0;
    struct ds_model da = {uart_save, uart_load, &a};

    (void)state;
    uart_init(&a, &ea);
    vuart_set_room_notify(&a, room, &rooms);
    uart_wr(&a, 2, 0x01);
    uart_wr(&a, 1, 0x01);
    assert_int_equal(vuart_input_offer(&a, "abcdefghijklmnopqrs", 19), 16);
    uart_wr(&a, 1, 0x00); /* stop listening */
    uart_wr(&a, 2, 0x03); /* clear: 16 bytes held */
    size_t n = ds_save(&da, sa);
    assert_int_equal(sa[4 + 12 + 1], 16); /* held_count */

    uart_init(&b, &eb);
    unsigned rooms_b = 0;
    vuart_set_room_notify(&b, room, &rooms_b);
    assert_int_equal(vuart_load(&b, sa, n), 0);
    assert_int_equal(rooms_b, 0); /* not listening: no room */
    uart_wr(&b, 1, 0x01);         /* listens: held bytes come back first */
    for (char c = 'a'; c <= 'p'; c++)
        assert_int_equal(uart_rd(&b, 0), c);
    assert_int_equal(rooms_b, 1); /* and the host is told, as before the save */
}

static void test_vuart_hostile(void **state)
{
    static struct vuart a, b;
    static uint8_t good[DS_MAX];
    struct uart_env ea, eb;
    struct ds_model da = {uart_save, uart_load, &a}, db = {uart_save, uart_load, &b};

    (void)state;
    uart_init(&a, &ea);
    uart_busy(&a);
    size_t n = ds_save(&da, good);
    uart_init(&b, &eb);
    assert_int_equal(vuart_load(&b, good, n), 0);
    assert_true(ds_hostile_sweep(&db, good, n) > 0);
    ds_field_refused(&db, good, n, 4, 0x10, 1, ERR_RANGE);        /* IER reserved bits */
    ds_field_refused(&db, good, n, 6, 0x20, 1, ERR_RANGE);        /* MCR reserved bits */
    ds_field_refused(&db, good, n, 10, 2, 1, ERR_RANGE);          /* fifo_enabled */
    ds_field_refused(&db, good, n, 11, 2, 1, ERR_RANGE);          /* trigger level */
    ds_field_refused(&db, good, n, 12, 0x01, 1, ERR_RANGE);       /* LSR bits */
    ds_field_refused(&db, good, n, 13, 0x10, 1, ERR_RANGE);       /* MSR deltas */
    ds_field_refused(&db, good, n, 14, 2, 1, ERR_RANGE);          /* thre_pending */
    ds_field_refused(&db, good, n, 15, 2, 1, ERR_RANGE);          /* room_wanted */
    ds_field_refused(&db, good, n, 16, 17, 1, ERR_RANGE);         /* rx_count > FIFO */
    ds_field_refused(&db, good, n, 16, 4, 1, ERR_RANGE);          /* 'o' read as held_count */
    ds_field_refused(&db, good, n, 16 + 1 + 5, 17, 1, ERR_RANGE); /* held_count */
    /* With FIFOs off the receiver holds one byte. */
    static uint8_t p[DS_MAX];
    memcpy(p, good, n);
    p[10] = 0;
    assert_int_equal(ds_refused(&db, p, n), ERR_RANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vplic_round_trip), cmocka_unit_test(test_vplic_hostile),
        cmocka_unit_test(test_vuart_round_trip), cmocka_unit_test(test_vuart_held_bytes),
        cmocka_unit_test(test_vuart_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
