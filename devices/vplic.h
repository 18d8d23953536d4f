/* SPDX-License-Identifier: Apache-2.0 */
/* A virtual PLIC: the RISC-V Platform-Level Interrupt Controller as a guest
 * sees it (riscv-plic-spec 1.0.0, the "sifive,plic-1.0.0" binding Linux
 * drives).  Context i is vCPU i's S-mode external interrupt.
 *
 * Register map (offsets from the base; 32-bit registers):
 *   4*N                      priority of source N (N = 1..ndev; 0 reserved)
 *   0x1000 + 4*W             pending bits of sources 32W..32W+31 (read-only)
 *   0x2000 + 0x80*C + 4*W    enable bits of sources 32W..32W+31 for context C
 *   0x200000 + 0x1000*C      priority threshold of context C
 *   0x200004 + 0x1000*C      claim (read) / complete (write) of context C
 * The full map is VPLIC_SIZE bytes; the model decodes by offset alone, so any
 * mapping that covers the last context's claim register works (Vireo maps
 * less on QEMU-like layouts).
 *
 * Accesses: only aligned 32-bit loads and stores are valid, as the spec says;
 * anything else makes the ops return ERR_NOTSUP and Vireo stops the VM (a guest that
 * does that is broken, and guessing what it meant would hide it).  Reads of
 * offsets that hold no register, of sources above ndev and of contexts at or
 * above ncontexts return 0; writes to them are ignored.
 *
 * Priorities and thresholds are WARL with 3 variable bits: a write keeps
 * value & 7.  Priority 0 means "never interrupt": such a source can be
 * pending but is never signalled and never claimed.  A context's EIP is set
 * when some pending source enabled for it has priority > its threshold.
 *
 * Claim returns the pending source enabled for the context with the highest
 * priority (ties: lowest ID), clears its pending bit and puts it in service;
 * 0 when there is none.  As the spec says, the threshold does not affect
 * claim: a guest may mask notifications with the threshold and poll.
 * Complete (writing a source ID) is ignored unless the source is enabled for
 * that context; the spec does not check that this context claimed it.
 * Otherwise it ends the source's service, and the gateway forwards the next
 * request, if any.
 *
 * Gateways, per source (the spec's rules; invariant: a source is never both
 * pending and in service):
 *   level (the default): while the input line is high and the source is not
 *     in service it is pending.  Lowering the line never retracts a pending
 *     request (the spec's gateway cannot); the guest's handler finds no work.
 *     On completion, a line still high makes the source pending again.
 *     vplic_trigger() on a level source is a pulse: pending unless in service.
 *   edge: each vplic_trigger() (or rising edge through vplic_set_level) makes
 *     the source pending; triggers while it is already pending merge into that
 *     one request.  Triggers while it is in service are remembered as a single
 *     request (a counter saturating at one) that becomes pending on
 *     completion, so an event the handler may have missed is never lost.
 *
 * Concurrency: every entry point may be called from any hart; the state is
 * under a spinlock.  notify(opaque, context, eip) is called after that lock
 * is released, once per change of a context's EIP, and it may call back into
 * this vplic.  Calls are serialized and reported in order: when several harts
 * change the state at once, one of them reports for all, so the last call for
 * a context always carries its current EIP (a change undone before it was
 * reported may be reported not at all).  vplic_eip() takes no lock. */
#ifndef VIREO_DEVICES_VPLIC_H
#define VIREO_DEVICES_VPLIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "lib/spinlock.h"

#define VPLIC_MAX_SOURCES  1024 /* IDs 0..1023; 0 is "no interrupt" */
#define VPLIC_MAX_CONTEXTS 64   /* one bit each in a uint64_t */
#define VPLIC_PRIO_MAX     7    /* priority and threshold are 0..7 */
#define VPLIC_SIZE         0x4000000u

#define VPLIC_WORDS (VPLIC_MAX_SOURCES / 64)

struct vplic {
    struct spinlock lock; /* guards everything up to notify_lock */
    unsigned ndev;        /* sources 1..ndev exist */
    unsigned ncontexts;
    unsigned nwords; /* bitmap words that hold sources 0..ndev */
    uint8_t priority[VPLIC_MAX_SOURCES];
    uint8_t threshold[VPLIC_MAX_CONTEXTS];
    /* by_prio[l]: sources whose priority is l, so a claim scans words, not
     * sources. */
    uint64_t by_prio[VPLIC_PRIO_MAX + 1][VPLIC_WORDS];
    uint64_t pending[VPLIC_WORDS];    /* the spec's IP bits */
    uint64_t in_service[VPLIC_WORDS]; /* claimed and not yet completed */
    uint64_t line[VPLIC_WORDS];       /* input levels */
    uint64_t edge[VPLIC_WORDS];       /* gateway kind: 1 edge, 0 level */
    uint64_t deferred[VPLIC_WORDS];   /* edge seen while in service */
    uint64_t enable[VPLIC_MAX_CONTEXTS][VPLIC_WORDS];
    uint64_t eip; /* bit C: context C's EIP; written under lock, read atomically */

    /* Reporting EIP changes outside the lock (see above). */
    struct spinlock notify_lock;
    uint32_t notify_dirty; /* eip changed since the reporter last looked */
    uint64_t reported;     /* EIP values last passed to notify */
    void (*notify)(void *opaque, unsigned context, bool eip);
    void *opaque;
};

/* Reset state: every register 0, every gateway level-triggered with its line
 * low.  ndev is clamped to 1..1023 and ncontexts to 1..VPLIC_MAX_CONTEXTS.
 * notify may be NULL. */
void vplic_init(struct vplic *p, unsigned ndev, unsigned ncontexts,
                void (*notify)(void *opaque, unsigned context, bool eip), void *opaque);

/* The guest's view; dev->priv is the struct vplic. */
extern const struct mmio_ops vplic_ops;

/* Input line of source (1..ndev; others ignored).  p is the struct vplic, so
 * this can be struct irq_line's set_level. */
void vplic_set_level(void *p, unsigned source, bool level);

/* One interrupt event from source (1..ndev; others ignored). */
void vplic_trigger(struct vplic *p, unsigned source);

/* Choose source's gateway: edge (true) or level (false, the default).  Meant
 * for setup; a remembered edge is dropped, and a level source whose line is
 * high becomes pending unless in service. */
void vplic_set_edge(struct vplic *p, unsigned source, bool edge);

/* Context's EIP now (false for a context that does not exist). */
bool vplic_eip(const struct vplic *p, unsigned context);

/* Snapshots (docs/snapshot-devices.md).  vplic_save writes the state the
 * guest and the devices gave it (priorities, thresholds, enables, the
 * gateways' pending, in-service, line, edge and deferred bits) and returns
 * its length, or ERR_NOSPC.  vplic_load checks every field first (format
 * VPLIC_STATE_VERSION, the same ndev and ncontexts: ERR_MISMATCH, values
 * in range, the gateways' invariants) and changes nothing when it refuses
 * one; on success it recomputes every EIP and calls notify for every
 * context, changed or not, since the vCPUs' view may be older than the
 * state loaded. */
#define VPLIC_STATE_VERSION 1
long vplic_save(const struct vplic *p, void *buf, size_t size);
int vplic_load(struct vplic *p, const void *buf, size_t size);

#endif
