/* SPDX-License-Identifier: Apache-2.0 */
/* The emulated 16550A: registers, interrupts and the interrupt line, the
 * receive FIFO, what Linux's 8250 driver and earlycon do to it, and input
 * from another hart while the guest reads. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <string.h>

#include "devices/vuart.h"
#include "lib/err.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4 };
enum { LSR = 5, MSR = 6, SCR = 7 };

static struct vuart uart;
static struct mmio_dev dev;

/* The interrupt line: every set_level call, in order. */
#define IRQ_LOG_MAX 4096
static bool irq_log[IRQ_LOG_MAX];
static unsigned irq_calls;
static bool irq_level_now;

static unsigned irq_wrong_line;

/* May run on the feeder thread (under the vuart's lock), so no cmocka
 * asserts here: they cannot fail a test from another thread. */
static void fake_set_level(void *ctl, unsigned source, bool level)
{
    if (ctl != &uart || source != 10)
        irq_wrong_line++;
    if (irq_calls < IRQ_LOG_MAX)
        irq_log[irq_calls] = level;
    irq_calls++;
    irq_level_now = level;
}

static char out[4096];
static size_t out_len;

static void fake_output(void *ctx, char c)
{
    assert_ptr_equal(ctx, &out);
    if (out_len < sizeof(out))
        out[out_len] = c;
    out_len++;
}

static int setup(void **state)
{
    (void)state;
    const struct irq_line line = {fake_set_level, &uart, 10};

    irq_calls = 0;
    irq_wrong_line = 0;
    irq_level_now = false;
    out_len = 0;
    vuart_init(&uart, &line, fake_output, &out);
    dev = (struct mmio_dev){&vuart_ops, "uart", 0x10000000, VUART_SIZE, &uart};
    return 0;
}

static uint8_t rd(uint64_t off)
{
    uint64_t v = 0xdead;
    assert_int_equal(dev.ops->read(&dev, off, 1, &v), 0);
    assert_true(v <= 0xff);
    return (uint8_t)v;
}

static void wr(uint64_t off, uint8_t v)
{
    assert_int_equal(dev.ops->write(&dev, off, 1, v), 0);
}

/* Every call changed the level: low -> high -> low ... */
static void assert_line_changes_only(void)
{
    assert_int_equal(irq_wrong_line, 0);
    for (unsigned i = 0; i < irq_calls && i < IRQ_LOG_MAX; i++)
        assert_int_equal(irq_log[i], i % 2 == 0);
}

static void test_reset_values(void **state)
{
    (void)state;
    assert_int_equal(rd(LSR), 0x60);
    assert_int_equal(rd(IIR), 0x01);
    assert_int_equal(rd(MSR), 0xb0);
    assert_int_equal(rd(IER), 0);
    assert_int_equal(rd(LCR), 0);
    assert_int_equal(rd(MCR), 0);
    assert_int_equal(rd(SCR), 0);
    assert_int_equal(rd(RBR), 0); /* nothing received */
    assert_int_equal(vuart_input_room(&uart), 1);
    assert_int_equal(irq_calls, 0);
    assert_int_equal(out_len, 0);
}

static void test_transmit(void **state)
{
    (void)state;
    const char *msg = "hello\n";

    for (size_t i = 0; i < strlen(msg); i++) {
        wr(THR, (uint8_t)msg[i]);
        assert_int_equal(rd(LSR) & 0x60, 0x60); /* THRE and TEMT at once */
    }
    assert_int_equal(out_len, strlen(msg));
    assert_memory_equal(out, msg, strlen(msg));
    assert_int_equal(rd(IIR), 0x01); /* ETBEI off: nothing to report */
    assert_int_equal(irq_calls, 0);
}

