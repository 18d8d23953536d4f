/* SPDX-License-Identifier: Apache-2.0 */
#include "core/irq.h"

#include "arch/arch.h"
#include "core/hart.h"
#include "drivers/hplic.h"

#define IRQ_MAX_SOURCES 1024

static struct hplic host_plic;
static bool have_plic;
static int irq_context = -1; /* the boot hart's S-mode PLIC context */
static struct {
    irq_handler fn;
    void *ctx;
} handlers[IRQ_MAX_SOURCES];

bool irq_init(const struct platform *p)
{
    if (!p->plic.present)
        return false;
    int i = platform_hart_index(p, harts[0].hartid);
    if (i < 0 || p->harts[i].plic_s_context < 0)
        return false;
    irq_context = p->harts[i].plic_s_context;
    hplic_init(&host_plic, (uintptr_t)p->plic.dev.base, p->plic.ndev);
    hplic_set_threshold(&host_plic, (unsigned)irq_context, 0);
    have_plic = true;
    return true;
}

bool irq_register(unsigned source, irq_handler handler, void *ctx)
{
    if (!have_plic || !source || source >= IRQ_MAX_SOURCES || source > host_plic.ndev)
        return false;
    handlers[source].fn = handler;
    handlers[source].ctx = ctx;
    hplic_set_priority(&host_plic, source, 1);
    hplic_enable(&host_plic, (unsigned)irq_context, source, true);
    return true;
}

void irq_dispatch(void)
{
    if (!have_plic || arch_this_hart() != &harts[0])
        return;
    for (;;) {
        unsigned s = hplic_claim(&host_plic, (unsigned)irq_context);
        if (!s)
            return;
        if (s < IRQ_MAX_SOURCES && handlers[s].fn)
            handlers[s].fn(handlers[s].ctx);
        else
            hplic_enable(&host_plic, (unsigned)irq_context, s, false); /* nobody wants it */
        hplic_complete(&host_plic, (unsigned)irq_context, s);
    }
}
