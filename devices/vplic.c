/* SPDX-License-Identifier: Apache-2.0 */
/* Virtual PLIC; the behaviour is described in vplic.h. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/vplic.h"
#include "lib/err.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/wire.h"

_Static_assert(VPLIC_MAX_CONTEXTS <= 64, "EIP bits live in one uint64_t");
_Static_assert(VPLIC_MAX_SOURCES % 64 == 0, "bitmaps are whole words");

#define PLIC_PENDING    0x1000u
#define PLIC_ENABLE     0x2000u
#define PLIC_ENABLE_CTX 0x80u
#define PLIC_CONTEXT    0x200000u
#define PLIC_CONTEXT_SZ 0x1000u
#define PLIC_CLAIM      4u

static bool bit_get(const uint64_t *map, unsigned n)
{
    return (map[n / 64] >> (n % 64)) & 1;
}

static void bit_put(uint64_t *map, unsigned n, bool v)
{
    uint64_t m = (uint64_t)1 << (n % 64);

    if (v)
        map[n / 64] |= m;
    else
        map[n / 64] &= ~m;
}

static bool vplic_source_valid(const struct vplic *p, unsigned source)
{
    return source >= 1 && source <= p->ndev;
}

/* The source a claim by context c would take among those with priority >
 * floor: highest priority first, then lowest ID; 0 if none.  O(levels *
 * nwords): the priority classes are bitmaps too. */
static unsigned vplic_best(const struct vplic *p, unsigned c, unsigned floor)
{
    uint64_t ready[VPLIC_WORDS];
    bool any = false;

    for (unsigned w = 0; w < p->nwords; w++) {
        ready[w] = p->pending[w] & p->enable[c][w];
        any |= ready[w] != 0;
    }
    if (!any)
        return 0;
    for (unsigned l = VPLIC_PRIO_MAX; l > floor; l--) {
        for (unsigned w = 0; w < p->nwords; w++) {
            uint64_t hit = ready[w] & p->by_prio[l][w];

            if (hit)
                return w * 64 + (unsigned)__builtin_ctzll(hit);
        }
    }
    return 0;
}

/* Recomputes context c's EIP; true if it changed.  Lock held. */
static bool vplic_update_context(struct vplic *p, unsigned c)
{
    uint64_t m = (uint64_t)1 << c;
    uint64_t old = p->eip;
    uint64_t now = vplic_best(p, c, p->threshold[c]) ? old | m : old & ~m;

    if (now == old)
        return false;
    __atomic_store_n(&p->eip, now, __ATOMIC_RELEASE);
    return true;
}

/* Recomputes the EIP of every context that has source enabled: only those
 * can see a change in its pending bit or priority.  Lock held. */
static bool vplic_update_source(struct vplic *p, unsigned source)
{
    bool changed = false;

    for (unsigned c = 0; c < p->ncontexts; c++)
        if (bit_get(p->enable[c], source))
            changed |= vplic_update_context(p, c);
    return changed;
}

/* The gateway forwards a request: the source becomes pending (merging with a
 * request already pending).  Lock held; never called while in service. */
static bool vplic_request(struct vplic *p, unsigned source)
{
    if (bit_get(p->pending, source))
        return false;
    bit_put(p->pending, source, true);
    return vplic_update_source(p, source);
}

/* An edge gateway's event: a request now, or one remembered request for
 * when the service in progress completes.  Lock held. */
static bool vplic_edge_event(struct vplic *p, unsigned source)
{
    if (bit_get(p->in_service, source)) {
        bit_put(p->deferred, source, true);
        return false;
    }
    return vplic_request(p, source);
}

/* Hands EIP changes to notify, outside the state lock so that notify may
 * call back into the vplic.  Whoever holds notify_lock reports until no
 * change is left; a caller that cannot take it leaves its change flagged for
 * the holder.  The two seq_cst fences make sure that either the holder sees
 * the flag after unlocking or the flagger's trylock succeeds. */
static void vplic_report(struct vplic *p)
{
    __atomic_store_n(&p->notify_dirty, 1, __ATOMIC_RELEASE);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    while (spin_trylock(&p->notify_lock)) {
        while (__atomic_exchange_n(&p->notify_dirty, 0, __ATOMIC_ACQUIRE)) {
            uint64_t now = __atomic_load_n(&p->eip, __ATOMIC_ACQUIRE);
            uint64_t diff = now ^ p->reported;

            p->reported = now;
            while (diff) {
                unsigned c = (unsigned)__builtin_ctzll(diff);

                diff &= diff - 1;
                if (p->notify)
                    p->notify(p->opaque, c, (now >> c) & 1);
            }
        }
        spin_unlock(&p->notify_lock);
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (!__atomic_load_n(&p->notify_dirty, __ATOMIC_RELAXED))
            break;
    }
}