static void test_thre_interrupt(void **state)
{
    (void)state;
    wr(IER, 0x02); /* enabling with the THR empty raises THRE */
    assert_true(irq_level_now);
    assert_int_equal(irq_calls, 1);
    assert_int_equal(rd(IIR), 0x02);
    assert_false(irq_level_now); /* reading IIR acknowledged it */
    assert_int_equal(rd(IIR), 0x01);
    wr(IER, 0x02); /* already enabled: no new edge, stays quiet */
    assert_int_equal(rd(IIR), 0x01);
    wr(THR, 'a'); /* the THR empties again: re-armed */
    assert_true(irq_level_now);
    wr(THR, 'b'); /* still pending: the line does not move */
    assert_int_equal(irq_calls, 3);
    assert_int_equal(rd(IIR), 0x02);
    wr(IER, 0x00);
    wr(IER, 0x02); /* re-enable raises it again */
    assert_int_equal(rd(IIR), 0x02);
    assert_int_equal(rd(IIR), 0x01);
    wr(THR, 'c');
    wr(IER, 0x00); /* masked: pending but not reported, line low */
    assert_int_equal(rd(IIR), 0x01);
    assert_false(irq_level_now);
    assert_int_equal(out_len, 3);
    assert_line_changes_only();
}

static void test_rx_fifo_order_and_limit(void **state)
{
    (void)state;
    wr(FCR, 0x07); /* enable, clear both */
    assert_int_equal(vuart_input_room(&uart), VUART_FIFO_SIZE);
    for (int i = 0; i < VUART_FIFO_SIZE; i++) {
        assert_true(vuart_input(&uart, (char)('A' + i)));
        assert_int_equal(vuart_input_room(&uart), VUART_FIFO_SIZE - 1 - i);
    }
    assert_false(vuart_input(&uart, '!')); /* the 17th is dropped */
    assert_int_equal(rd(LSR), 0x63);       /* THRE TEMT OE DR */
    assert_int_equal(rd(LSR), 0x61);       /* reading LSR cleared OE */
    for (int i = 0; i < VUART_FIFO_SIZE; i++) {
        assert_int_equal(rd(LSR) & 0x01, 1);
        assert_int_equal(rd(RBR), 'A' + i);
    }
    assert_int_equal(rd(LSR), 0x60);
    assert_int_equal(rd(RBR), 0);
    assert_int_equal(vuart_input_room(&uart), VUART_FIFO_SIZE);
    /* The ring wraps. */
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 11; i++)
            assert_true(vuart_input(&uart, (char)(round * 11 + i)));
        for (int i = 0; i < 11; i++)
            assert_int_equal(rd(RBR), round * 11 + i);
    }
    assert_int_equal(irq_calls, 0); /* no interrupt was enabled */
}

static void test_rx_holding_register(void **state)
{
    (void)state;
    /* FIFOs off (16450 mode): one byte; a second overwrites it, sets OE. */
    assert_true(vuart_input(&uart, 'x'));
    assert_int_equal(vuart_input_room(&uart), 0);
    assert_false(vuart_input(&uart, 'y'));
    assert_int_equal(rd(LSR), 0x63);
    assert_int_equal(rd(RBR), 'y');
    assert_int_equal(rd(LSR), 0x60);
    assert_int_equal(vuart_input_room(&uart), 1);
}

static void test_rda_interrupt_and_line(void **state)
{
    (void)state;
    wr(IER, 0x01);
    assert_int_equal(irq_calls, 0);
    wr(FCR, 0x01); /* FIFO, trigger level 1 */
    assert_true(vuart_input(&uart, 'a'));
    assert_int_equal(irq_calls, 1);
    assert_true(irq_level_now);
    assert_true(vuart_input(&uart, 'b'));
    assert_int_equal(irq_calls, 1); /* already high: no call */
    assert_int_equal(rd(IIR), 0xc4);
    assert_int_equal(rd(IIR), 0xc4); /* reading IIR does not clear RDA */
    assert_int_equal(rd(RBR), 'a');
    assert_int_equal(irq_calls, 1);
    assert_int_equal(rd(RBR), 'b');
    assert_int_equal(irq_calls, 2);
    assert_false(irq_level_now);
    assert_int_equal(rd(IIR), 0xc1);
    /* Masking and unmasking with data waiting moves the line. */
    assert_true(vuart_input(&uart, 'c'));
    wr(IER, 0x00);
    assert_false(irq_level_now);
    wr(IER, 0x01);
    assert_true(irq_level_now);
    assert_int_equal(irq_calls, 5);
    assert_line_changes_only();
}

