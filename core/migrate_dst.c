/* SPDX-License-Identifier: Apache-2.0 */
/* Live migration, the destination's engine (core/migrate.h,
 * docs/migration.md).  Bytes are pushed in as they arrive; the reader
 * (core/mig_format.c) hands over one checksummed section at a time and
 * each is checked here before it changes anything: the order of the
 * stream, every size, every RAM address.  RAM goes straight into the VM
 * being built (paused, never run); the final state is held whole (its
 * bound is known from the built VM) and restored with a snapshot
 * restore's two passes. */
#include "core/migrate.h"

#include "arch/arch.h"
#include "core/console.h"
#include "core/hart.h"
#include "core/isa.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/snapshot.h"
#include "core/vm_admin.h"
#include "core/vm_dev.h"
#include "core/vm_life.h"
#include "core/vmm.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/wire.h"

#define IN_SIZE     MIG_SECTION_MAX
#define CONFIG_VER  1
#define CONFIG_VER2 2 /* + u32 flags */

enum dst_step {
    D_PREAMBLE, /* theirs */
    D_CONFIG,
    D_BUNDLE,
    D_RAM,   /* RAM batches and round ends, then the first STATE piece */
    D_STATE, /* STATE pieces, then END */
    D_OVER,
};

static int out_write(void *ctx, const void *p, size_t n)
{
    struct migrate_dst *d = ctx;
    if (n > sizeof(d->out) - d->out_len)
        return ERR_NOSPC;
    memcpy(d->out + d->out_len, p, n);
    d->out_len += n;
    return 0;
}

/* Drops what was built: the VM (paused, never run) and its slot, or the
 * bundle that was not handed over yet. */