void vplic_init(struct vplic *p, unsigned ndev, unsigned ncontexts,
                void (*notify)(void *opaque, unsigned context, bool eip), void *opaque)
{
    memset(p, 0, sizeof(*p));
    spin_init(&p->lock);
    spin_init(&p->notify_lock);
    if (ndev < 1)
        ndev = 1;
    if (ndev > VPLIC_MAX_SOURCES - 1)
        ndev = VPLIC_MAX_SOURCES - 1;
    if (ncontexts < 1)
        ncontexts = 1;
    if (ncontexts > VPLIC_MAX_CONTEXTS)
        ncontexts = VPLIC_MAX_CONTEXTS;
    p->ndev = ndev;
    p->ncontexts = ncontexts;
    p->nwords = ndev / 64 + 1;
    /* Every source starts at priority 0: never interrupts. */
    for (unsigned s = 1; s <= ndev; s++)
        bit_put(p->by_prio[0], s, true);
    p->notify = notify;
    p->opaque = opaque;
}

void vplic_set_level(void *opaque, unsigned source, bool level)
{
    struct vplic *p = opaque;
    bool changed = false;
    bool was;

    if (!vplic_source_valid(p, source))
        return;
    spin_lock(&p->lock);
    was = bit_get(p->line, source);
    bit_put(p->line, source, level);
    if (bit_get(p->edge, source)) {
        /* Only a rising edge is an event. */
        if (level && !was)
            changed = vplic_edge_event(p, source);
    } else if (level && !bit_get(p->in_service, source)) {
        /* A high line is a standing request; merged while pending. */
        changed = vplic_request(p, source);
    }
    spin_unlock(&p->lock);
    if (changed)
        vplic_report(p);
}

void vplic_trigger(struct vplic *p, unsigned source)
{
    bool changed = false;

    if (!vplic_source_valid(p, source))
        return;
    spin_lock(&p->lock);
    if (bit_get(p->edge, source))
        changed = vplic_edge_event(p, source);
    else if (!bit_get(p->in_service, source))
        changed = vplic_request(p, source);
    /* A pulse on a level source while in service is over before completion
     * could look at the line: dropped, as on hardware. */
    spin_unlock(&p->lock);
    if (changed)
        vplic_report(p);
}

void vplic_set_edge(struct vplic *p, unsigned source, bool edge)
{
    bool changed = false;

    if (!vplic_source_valid(p, source))
        return;
    spin_lock(&p->lock);
    bit_put(p->edge, source, edge);
    bit_put(p->deferred, source, false);
    if (!edge && bit_get(p->line, source) && !bit_get(p->in_service, source))
        changed = vplic_request(p, source);
    spin_unlock(&p->lock);
    if (changed)
        vplic_report(p);
}

bool vplic_eip(const struct vplic *p, unsigned context)
{
    if (context >= VPLIC_MAX_CONTEXTS)
        return false;
    return (__atomic_load_n(&p->eip, __ATOMIC_ACQUIRE) >> context) & 1;
}

/* Claim by context c; lock held.  *changed reports an EIP change. */
static unsigned vplic_claim(struct vplic *p, unsigned c, bool *changed)
{
    unsigned source = vplic_best(p, c, 0);

    if (source) {
        bit_put(p->pending, source, false);
        bit_put(p->in_service, source, true);
        *changed = vplic_update_source(p, source);
    }
    return source;
}

/* Completion written to context c's claim/complete register; lock held. */
static bool vplic_complete(struct vplic *p, unsigned c, uint32_t source)
{
    if (!vplic_source_valid(p, source) || !bit_get(p->enable[c], source))
        return false; /* the spec: silently ignored */
    if (!bit_get(p->in_service, source))
        return false; /* nothing to end: the gateway is already open */
    bit_put(p->in_service, source, false);
    if (bit_get(p->edge, source) ? bit_get(p->deferred, source) : bit_get(p->line, source)) {
        bit_put(p->deferred, source, false);
        return vplic_request(p, source);
    }
    return false;
}