static void test_rx_trigger_levels(void **state)
{
    (void)state;
    wr(IER, 0x01);
    wr(FCR, 0x81); /* trigger level 8, as Linux sets for a 16550A */
    assert_true(vuart_input(&uart, '1'));
    /* Below the trigger: the (zero-length) character timeout. */
    assert_int_equal(rd(IIR), 0xcc);
    assert_true(irq_level_now);
    for (int i = 0; i < 6; i++)
        assert_true(vuart_input(&uart, 'x'));
    assert_int_equal(rd(IIR), 0xcc);
    assert_true(vuart_input(&uart, '8'));
    assert_int_equal(rd(IIR), 0xc4);
    assert_int_equal(irq_calls, 1);
    wr(FCR, 0xc1); /* 14: back to timeout, data kept */
    assert_int_equal(rd(IIR), 0xcc);
    wr(FCR, 0x41); /* 4 */
    assert_int_equal(rd(IIR), 0xc4);
    assert_int_equal(rd(RBR), '1');
    /* In 16450 mode there is no timeout: one byte is "available". */
    wr(FCR, 0x00);
    assert_false(irq_level_now); /* the switch emptied the FIFO */
    assert_true(vuart_input(&uart, 'z'));
    assert_int_equal(rd(IIR), 0x04);
    assert_line_changes_only();
}

static void test_iir_priority(void **state)
{
    (void)state;
    wr(FCR, 0x01);
    wr(IER, 0x0f);
    assert_int_equal(rd(IIR), 0xc2); /* THRE (acknowledged by this read) */
    wr(THR, 'o');                    /* re-armed */
    for (int i = 0; i < VUART_FIFO_SIZE; i++)
        assert_true(vuart_input(&uart, (char)i));
    assert_int_equal(rd(IIR), 0xc4); /* RDA beats THRE */
    assert_false(vuart_input(&uart, 'X'));
    assert_int_equal(rd(IIR), 0xc6); /* line status beats RDA */
    assert_int_equal(rd(IIR), 0xc6); /* and stays until LSR is read */
    assert_int_equal(rd(LSR), 0x63);
    assert_int_equal(rd(IIR), 0xc4);
    for (int i = 0; i < VUART_FIFO_SIZE; i++)
        assert_int_equal(rd(RBR), i);
    assert_int_equal(rd(IIR), 0xc2); /* THRE waited its turn */
    wr(MCR, 0x10);                   /* loopback: the modem inputs change */
    assert_int_equal(rd(IIR), 0xc0); /* modem status, lowest priority */
    assert_int_equal(rd(MSR), 0x0b); /* DCTS DDSR DDCD, all lines now low */
    assert_int_equal(rd(IIR), 0xc1);
    assert_false(irq_level_now);
    /* Without ELSI, an overrun only shows in LSR. */
    wr(MCR, 0x00);
    assert_int_equal(rd(MSR), 0xbb);
    wr(IER, 0x00);
    for (int i = 0; i < VUART_FIFO_SIZE + 1; i++)
        vuart_input(&uart, 'q');
    assert_int_equal(rd(IIR), 0xc1);
    assert_int_equal(rd(LSR), 0x63);
    assert_line_changes_only();
}

static void test_fcr(void **state)
{
    (void)state;
    assert_int_equal(rd(IIR) & 0xc0, 0);
    wr(FCR, 0x01);
    assert_int_equal(rd(IIR), 0xc1);
    assert_true(vuart_input(&uart, 'a'));
    assert_true(vuart_input(&uart, 'b'));
    wr(FCR, 0x01); /* rewriting the enable keeps the data */
    assert_int_equal(rd(LSR), 0x61);
    wr(FCR, 0x05); /* clearing the transmit FIFO leaves receive alone */
    assert_int_equal(rd(LSR), 0x61);
    wr(FCR, 0x03); /* clear receive */
    assert_int_equal(rd(LSR), 0x60);
    assert_true(vuart_input(&uart, 'c'));
    wr(FCR, 0x00); /* leaving FIFO mode empties it */
    assert_int_equal(rd(LSR), 0x60);
    assert_int_equal(rd(IIR), 0x01);
    assert_int_equal(vuart_input_room(&uart), 1);
    wr(FCR, 0x06); /* without bit 0 the clear bits do nothing and FIFOs stay off */
    assert_int_equal(rd(IIR), 0x01);
    assert_true(vuart_input(&uart, 'd'));
    wr(FCR, 0x01); /* entering FIFO mode empties the holding register too */
    assert_int_equal(rd(LSR), 0x60);
    /* FCR is write-only: offset 2 reads IIR, LCR's DLAB does not hide it. */
    wr(LCR, 0x80);
    assert_int_equal(rd(IIR), 0xc1);
    wr(LCR, 0x00);
}