static void unbuild(struct migrate_dst *d)
{
    char why[160];

    if (d->vm) {
        if (__atomic_load_n(&d->vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING)
            vm_unbuild(d->vm);
        vm_delete(d->vm, why, sizeof(why));
        d->vm = NULL;
    }
    if (d->bundle)
        pmem_free(d->bundle, d->bundle_size);
    d->bundle = NULL;
    if (d->state)
        pmem_free(d->state, d->state_cap);
    d->state = NULL;
}

static void refuse(struct migrate_dst *d, int code, const char *fmt, ...) FMT_PRINTF(3, 4);

static void refuse(struct migrate_dst *d, int code, const char *fmt, ...)
{
    va_list ap;

    if (migrate_dst_over(d))
        return;
    va_start(ap, fmt);
    fmt_vsnprintf(d->reason, sizeof(d->reason), fmt, ap);
    va_end(ap);
    unbuild(d);
    d->phase = MIGRATE_FAILED;
    d->step = D_OVER;
    d->st.ended = arch_time();
    /* The reason goes back to the source (after our preamble, which went
     * first if the versions were agreed; else one that says 0). */
    if (!d->version) {
        uint8_t b[MIG_PREAMBLE];
        mig_preamble_encode(b, MIG_MAGIC_DST, 0, 0);
        out_write(d, b, sizeof(b));
    }
    uint8_t msg[8 + sizeof(d->reason)];
    struct wire w = wire_out(msg, sizeof(msg));
    size_t n = strlen(d->reason);
    wire_put_u32(&w, (uint32_t)code);
    wire_put_u16(&w, (uint16_t)n);
    wire_put_bytes(&w, d->reason, n);
    snap_write_section(&d->sink, MIG_R_REFUSE, 0, msg, w.pos);
    console_printf("vireo: migration in%s%s: refused: %s\n", d->name[0] ? " of vm " : "", d->name,
                   d->reason);
}

static void reply(struct migrate_dst *d, uint32_t type, uint32_t id)
{
    snap_write_section(&d->sink, type, id, NULL, 0);
}

/* Tells the source how much of the stream arrived, every 128 KiB and at
 * each round's end, when there is room (a later one says more).  The
 * source sends RAM only so far ahead of these (its flow control), and
 * waits for the one at a round's end before it looks at the dirty set. */
#define ACK_STEP (128u << 10)
static void ack(struct migrate_dst *d, bool now)
{
    uint64_t at = d->rd.bytes;
    if (!now && at - d->acked < ACK_STEP)
        return;
    if (sizeof(d->out) - d->out_len < SNAP_SECTION_HEAD + 8)
        return;
    uint8_t b[8];
    struct wire w = wire_out(b, sizeof(b));
    wire_put_u64(&w, at);
    snap_write_section(&d->sink, MIG_R_ACK, 0, b, sizeof(b));
    d->acked = at;
}

static int get_str(struct wire_in *r, char *buf, size_t size)
{
    uint16_t n = wire_get_u16(r);
    if (r->bad || n > r->len - r->pos || n >= size)
        return ERR_STRUCTURE;
    memcpy(buf, r->buf + r->pos, n);
    buf[n] = '\0';
    r->pos += n;
    return 0;
}

/* The guest ISA this host gives a VM that withholds nothing. */
static void isa_here(struct isa_set *have)
{
    static char host[2048], guest[2048];

    memset(have, 0, sizeof(*have));
    vmm_isa_strings(host, sizeof(host), guest, sizeof(guest));
    isa_set_add_string(have, guest);
}

/* Extensions the VM has (want) that this host cannot give a guest, named
 * into buf: how many. */
static unsigned isa_missing(const struct isa_set *want, char *buf, size_t size)
{
    struct isa_set have;
    unsigned n = 0;
    size_t used = 0;

    buf[0] = '\0';
    isa_here(&have);
    for (unsigned i = 0; i < isa_count(); i++) {
        if (isa_has(want, i) && !isa_has(&have, i)) {
            int k = fmt_snprintf(buf + used, size - used, "%s%s", n ? ", " : "", isa_name(i));
            if (k > 0 && (size_t)k < size - used)
                used += (size_t)k;
            n++;
        }
    }
    return n;
}

static void on_config(struct migrate_dst *d, const uint8_t *p, size_t len)
{
    static char isa[2048];
    struct wire_in r = wire_in(p, len);
    char missing[160];

    uint32_t ver = wire_get_u32(&r);
    if (ver != CONFIG_VER && ver != CONFIG_VER2) {
        refuse(d, ERR_VERSION, "a CONFIG section of a version this Vireo does not read");
        return;
    }
    int rc = get_str(&r, d->name, sizeof(d->name));
    d->ram_size = wire_get_u64(&r);
    d->vcpus = wire_get_u32(&r);
    uint64_t bundle = wire_get_u64(&r);
    if (rc >= 0)
        rc = get_str(&r, isa, sizeof(isa));
    uint32_t flags = ver == CONFIG_VER2 ? wire_get_u32(&r) : 0;
    uint32_t hl = wire_get_u32(&r);
    if (flags & ~MIG_CONFIG_KEEP_SHARED) {
        refuse(d, ERR_VERSION, "CONFIG flags 0x%x this Vireo does not know", flags);
        return;
    }
    d->keep_shared = flags & MIG_CONFIG_KEEP_SHARED;
    if (rc < 0 || r.bad || hl != r.len - r.pos || hl > sizeof(d->header) || !d->name[0]) {
        d->name[0] = '\0';
        refuse(d, ERR_STRUCTURE, "a malformed CONFIG section");
        return;
    }
    memcpy(d->header, r.buf + r.pos, hl);
    d->header_len = hl;
    const char *name = d->as[0] ? d->as : d->name;
    if (vm_find(name)) {
        refuse(d, ERR_EXIST, "a VM named %s exists here already", name);
        return;
    }
    memset(&d->isa, 0, sizeof(d->isa));
    if (isa_set_add_string(&d->isa, isa) > 0) {
        refuse(d, ERR_MISMATCH, "the VM's ISA names extensions this Vireo does not know (%s)", isa);
        return;
    }
    if (isa_missing(&d->isa, missing, sizeof(missing))) {
        refuse(d, ERR_MISMATCH, "this host lacks ISA extensions the VM uses: %s", missing);
        return;
    }
    if (d->vcpus == 0 || d->vcpus > CONFIG_MAX_VCPUS) {
        refuse(d, ERR_RANGE, "%u vCPUs (at most %u here)", d->vcpus, CONFIG_MAX_VCPUS);
        return;
    }
    /* RAM, the bundle, and about 1/256 of RAM for its tables: a first
     * look; vm_create checks exactly when it builds the VM. */
    uint64_t need = d->ram_size + bundle + d->ram_size / 256 + (4u << 20), have = pmem_free_bytes();
    if (bundle == 0 || bundle > have || d->ram_size > have || need > have) {
        refuse(d, ERR_NOMEM, "not enough memory here: the VM needs about %llu MiB, %llu MiB free",
               (unsigned long long)(need >> 20), (unsigned long long)(have >> 20));
        return;
    }
    d->bundle = pmem_alloc((size_t)bundle, 4096);
    if (!d->bundle) {
        refuse(d, ERR_NOMEM, "no memory here for the VM's bundle (%llu KiB)",
               (unsigned long long)(bundle >> 10));
        return;
    }
    d->bundle_size = (size_t)bundle;
    d->bundle_pos = 0;
    d->piece = 0;
    d->step = D_BUNDLE;
    reply(d, MIG_R_ACCEPT, MIG_STAGE_CONFIG);
}

/* The whole bundle is here: add the VM, build it paused, and check the
 * source's snapshot HEADER against it (RAM, vCPUs, devices, ISA, host
 * facts) before any RAM moves. */
static void build(struct migrate_dst *d)
{
    char why[192];
    void *bundle = d->bundle;

    d->bundle = NULL; /* vm_add owns it from here, refused or not */
    /* A VM migrating to this same host (under another name) shares its
     * devices' identities with the one it replaces: its MAC comes from
     * the name it was configured with. */
    struct vm *source = d->as[0] ? vm_find(d->name) : NULL;
    if (source && !__atomic_load_n(&source->migrating, __ATOMIC_ACQUIRE))
        source = NULL;
    int slot = vm_add_as(bundle, d->bundle_size, hart_count, d->as[0] ? d->as : NULL, source, why,
                         sizeof(why));
    if (slot < 0) {
        refuse(d, slot, "the VM's configuration: %s", why);
        return;
    }
    struct vm *vm = &vms[slot];
    d->vm = vm;
    vm_life_notify(vm, VM_EVENT_ADDED);
    /* Exactly the ISA it had: what this host has beyond it is withheld
     * (the guest found its extensions at boot; it must not see more or
     * fewer now).  What cannot be withheld makes the header check below
     * refuse. */
    struct isa_set have, more;
    isa_here(&have);
    memset(&more, 0, sizeof(more));
    for (unsigned i = 0; i < isa_count(); i++) {
        const char *cannot;
        if (isa_has(&have, i) && !isa_has(&d->isa, i) && isa_withhold_check(i, &cannot) == 0)
            isa_add(&more, i);
    }
    vm_admin_withhold(vm, &more);
    vm->boots++;
    vm->end = VM_END_NONE;
    int rc = vm_build_paused(vm, why, sizeof(why));
    if (rc < 0) {
        refuse(d, rc, "building the VM: %s", why);
        return;
    }
    if (vm->ram_size != d->ram_size || vm->nvcpus != d->vcpus) {
        refuse(d, ERR_MISMATCH, "the bundle's VM differs from CONFIG's (RAM or vCPUs)");
        return;
    }
    rc = snapshot_header_check(vm, d->header, d->header_len, why, sizeof(why));
    if (rc < 0) {
        refuse(d, rc, "%s", why);
        return;
    }
    d->state_cap = (size_t)snapshot_state_bound(vm, d->keep_shared);
    d->state = pmem_alloc(d->state_cap, 4096);
    if (!d->state) {
        refuse(d, ERR_NOMEM, "no memory here for the VM's state (%llu KiB)",
               (unsigned long long)(d->state_cap >> 10));
        return;
    }
    d->state_len = 0;
    d->step = D_RAM;
    d->phase = MIGRATE_PRECOPY;
    reply(d, MIG_R_ACCEPT, MIG_STAGE_BUILT);
}

static void on_bundle(struct migrate_dst *d, const struct snap_section *h, const uint8_t *p)
{
    if (h->id != d->piece || h->len == 0 || h->len > MIG_PIECE_MAX ||
        h->len > d->bundle_size - d->bundle_pos) {
        refuse(d, ERR_STRUCTURE, "bundle piece %u: out of order or too long", h->id);
        return;
    }
    memcpy(d->bundle + d->bundle_pos, p, (size_t)h->len);
    d->bundle_pos += (size_t)h->len;
    d->piece++;
    if (d->bundle_pos == d->bundle_size)
        build(d);
}

/* A RAM batch: checked whole (counts, length, every address inside RAM),
 * then written. */
static void on_ram(struct migrate_dst *d, const struct snap_section *h, const uint8_t *p)
{
    struct vm *vm = d->vm;
    struct wire_in r = wire_in(p, (size_t)h->len);
    uint32_t ne = wire_get_u32(&r), np = wire_get_u32(&r);
    uint64_t end = vm->ram_base + vm->ram_size;

    if (r.bad || ne == 0 || ne > MIG_BATCH_ENTRIES || np > MIG_BATCH_PAGES || np > ne ||
        h->len != MIG_RAM_HEAD + ne * 8ull + (uint64_t)np * MIG_PAGE || h->id != d->st.rounds) {
        refuse(d, ERR_STRUCTURE, "a malformed RAM section (round %u)", h->id);
        return;
    }
    uint32_t data = 0;
    for (uint32_t k = 0; k < ne; k++) {
        uint64_t e = wire_get_u64(&r), gpa = e & ~(uint64_t)(MIG_PAGE - 1);
        uint64_t pages = e & MIG_ENTRY_ZERO ? ((e >> 1) & (MIG_ENTRY_RUN_MAX - 1)) + 1 : 1;
        if (!(e & MIG_ENTRY_ZERO)) {
            if (e & (MIG_PAGE - 1))
                goto bad;
            data++;
        }
        if (gpa < vm->ram_base || gpa >= end || pages > (end - gpa + MIG_PAGE - 1) / MIG_PAGE)
            goto bad;
    }
    if (data != np)
        goto bad;
    static const uint8_t zero[MIG_PAGE];
    const uint8_t *pg = p + MIG_RAM_HEAD + ne * 8ull;
    struct wire_in e = wire_in(p + MIG_RAM_HEAD, ne * 8ull);
    for (uint32_t k = 0; k < ne; k++) {
        uint64_t v = wire_get_u64(&e), gpa = v & ~(uint64_t)(MIG_PAGE - 1);
        uint64_t pages = v & MIG_ENTRY_ZERO ? ((v >> 1) & (MIG_ENTRY_RUN_MAX - 1)) + 1 : 1;
        for (uint64_t i = 0; i < pages; i++, gpa += MIG_PAGE) {
            size_t n = end - gpa < MIG_PAGE ? (size_t)(end - gpa) : MIG_PAGE;
            const uint8_t *src = v & MIG_ENTRY_ZERO ? zero : pg;
            if (gpa_write(vm, gpa, src, n) < 0) {
                refuse(d, ERR_IO, "writing RAM at 0x%llx failed", (unsigned long long)gpa);
                return;
            }
        }
        if (v & MIG_ENTRY_ZERO) {
            d->st.zero_pages += pages;
        } else {
            pg += MIG_PAGE;
            d->st.pages++;
        }
    }
    return;
bad:
    refuse(d, ERR_RANGE, "a RAM section names pages outside the VM's RAM or miscounts them");
}

static void on_state_piece(struct migrate_dst *d, const struct snap_section *h, const uint8_t *p)
{
    if (h->id != d->piece || h->len == 0 || h->len > MIG_PIECE_MAX ||
        h->len > d->state_cap - d->state_len) {
        refuse(d, ERR_STRUCTURE, "state piece %u: out of order or larger than the VM's state",
               h->id);
        return;
    }
    memcpy(d->state + d->state_len, p, (size_t)h->len);
    d->state_len += (size_t)h->len;
    d->piece++;
}

/* The restore put the guest's clock where it was when the VM was paused.
 * The pause really lasted paused_ns at the source plus the time since that
 * figure came: the clock moves on by all of it (the guest's wall clock
 * stays right, and never goes back), and every vCPU is told it as steal
 * time (SBI STA): it wanted to run all along and could not. */
static void pause_accounted(struct migrate_dst *d)
{
    struct vm *vm = d->vm;
    uint64_t hz = vmm_timebase_hz(), here = arch_time() - d->paused_seen;
    uint64_t ns = d->paused_ns + here / hz * 1000000000ull + here % hz * 1000000000ull / hz;
    uint64_t ticks = ns / 1000000000ull * hz + ns % 1000000000ull * hz / 1000000000ull;

    vm->time_offset += ticks;
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        vm->vcpus[i].arch.hctl.htimedelta = vm->time_offset;
        vm->vcpus[i].steal_ns += ns;
    }
    d->st.downtime_ns = ns;
}

