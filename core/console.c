/* SPDX-License-Identifier: Apache-2.0 */
#include "core/console.h"

#include <stdbool.h>

#include "lib/spinlock.h"

static struct spinlock console_lock = SPINLOCK_INIT;
static console_write_fn console_out;
static bool console_panicking;

void console_set_output(console_write_fn fn)
{
    spin_lock(&console_lock);
    console_out = fn;
    spin_unlock(&console_lock);
}

/* Output is gathered in a small buffer so a device sees few, large writes. */
struct console_buf {
    char data[128];
    size_t len;
};

static void console_flush(struct console_buf *b)
{
    if (b->len && console_out)
        console_out(b->data, b->len);
    b->len = 0;
}

static void console_buf_put(void *ctx, const char *s, size_t n)
{
    struct console_buf *b = ctx;

    while (n) {
        size_t room = sizeof(b->data) - b->len;
        size_t k = n < room ? n : room;
        for (size_t i = 0; i < k; i++)
            b->data[b->len + i] = s[i];
        b->len += k;
        s += k;
        n -= k;
        if (b->len == sizeof(b->data))
            console_flush(b);
    }
}

static bool console_lock_take(void)
{
    if (__atomic_load_n(&console_panicking, __ATOMIC_ACQUIRE))
        return false;
    spin_lock(&console_lock);
    return true;
}

void console_write(const char *s, size_t n)
{
    bool locked = console_lock_take();

    if (console_out)
        console_out(s, n);
    if (locked)
        spin_unlock(&console_lock);
}

int console_vprintf(const char *fmt, va_list ap)
{
    struct console_buf b;
    bool locked = console_lock_take();

    b.len = 0;
    int n = fmt_vformat(console_buf_put, &b, fmt, ap);
    console_flush(&b);
    if (locked)
        spin_unlock(&console_lock);
    return n;
}

int console_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = console_vprintf(fmt, ap);
    va_end(ap);
    return n;
}

void console_enter_panic(void)
{
    __atomic_store_n(&console_panicking, true, __ATOMIC_RELEASE);
}

#ifdef VIREO_HOST
/* Host tests only: leave the lock held, as a hart interrupted mid-print would. */
void console_test_hold_lock(void)
{
    spin_lock(&console_lock);
}
#endif