static void test_divisor_latch(void **state)
{
    (void)state;
    wr(IER, 0x05);
    wr(LCR, 0x83);
    assert_int_equal(rd(LCR), 0x83);
    wr(DLL, 0x01);
    wr(DLM, 0x02);
    assert_int_equal(rd(DLL), 0x01);
    assert_int_equal(rd(DLM), 0x02);
    assert_int_equal(out_len, 0); /* DLL is not THR */
    assert_true(vuart_input(&uart, 'k'));
    assert_int_equal(rd(DLL), 0x01); /* and not RBR */
    wr(LCR, 0x03);
    assert_int_equal(rd(IER), 0x05);
    assert_int_equal(rd(RBR), 'k');
    wr(THR, 'z');
    assert_int_equal(out_len, 1);
    assert_int_equal(out[0], 'z');
    wr(LCR, 0x80);
    assert_int_equal(rd(DLL), 0x01);
    assert_int_equal(rd(DLM), 0x02);
}

static void test_loopback(void **state)
{
    (void)state;
    wr(FCR, 0x01);
    wr(MCR, 0x1a); /* loop, RTS, OUT2: what Linux's probe writes */
    assert_int_equal(rd(MSR) & 0xf0, 0x90);
    wr(MCR, 0x1f);
    assert_int_equal(rd(MSR), 0xf0 | 0x02); /* DSR rose; RI rose (no TERI) */
    wr(MCR, 0x1b);
    assert_int_equal(rd(MSR), 0xb4); /* RI fell: trailing edge */
    assert_int_equal(vuart_input_room(&uart), 0);
    wr(THR, 'L');
    wr(THR, 'P');
    assert_int_equal(out_len, 0);
    assert_false(vuart_input(&uart, 'h')); /* the receiver hears only THR */
    assert_int_equal(rd(LSR), 0x61);       /* no OE for that */
    assert_int_equal(rd(RBR), 'L');
    assert_int_equal(rd(RBR), 'P');
    for (int i = 0; i < VUART_FIFO_SIZE + 3; i++)
        wr(THR, (uint8_t)i);
    assert_int_equal(rd(LSR), 0x63); /* the looped bytes can overrun */
    wr(MCR, 0x0b);
    assert_int_equal(rd(MSR), 0xb0); /* lines as before, no change */
    assert_int_equal(vuart_input_room(&uart), 0);
    for (int i = 0; i < VUART_FIFO_SIZE; i++)
        assert_int_equal(rd(RBR), i);
    assert_int_equal(vuart_input_room(&uart), VUART_FIFO_SIZE);
    wr(THR, 'o');
    assert_int_equal(out_len, 1);
    assert_int_equal(out[0], 'o');
    assert_int_equal(rd(MCR), 0x0b);
    wr(MCR, 0xff);
    assert_int_equal(rd(MCR), 0x1f); /* bits 7:5 do not exist */
}

static void test_scratch(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 256; v += 37) {
        wr(SCR, (uint8_t)v);
        assert_int_equal(rd(SCR), v);
    }
    wr(LCR, 0x80); /* not banked */
    wr(SCR, 0x5a);
    wr(LCR, 0x00);
    assert_int_equal(rd(SCR), 0x5a);
}

