/* SPDX-License-Identifier: Apache-2.0 */
/* Live migration, the source's engine (core/migrate.h, docs/migration.md).
 *
 * A state machine the transport pulls bytes from: each pull first drains
 * the section waiting in out, then makes the next one.  Nothing is sent
 * before the destination's preamble chose a version, no RAM before it
 * built the VM: both wait for a reply (a pull returns 0 meanwhile). */
#include "core/migrate.h"

#include "arch/arch.h"
#include "core/console.h"
#include "core/dirty.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/snapshot.h"
#include "core/vm_admin.h"
#include "core/vm_dev.h"
#include "core/vm_life.h"
#include "core/vm_pack.h"
#include "core/vmm.h"
#include "lib/crc32c.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/wire.h"

#define OUT_SIZE    (SNAP_SECTION_HEAD + MIG_SECTION_MAX)
#define IN_SIZE     MIG_SECTION_MAX
#define CONFIG_VER  1
#define CONFIG_VER2 2 /* + u32 flags (MIG_CONFIG_*): only when a flag is set */
#define QUIESCE_MS  1000
#define DEF_DOWN_MS 300
#define DEF_ROUNDS  30
#define DEF_STALLS  3
#define DEF_TIMEOUT 30000
/* Auto-converge (docs/migration.md): each round that does not shrink the
 * dirty set withholds this much more of the harts' time from the VM's
 * vCPUs, up to THROTTLE_CAP; only then do such rounds count as stalls. */
#define THROTTLE_STEP 25
#define THROTTLE_CAP  75
/* Flow control (docs/migration.md): RAM is sent at most a window ahead
 * of what the destination acknowledged.  Every buffer on the way (vsock,
 * the control VMs' sockets, TCP) would otherwise fill with pre-copy
 * pages, and the final step's pages would wait behind them: seconds of
 * downtime on a slow link.  A second's worth at the rate the
 * acknowledgements show, within bounds (the lower one above the
 * destination's ACK step plus a section, so that an ACK always comes). */
#define WINDOW_MIN MIGRATE_WINDOW_MIN
#define WINDOW_MAX MIGRATE_WINDOW_MAX
_Static_assert(MIGRATE_WINDOW_MIN > (256u << 10) + OUT_SIZE, "window below an ACK step");

enum src_step {
    S_PREAMBLE,  /* send ours */
    S_VERSION,   /* wait for theirs */
    S_CONFIG,    /* send CONFIG */
    S_CONFIG_OK, /* wait for ACCEPT(config) */
    S_BUNDLE,    /* send the bundle */
    S_BUILT,     /* wait for ACCEPT(built) */
    S_RAM,       /* send the round's pages */
    S_DRAIN,     /* a pre-copy round sent: wait until the destination took all of it */
    S_STATE,     /* send the final state */
    S_END,       /* send END */
    S_WAIT_RUN,  /* wait for RUNNING */
    S_OVER,
};