static int buf_rewind(void *ctx)
{
    ((struct snap_buf *)ctx)->pos = 0;
    return 0;
}

/* END: the state restored (checked whole first), the VM resumed, the
 * source told. */
static void on_end(struct migrate_dst *d)
{
    char why[192];

    if (d->step != D_STATE || !d->state_len || !d->paused_known) {
        refuse(d, ERR_STRUCTURE, "the stream ended before the VM's state");
        return;
    }
    struct snap_buf b = {d->state, d->state_len, 0};
    struct snap_input in = {{snap_buf_read, &b, 0, 0, 0}, buf_rewind};
    int rc = snapshot_restore_state(d->vm, &in, d->keep_shared, why, sizeof(why));
    if (rc < 0) {
        refuse(d, rc, "the VM's state: %s", why);
        return;
    }
    pmem_free(d->state, d->state_cap);
    d->state = NULL;
    pause_accounted(d);
    sched_pause_vm(d->vm, false);
    vm_life_notify(d->vm, VM_EVENT_RESUMED);
    /* Peers and switches learn that the VM's addresses are here now. */
    vm_devices_announce(d->vm);
    d->phase = MIGRATE_DONE;
    d->step = D_OVER;
    d->st.ended = arch_time();
    reply(d, MIG_R_RUNNING, 0);
    console_printf("vireo: vm %s migrated in: %u rounds, %llu pages, %llu zero, %llu KiB; "
                   "running\n",
                   d->vm->name, d->st.rounds, (unsigned long long)d->st.pages,
                   (unsigned long long)d->st.zero_pages, (unsigned long long)(d->st.bytes >> 10));
}