static void test_bad_widths(void **state)
{
    (void)state;
    const unsigned widths[] = {2, 4, 8};
    uint64_t v;

    wr(SCR, 0x11);
    for (size_t i = 0; i < 3; i++) {
        for (uint64_t off = 0; off < 8; off += widths[i]) {
            assert_int_equal(dev.ops->write(&dev, off, widths[i], 0x4141414141414141ull),
                             ERR_NOTSUP);
            assert_int_equal(dev.ops->read(&dev, off, widths[i], &v), ERR_NOTSUP);
        }
    }
    assert_int_equal(out_len, 0);
    assert_int_equal(rd(SCR), 0x11);
    assert_int_equal(rd(IER), 0);
    assert_int_equal(rd(LCR), 0);
    assert_int_equal(rd(MCR), 0);
}

static void test_rest_of_window(void **state)
{
    (void)state;
    /* Offsets 8 up to VUART_SIZE: read 0, writes ignored. */
    wr(SCR, 0x77);
    wr(IER, 0x01);
    for (uint64_t off = 8; off < VUART_SIZE; off++) {
        wr(off, 0xff);
        assert_int_equal(rd(off), 0);
    }
    assert_int_equal(rd(SCR), 0x77);
    assert_int_equal(rd(IER), 0x01);
    assert_int_equal(rd(LCR), 0);
    assert_int_equal(out_len, 0);
    /* LSR and MSR are read-only. */
    wr(LSR, 0x00);
    wr(MSR, 0x00);
    assert_int_equal(rd(LSR), 0x60);
    assert_int_equal(rd(MSR), 0xb0);
}

/* What drivers/tty/serial/8250/8250_port.c does to find the port type,
 * replayed register by register (autoconfig, autoconfig_16550a, size_fifo),
 * then the interrupt checks of serial8250_do_startup. */
static int linux_size_fifo(void)
{
    uint8_t old_lcr = rd(LCR);
    wr(LCR, 0);
    uint8_t old_fcr = rd(IIR); /* Linux reads "FCR", really IIR */
    uint8_t old_mcr = rd(MCR);
    wr(FCR, 0x07);
    wr(MCR, 0x10);
    wr(LCR, 0x80);
    uint8_t old_dll = rd(DLL), old_dlm = rd(DLM);
    wr(DLL, 1);
    wr(DLM, 0);
    wr(LCR, 0x03);
    for (int i = 0; i < 256; i++)
        wr(THR, (uint8_t)i);
    int count = 0;
    while ((rd(LSR) & 0x01) && count < 256) {
        rd(RBR);
        count++;
    }
    wr(FCR, old_fcr);
    wr(MCR, old_mcr);
    wr(LCR, 0x80);
    wr(DLL, old_dll);
    wr(DLM, old_dlm);
    wr(LCR, old_lcr);
    return count;
}

static const char *linux_autoconfig(void)
{
    /* Existence: IER bits 3:0 read back. */
    uint8_t saved = rd(IER);
    wr(IER, 0);
    uint8_t s2 = rd(IER) & 0x0f;
    wr(IER, 0x0f);
    uint8_t s3 = rd(IER) & 0x0f;
    wr(IER, saved);
    if (s2 != 0 || s3 != 0x0f)
        return "none (IER test)";

    uint8_t save_mcr = rd(MCR), save_lcr = rd(LCR);
    wr(MCR, 0x1a);
    uint8_t st = rd(MSR) & 0xf0;
    wr(MCR, save_mcr);
    if (st != 0x90)
        return "none (loop test)";

    wr(LCR, 0xbf);
    wr(IIR, 0); /* EFR on chips that have one; FCR here */
    wr(LCR, 0);
    wr(FCR, 0x01);
    switch (rd(IIR) >> 6) {
    case 0:
        return "8250/16450";
    case 1:
        return "unknown";
    case 2:
        return "16550";
    default:
        break;
    }

    /* autoconfig_16550a: no EFR in either configuration mode ... */
    wr(LCR, 0x80);
    if (rd(IIR) == 0)
        return "16650 (EFR with DLAB)";
    wr(LCR, 0xbf);
    if (rd(IIR) == 0)
        return "16650V2 family (EFR)";
    /* ... not a NatSemi SuperIO (bank 2 would mirror MCR's loop bit) ... */
    wr(LCR, 0);
    uint8_t m1 = rd(MCR);
    wr(LCR, 0xe0);
    uint8_t ex = rd(2);
    if (!((ex ^ m1) & 0x10)) {
        wr(LCR, 0);
        wr(MCR, m1 ^ 0x10);
        wr(LCR, 0xe0);
        ex = rd(2);
        wr(LCR, 0);
        wr(MCR, m1);
        if ((ex ^ m1) & 0x10)
            return "NS16550A SuperIO";
    }
    /* ... not a 16750 (64-byte FIFO bit in IIR) ... */
    wr(LCR, 0);
    wr(FCR, 0x21);
    uint8_t i1 = rd(IIR) >> 5;
    wr(FCR, 0x01);
    wr(LCR, 0x80);
    wr(FCR, 0x21);
    uint8_t i2 = rd(IIR) >> 5;
    wr(FCR, 0x01);
    wr(LCR, 0);
    if (i1 == 6 && i2 == 7)
        return "16750";
    /* ... not an XScale (IER bit 6) ... */
    uint8_t ier = rd(IER);
    wr(IER, ier & (uint8_t)~0x40);
    if (!(rd(IER) & 0x40)) {
        wr(IER, ier | 0x40);
        if (rd(IER) & 0x40)
            return "XScale";
    }
    wr(IER, ier);
    /* ... and a 16-byte FIFO, not a U6 16550A's 64. */
    int fifo = linux_size_fifo();
    if (fifo == 64)
        return "U6_16550A";
    if (fifo != 16)
        return "16550A with an odd FIFO";

    wr(LCR, save_lcr);
    wr(MCR, save_mcr);
    wr(FCR, 0x01); /* serial8250_clear_fifos */
    wr(FCR, 0x07);
    wr(FCR, 0x00);
    rd(RBR);
    wr(IER, 0);
    return "16550A";
}