const char *migrate_phase_name(enum migrate_phase p)
{
    static const char *const names[] = {"idle",    "setup", "precopy", "final",
                                        "confirm", "done",  "failed",  "unknown"};
    return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

static uint64_t ms_ticks(uint32_t ms)
{
    return (uint64_t)vmm_timebase_hz() * ms / 1000;
}

static int out_write(void *ctx, const void *p, size_t n)
{
    struct migrate_src *m = ctx;
    if (n > OUT_SIZE - m->out_len)
        return ERR_NOSPC;
    memcpy(m->out + m->out_len, p, n);
    m->out_len += n;
    return 0;
}

/* Everything the migration changed on the VM, undone; the VM runs on. */
static void let_go(struct migrate_src *m)
{
    struct vm *vm = m->vm;
    bool same = vm->uid == m->vm_uid;

    if (m->logging && same)
        vm_dirty_stop(vm);
    m->logging = false;
    if (same)
        sched_throttle_vm(vm, 0);
    if (m->held && same)
        vm_devices_hold(vm, false);
    m->held = false;
    if (m->paused_by_us && same && __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING) {
        sched_pause_vm(vm, false);
        vm_life_notify(vm, VM_EVENT_RESUMED);
    }
    m->paused_by_us = false;
    if (same)
        __atomic_store_n(&vm->migrating, false, __ATOMIC_RELEASE);
}

/* keep_out: what out holds still goes (a section half sent, before a
 * CANCEL); else it is dropped (the connection is of no more use). */
static void fail_v(struct migrate_src *m, bool keep_out, const char *fmt, va_list ap)
{
    if (migrate_src_over(m))
        return;
    fmt_vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
    let_go(m);
    m->phase = MIGRATE_FAILED;
    m->step = S_OVER;
    if (!keep_out)
        m->out_len = m->out_pos = 0;
    m->st.ended = arch_time();
    console_printf("vireo: migrate %s to %s: failed: %s; it runs on here\n", m->name, m->to,
                   m->reason);
}

static void fail_keep(struct migrate_src *m, const char *fmt, ...) FMT_PRINTF(2, 3);

static void fail_keep(struct migrate_src *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(m, true, fmt, ap);
    va_end(ap);
}

static void fail(struct migrate_src *m, const char *fmt, ...) FMT_PRINTF(2, 3);

static void fail(struct migrate_src *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fail_v(m, false, fmt, ap);
    va_end(ap);
}

/* The link broke, or went silent, or spoke nonsense.  Before END went
 * out the destination cannot run the VM (it destroys what it built when
 * the stream breaks): the VM runs on here.  After, it may run there
 * already: this one stays paused, its devices held, until the operator
 * says which (migrate_src_resolve), so that two never run. */
static void lost(struct migrate_src *m, const char *fmt, ...) FMT_PRINTF(2, 3);

static void lost(struct migrate_src *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    /* END not yet wholly handed to the transport: it cannot have arrived. */
    if (m->step != S_WAIT_RUN || m->out_pos < m->out_len || migrate_src_over(m)) {
        fail_v(m, false, fmt, ap);
        va_end(ap);
        return;
    }
    fmt_vsnprintf(m->reason, sizeof(m->reason), fmt, ap);
    va_end(ap);
    m->phase = MIGRATE_UNKNOWN;
    m->step = S_OVER;
    m->out_len = m->out_pos = 0;
    m->st.ended = arch_time();
    console_printf("vireo: migrate %s to %s: outcome unknown: %s; it stays paused here: check "
                   "the destination, then migrate-resolve %s resume (it does not run there) or "
                   "drop (it does)\n",
                   m->name, m->to, m->reason, m->name);
}

/* The VM may end (its guest shut down) under the migration. */
static bool vm_still_here(struct migrate_src *m)
{
    if (m->vm->uid == m->vm_uid && __atomic_load_n(&m->vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING)
        return true;
    fail(m, "vm %s ended during the migration", m->name);
    return false;
}

static void put_str(struct wire *w, const char *s)
{
    size_t n = strlen(s);
    wire_put_u16(w, (uint16_t)n);
    wire_put_bytes(w, s, n);
}

static int send_config(struct migrate_src *m)
{
    struct vm *vm = m->vm;
    uint8_t *buf = m->pages; /* free until the first RAM batch */
    struct wire w = wire_out(buf, MIG_PIECE_MAX);

    uint32_t flags = m->p.shared_disks ? MIG_CONFIG_KEEP_SHARED : 0;

    /* Version 1 when no flag is set: a destination that predates flags
     * takes it as before. */
    wire_put_u32(&w, flags ? CONFIG_VER2 : CONFIG_VER);
    put_str(&w, vm->name);
    wire_put_u64(&w, vm->ram_size);
    wire_put_u32(&w, vm->nvcpus);
    wire_put_u64(&w, m->bundle_size);
    put_str(&w, vm->isa_str);
    if (flags)
        wire_put_u32(&w, flags);
    long hl = snapshot_header(vm, buf + w.pos + 4, MIG_PIECE_MAX - w.pos - 4);
    if (hl < 0 || w.bad)
        return ERR_NOSPC;
    wire_put_u32(&w, (uint32_t)hl);
    w.pos += (size_t)hl;
    return snap_write_section(&m->sink, MIG_CONFIG, 0, buf, w.pos);
}

static int send_bundle_piece(struct migrate_src *m)
{
    size_t n = m->bundle_size - m->bundle_pos;
    if (n > MIG_PIECE_MAX)
        n = MIG_PIECE_MAX;
    int rc = snap_write_section(&m->sink, MIG_BUNDLE, m->piece++, m->bundle + m->bundle_pos, n);
    m->bundle_pos += n;
    return rc;
}

static bool page_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)p;
    uint64_t acc = 0;
    for (unsigned i = 0; i < MIG_PAGE / 8; i++)
        acc |= q[i];
    return acc == 0;
}

static uint64_t ram_pages(const struct vm *vm)
{
    return (vm->ram_size + MIG_PAGE - 1) / MIG_PAGE;
}

/* Stream bytes sent that the destination has not acknowledged yet. */
static uint64_t in_flight(const struct migrate_src *m)
{
    return m->sink.bytes - m->acked;
}

/* How far ahead of the acknowledgements RAM may go now: a second's worth
 * at the rate they show this round (the last round's before any came). */
static uint64_t window(const struct migrate_src *m)
{
    uint64_t ticks = arch_time() - m->round_start, taken = m->acked - m->round_acked;
    uint64_t rate = m->st.bytes_per_sec;

    if (ticks && taken) {
        uint64_t now_rate = taken * vmm_timebase_hz() / ticks;
        if (now_rate > rate)
            rate = now_rate;
    }
    return rate < WINDOW_MIN ? WINDOW_MIN : rate > WINDOW_MAX ? WINDOW_MAX : rate;
}

/* The next batch of the round's pages (todo from cursor) as a RAM
 * section: true if one was made, false at the round's end. */
