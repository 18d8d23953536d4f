/* SPDX-License-Identifier: Apache-2.0 */
/* Live migration, the hypervisor's two ends (docs/migration.md).  The
 * engines produce and consume the migration stream (core/mig_format.h);
 * a transport only moves bytes between them: it pulls what an engine has
 * to send and pushes what arrived, in pieces of any size.
 *
 * Source (migrate_src.c): negotiates the version, sends the VM's
 * configuration and bundle and waits until the destination has built the
 * VM, turns dirty logging on, sends all of RAM, then rounds of the pages
 * dirtied meanwhile until the rest fits the downtime target (or stops
 * shrinking), then pauses the VM, sends the last pages and its state
 * (vCPUs, devices, clock: a snapshot without RAM) and waits for the
 * destination to say the VM runs there.  Only then does the source VM end
 * ("migrated to HOST"); on any failure before that (the connection gone,
 * a refusal, a broken reply, a timeout) logging stops, the VM runs on as
 * before, and the reason is kept.
 *
 * Destination (migrate_dst.c): checks the version, the configuration
 * (name, memory, ISA extensions) before any RAM moves, builds the VM
 * paused from the bundle, writes RAM batches straight into it as they
 * arrive, then restores the final state with a snapshot restore's checks
 * (two passes, nothing applied from a state that does not check), resumes
 * the VM and says so.  Every section is hostile input; a refusal is sent
 * back with its reason and the half-built VM is destroyed.
 *
 * Calling context: management work on a hart with no vCPU loaded (the run
 * loop's service; host tests), one call at a time per engine; the source
 * pauses and waits for the VM's vCPUs to leave their harts. */
#ifndef VIREO_CORE_MIGRATE_H
#define VIREO_CORE_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/isa.h"
#include "core/mig_format.h"
#include "core/snap_format.h"
#include "core/vm.h"

enum migrate_phase {
    MIGRATE_IDLE,
    MIGRATE_SETUP,   /* version, configuration, bundle, the VM built there */
    MIGRATE_PRECOPY, /* RAM rounds, the VM running */
    MIGRATE_FINAL,   /* the VM paused: last pages and state */
    MIGRATE_CONFIRM, /* all sent: waiting for "running" */
    MIGRATE_DONE,    /* the VM runs on the destination */
    MIGRATE_FAILED,  /* reason says why; the source VM runs on */
    /* The source only: all was sent, then the connection broke (or went
     * silent) before the destination said whether the VM runs there.
     * The VM stays paused here until the operator says (migrate_src_resolve):
     * two copies must never run. */
    MIGRATE_UNKNOWN,
};

const char *migrate_phase_name(enum migrate_phase p);

struct migrate_params {
    uint32_t downtime_ms;  /* target for the final step; 0: 300 */
    uint32_t max_rounds;   /* rounds after the first pass at most; 0: 30 */
    uint32_t stall_rounds; /* rounds that do not shrink the dirty set allowed (once the
                            * throttle is at its cap, docs/migration.md); 0: 3 */
    uint32_t timeout_ms;   /* silence from the destination tolerated while waiting; 0: 30 s */
    const char *to;        /* where to, for the VM's end reason ("hostB:7001") */
    /* Disks on host-disk regions stay where they are (both hosts share
     * the disk; flushed at the pause) rather than travel in the final
     * state.  Image-backed disks travel either way. */
    bool shared_disks;
    bool no_converge; /* no auto-converge: the guest is never throttled */
};

/* Flow control: pre-copy RAM goes at most this far ahead of what the
 * destination acknowledged (more when the acknowledgements show a faster
 * link: a second's worth, up to MIGRATE_WINDOW_MAX). */
#define MIGRATE_WINDOW_MIN (2ull << 20)
#define MIGRATE_WINDOW_MAX (64ull << 20)

