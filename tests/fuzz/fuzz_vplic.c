/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the virtual PLIC (devices/vplic.h), 95 sources and 4
 * contexts as on QEMU's virt board. The input is a program: each operation
 * is an opcode byte followed by its operands (missing bytes read as 0).
 * Register accesses respect the mmio_ops contract (width 1, 2, 4 or 8 and
 * offset + width <= VPLIC_SIZE) but may be misaligned or of the wrong width,
 * which the model must refuse. After every step each context's last
 * notification must match its EIP, as the header promises. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/mmio.h"
#include "devices/vplic.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NDEV      95
#define NCONTEXTS 4

struct input {
    const uint8_t *p;
    size_t left;
};

static uint32_t take(struct input *in, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++) {
        v |= (uint32_t)(in->left ? *in->p : 0) << (8 * i);
        if (in->left) {
            in->p++;
            in->left--;
        }
    }
    return v;
}

static bool notified[VPLIC_MAX_CONTEXTS];

static void notify(void *opaque, unsigned context, bool eip)
{
    if (opaque == NULL || context >= NCONTEXTS)
        abort();
    notified[context] = eip;
}

/* An offset in one of the register blocks, mostly aligned. */
static uint64_t pick_offset(struct input *in)
{
    uint32_t sel = take(in, 1), idx = take(in, 2);
    uint64_t off;
    switch (sel & 7) {
    case 0:
        off = 4ull * (idx % (NDEV + 8)); /* priorities */
        break;
    case 1:
        off = 0x1000 + 4ull * (idx % 32); /* pending */
        break;
    case 2:
    case 3: /* enables, a context or two beyond the last */
        off = 0x2000 + 0x80ull * ((idx >> 8) % (NCONTEXTS + 2)) + 4ull * (idx % 32);
        break;
    case 4:
    case 5: /* threshold and claim/complete */
        off = 0x200000 + 0x1000ull * ((idx >> 8) % (NCONTEXTS + 2)) + 4ull * (idx & 1);
        break;
    default: /* anywhere */
        off = ((uint64_t)idx << 10 | take(in, 2)) % VPLIC_SIZE;
        break;
    }
    if (sel & 0x80)
        off += (sel >> 4) & 7; /* misaligned */
    return off;
}

static unsigned pick_width(uint32_t w)
{
    static const unsigned widths[8] = {4, 4, 4, 4, 4, 1, 2, 8};
    return widths[w & 7];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vplic p;
    struct input in = {data, size};
    struct mmio_dev dev = {&vplic_ops, "plic", 0xc000000, VPLIC_SIZE, &p};
    uint64_t v;

    memset(notified, 0, sizeof(notified));
    vplic_init(&p, NDEV, NCONTEXTS, notify, &dev);
    while (in.left) {
        uint32_t op = take(&in, 1);
        switch (op % 8) {
        case 0:
        case 1: {
            unsigned width = pick_width(op >> 3);
            uint64_t off = pick_offset(&in);
            if (off + width > VPLIC_SIZE)
                off = VPLIC_SIZE - width;
            v = 0;
            int rc = vplic_ops.read(&dev, off, width, &v);
            if (rc != 0 && rc != ERR_NOTSUP)
                abort();
            if (rc == 0 && (width != 4 || off % 4))
                abort(); /* only aligned 32-bit accesses are valid */
            break;
        }
        case 2:
        case 3: {
            unsigned width = pick_width(op >> 3);
            uint64_t off = pick_offset(&in);
            if (off + width > VPLIC_SIZE)
                off = VPLIC_SIZE - width;
            uint64_t val = take(&in, 2);
            if (op & 0x80)
                val |= (uint64_t)take(&in, 4) << 16;
            int rc = vplic_ops.write(&dev, off, width, val);
            if (rc != 0 && rc != ERR_NOTSUP)
                abort();
            if (rc == 0 && (width != 4 || off % 4))
                abort();
            break;
        }
        case 4:
            vplic_set_level(&p, take(&in, 1), op & 0x80);
            break;
        case 5:
            vplic_trigger(&p, take(&in, 1));
            break;
        case 6:
            vplic_set_edge(&p, take(&in, 1), op & 0x80);
            break;
        case 7: { /* claim on a context, then complete what it gave */
            unsigned c = (op >> 3) % (NCONTEXTS + 1);
            uint64_t claim = 0x200004 + 0x1000ull * c;
            if (vplic_ops.read(&dev, claim, 4, &v) != 0 || v > NDEV)
                abort();
            if (v && (op & 0x80) && vplic_ops.write(&dev, claim, 4, v) != 0)
                abort();
            break;
        }
        }
        for (unsigned c = 0; c < NCONTEXTS; c++)
            if (vplic_eip(&p, c) != notified[c])
                abort();
        if (vplic_eip(&p, NCONTEXTS) || vplic_eip(&p, VPLIC_MAX_CONTEXTS + 1))
            abort();
    }
    return 0;
}