/* The 32 bits of a bitmap that hold sources 32*reg.. (reg < 32). */
/* Bits of register reg (32 sources) that name existing sources. */
static uint32_t vplic_valid_mask(const struct vplic *p, unsigned reg)
{
    unsigned first = reg * 32;
    uint32_t m = 0xffffffffu;

    if (first > p->ndev)
        return 0;
    if (p->ndev - first < 31)
        m = ((uint32_t)1 << (p->ndev - first + 1)) - 1;
    if (reg == 0)
        m &= ~1u; /* source 0 does not exist */
    return m;
}

/* A claim, with the lock and the report; out of line so that the other
 * reads (the ones drivers poll) need no stack frame. */
static __attribute__((noinline)) uint32_t vplic_claim_locked(struct vplic *p, unsigned c)
{
    bool changed = false;

    spin_lock(&p->lock);
    uint32_t v = vplic_claim(p, c, &changed);
    spin_unlock(&p->lock);
    if (changed)
        vplic_report(p);
    return v;
}

/* Register reads other than a claim change nothing, and each reads one
 * value written whole under the lock (a priority or threshold byte, a
 * bitmap word): they take no lock and see the state before or after a
 * concurrent change, as if they came first or last. */
static int vplic_read(struct mmio_dev *dev, uint64_t offset, unsigned width, uint64_t *value)
{
    struct vplic *p = dev->priv;
    uint32_t v = 0;

    if (width != 4 || offset % 4)
        return ERR_NOTSUP;
    if (offset < PLIC_PENDING) {
        unsigned s = (unsigned)(offset / 4);

        if (vplic_source_valid(p, s))
            v = __atomic_load_n(&p->priority[s], __ATOMIC_RELAXED);
    } else if (offset < PLIC_PENDING + VPLIC_MAX_SOURCES / 8) {
        unsigned reg = (unsigned)(offset - PLIC_PENDING) / 4;

        v = (uint32_t)(__atomic_load_n(&p->pending[reg / 2], __ATOMIC_RELAXED) >>
                       (32 * (reg % 2))) &
            vplic_valid_mask(p, reg);
    } else if (offset >= PLIC_ENABLE &&
               offset < PLIC_ENABLE + (uint64_t)PLIC_ENABLE_CTX * p->ncontexts) {
        unsigned c = (unsigned)(offset - PLIC_ENABLE) / PLIC_ENABLE_CTX;
        unsigned reg = (unsigned)(offset - PLIC_ENABLE) % PLIC_ENABLE_CTX / 4;

        v = (uint32_t)(__atomic_load_n(&p->enable[c][reg / 2], __ATOMIC_RELAXED) >>
                       (32 * (reg % 2)));
    } else if (offset >= PLIC_CONTEXT &&
               offset < PLIC_CONTEXT + (uint64_t)PLIC_CONTEXT_SZ * p->ncontexts) {
        unsigned c = (unsigned)(offset - PLIC_CONTEXT) / PLIC_CONTEXT_SZ;
        unsigned reg = (unsigned)(offset - PLIC_CONTEXT) % PLIC_CONTEXT_SZ;

        if (reg == 0) {
            v = __atomic_load_n(&p->threshold[c], __ATOMIC_RELAXED);
        } else if (reg == PLIC_CLAIM) {
            v = vplic_claim_locked(p, c);
        }
    }
    *value = v;
    return 0;
}

/* Writes enable register reg of context c. */
static bool vplic_write_enable(struct vplic *p, unsigned c, unsigned reg, uint32_t v)
{
    uint64_t *w = &p->enable[c][reg / 2];
    unsigned shift = 32 * (reg % 2);
    uint64_t was = *w;

    v &= vplic_valid_mask(p, reg);
    *w = (*w & ~((uint64_t)0xffffffffu << shift)) | (uint64_t)v << shift;
    return *w != was && vplic_update_context(p, c);
}

static bool vplic_write_priority(struct vplic *p, unsigned s, uint32_t v)
{
    v &= VPLIC_PRIO_MAX; /* WARL: the three low bits are the variable ones */
    if (v == p->priority[s])
        return false;
    bit_put(p->by_prio[p->priority[s]], s, false);
    bit_put(p->by_prio[v], s, true);
    p->priority[s] = (uint8_t)v;
    return vplic_update_source(p, s);
}