static void test_linux_probe(void **state)
{
    (void)state;
    assert_true(vuart_input(&uart, '?')); /* typed before the probe: harmless */
    assert_string_equal(linux_autoconfig(), "16550A");
    assert_int_equal(out_len, 0); /* the probe's loopback bytes stayed inside */

    /* serial8250_do_startup: clear, then the THRE re-assert test ... */
    rd(LSR);
    rd(RBR);
    rd(IIR);
    rd(MSR);
    assert_int_not_equal(rd(LSR), 0xff);
    assert_int_equal(rd(LSR) & 0x20, 0x20);
    wr(IER, 0x02);
    uint8_t iir1 = rd(IIR);
    wr(IER, 0);
    wr(IER, 0x02);
    uint8_t iir = rd(IIR);
    wr(IER, 0);
    assert_false(!(iir1 & 0x01) && (iir & 0x01)); /* no UART_BUG_THRE */
    /* ... and the TXEN test. */
    wr(LCR, 0x03);
    wr(MCR, 0x0b);
    wr(IER, 0x02);
    uint8_t lsr = rd(LSR);
    iir = rd(IIR);
    wr(IER, 0);
    assert_false((lsr & 0x40) && (iir & 0x01)); /* no UART_BUG_TXEN */

    /* set_termios: 8n1, divisor, FIFO with trigger 8, RX interrupts. */
    wr(LCR, 0x83);
    wr(DLL, 1);
    wr(DLM, 0);
    wr(LCR, 0x03);
    wr(FCR, 0x81);
    wr(IER, 0x05);
    assert_int_equal(rd(IIR), 0xc1);
    assert_false(irq_level_now);
    assert_line_changes_only();
}

/* The guest side of Linux's interrupt handler: IIR, then receive while
 * LSR.DR, then transmit up to 16 bytes if LSR.THRE (serial8250_handle_irq,
 * rx_chars, tx_chars). */
static const char *guest_tx_buf;
static size_t guest_tx_len, guest_tx_pos;
static char guest_rx[64];
static size_t guest_rx_len;

static void guest_irq(void)
{
    uint8_t iir = rd(IIR);
    if (iir & 0x01)
        return;
    uint8_t lsr = rd(LSR);
    if ((lsr & 0x01) && (iir & 0x04)) {
        while (lsr & 0x01) {
            guest_rx[guest_rx_len++] = (char)rd(RBR);
            lsr = rd(LSR);
        }
    }
    if (lsr & 0x20) {
        for (int n = 0; n < 16 && guest_tx_pos < guest_tx_len; n++)
            wr(THR, (uint8_t)guest_tx_buf[guest_tx_pos++]);
        if (guest_tx_pos == guest_tx_len)
            wr(IER, rd(IER) & (uint8_t)~0x02); /* __stop_tx */
    }
}