static int send_batch(struct migrate_src *m, bool *made)
{
    struct vm *vm = m->vm;
    uint64_t total = ram_pages(vm);
    uint32_t ne = 0, np = 0;
    uint64_t run_start = 0, run_len = 0;

    *made = false;
    while (m->cursor < total && ne < MIG_BATCH_ENTRIES - 1 && np < MIG_BATCH_PAGES) {
        uint64_t i = m->cursor;
        uint64_t word = m->todo[i / 64] >> (i % 64);
        if (!word) { /* skip to the next word */
            m->cursor = (i / 64 + 1) * 64;
            continue;
        }
        if (!(word & 1)) {
            m->cursor += (uint64_t)__builtin_ctzll(word);
            continue;
        }
        m->todo[i / 64] &= ~(1ull << (i % 64));
        m->cursor++;
        uint64_t gpa = vm->ram_base + i * MIG_PAGE;
        uint8_t *pg = m->pages + (size_t)np * MIG_PAGE;
        size_t len = vm->ram_size - i * MIG_PAGE < MIG_PAGE ? (size_t)(vm->ram_size - i * MIG_PAGE)
                                                            : MIG_PAGE;
        if (len < MIG_PAGE)
            memset(pg, 0, MIG_PAGE);
        if (gpa_read(vm, gpa, pg, len) < 0)
            return ERR_IO;
        if (page_zero(pg)) {
            if (run_len && run_start + run_len * MIG_PAGE == gpa && run_len < MIG_ENTRY_RUN_MAX) {
                run_len++;
                m->entries[ne - 1] = run_start | ((run_len - 1) << 1) | MIG_ENTRY_ZERO;
            } else {
                run_start = gpa;
                run_len = 1;
                m->entries[ne++] = gpa | MIG_ENTRY_ZERO;
            }
            m->round_zero++;
            m->st.zero_pages++;
        } else {
            run_len = 0;
            m->entries[ne++] = gpa;
            np++;
            m->round_pages++;
            m->st.pages++;
        }
    }
    if (!ne)
        return 0;
    uint8_t head[MIG_RAM_HEAD];
    struct wire w = wire_out(head, sizeof(head));
    wire_put_u32(&w, ne);
    wire_put_u32(&w, np);
    uint8_t ent[8];
    uint32_t crc = crc32c(0, head, sizeof(head));
    for (uint32_t k = 0; k < ne; k++) {
        struct wire we = wire_out(ent, 8);
        wire_put_u64(&we, m->entries[k]);
        crc = crc32c(crc, ent, 8);
    }
    crc = crc32c(crc, m->pages, (size_t)np * MIG_PAGE);
    struct snap_section h = {MIG_RAM, m->st.rounds,
                             MIG_RAM_HEAD + ne * 8ull + (uint64_t)np * MIG_PAGE, crc};
    int rc = snap_write_head(&m->sink, &h);
    if (rc >= 0)
        rc = snap_write_raw(&m->sink, head, sizeof(head));
    for (uint32_t k = 0; rc >= 0 && k < ne; k++) {
        struct wire we = wire_out(ent, 8);
        wire_put_u64(&we, m->entries[k]);
        rc = snap_write_raw(&m->sink, ent, 8);
    }
    if (rc >= 0)
        rc = snap_write_raw(&m->sink, m->pages, (size_t)np * MIG_PAGE);
    *made = rc >= 0;
    return rc;
}

static int send_round_end(struct migrate_src *m)
{
    uint8_t b[16];
    struct wire w = wire_out(b, sizeof(b));
    wire_put_u64(&w, m->round_pages);
    wire_put_u64(&w, m->round_zero);
    return snap_write_section(&m->sink, MIG_ROUND, m->st.rounds, b, sizeof(b));
}

/* Pauses the VM, holds its devices (nothing but its vCPUs writes its RAM
 * or changes its devices), and waits for its vCPUs to leave their harts. */
static int quiesce(struct migrate_src *m)
{
    struct vm *vm = m->vm;

    if (!__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
        sched_pause_vm(vm, true);
        m->paused_by_us = true;
        vm_life_notify(vm, VM_EVENT_PAUSED);
    }
    vm_devices_hold(vm, true);
    m->held = true;
    uint64_t give_up = arch_time() + ms_ticks(QUIESCE_MS);
    while (!sched_vm_off_harts(vm)) {
        if (arch_time() > give_up)
            return ERR_AGAIN;
        arch_cpu_relax();
    }
    /* The guest saw its clock last about now: it goes on from here on the
     * destination, however long the final step takes. */
    m->st.off_harts = arch_time();
    m->clock_at_pause = m->st.off_harts + vm->time_offset;
    return 0;
}

/* The round's pages are out: another round, or the final step.  The rule
 * (docs/migration.md): final when the dirty pages fit the downtime target
 * at the throughput the last round measured, or after max_rounds, or when
 * the dirty set failed to shrink stall_rounds times. */