static void on_section(struct migrate_dst *d, const struct snap_section *h, const uint8_t *p)
{
    if (h->type == MIG_CANCEL) {
        /* The source gave up (its VM resumed there): what was built goes. */
        struct wire_in r = wire_in(p, (size_t)h->len);
        uint16_t n = wire_get_u16(&r);
        char why[161];
        if (r.bad || n > r.len - r.pos || n >= sizeof(why))
            n = 0;
        memcpy(why, r.buf + r.pos, n);
        why[n] = '\0';
        for (uint16_t i = 0; i < n; i++) /* shown on a console: printable only */
            if (why[i] < 0x20 || why[i] > 0x7e)
                why[i] = '?';
        refuse(d, ERR_STATE, "the source cancelled the migration (%s)",
               n ? why : "no reason given");
        return;
    }
    switch (d->step) {
    case D_CONFIG:
        if (h->type == MIG_CONFIG && h->id == 0 && h->len <= MIG_PIECE_MAX)
            on_config(d, p, (size_t)h->len);
        else
            refuse(d, ERR_STRUCTURE, "the stream does not start with CONFIG");
        return;
    case D_BUNDLE:
        if (h->type == MIG_BUNDLE)
            on_bundle(d, h, p);
        else
            refuse(d, ERR_STRUCTURE, "section 0x%x where the bundle goes", h->type);
        return;
    case D_RAM:
        if (h->type == MIG_RAM) {
            on_ram(d, h, p);
            ack(d, false);
        } else if (h->type == MIG_ROUND && h->id == d->st.rounds && h->len == 16) {
            d->st.rounds++;
            ack(d, true);
        } else if (h->type == MIG_STATE && d->st.rounds > 0) {
            d->phase = MIGRATE_FINAL;
            d->step = D_STATE;
            d->piece = 0;
            on_state_piece(d, h, p);
        } else {
            refuse(d, ERR_STRUCTURE, "section 0x%x (id %u) where RAM goes", h->type, h->id);
        }
        return;
    case D_STATE:
        if (h->type == MIG_STATE && !d->paused_known) {
            on_state_piece(d, h, p);
        } else if (h->type == MIG_PAUSED && h->len == 8 && !d->paused_known) {
            struct wire_in r = wire_in(p, 8);
            d->paused_ns = wire_get_u64(&r);
            d->paused_seen = arch_time();
            d->paused_known = true;
            if (d->paused_ns > MIG_PAUSE_MAX_NS)
                refuse(d, ERR_RANGE, "the VM says it has been paused for %llu s",
                       (unsigned long long)(d->paused_ns / 1000000000ull));
        } else {
            refuse(d, ERR_STRUCTURE, "section 0x%x inside the VM's state", h->type);
        }
        return;
    default:
        refuse(d, ERR_STRUCTURE, "a section out of turn");
    }
}