static void test_linux_interrupt_driven(void **state)
{
    (void)state;
    const char msg[] = "Linux version 6.12 (an interrupt-driven console on Vireo)\n";

    wr(LCR, 0x03);
    wr(FCR, 0x81);
    wr(MCR, 0x0b);
    wr(IER, 0x05);
    guest_tx_buf = msg;
    guest_tx_len = sizeof(msg) - 1;
    guest_tx_pos = 0;
    guest_rx_len = 0;

    wr(IER, 0x07); /* __start_tx: raises THRE */
    for (int i = 0; i < 3; i++)
        vuart_input(&uart, "ls\r"[i]);
    int rounds = 0;
    while (irq_level_now && rounds++ < 100)
        guest_irq();
    assert_false(irq_level_now);
    assert_int_equal(out_len, sizeof(msg) - 1);
    assert_memory_equal(out, msg, sizeof(msg) - 1);
    assert_int_equal(guest_rx_len, 3);
    assert_memory_equal(guest_rx, "ls\r", 3);
    assert_int_equal(rd(IER), 0x05);
    assert_line_changes_only();
}

/* earlycon=uart8250,mmio,0x10000000: polls LSR for THRE|TEMT, writes THR;
 * with a baud rate given it programs LCR, IER, FCR, MCR and the divisor. */
static void test_earlycon(void **state)
{
    (void)state;
    const char *msg = "earlycon\n";

    wr(LCR, 0x03);
    wr(IER, 0);
    wr(FCR, 0);
    wr(MCR, 0x03);
    wr(LCR, 0x83);
    wr(DLL, 1);
    wr(DLM, 0);
    wr(LCR, 0x03);
    for (size_t i = 0; i < strlen(msg); i++) {
        int spins = 0;
        while ((rd(LSR) & 0x60) != 0x60)
            assert_true(spins++ < 10);
        wr(THR, (uint8_t)msg[i]);
    }
    assert_int_equal(out_len, strlen(msg));
    assert_memory_equal(out, msg, strlen(msg));
    assert_int_equal(irq_calls, 0);
}

static void test_no_line_no_output(void **state)
{
    (void)state;
    struct vuart u;
    struct mmio_dev d = {&vuart_ops, "uart", 0, VUART_SIZE, &u};
    uint64_t v;

    vuart_init(&u, NULL, NULL, NULL);
    assert_int_equal(d.ops->write(&d, 1, 1, 0x0f), 0);
    assert_int_equal(d.ops->write(&d, 0, 1, 'x'), 0);
    assert_true(vuart_input(&u, 'y'));
    assert_int_equal(d.ops->read(&d, 2, 1, &v), 0);
    assert_int_equal(v, 0x04);
    assert_int_equal(d.ops->read(&d, 0, 1, &v), 0);
    assert_int_equal(v, 'y');
}

/* A host hart feeds input while a vCPU hart drains it with interrupts on:
 * nothing is lost or reordered, and the line ends where the state says. */
#define STREAM_BYTES 200000
#define SPIN_LIMIT   20000000L /* a bound (seconds at worst), far above what a run needs */

static void *host_feeder(void *arg)
{
    (void)arg;
    long spins = 0;
    for (unsigned i = 0; i < STREAM_BYTES; i++) {
        while (vuart_input_room(&uart) == 0) {
            if (++spins > SPIN_LIMIT)
                return (void *)1;
            sched_yield();
        }
        /* Only this thread adds bytes, so the room it saw is still there. */
        if (!vuart_input(&uart, (char)(i * 7 + 3)))
            return (void *)2;
    }
    return NULL;
}