static __attribute__((noinline)) int vplic_write_locked(struct vplic *p, uint64_t offset,
                                                        uint32_t v)
{
    bool changed = false;

    spin_lock(&p->lock);
    if (offset < PLIC_PENDING) {
        unsigned s = (unsigned)(offset / 4);

        if (vplic_source_valid(p, s))
            changed = vplic_write_priority(p, s, v);
    } else if (offset >= PLIC_ENABLE &&
               offset < PLIC_ENABLE + (uint64_t)PLIC_ENABLE_CTX * p->ncontexts) {
        unsigned c = (unsigned)(offset - PLIC_ENABLE) / PLIC_ENABLE_CTX;
        unsigned reg = (unsigned)(offset - PLIC_ENABLE) % PLIC_ENABLE_CTX / 4;

        changed = vplic_write_enable(p, c, reg, v);
    } else if (offset >= PLIC_CONTEXT &&
               offset < PLIC_CONTEXT + (uint64_t)PLIC_CONTEXT_SZ * p->ncontexts) {
        unsigned c = (unsigned)(offset - PLIC_CONTEXT) / PLIC_CONTEXT_SZ;
        unsigned reg = (unsigned)(offset - PLIC_CONTEXT) % PLIC_CONTEXT_SZ;

        if (reg == 0) {
            p->threshold[c] = (uint8_t)(v & VPLIC_PRIO_MAX); /* WARL like priority */
            changed = vplic_update_context(p, c);
        } else if (reg == PLIC_CLAIM) {
            changed = vplic_complete(p, c, v);
        }
    }
    /* The pending bits are read-only, everything else is reserved. */
    spin_unlock(&p->lock);
    if (changed)
        vplic_report(p);
    return 0;
}

static int vplic_write(struct mmio_dev *dev, uint64_t offset, unsigned width, uint64_t value)
{
    struct vplic *p = dev->priv;
    uint32_t v = (uint32_t)value;

    if (width != 4 || offset % 4)
        return ERR_NOTSUP;
    /* A priority write of the value the register holds changes nothing
     * (drivers rewrite priorities as they enable sources): no lock.  A
     * concurrent change by another vCPU is then ordered after this write,
     * as it could have been anyway. */
    if (offset < PLIC_PENDING) {
        unsigned s = (unsigned)(offset / 4);

        if (!vplic_source_valid(p, s) ||
            (v & VPLIC_PRIO_MAX) == __atomic_load_n(&p->priority[s], __ATOMIC_RELAXED))
            return 0;
    }
    return vplic_write_locked(p, offset, v);
}

const struct mmio_ops vplic_ops = {
    .read = vplic_read,
    .write = vplic_write,
};

/* Snapshots.  The bitmaps saved, in payload order. */
enum { MAP_PENDING, MAP_IN_SERVICE, MAP_LINE, MAP_EDGE, MAP_DEFERRED, MAP_COUNT };

static uint64_t *vplic_map(struct vplic *p, unsigned m)
{
    uint64_t *maps[MAP_COUNT] = {p->pending, p->in_service, p->line, p->edge, p->deferred};

    return maps[m];
}

/* Bits of bitmap word w that name existing sources. */
static uint64_t vplic_word_mask(const struct vplic *p, unsigned w)
{
    return vplic_valid_mask(p, 2 * w) | (uint64_t)vplic_valid_mask(p, 2 * w + 1) << 32;
}

long vplic_save(const struct vplic *cp, void *buf, size_t size)
{
    /* The VM is paused, but devices may still move lines from other harts:
     * the lock keeps the picture consistent.  p is not really const. */
    struct vplic *p = (struct vplic *)cp;
    struct wire w = wire_out(buf, size);

    spin_lock(&p->lock);
    wire_put_u32(&w, VPLIC_STATE_VERSION);
    wire_put_u32(&w, p->ndev);
    wire_put_u32(&w, p->ncontexts);
    for (unsigned s = 1; s <= p->ndev; s++)
        wire_put_u8(&w, p->priority[s]);
    for (unsigned c = 0; c < p->ncontexts; c++)
        wire_put_u8(&w, p->threshold[c]);
    for (unsigned m = 0; m < MAP_COUNT; m++)
        for (unsigned i = 0; i < p->nwords; i++)
            wire_put_u64(&w, vplic_map(p, m)[i]);
    for (unsigned c = 0; c < p->ncontexts; c++)
        for (unsigned i = 0; i < p->nwords; i++)
            wire_put_u64(&w, p->enable[c][i]);
    spin_unlock(&p->lock);
    return wire_result(&w);
}