struct migrate_stats {
    uint32_t rounds;                 /* RAM passes, the first full one included */
    uint64_t pages;                  /* pages sent with their data */
    uint64_t zero_pages;             /* pages sent as zero (no data) */
    uint64_t bytes;                  /* stream bytes sent */
    uint64_t last_dirty;             /* pages dirty at the last look */
    uint64_t final_pages;            /* pages sent while paused */
    uint64_t unacked_at_pause;       /* stream bytes still on their way at the pause */
    uint64_t state_bytes;            /* the final state's size */
    uint64_t started, paused, ended; /* host time */
    /* Host time in the final step, for where its downtime goes: the vCPUs
     * off their harts, the devices quiesced and the last fetch done, the
     * state taken, END handed to the transport. */
    uint64_t off_harts, fetched, state_taken, end_out;
    uint64_t bytes_per_sec; /* the link, measured over the last round */
    uint32_t throttle_pct;  /* auto-converge: hart time withheld from its vCPUs */
};

struct migrate_src {
    enum migrate_phase phase;
    struct vm *vm;
    char name[32]; /* the VM's, kept: its slot may be deleted and reused after */
    uint64_t vm_uid, vm_ram;
    struct migrate_params p;
    char to[64];
    char reason[192];
    struct migrate_stats st;
    /* internals */
    int step;         /* the engine's position inside its phase */
    uint16_t version; /* negotiated */
    uint8_t *out;     /* what is ready to go: one section (or preamble) */
    size_t out_len, out_pos;
    struct snap_sink sink; /* writes into out; counts sections and chains */
    uint8_t *in;           /* one reply section */
    struct mig_reader rd;
    const uint8_t *bundle;
    size_t bundle_size, bundle_pos;
    void *packed; /* a boot-bundle VM's bundle, ours to free (vm_pack) */
    uint32_t piece;
    uint64_t *todo; /* pages to send this round (a dirty bitmap) */
    size_t words;
    uint64_t cursor;   /* next page to look at */
    uint64_t *entries; /* the batch being built */
    uint8_t *pages;
    uint64_t round_pages, round_zero, round_start, round_bytes, prev_dirty;
    uint64_t acked, round_acked; /* stream bytes the destination took: now, at the round's start */
    uint64_t best_bps;           /* the fastest round's rate: the link's bandwidth */
    uint32_t stalled;
    bool paused_by_us, held, logging;
    bool window_wait;  /* RAM waits for acknowledgements (flow control) */
    uint8_t tail[256]; /* a CANCEL section, sent after what out holds */
    size_t tail_len, tail_pos;
    uint8_t *state; /* the final state, then sent in pieces */
    size_t state_len, state_cap, state_pos;
    uint64_t waited_since;
    uint64_t clock_at_pause; /* the guest's clock when its vCPUs had stopped */
};

/* Starts migrating vm (running; from a run-time bundle, or a boot-bundle
 * VM packed into one: vm_pack) to p->to: 0, or a
 * negative ERR_* with err saying why (nothing changed then). */
int migrate_src_start(struct migrate_src *m, struct vm *vm, const struct migrate_params *p,
                      char *err, size_t errlen);
/* Up to n bytes of the stream into buf: how many (0: nothing now; the
 * engine waits for the destination, or is over).  May pause the VM and
 * wait for its vCPUs. */
size_t migrate_src_pull(struct migrate_src *m, void *buf, size_t n);
/* The destination's bytes.  A broken or refusing reply fails the
 * migration (the VM runs on). */
void migrate_src_push(struct migrate_src *m, const void *p, size_t n);
/* The connection is gone (why: "connection closed"): fails the migration
 * unless it is done. */
void migrate_src_closed(struct migrate_src *m, const char *why);
/* Checks the timeout while waiting for the destination; call now and
 * then. */
void migrate_src_poll(struct migrate_src *m);
/* The operator gives up on it (why: "by the operator"): the VM resumes
 * here, and a CANCEL section tells the destination, which destroys what
 * it built.  0; ERR_STATE with err saying why when it is over, or when
 * its final state is sent (the destination may run the VM: only its
 * answer, or migrate_src_resolve, ends it then). */