void migrate_dst_push(struct migrate_dst *d, const void *p, size_t n)
{
    const uint8_t *in = p;

    while (n && !migrate_dst_over(d)) {
        enum mig_event ev;
        long used = mig_reader_feed(&d->rd, in, n, &ev);
        if (used < 0) {
            refuse(d, (int)used, "the stream is damaged at byte %llu (%s)",
                   (unsigned long long)d->rd.bytes, err_str((int)used));
            return;
        }
        in += used;
        n -= (size_t)used;
        d->st.bytes += (uint64_t)used;
        if (ev == MIG_EV_PREAMBLE) {
            uint16_t lo, hi;
            int rc = mig_preamble_decode(d->rd.pre, MIG_MAGIC_SRC, &lo, &hi);
            if (rc < 0) {
                refuse(d, rc, "not a Vireo migration stream");
                return;
            }
            uint16_t v = mig_version_pick(lo, hi);
            if (!v) {
                refuse(d, ERR_VERSION,
                       "no stream version in common (the source speaks %u..%u, this Vireo %u..%u)",
                       lo, hi, MIG_VERSION_MIN, MIG_VERSION_MAX);
                return;
            }
            uint8_t b[MIG_PREAMBLE];
            mig_preamble_encode(b, MIG_MAGIC_DST, v, v);
            out_write(d, b, sizeof(b));
            d->version = v;
            d->step = D_CONFIG;
        } else if (ev == MIG_EV_SECTION) {
            on_section(d, &d->rd.h, d->rd.payload);
        } else if (ev == MIG_EV_END) {
            on_end(d);
        }
    }
}