static void test_two_harts(void **state)
{
    (void)state;
    pthread_t t;
    void *res;

    wr(FCR, 0xc1);
    wr(IER, 0x05);
    assert_int_equal(pthread_create(&t, NULL, host_feeder, NULL), 0);
    unsigned got = 0;
    long spins = 0;
    while (got < STREAM_BYTES && spins < SPIN_LIMIT) {
        if (!(rd(LSR) & 0x01)) {
            spins++;
            sched_yield();
            continue;
        }
        uint8_t c = rd(RBR);
        if (c != (uint8_t)(got * 7 + 3))
            break;
        got++;
        if (got % 1000 == 0)
            rd(IIR); /* exercise the interrupt path too */
    }
    pthread_join(t, &res);
    assert_null(res);
    assert_int_equal(got, STREAM_BYTES);
    assert_int_equal(rd(LSR), 0x60); /* no overrun ever */
    assert_false(irq_level_now);
    assert_true(irq_calls > 0);
    assert_line_changes_only();
}

/* Two vCPU harts write THR at once: every byte comes out exactly once, and
 * each writer's bytes keep their order. */
#define TX_PER_WRITER 20000

static char tx_seen[2 * TX_PER_WRITER];
static unsigned tx_seen_len;
static unsigned tx_inside, tx_overlaps;

static void counting_output(void *ctx, char c)
{
    (void)ctx;
    /* Calls must come one at a time (the turn): catch any overlap, giving
     * one the time to happen. */
    if (__atomic_fetch_add(&tx_inside, 1, __ATOMIC_ACQUIRE) != 0)
        __atomic_fetch_add(&tx_overlaps, 1, __ATOMIC_RELAXED);
    tx_seen[tx_seen_len++] = c;
    for (volatile int i = 0; i < 50; i++)
        ;
    __atomic_fetch_sub(&tx_inside, 1, __ATOMIC_RELEASE);
}

static void *vcpu_writer(void *arg)
{
    char tag = (char)(intptr_t)arg;
    for (unsigned i = 0; i < TX_PER_WRITER; i++)
        if (dev.ops->write(&dev, THR, 1, (uint8_t)tag) != 0)
            return (void *)1;
    return NULL;
}

static void test_two_writers(void **state)
{
    (void)state;
    pthread_t a, b;
    void *ra, *rb;

    tx_seen_len = 0;
    tx_overlaps = 0;
    vuart_init(&uart, NULL, counting_output, NULL);
    assert_int_equal(pthread_create(&a, NULL, vcpu_writer, (void *)(intptr_t)'a'), 0);
    assert_int_equal(pthread_create(&b, NULL, vcpu_writer, (void *)(intptr_t)'b'), 0);
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    assert_null(ra);
    assert_null(rb);
    assert_int_equal(tx_overlaps, 0);
    assert_int_equal(tx_seen_len, 2 * TX_PER_WRITER);
    unsigned na = 0;
    for (unsigned i = 0; i < tx_seen_len; i++)
        na += tx_seen[i] == 'a';
    assert_int_equal(na, TX_PER_WRITER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_reset_values, setup),
        cmocka_unit_test_setup(test_transmit, setup),
        cmocka_unit_test_setup(test_thre_interrupt, setup),
        cmocka_unit_test_setup(test_rx_fifo_order_and_limit, setup),
        cmocka_unit_test_setup(test_rx_holding_register, setup),
        cmocka_unit_test_setup(test_rda_interrupt_and_line, setup),
        cmocka_unit_test_setup(test_rx_trigger_levels, setup),
        cmocka_unit_test_setup(test_iir_priority, setup),
        cmocka_unit_test_setup(test_fcr, setup),
        cmocka_unit_test_setup(test_divisor_latch, setup),
        cmocka_unit_test_setup(test_loopback, setup),
        cmocka_unit_test_setup(test_scratch, setup),
        cmocka_unit_test_setup(test_bad_widths, setup),
        cmocka_unit_test_setup(test_rest_of_window, setup),
        cmocka_unit_test_setup(test_linux_probe, setup),
        cmocka_unit_test_setup(test_linux_interrupt_driven, setup),
        cmocka_unit_test_setup(test_earlycon, setup),
        cmocka_unit_test_setup(test_no_line_no_output, setup),
        cmocka_unit_test_setup(test_two_harts, setup),
        cmocka_unit_test_setup(test_two_writers, setup),
    };
    return cmocka_run_group_tests_name("vuart", tests, NULL, NULL);
}
