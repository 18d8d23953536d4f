/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual console: typed bytes the guest has no room for are held,
 * never dropped, and arrive in order when it reads; the host reader is
 * stopped at a full queue and resumed once a quarter is free; bytes a guest
 * clears from its UART FIFO or leaves unread at a reset still arrive;
 * binding, the escape, SBI reads, output routing and the log. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/console.h"
#include "core/vconsole.h"
#include "devices/vuart.h"

enum { RBR = 0, IER = 1, FCR = 2, LSR = 5 };

static struct vconsole_port port, port2;
static struct vuart uart;
static struct mmio_dev dev;

/* The host reader: every on/off call and the queue fill at that moment. */
static unsigned reader_calls;
static bool reader_on = true;
static unsigned reader_fill_at_stop, reader_fill_at_resume;

static void reader(void *ctx, bool on)
{
    assert_ptr_equal(ctx, &reader_calls);
    reader_calls++;
    reader_on = on;
    if (on)
        reader_fill_at_resume = port.in_count;
    else
        reader_fill_at_stop = port.in_count;
}

/* What reached the console. */
static char con[8192];
static size_t con_len;

static void con_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n && con_len < sizeof(con) - 1; i++)
        con[con_len++] = s[i];
    con[con_len] = '\0';
}

/* The shell. */
static char sh_in[256];
static size_t sh_len;
static unsigned sh_escapes;

static void sh_input(void *ctx, char c)
{
    (void)ctx;
    if (sh_len < sizeof(sh_in))
        sh_in[sh_len++] = c;
}

static void sh_escaped(void *ctx)
{
    (void)ctx;
    sh_escapes++;
}

static const struct vconsole_shell shell = {sh_input, sh_escaped, NULL};

static uint8_t rd(unsigned reg)
{
    uint64_t v = 0;
    assert_int_equal(dev.ops->read(&dev, reg, 1, &v), 0);
    return (uint8_t)v;
}

static void wr(unsigned reg, uint8_t v)
{
    assert_int_equal(dev.ops->write(&dev, reg, 1, v), 0);
}

/* Reads what the guest's UART has, as Linux's receive loop does. */
static size_t guest_read(char *buf, size_t max)
{
    size_t n = 0;
    while (n < max && (rd(LSR) & 0x01))
        buf[n++] = (char)rd(RBR);
    return n;
}

/* Reads until buf holds want bytes (from *n on), failing if the guest's
 * UART runs dry first. */
static void guest_read_until(char *buf, size_t *n, size_t want)
{
    while (*n < want) {
        size_t k = guest_read(buf + *n, want - *n);
        assert_true(k > 0);
        *n += k;
    }
}

static void type(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_true(vconsole_input_open());
        vconsole_input(s[i]);
    }
}

static void pattern(char *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)(' ' + (i * 7 + seed) % 90);
}

static int setup(void **state)
{
    (void)state;
    vconsole_test_reset();
    console_set_output(con_write);
    con_len = 0;
    con[0] = '\0';
    sh_len = 0;
    sh_escapes = 0;
    reader_calls = 0;
    reader_on = true;
    vuart_init(&uart, NULL, NULL, NULL);
    dev = (struct mmio_dev){&vuart_ops, "uart", 0, VUART_SIZE, &uart};
    vconsole_port_init(&port, "alpha");
    vconsole_set_reader(reader, &reader_calls);
    vconsole_port_attach(&port, &uart, NULL);
    reader_calls = 0; /* stopped while no port was attached, resumed now */
    assert_true(reader_on);
    return 0;
}

/* A paste much larger than the UART's FIFO: held, then all of it in order
 * as the guest reads; the reader never had to stop. */