static int round_done(struct migrate_src *m)
{
    struct vm *vm = m->vm;
    uint64_t now = arch_time(), ticks = now - m->round_start;
    uint64_t sent = m->sink.bytes - m->round_bytes;

    /* The link's rate: what the destination acknowledged over the round
     * (bytes pulled only fill buffers along the way); before any
     * acknowledgement, what was pulled. */
    uint64_t taken = m->acked - m->round_acked;
    if (ticks)
        m->st.bytes_per_sec = (taken ? taken : sent) * vmm_timebase_hz() / ticks;
    if (m->st.bytes_per_sec > m->best_bps)
        m->best_bps = m->st.bytes_per_sec;
    m->st.rounds++;
    if (m->phase == MIGRATE_FINAL) {
        m->step = S_STATE;
        return 0;
    }
    long dirty = vm_dirty_fetch(vm, m->todo, m->words);
    if (dirty < 0)
        return (int)dirty;
    m->st.last_dirty = (uint64_t)dirty;
    if ((uint64_t)dirty >= m->prev_dirty && m->st.rounds > 1) {
        if (!m->p.no_converge && m->st.throttle_pct < THROTTLE_CAP) {
            /* The guest dirties memory faster than the link moves it:
             * slow it down rather than give up on the downtime. */
            m->st.throttle_pct += THROTTLE_STEP;
            if (m->st.throttle_pct > THROTTLE_CAP)
                m->st.throttle_pct = THROTTLE_CAP;
            sched_throttle_vm(vm, m->st.throttle_pct);
            console_printf("vireo: migrate %s: round %u did not shrink its dirty set (%ld pages): "
                           "its vCPUs now get %u%% of their hart time\n",
                           m->name, m->st.rounds, dirty, 100 - m->st.throttle_pct);
        } else {
            m->stalled++;
        }
    }
    m->prev_dirty = (uint64_t)dirty;
    /* What the final step sends behind what is still on its way (none
     * after a drain, unless an acknowledgement is late), at the link's
     * bandwidth: the fastest round's rate.  A small round's rate is
     * mostly the path's round trip (the drain waits for it), which the
     * final step pays once whatever it sends: judged by it, an idle VM
     * whose few dirty pages take one round trip never looked final and
     * went on to the throttle and the stall rule (13 rounds measured). */
    uint64_t final_bytes = (uint64_t)dirty * MIG_PAGE + in_flight(m);
    uint64_t need_ms = m->best_bps ? final_bytes * 1000 / m->best_bps : (dirty ? ~0ull : 0);
    bool final = need_ms <= m->p.downtime_ms || m->st.rounds > m->p.max_rounds ||
                 m->stalled > m->p.stall_rounds;
    m->cursor = 0;
    m->round_pages = m->round_zero = 0;
    m->round_start = now;
    m->round_bytes = m->sink.bytes;
    m->round_acked = m->acked;
    if (!final)
        return 0;
    /* The final step: the VM stops here; what it wrote since the fetch
     * above comes with the last fetch (paused, off its harts, devices
     * held: nothing writes its RAM after it). */
    m->phase = MIGRATE_FINAL;
    m->st.paused = now;
    m->st.unacked_at_pause = in_flight(m);
    int rc = quiesce(m);
    if (rc < 0) {
        fail(m, "its vCPUs did not leave their harts within %u ms", QUIESCE_MS);
        return 0;
    }
    /* Requests its devices took are done and host disks flushed before
     * the last fetch: what a request still writes into RAM comes with
     * it, and no write the guest was told is done is lost (nor, being
     * done here, done again there). */
    char why[160];
    if (vm_devices_quiesce(vm, why, sizeof(why)) < 0) {
        fail(m, "its devices: %s", why);
        return 0;
    }
    uint64_t *more = (uint64_t *)m->pages; /* free between batches */
    size_t chunk = MIG_BATCH_PAGES * MIG_PAGE / 8;
    if (m->words > chunk) {
        /* A bitmap larger than the scratch: fetch straight into a fresh
         * one and merge. */
        uint64_t *tmp = pmem_zalloc(m->words * 8, 8);
        if (!tmp)
            return ERR_NOMEM;
        dirty = vm_dirty_fetch(vm, tmp, m->words);
        for (size_t i = 0; i < m->words; i++)
            m->todo[i] |= tmp[i];
        pmem_free(tmp, m->words * 8);
    } else {
        dirty = vm_dirty_fetch(vm, more, m->words);
        for (size_t i = 0; i < m->words; i++)
            m->todo[i] |= more[i];
    }
    if (dirty < 0)
        return (int)dirty;
    vm_dirty_stop(vm);
    m->logging = false;
    m->st.fetched = arch_time();
    uint64_t n = 0;
    for (size_t i = 0; i < m->words; i++)
        n += (uint64_t)__builtin_popcountll(m->todo[i]);
    m->st.final_pages = n;
    return 0;
}

