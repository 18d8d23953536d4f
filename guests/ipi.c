/* SPDX-License-Identifier: Apache-2.0 */
/* ipi: inter-processor interrupts between the guest's harts, and waking a
 * hart that waits in WFI.  Every other hart enables its software interrupt
 * and sits in wfi; the boot hart sends each of them IPIs, one at a time
 * (hart mask with base 0) and to all at once (base -1), and checks every
 * one arrives.  Runs natively and under Vireo, with 1 to 8 harts. */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "guests/rt/sbi.h"

const char guest_name[] = "ipi";

#define MAX_HARTS  8
#define ROUNDS     10
#define WAIT_MS    2000
#define SIE_SSIE   (1ul << 1)
#define IRQ_S_SOFT 1
#define IPI_EID    0x735049ul

static volatile uint32_t got[MAX_HARTS];
static volatile uint32_t ready;
static uint64_t ids[MAX_HARTS];
static int nharts;

static int index_of(uint64_t hartid)
{
    for (int i = 0; i < nharts; i++) {
        if (ids[i] == hartid)
            return i;
    }
    return -1;
}

static void on_irq(uint64_t cause)
{
    if (cause != IRQ_S_SOFT)
        guest_fail("expected only software interrupts, got cause %lu", (unsigned long)cause);
    csr_clear(sip, SIE_SSIE); /* the IPI is taken: clear it */
    int i = index_of(guest_hartid());
    if (i >= 0)
        __atomic_fetch_add(&got[i], 1, __ATOMIC_RELEASE);
}

static void secondary(uint64_t hartid, void *arg)
{
    (void)hartid;
    (void)arg;
    guest_set_irq_handler(on_irq);
    csr_set(sie, SIE_SSIE);
    csr_set(sstatus, SSTATUS_SIE);
    __atomic_fetch_add(&ready, 1, __ATOMIC_RELEASE);
    for (;;)
        __asm__ volatile("wfi" ::: "memory");
}

static void send(unsigned long mask, unsigned long base)
{
    struct sbiret r = sbi_call(IPI_EID, 0, mask, base, 0);
    if (r.error)
        guest_fail("send_ipi(%#lx, %ld) returned %ld", mask, (long)base, r.error);
}

static void wait_for(int i, uint32_t want, const char *how)
{
    uint64_t limit = guest_time() + guest_ms_to_ticks(WAIT_MS);

    while (__atomic_load_n(&got[i], __ATOMIC_ACQUIRE) < want) {
        if (guest_time() > limit)
            guest_fail("hart %lu: expected IPI %u (%s) within %d ms, it has %u",
                       (unsigned long)ids[i], want, how, WAIT_MS, got[i]);
    }
}

void guest_main(uint64_t hartid)
{
    nharts = gfdt_harts(ids, MAX_HARTS);
    if (nharts > MAX_HARTS)
        nharts = MAX_HARTS;
    guest_set_irq_handler(on_irq);
    csr_set(sie, SIE_SSIE);
    csr_set(sstatus, SSTATUS_SIE);

    uint32_t started = 0;
    for (int i = 0; i < nharts; i++) {
        if (ids[i] == hartid)
            continue;
        long err = guest_hart_start(ids[i], secondary, NULL);
        if (err)
            guest_fail("hart_start(%lu) returned %ld", (unsigned long)ids[i], err);
        started++;
    }
    uint64_t limit = guest_time() + guest_ms_to_ticks(WAIT_MS);
    while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < started) {
        if (guest_time() > limit)
            guest_fail("expected %u harts ready, %u came", started, ready);
    }

    int me = index_of(hartid);
    for (uint32_t round = 1; round <= ROUNDS; round++) {
        for (int i = 0; i < nharts; i++) {
            if (i == me)
                continue;
            send(1ul << ids[i], 0);
            wait_for(i, round, "its own");
        }
    }
    /* base -1: every hart, this one included. */
    send(0, (unsigned long)-1);
    for (int i = 0; i < nharts; i++)
        wait_for(i, i == me ? 1 : ROUNDS + 1, "broadcast");
    guest_pass("%d hart(s): %d IPIs each woke its target from wfi, and a broadcast reached all",
               nharts, ROUNDS);
}
