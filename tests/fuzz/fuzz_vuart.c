/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the emulated 16550A (devices/vuart.h). The input is a
 * program of register reads and writes (any width the mmio_ops contract
 * allows; only byte accesses may succeed) and host-side vuart_input()
 * calls. Checks what the header promises: an irq line high exactly while
 * IIR bit 0 is 0 (sampled by a read that has no side effect on it: the
 * model's level must equal the last one driven), vuart_input_room() bytes
 * accepted without loss, and output bytes equal to what the guest wrote. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/vuart.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
    const uint8_t *p;
    size_t left;
};

static uint32_t take(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static struct {
    bool level;
    unsigned changes;
    int expect_out; /* byte the output callback may see; -1 any, -2 none */
    unsigned outputs;
} st;

static void set_level(void *ctl, unsigned source, bool level)
{
    if (source != 10 || ctl == NULL)
        abort();
    st.level = level;
    st.changes++;
}

static void output(void *ctx, char c)
{
    if (ctx == NULL)
        abort();
    if (st.expect_out == -2 || (st.expect_out >= 0 && (uint8_t)c != st.expect_out))
        abort(); /* output only for a THR write, of the byte written */
    st.expect_out = -1;
    st.outputs++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vuart u;
    static const unsigned widths[8] = {1, 1, 1, 1, 1, 2, 4, 8};
    struct input in = {data, size};
    struct irq_line irq = {set_level, &st, 10};
    struct mmio_dev dev = {&vuart_ops, "uart", 0x10000000, VUART_SIZE, &u};
    uint64_t v;

    memset(&st, 0, sizeof(st));
    st.expect_out = -1;
    vuart_init(&u, &irq, output, &st);
    while (in.left) {
        uint32_t op = take(&in);
        unsigned width = widths[(op >> 2) & 7];
        switch (op & 3) {
        case 0: { /* read */
            uint64_t off = take(&in);
            if (off & 0x80)
                off &= 7; /* mostly the real registers */
            if (off + width > VUART_SIZE)
                off = VUART_SIZE - width;
            v = 0;
            int rc = vuart_ops.read(&dev, off, width, &v);
            if (rc != 0 && rc != ERR_NOTSUP)
                abort();
            if (rc == 0 && (width != 1 || v > 0xff))
                abort();
            break;
        }
        case 1: { /* write */
            uint64_t off = take(&in);
            if (off & 0x80)
                off &= 7;
            if (off + width > VUART_SIZE)
                off = VUART_SIZE - width;
            uint64_t val = take(&in);
            if (width > 1)
                val |= (uint64_t)take(&in) << 8;
            unsigned before = st.outputs;
            /* A THR write: the byte must come out unchanged (or not at all,
             * in loopback). */
            st.expect_out = (off == 0 && width == 1 && !(u.lcr & 0x80)) ? (int)(val & 0xff) : -2;
            int rc = vuart_ops.write(&dev, off, width, val);
            if (rc != 0 && rc != ERR_NOTSUP)
                abort();
            if (rc == 0 && width != 1)
                abort();
            if (st.outputs > before + 1)
                abort(); /* one THR write, at most one byte out */
            break;
        }
        case 2: { /* host input */
            unsigned room = vuart_input_room(&u);
            if (room > VUART_FIFO_SIZE)
                abort();
            bool ok = vuart_input(&u, (char)take(&in));
            if (room && !ok)
                abort(); /* single-threaded: room is exact */
            break;
        }
        case 3: { /* a burst of host input */
            unsigned n = (op >> 2) & 31;
            for (unsigned i = 0; i < n; i++)
                vuart_input(&u, (char)('a' + i));
            break;
        }
        }
        /* IIR read has side effects; LSR/MSR too. Check the line against IIR
         * on a copy instead, so the program is not perturbed. */
        static struct vuart copy;
        memcpy(&copy, &u, sizeof(copy));
        struct irq_line none = {0};
        copy.irq = none;
        struct mmio_dev cdev = {&vuart_ops, "uart", 0x10000000, VUART_SIZE, &copy};
        uint8_t lcr = copy.lcr;
        if (!(lcr & 0x80)) { /* IIR is at offset 2 with DLAB clear */
            if (vuart_ops.read(&cdev, 2, 1, &v) != 0)
                abort();
            if (st.level != !(v & 1))
                abort();
        }
    }
    return 0;
}