static void test_held_in_order(void **state)
{
    (void)state;
    static char in[900], got[900];
    pattern(in, sizeof(in), 1);

    wr(FCR, 0x01);
    wr(IER, 0x01);
    type(in, sizeof(in));
    assert_int_equal(port.in_count, sizeof(in) - VUART_FIFO_SIZE);
    size_t n = 0;
    guest_read_until(got, &n, sizeof(got));
    assert_memory_equal(in, got, sizeof(in));
    assert_int_equal(port.in_count, 0);
    assert_int_equal(reader_calls, 0);
}

/* Flow control: stop exactly at a full queue, resume once a quarter is
 * free, and nothing is lost across it. */
static void test_flow_control(void **state)
{
    (void)state;
    static char in[VCONSOLE_IN_SIZE], got[VCONSOLE_IN_SIZE + 64];
    pattern(in, sizeof(in), 3);

    /* The guest does not listen yet: everything stays in the queue. */
    type(in, sizeof(in) - 1);
    assert_int_equal(reader_calls, 0);
    type(in + sizeof(in) - 1, 1);
    assert_int_equal(reader_calls, 1);
    assert_false(reader_on);
    assert_false(vconsole_input_open());
    assert_int_equal(reader_fill_at_stop, VCONSOLE_IN_SIZE);

    /* It enables receive interrupts and reads: the queue drains into the
     * FIFO; the reader resumes only with VCONSOLE_RESUME bytes free. */
    wr(FCR, 0x01);
    wr(IER, 0x01);
    size_t n = 0;
    while (!reader_on) {
        size_t k = guest_read(got + n, 1);
        assert_int_equal(k, 1);
        n += k;
    }
    assert_int_equal(reader_calls, 2);
    assert_int_equal(VCONSOLE_IN_SIZE - reader_fill_at_resume, VCONSOLE_RESUME);
    assert_true(vconsole_input_open());

    /* More typing goes behind what is queued. */
    type("XYZ", 3);
    guest_read_until(got, &n, sizeof(in) + 3);
    assert_memory_equal(got, in, sizeof(in));
    assert_memory_equal(got + sizeof(in), "XYZ", 3);
}

/* A guest that clears its receive FIFO (Linux closing and reopening the
 * port) does not lose what was in it. */
static void test_fifo_clear_keeps_input(void **state)
{
    (void)state;
    char got[64];

    wr(FCR, 0x01);
    wr(IER, 0x01);
    type("0123456789abcdefghij", 20);
    assert_int_equal(guest_read(got, 2), 2);
    wr(IER, 0x00); /* shutdown: interrupts off, FIFOs cleared, RBR read */
    wr(FCR, 0x07);
    assert_false(rd(LSR) & 0x01);
    (void)rd(RBR);
    wr(FCR, 0x00);
    wr(FCR, 0x01); /* startup */
    wr(IER, 0x01);
    size_t n = 2;
    guest_read_until(got, &n, 20);
    assert_memory_equal(got + 2, "23456789abcdefghij", 18);
}

/* A VM reset: what its UART held unread is taken back, ahead of what was
 * typed meanwhile, and read by the next boot. */
static void test_reset_keeps_input(void **state)
{
    (void)state;
    char got[64];

    wr(FCR, 0x01);
    wr(IER, 0x01);
    type("abcdefghijklmnopqrstuvwxyz", 26);
    assert_int_equal(guest_read(got, 3), 3);
    vconsole_port_detach(&port);
    type("0123", 4); /* while it reboots */
    vuart_init(&uart, NULL, NULL, NULL);
    vconsole_port_attach(&port, &uart, NULL);
    assert_int_equal(guest_read(got, sizeof(got)), 0); /* not listening yet */
    wr(FCR, 0x01);
    wr(IER, 0x01);
    size_t n = 3;
    guest_read_until(got, &n, 30);
    assert_memory_equal(got, "abcdefghijklmnopqrstuvwxyz0123", 30);
}

/* A guest that reads through SBI gets the queue, in order; once its UART
 * listens the UART does. */
