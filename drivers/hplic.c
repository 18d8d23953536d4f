/* SPDX-License-Identifier: Apache-2.0 */
#include "drivers/hplic.h"

#include "arch/arch.h"

#define PLIC_PRIORITY(s)  (4u * (s))
#define PLIC_ENABLE(c, s) (0x2000u + 0x80u * (c) + 4u * ((s) / 32))
#define PLIC_THRESHOLD(c) (0x200000u + 0x1000u * (c))
#define PLIC_CLAIM(c)     (0x200004u + 0x1000u * (c))

void hplic_init(struct hplic *p, uintptr_t base, unsigned ndev)
{
    p->base = base;
    p->ndev = ndev;
}

void hplic_set_priority(struct hplic *p, unsigned source, unsigned priority)
{
    if (source && source <= p->ndev)
        mmio_write32(p->base + PLIC_PRIORITY(source), priority);
}

void hplic_enable(struct hplic *p, unsigned context, unsigned source, bool on)
{
    if (!source || source > p->ndev)
        return;
    uintptr_t reg = p->base + PLIC_ENABLE(context, source);
    uint32_t bits = mmio_read32(reg);
    uint32_t bit = 1u << (source % 32);
    mmio_write32(reg, on ? bits | bit : bits & ~bit);
}

void hplic_set_threshold(struct hplic *p, unsigned context, unsigned threshold)
{
    mmio_write32(p->base + PLIC_THRESHOLD(context), threshold);
}

unsigned hplic_claim(struct hplic *p, unsigned context)
{
    return mmio_read32(p->base + PLIC_CLAIM(context));
}

void hplic_complete(struct hplic *p, unsigned context, unsigned source)
{
    mmio_write32(p->base + PLIC_CLAIM(context), source);
}