int migrate_src_cancel(struct migrate_src *m, const char *why, char *err, size_t errlen);
/* An UNKNOWN outcome settled by the operator, who looked at the
 * destination: resume (the VM does not run there: it runs on here) or
 * not (it does: this one ends, as after RUNNING).  0, or ERR_STATE with
 * err saying why (the outcome is known). */
int migrate_src_resolve(struct migrate_src *m, bool resume, char *err, size_t errlen);
/* Buffers back to Vireo's memory (once over; an UNKNOWN one keeps its
 * VM paused and can still be resolved). */
void migrate_src_free(struct migrate_src *m);
static inline bool migrate_src_over(const struct migrate_src *m)
{
    return m->phase == MIGRATE_DONE || m->phase == MIGRATE_FAILED || m->phase == MIGRATE_UNKNOWN;
}
/* Bytes still to go to the destination (a CANCEL after the engine is over). */
static inline bool migrate_src_sending(const struct migrate_src *m)
{
    return !migrate_src_over(m) || m->out_pos < m->out_len || m->tail_pos < m->tail_len;
}

struct migrate_dst_stats {
    uint64_t bytes, pages, zero_pages;
    uint64_t downtime_ns; /* the pause, as the source and this host measured it */
    uint32_t rounds;
    uint64_t started, ended;
};

struct migrate_dst {
    enum migrate_phase phase;
    char as[32];      /* the name to give the VM ("" : the source's) */
    char name[32];    /* the VM's, once known */
    char reason[192]; /* why it failed */
    struct migrate_dst_stats st;
    struct vm *vm; /* built, paused, until it runs */
    /* internals */
    int step;
    uint16_t version;
    uint8_t *in; /* one section */
    struct mig_reader rd;
    uint8_t out[1024]; /* replies waiting to go */
    size_t out_len, out_pos;
    struct snap_sink sink;
    uint64_t acked;                /* stream bytes the last ACK reported */
    uint8_t header[MIG_PIECE_MAX]; /* the source's snapshot HEADER */
    size_t header_len;
    uint64_t ram_size;
    uint32_t vcpus;
    struct isa_set isa; /* the VM's at the source */
    uint8_t *bundle;
    size_t bundle_size, bundle_pos;
    uint32_t piece;
    uint8_t *state;
    size_t state_len, state_cap;
    uint64_t paused_ns, paused_seen; /* MIG_PAUSED's figure, and when it came (here) */
    bool paused_known;
    bool keep_shared; /* CONFIG said: host-disk disks stay in place */
};

/* Waits for a stream; as: the name the VM gets here (NULL or "": its own). */
int migrate_dst_start(struct migrate_dst *d, const char *as, char *err, size_t errlen);
/* Bytes of the stream: consumed whole.  On a stream that is broken or
 * refused the engine fails (reason), queues the refusal for the source
 * and destroys the VM it was building; later bytes are ignored. */
void migrate_dst_push(struct migrate_dst *d, const void *p, size_t n);
/* Up to n bytes of replies: how many. */
size_t migrate_dst_pull(struct migrate_dst *d, void *buf, size_t n);
/* The connection is gone: a VM not yet running is destroyed. */
void migrate_dst_closed(struct migrate_dst *d, const char *why);
/* The operator gives up on the VM coming in (why: "by the operator"): it
 * is destroyed and the source told (REFUSE; the VM resumes there).  0, or
 * ERR_STATE with err saying why (it runs here already, or was refused). */
int migrate_dst_cancel(struct migrate_dst *d, const char *why, char *err, size_t errlen);
void migrate_dst_free(struct migrate_dst *d);
static inline bool migrate_dst_over(const struct migrate_dst *d)
{
    return d->phase == MIGRATE_DONE || d->phase == MIGRATE_FAILED;
}

#endif