size_t migrate_dst_pull(struct migrate_dst *d, void *buf, size_t n)
{
    size_t k = d->out_len - d->out_pos;
    if (k > n)
        k = n;
    memcpy(buf, d->out + d->out_pos, k);
    d->out_pos += k;
    if (d->out_pos == d->out_len)
        d->out_pos = d->out_len = 0;
    return k;
}

void migrate_dst_closed(struct migrate_dst *d, const char *why)
{
    if (migrate_dst_over(d))
        return;
    refuse(d, ERR_TRUNCATED, "%s before the VM's state came", why);
}

int migrate_dst_cancel(struct migrate_dst *d, const char *why, char *err, size_t errlen)
{
    if (migrate_dst_over(d) || d->phase == MIGRATE_IDLE) {
        fmt_snprintf(err, errlen, "the migration in%s%s is over (%s)", d->name[0] ? " of vm " : "",
                     d->name, migrate_phase_name(d->phase));
        return ERR_STATE;
    }
    refuse(d, ERR_STATE, "cancelled here %s", why);
    return 0;
}

void migrate_dst_free(struct migrate_dst *d)
{
    if (!migrate_dst_over(d))
        migrate_dst_closed(d, "cancelled");
    if (d->in)
        pmem_free(d->in, IN_SIZE);
    d->in = NULL;
}

int migrate_dst_start(struct migrate_dst *d, const char *as, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    if (as && strlen(as) >= sizeof(d->as)) {
        fmt_snprintf(err, errlen, "vm name %s: at most %u characters", as,
                     (unsigned)sizeof(d->as) - 1);
        return ERR_INVAL;
    }
    if (as)
        memcpy(d->as, as, strlen(as) + 1);
    d->in = pmem_alloc(IN_SIZE, 4096);
    if (!d->in) {
        fmt_snprintf(err, errlen, "no memory for the migration's buffer");
        return ERR_NOMEM;
    }
    mig_reader_init(&d->rd, d->in);
    d->sink = (struct snap_sink){out_write, d, 0, 0, 0};
    d->phase = MIGRATE_SETUP;
    d->step = D_PREAMBLE;
    d->st.started = arch_time();
    return 0;
}