/* The final state (a snapshot without RAM) into m->state. */
static int state_capture(struct migrate_src *m)
{
    struct vm *vm = m->vm;
    struct snapshot_stats st;
    char why[160];

    m->state_cap = (size_t)snapshot_state_bound(vm, m->p.shared_disks);
    m->state = pmem_alloc(m->state_cap, 4096);
    if (!m->state) {
        fail(m, "no memory for its state (%llu KiB)", (unsigned long long)(m->state_cap >> 10));
        m->state_cap = 0;
        return 0;
    }
    struct snap_buf b = {m->state, m->state_cap, 0};
    struct snap_sink s = {snap_buf_write, &b, 0, 0, 0};
    int rc =
        snapshot_save_state(vm, &s, m->clock_at_pause, m->p.shared_disks, &st, why, sizeof(why));
    /* snapshot_save released the devices: hold them again until the end. */
    vm_devices_hold(vm, true);
    if (rc < 0) {
        fail(m, "its state: %s", why);
        return 0;
    }
    m->state_len = b.pos;
    m->st.state_bytes = b.pos;
    m->st.state_taken = arch_time();
    m->state_pos = 0;
    m->piece = 0;
    return 0;
}

/* Makes the next section in out: true if there is something to send. */
static bool produce(struct migrate_src *m)
{
    int rc = 0;
    bool made = false;

    m->out_len = m->out_pos = 0;
    while (!made && !migrate_src_over(m)) {
        if (m->step >= S_CONFIG && m->step != S_WAIT_RUN && !vm_still_here(m))
            return false;
        switch (m->step) {
        case S_PREAMBLE: {
            uint8_t b[MIG_PREAMBLE];
            mig_preamble_encode(b, MIG_MAGIC_SRC, MIG_VERSION_MIN, MIG_VERSION_MAX);
            rc = out_write(m, b, sizeof(b));
            m->sink.bytes += sizeof(b);
            m->step = S_VERSION;
            m->waited_since = arch_time();
            made = true;
            break;
        }
        case S_CONFIG:
            rc = send_config(m);
            m->step = S_CONFIG_OK;
            m->waited_since = arch_time();
            made = true;
            break;
        case S_BUNDLE:
            rc = send_bundle_piece(m);
            if (m->bundle_pos == m->bundle_size) {
                m->step = S_BUILT;
                m->waited_since = arch_time();
            }
            made = true;
            break;
        case S_RAM:
            if (m->phase == MIGRATE_PRECOPY && in_flight(m) > window(m)) {
                /* The link is behind: wait for its acknowledgements. */
                if (!m->window_wait)
                    m->waited_since = arch_time();
                m->window_wait = true;
                return false;
            }
            m->window_wait = false;
            rc = send_batch(m, &made);
            if (rc >= 0 && !made) {
                rc = send_round_end(m);
                made = true;
                /* A pre-copy round waits until all of it arrived before
                 * the dirty set is looked at: the pause then starts with
                 * nothing of the earlier rounds on the way, and the rate
                 * the round measured is the link's.  The paused round
                 * goes straight on to the state. */
                if (rc >= 0 && m->phase == MIGRATE_FINAL) {
                    rc = round_done(m);
                } else if (rc >= 0) {
                    m->step = S_DRAIN;
                    m->waited_since = arch_time();
                }
            }
            break;
        case S_DRAIN:
            /* The destination acknowledges a round's end at once. */
            if (in_flight(m))
                return false;
            rc = round_done(m);
            if (rc >= 0 && m->step == S_DRAIN)
                m->step = S_RAM;
            break;
        case S_STATE:
            if (!m->state) {
                rc = state_capture(m);
                break;
            }
            if (m->state_pos < m->state_len) {
                size_t n = m->state_len - m->state_pos;
                if (n > MIG_PIECE_MAX)
                    n = MIG_PIECE_MAX;
                rc =
                    snap_write_section(&m->sink, MIG_STATE, m->piece++, m->state + m->state_pos, n);
                m->state_pos += n;
                made = true;
            } else {
                m->step = S_END;
            }
            break;
        case S_END: {
            /* How long the VM has been paused: the destination adds its own
             * part and moves the guest's clock and steal time on by it.
             * The bytes still on their way (pulled ahead of the link) are
             * not counted: an estimate from the link's rate can be far too
             * long, and a clock put ahead of time stays ahead, while one
             * behind only looks like a slower pause (docs/migration.md). */
            uint8_t b[8];
            struct wire w = wire_out(b, sizeof(b));
            uint64_t hz = vmm_timebase_hz(), t = arch_time() - m->st.paused;
            wire_put_u64(&w, t / hz * 1000000000ull + t % hz * 1000000000ull / hz);
            rc = snap_write_section(&m->sink, MIG_PAUSED, 0, b, sizeof(b));
            if (rc >= 0)
                rc = snap_write_end(&m->sink);
            m->phase = MIGRATE_CONFIRM;
            m->step = S_WAIT_RUN;
            m->waited_since = m->st.end_out = arch_time();
            made = true;
            break;
        }
        default: /* waiting for the destination */
            return false;
        }
        if (rc < 0) {
            fail(m, "the stream: %s", err_str(rc));
            return false;
        }
    }
    return made && !migrate_src_over(m);
}

