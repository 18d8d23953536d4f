/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "drivers/ns16550.h"
#include "lib/err.h"
#include "tests/unit/fake_arch.h"

#define BASE 0x100

static void reset(void)
{
    memset(fake_mmio, 0, sizeof(fake_mmio));
    fake_mmio_nlog = 0;
}

static void test_write_translates_newlines(void **state)
{
    (void)state;
    struct ns16550 u;

    reset();
    ns16550_init(&u, BASE, 0, 1);
    fake_mmio[BASE + 5] = 0x20; /* LSR: transmitter ready */
    ns16550_write(&u, "a\nb", 3);
    assert_int_equal(fake_mmio_nlog, 4);
    const char want[] = "a\r\nb";
    for (int i = 0; i < 4; i++) {
        assert_int_equal(fake_mmio_log[i].addr, BASE);
        assert_int_equal(fake_mmio_log[i].width, 1);
        assert_int_equal(fake_mmio_log[i].value, (unsigned char)want[i]);
    }
}

static void test_wide_registers(void **state)
{
    (void)state;
    struct ns16550 u;

    reset();
    /* reg-shift 2, reg-io-width 4: LSR at base + 20, 32-bit accesses. */
    ns16550_init(&u, BASE, 2, 4);
    fake_mmio[BASE + 20] = 0x21;
    fake_mmio[BASE] = 'x';
    ns16550_putc(&u, 'q');
    assert_int_equal(fake_mmio_nlog, 1);
    assert_int_equal(fake_mmio_log[0].width, 4);
    assert_int_equal(fake_mmio_log[0].value, 'q');
    fake_mmio[BASE] = 'x'; /* the fake has one byte for RBR and THR */
    assert_int_equal(ns16550_getc(&u), 'x');
}

static void test_getc_empty(void **state)
{
    (void)state;
    struct ns16550 u;

    reset();
    ns16550_init(&u, BASE, 0, 1);
    fake_mmio[BASE] = 'z';
    assert_int_equal(ns16550_getc(&u), ERR_AGAIN); /* LSR.DR clear: nothing waiting */
    fake_mmio[BASE + 5] = 0x01;
    assert_int_equal(ns16550_getc(&u), 'z');
}

/* Flow control masks and unmasks the receive interrupt (IER bit 0) only. */
static void test_rx_irq_mask(void **state)
{
    (void)state;
    struct ns16550 u;

    reset();
    ns16550_init(&u, BASE, 0, 1);
    ns16550_set_rx_irq(&u, false);
    ns16550_set_rx_irq(&u, true);
    assert_int_equal(fake_mmio_nlog, 2);
    assert_int_equal(fake_mmio_log[0].addr, BASE + 1);
    assert_int_equal(fake_mmio_log[0].value, 0);
    assert_int_equal(fake_mmio_log[1].addr, BASE + 1);
    assert_int_equal(fake_mmio_log[1].value, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_translates_newlines),
        cmocka_unit_test(test_wide_registers),
        cmocka_unit_test(test_getc_empty),
        cmocka_unit_test(test_rx_irq_mask),
    };
    return cmocka_run_group_tests_name("ns16550", tests, NULL, NULL);
}