/* One pass over a payload: checks every field and, with apply, stores it.
 * Lock held.  load runs it twice so a refusal changes nothing. */
static int vplic_state_get(struct vplic *p, const void *buf, size_t size, bool apply)
{
    struct wire_in r = wire_in(buf, size);
    uint64_t maps[MAP_COUNT][VPLIC_WORDS];

    if (wire_get_u32(&r) != VPLIC_STATE_VERSION)
        return wire_refuse(&r, ERR_VERSION);
    uint32_t ndev = wire_get_u32(&r);
    uint32_t ncontexts = wire_get_u32(&r);
    if (ndev != p->ndev || ncontexts != p->ncontexts)
        return wire_refuse(&r, ERR_MISMATCH);
    if (apply)
        memset(p->by_prio, 0, sizeof(p->by_prio));
    for (unsigned s = 1; s <= p->ndev; s++) {
        uint8_t v = wire_get_u8(&r);
        if (v > VPLIC_PRIO_MAX)
            return wire_refuse(&r, ERR_RANGE);
        if (apply) {
            p->priority[s] = v;
            bit_put(p->by_prio[v], s, true);
        }
    }
    for (unsigned c = 0; c < p->ncontexts; c++) {
        uint8_t v = wire_get_u8(&r);
        if (v > VPLIC_PRIO_MAX)
            return wire_refuse(&r, ERR_RANGE);
        if (apply)
            p->threshold[c] = v;
    }
    for (unsigned m = 0; m < MAP_COUNT; m++) {
        for (unsigned i = 0; i < p->nwords; i++) {
            maps[m][i] = wire_get_u64(&r);
            if (maps[m][i] & ~vplic_word_mask(p, i))
                return wire_refuse(&r, ERR_RANGE); /* a source that does not exist */
        }
    }
    /* The gateways' invariants (vplic.h): never pending and in service; a
     * level source whose line is high is pending or in service; only an
     * edge source in service remembers a request. */
    for (unsigned i = 0; i < p->nwords; i++) {
        uint64_t level = ~maps[MAP_EDGE][i];
        if ((maps[MAP_PENDING][i] & maps[MAP_IN_SERVICE][i]) ||
            (level & maps[MAP_LINE][i] & ~maps[MAP_PENDING][i] & ~maps[MAP_IN_SERVICE][i]) ||
            (maps[MAP_DEFERRED][i] & ~(maps[MAP_EDGE][i] & maps[MAP_IN_SERVICE][i])))
            return wire_refuse(&r, ERR_STRUCTURE);
    }
    for (unsigned c = 0; c < p->ncontexts; c++) {
        for (unsigned i = 0; i < p->nwords; i++) {
            uint64_t v = wire_get_u64(&r);
            if (v & ~vplic_word_mask(p, i))
                return wire_refuse(&r, ERR_RANGE);
            if (apply)
                p->enable[c][i] = v;
        }
    }
    int e = wire_end(&r);
    if (e < 0 || !apply)
        return e;
    for (unsigned m = 0; m < MAP_COUNT; m++)
        memcpy(vplic_map(p, m), maps[m], p->nwords * sizeof(uint64_t));
    return 0;
}

int vplic_load(struct vplic *p, const void *buf, size_t size)
{
    uint64_t eip = 0;

    spin_lock(&p->lock);
    int e = vplic_state_get(p, buf, size, false);
    if (e == 0)
        e = vplic_state_get(p, buf, size, true);
    if (e == 0) {
        for (unsigned c = 0; c < p->ncontexts; c++)
            if (vplic_best(p, c, p->threshold[c]))
                eip |= (uint64_t)1 << c;
        __atomic_store_n(&p->eip, eip, __ATOMIC_RELEASE);
    }
    spin_unlock(&p->lock);
    if (e < 0)
        return e;
    /* Every context's line, whatever was reported before: the vCPUs may
     * have been restored from the same snapshot, or be fresh. */
    spin_lock(&p->notify_lock);
    p->reported = eip;
    for (unsigned c = 0; c < p->ncontexts; c++)
        if (p->notify)
            p->notify(p->opaque, c, (eip >> c) & 1);
    spin_unlock(&p->notify_lock);
    vplic_report(p); /* anything that changed meanwhile */
    return 0;
}