size_t migrate_src_pull(struct migrate_src *m, void *buf, size_t n)
{
    uint8_t *d = buf;
    size_t done = 0;

    while (done < n) {
        if (m->out_pos == m->out_len && migrate_src_over(m)) {
            /* Over: only a CANCEL is left to go. */
            size_t k = m->tail_len - m->tail_pos;
            if (!k)
                break;
            if (k > n - done)
                k = n - done;
            memcpy(d + done, m->tail + m->tail_pos, k);
            m->tail_pos += k;
            done += k;
            continue;
        }
        if (m->out_pos == m->out_len && !produce(m))
            break;
        size_t k = m->out_len - m->out_pos;
        if (k > n - done)
            k = n - done;
        memcpy(d + done, m->out + m->out_pos, k);
        m->out_pos += k;
        done += k;
    }
    m->st.bytes += done;
    return done;
}

static uint64_t ms_since_pause(const struct migrate_src *m, uint64_t t)
{
    return t > m->st.paused ? (t - m->st.paused) * 1000 / vmm_timebase_hz() : 0;
}

/* The VM runs on the destination: this one ends. */
static void finish(struct migrate_src *m)
{
    struct vm *vm = m->vm;

    m->phase = MIGRATE_DONE;
    m->step = S_OVER;
    m->st.ended = arch_time();
    /* Where the downtime went, in ms from the pause. */
    console_printf("vireo: migrate %s to %s: done; paused %llu ms: vCPUs off their harts at %llu, "
                   "devices quiesced and dirty pages fetched at %llu, state taken at %llu, END "
                   "handed over at %llu, running at %llu\n",
                   m->name, m->to, (unsigned long long)ms_since_pause(m, m->st.ended),
                   (unsigned long long)ms_since_pause(m, m->st.off_harts),
                   (unsigned long long)ms_since_pause(m, m->st.fetched),
                   (unsigned long long)ms_since_pause(m, m->st.state_taken),
                   (unsigned long long)ms_since_pause(m, m->st.end_out),
                   (unsigned long long)ms_since_pause(m, m->st.ended));
    if (m->held)
        vm_devices_hold(vm, false);
    m->held = false;
    m->paused_by_us = false;
    sched_throttle_vm(vm, 0);
    __atomic_store_n(&vm->migrating, false, __ATOMIC_RELEASE);
    vm_end(vm, VM_END_STOPPED, "migrated to %s", m->to);
}

static void on_reply(struct migrate_src *m, const struct snap_section *h, const uint8_t *p)
{
    if (h->type == MIG_R_REFUSE) {
        struct wire_in r = wire_in(p, (size_t)h->len);
        int32_t code = (int32_t)wire_get_u32(&r);
        uint16_t len = wire_get_u16(&r);
        char why[160];
        if (r.bad || len > r.len - r.pos)
            len = 0;
        if (len >= sizeof(why))
            len = sizeof(why) - 1;
        memcpy(why, r.buf + r.pos, len);
        why[len] = '\0';
        for (uint16_t i = 0; i < len; i++) /* shown on a console: printable only */
            if (why[i] < 0x20 || why[i] > 0x7e)
                why[i] = '?';
        (void)code; /* the reason names it */
        fail(m, "the destination refused: %s", why);
        return;
    }
    if (h->type == MIG_R_ACCEPT && h->len == 0 && h->id == MIG_STAGE_CONFIG &&
        m->step == S_CONFIG_OK) {
        m->step = S_BUNDLE;
        return;
    }
    if (h->type == MIG_R_ACCEPT && h->len == 0 && h->id == MIG_STAGE_BUILT && m->step == S_BUILT) {
        char why[160];
        if (!vm_still_here(m))
            return;
        int rc = vm_dirty_start(m->vm, why, sizeof(why));
        if (rc < 0) {
            fail(m, "dirty logging: %s", why);
            return;
        }
        m->logging = true;
        /* The destination built the VM from all of the bundle: what was
         * sent so far arrived (it acknowledges RAM only). */
        m->acked = m->sink.bytes;
        memset(m->todo, 0, m->words * 8);
        uint64_t total = ram_pages(m->vm);
        for (uint64_t i = 0; i < total; i++)
            m->todo[i / 64] |= 1ull << (i % 64);
        m->cursor = 0;
        m->phase = MIGRATE_PRECOPY;
        m->step = S_RAM;
        m->round_start = arch_time();
        m->round_bytes = m->sink.bytes;
        m->round_acked = m->acked;
        m->prev_dirty = total;
        return;
    }
    if (h->type == MIG_R_ACK && h->len == 8) {
        struct wire_in r = wire_in(p, 8);
        uint64_t at = wire_get_u64(&r);
        if (at < m->acked || at > m->sink.bytes) {
            fail(m, "the destination acknowledged %llu bytes of %llu sent", (unsigned long long)at,
                 (unsigned long long)m->sink.bytes);
            return;
        }
        m->acked = at;
        return;
    }
    if (h->type == MIG_R_RUNNING && h->len == 0 && m->step == S_WAIT_RUN) {
        finish(m);
        return;
    }
    lost(m, "the destination sent a reply out of turn (type 0x%x, id %u)", h->type, h->id);
}