static void test_sbi_read(void **state)
{
    (void)state;
    char got[8];

    type("hello", 5);
    assert_int_equal(vconsole_port_read(&port, got, 3), 3);
    assert_memory_equal(got, "hel", 3);
    wr(IER, 0x01);
    assert_int_equal(vconsole_port_read(&port, got, 3), 0);
    /* FIFOs off: one byte at a time, the next as soon as it is read. */
    assert_int_equal(uart.rx_count, 1);
    assert_int_equal(guest_read(got, sizeof(got)), 2);
    assert_memory_equal(got, "lo", 2);
}

/* Binding: unbound bytes to the shell, bound ones to the port, Ctrl-]
 * back; only the bound VM's output reaches the console, all of it the log;
 * a guest can never print the status byte. */
static void test_binding(void **state)
{
    (void)state;
    char got[8];
    char log[64];
    uint64_t total;

    vconsole_set_shell(&shell);
    assert_true(vconsole_shell_active());
    wr(FCR, 0x01);
    wr(IER, 0x01);
    type("vm", 2);
    assert_int_equal(sh_len, 2);
    assert_null(vconsole_bound());
    vconsole_output(&port, "hidden\n", 7);
    assert_int_equal(con_len, 0);

    vconsole_bind(&port);
    assert_ptr_equal(vconsole_bound(), &port);
    type("ls\r", 3);
    assert_int_equal(sh_len, 2);
    assert_int_equal(guest_read(got, sizeof(got)), 3);
    assert_memory_equal(got, "ls\r", 3);
    vconsole_output(&port, "shown\x1e\n", 7);
    assert_string_equal(con, "shown?\n");

    char esc = VCONSOLE_ESC;
    type(&esc, 1);
    assert_int_equal(sh_escapes, 1);
    assert_null(vconsole_bound());
    type("x", 1);
    assert_int_equal(sh_len, 3);
    assert_int_equal(sh_in[2], 'x');
    assert_int_equal(guest_read(got, sizeof(got)), 0);

    size_t n = vconsole_port_log(&port, log, sizeof(log), &total);
    assert_int_equal(total, 14);
    assert_memory_equal(log, "hidden\nshown\x1e\n", n);
}

/* Bound to a VM whose queue is full: the reader stops at once; unbinding
 * resumes it for the shell, and the queued bytes still wait for the VM. */
static void test_bind_full_queue(void **state)
{
    (void)state;
    static char in[VCONSOLE_IN_SIZE];
    pattern(in, sizeof(in), 5);

    vconsole_set_shell(&shell);
    vconsole_bind(&port);
    type(in, sizeof(in));
    assert_false(reader_on);
    vconsole_bind(NULL);
    assert_true(reader_on);
    assert_int_equal(port.in_count, VCONSOLE_IN_SIZE);
    vconsole_bind(&port);
    assert_false(reader_on);
}

/* Two VMs without the shell: whole lines tagged with the VM's name;
 * input to the first running one. */
static void test_shared_console(void **state)
{
    (void)state;
    char got[4];

    vconsole_port_init(&port2, "beta");
    vconsole_output(&port2, "one ", 4);
    assert_int_equal(con_len, 0);
    vconsole_output(&port2, "line\n", 5);
    vconsole_output(&port, "partial", 7);
    vconsole_port_flush(&port);
    assert_string_equal(con, "[beta] one line\n[alpha] partial\n");

    wr(IER, 0x01);
    type("q", 1);
    assert_int_equal(guest_read(got, sizeof(got)), 1);
    assert_int_equal(got[0], 'q');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_held_in_order, setup),
        cmocka_unit_test_setup(test_flow_control, setup),
        cmocka_unit_test_setup(test_fifo_clear_keeps_input, setup),
        cmocka_unit_test_setup(test_reset_keeps_input, setup),
        cmocka_unit_test_setup(test_sbi_read, setup),
        cmocka_unit_test_setup(test_binding, setup),
        cmocka_unit_test_setup(test_bind_full_queue, setup),
        cmocka_unit_test_setup(test_shared_console, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