void migrate_src_push(struct migrate_src *m, const void *p, size_t n)
{
    const uint8_t *in = p;

    while (n && !migrate_src_over(m)) {
        enum mig_event ev;
        long used = mig_reader_feed(&m->rd, in, n, &ev);
        if (used < 0) {
            lost(m, "the destination's reply is broken (%s)", err_str((int)used));
            return;
        }
        in += used;
        n -= (size_t)used;
        m->waited_since = arch_time();
        if (ev == MIG_EV_PREAMBLE) {
            uint16_t lo, hi;
            int rc = mig_preamble_decode(m->rd.pre, MIG_MAGIC_DST, &lo, &hi);
            if (rc < 0) {
                fail(m, "the destination is not a Vireo migration listener (%s)", err_str(rc));
            } else if (m->step != S_VERSION || lo != hi || lo < MIG_VERSION_MIN ||
                       lo > MIG_VERSION_MAX) {
                /* 0: none in common; the refusal that follows says more,
                 * but the versions are what matter. */
                fail(m,
                     "no stream version in common (this Vireo speaks %u..%u, the destination "
                     "chose %u)",
                     MIG_VERSION_MIN, MIG_VERSION_MAX, lo);
            } else {
                m->version = lo;
                m->step = S_CONFIG;
            }
        } else if (ev == MIG_EV_SECTION) {
            on_reply(m, &m->rd.h, m->rd.payload);
        } else if (ev == MIG_EV_END) {
            lost(m, "the destination ended the conversation");
        }
    }
}

void migrate_src_closed(struct migrate_src *m, const char *why)
{
    if (migrate_src_over(m))
        return;
    if (m->step == S_WAIT_RUN)
        lost(m,
             "%s after the VM's final state was sent, before the destination said whether "
             "it runs there",
             why);
    else
        fail(m, "%s", why);
}

void migrate_src_poll(struct migrate_src *m)
{
    bool waiting = m->step == S_VERSION || m->step == S_CONFIG_OK || m->step == S_BUILT ||
                   m->step == S_WAIT_RUN || m->step == S_DRAIN ||
                   (m->step == S_RAM && m->window_wait);
    if (!migrate_src_over(m) && waiting &&
        arch_time() - m->waited_since > ms_ticks(m->p.timeout_ms))
        lost(m, "no reply from the destination for %u ms", m->p.timeout_ms);
}

static int tail_write(void *ctx, const void *p, size_t n)
{
    struct migrate_src *m = ctx;
    if (n > sizeof(m->tail) - m->tail_len)
        return ERR_NOSPC;
    memcpy(m->tail + m->tail_len, p, n);
    m->tail_len += n;
    return 0;
}

int migrate_src_cancel(struct migrate_src *m, const char *why, char *err, size_t errlen)
{
    if (migrate_src_over(m)) {
        fmt_snprintf(err, errlen, "the migration of vm %s is over (%s)", m->name,
                     migrate_phase_name(m->phase));
        return ERR_STATE;
    }
    if (m->step == S_WAIT_RUN) {
        fmt_snprintf(err, errlen,
                     "vm %s's final state is sent: the destination may run it already; its "
                     "answer ends the migration (or, if the link is gone, migrate-resolve)",
                     m->name);
        return ERR_STATE;
    }
    /* After what out holds (a section may be half sent), a CANCEL with
     * the reason: the destination says why it destroys what it built.
     * Before the destination chose a version, nothing more is sent. */
    if (m->step != S_VERSION && m->step != S_PREAMBLE) {
        uint8_t b[2 + 160];
        size_t n = strlen(why) < 160 ? strlen(why) : 160;
        struct wire w = wire_out(b, sizeof(b));
        wire_put_u16(&w, (uint16_t)n);
        wire_put_bytes(&w, why, n);
        struct snap_sink t = m->sink;
        t.write = tail_write;
        t.ctx = m;
        m->tail_len = m->tail_pos = 0;
        snap_write_section(&t, MIG_CANCEL, 0, b, w.pos);
    }
    fail_keep(m, "cancelled %s", why);
    return 0;
}

int migrate_src_resolve(struct migrate_src *m, bool resume, char *err, size_t errlen)
{
    struct vm *vm = m->vm;

    if (m->phase != MIGRATE_UNKNOWN) {
        fmt_snprintf(err, errlen, "the outcome of vm %s's migration is known (%s)", m->name,
                     migrate_phase_name(m->phase));
        return ERR_STATE;
    }
    if (vm->uid != m->vm_uid || __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING) {
        /* Stopped meanwhile: nothing is left to resume or to end. */
        m->phase = MIGRATE_FAILED;
        fmt_snprintf(m->reason, sizeof(m->reason), "outcome unknown; vm %s ended here meanwhile",
                     m->name);
        if (vm->uid == m->vm_uid)
            __atomic_store_n(&vm->migrating, false, __ATOMIC_RELEASE);
        return 0;
    }
    if (resume) {
        let_go(m);
        m->phase = MIGRATE_FAILED;
        fmt_snprintf(m->reason, sizeof(m->reason),
                     "outcome unknown; resumed here by the operator (it does not run at %s)",
                     m->to);
        console_printf("vireo: migrate %s to %s: resumed here by the operator\n", m->name, m->to);
    } else {
        finish(m);
        fmt_snprintf(m->reason, sizeof(m->reason),
                     "outcome unknown; the operator says it runs at %s", m->to);
        console_printf("vireo: migrate %s to %s: ended here: the operator says it runs there\n",
                       m->name, m->to);
    }
    return 0;
}

void migrate_src_free(struct migrate_src *m)
{
    if (!migrate_src_over(m))
        fail(m, "cancelled");
    if (m->out)
        pmem_free(m->out, OUT_SIZE);
    if (m->in)
        pmem_free(m->in, IN_SIZE);
    if (m->pages)
        pmem_free(m->pages, MIG_BATCH_PAGES * MIG_PAGE);
    if (m->entries)
        pmem_free(m->entries, MIG_BATCH_ENTRIES * 8);
    if (m->todo)
        pmem_free(m->todo, m->words * 8);
    if (m->state)
        pmem_free(m->state, m->state_cap);
    if (m->packed)
        pmem_free(m->packed, m->bundle_size);
    m->packed = NULL;
    m->out = m->in = m->pages = m->state = NULL;
    m->entries = m->todo = NULL;
}

int migrate_src_start(struct migrate_src *m, struct vm *vm, const struct migrate_params *p,
                      char *err, size_t errlen)
{
    const void *bundle;
    size_t size;

    memset(m, 0, sizeof(*m));
    m->vm = vm;
    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING) {
        fmt_snprintf(err, errlen, "vm %s is not running: only a running VM migrates", vm->name);
        return ERR_STATE;
    }
    int rc = vm_debug_refuse_copy(vm, err, errlen);
    if (rc < 0)
        return rc;
    if (__atomic_load_n(&vm->dirty.on, __ATOMIC_ACQUIRE)) {
        fmt_snprintf(err, errlen,
                     "vm %s: dirty logging is on already (another migration, or "
                     "vm dirty): stop it first",
                     vm->name);
        return ERR_STATE;
    }
    void *packed = NULL;
    size_t packed_size = 0;
    if (vm_admin_bundle(vm, &bundle, &size) < 0) {
        /* A boot-bundle VM: its node and images packed into a bundle of
         * its own, which the destination takes as any run-time bundle. */
        char why[160];
        rc = vm_pack(vm, &packed, &packed_size, why, sizeof(why));
        if (rc < 0) {
            fmt_snprintf(err, errlen, "vm %s came with the boot bundle and cannot be packed: %s",
                         vm->name, why);
            return rc;
        }
        bundle = packed;
        size = packed_size;
    }
    m->p = *p;
    if (!m->p.downtime_ms)
        m->p.downtime_ms = DEF_DOWN_MS;
    if (!m->p.max_rounds)
        m->p.max_rounds = DEF_ROUNDS;
    if (!m->p.stall_rounds)
        m->p.stall_rounds = DEF_STALLS;
    if (!m->p.timeout_ms)
        m->p.timeout_ms = DEF_TIMEOUT;
    fmt_snprintf(m->to, sizeof(m->to), "%s", p->to && p->to[0] ? p->to : "another host");
    m->p.to = m->to;
    m->vm_uid = vm->uid;
    m->vm_ram = vm->ram_size;
    memcpy(m->name, vm->name, sizeof(m->name));
    m->bundle = bundle;
    m->bundle_size = size;
    m->packed = packed;
    m->words = vm_dirty_words(vm);
    m->out = pmem_alloc(OUT_SIZE, 4096);
    m->in = pmem_alloc(IN_SIZE, 4096);
    m->pages = pmem_alloc(MIG_BATCH_PAGES * MIG_PAGE, 4096);
    m->entries = pmem_alloc(MIG_BATCH_ENTRIES * 8, 8);
    m->todo = pmem_zalloc(m->words * 8, 8);
    if (!m->out || !m->in || !m->pages || !m->entries || !m->todo) {
        m->phase = MIGRATE_FAILED;
        migrate_src_free(m);
        fmt_snprintf(err, errlen, "no memory for the migration's buffers");
        return ERR_NOMEM;
    }
    m->sink = (struct snap_sink){out_write, m, 0, 0, 0};
    mig_reader_init(&m->rd, m->in);
    m->phase = MIGRATE_SETUP;
    m->step = S_PREAMBLE;
    m->st.started = arch_time();
    __atomic_store_n(&vm->migrating, true, __ATOMIC_RELEASE);
    return 0;
}
