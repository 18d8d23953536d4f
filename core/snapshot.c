/* SPDX-License-Identifier: Apache-2.0 */
/* Snapshots of a VM (docs/snapshot.md).  Sections, in this order:
 * HEADER (what a restore must match), VM (the guest's clock), one VCPU per
 * vCPU, VPLIC, VUART, one DEVICE per virtio device, one RAM section per
 * 2 MiB of guest RAM (zero pages elided), END.
 *
 * A restore reads its source twice: the first pass checks the framing and
 * every checksum, that the snapshot was made for this VM on a host like
 * this one, and every vCPU's state; nothing changes.  The second applies:
 * vCPUs, then devices, then RAM.  A device model checks its own payload
 * before changing anything; should one still refuse, everything already
 * applied is put back from an undo image of the VM's non-RAM state taken
 * just before, so a refused restore leaves the VM as it was. */
#include "core/snapshot.h"

#include "arch/arch.h"
#include "core/console.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/vcpu_state.h"
#include "core/vdev/vdev.h"
#include "core/vm_dev.h"
#include "core/version.h"
#include "core/vmm.h"
#include "devices/vplic.h"
#include "devices/vuart.h"
#include "lib/crc32c.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/wire.h"

#define SNAP_HEADER_VERSION  1
#define SNAP_VM_VERSION      1
#define SNAP_CHUNK_VERSION   1
#define SNAP_CONSOLE_VERSION 1
#define CHUNK                (2u << 20)
#define CHUNK_PAGES          (CHUNK / 4096)
#define CHUNK_HEAD           (8 + 8 + 4 + 4 + CHUNK_PAGES / 8) /* version..bitmap */
#define MAX_REGIONS          (1 + CONFIG_MAX_DEVS)
#define PROGRESS_STEP        (64ull << 20)

/* Scratch for one non-RAM section (and the restore's undo image); taken
 * from Vireo's memory for the duration of a call.  The shell runs one
 * snapshot at a time. */
struct snap_scratch {
    uint8_t *buf;
    size_t size;
};

static int scratch_get(struct snap_scratch *s, size_t size)
{
    s->buf = pmem_alloc(size, 4096);
    s->size = s->buf ? size : 0;
    return s->buf ? 0 : ERR_NOMEM;
}

static void scratch_put(struct snap_scratch *s)
{
    if (s->buf)
        pmem_free(s->buf, s->size);
    s->buf = NULL;
}

static uint64_t guest_now(const struct vm *vm)
{
    return arch_time() + vm->time_offset;
}

/* ---- the header: what a restore must match ---- */

static void put_str(struct wire *w, const char *s)
{
    size_t n = strlen(s);
    wire_put_u16(w, (uint16_t)n);
    wire_put_bytes(w, s, n);
}

static long header_build(const struct vm *vm, void *buf, size_t size)
{
    struct wire w = wire_out(buf, size);

    wire_put_u32(&w, SNAP_HEADER_VERSION);
    put_str(&w, VIREO_VERSION);
    put_str(&w, vm->name);
    wire_put_u64(&w, vm->ram_base);
    wire_put_u64(&w, vm->ram_size);
    wire_put_u32(&w, vm->nvcpus);
    wire_put_u32(&w, vmm_timebase_hz());
    wire_put_u32(&w, (uint32_t)arch_vector_state_size());
    wire_put_u32(&w, vcpu_arch_trig_max());
    put_str(&w, vm->isa_str);
    wire_put_u32(&w, vm->nvdevs);
    for (unsigned i = 0; i < vm->nvdevs; i++) {
        const struct vm_vdev *d = vm->vdevs[i];
        struct vdev_bulk b;
        put_str(&w, d->kind->name);
        put_str(&w, d->cfg->name);
        wire_put_u64(&w, d->kind->bulk && d->kind->bulk(d, &b) ? b.size : 0);
    }
    return w.bad ? ERR_NOSPC : (long)w.pos;
}

/* The header is compared with the one this VM would write, except for the
 * Vireo version (any version that writes this format may restore it) and
 * the VM's name (a snapshot may be restored into another VM of the same
 * configuration). */
static int header_check(const struct vm *vm, const uint8_t *p, size_t n, void *mine,
                        size_t minesize, char *err, size_t errlen)
{
    long len = header_build(vm, mine, minesize);
    struct wire_in a = wire_in(p, n), b = wire_in(mine, len < 0 ? 0 : (size_t)len);

    if (len < 0)
        return (int)len;
    if (wire_get_u32(&a) != SNAP_HEADER_VERSION) {
        fmt_snprintf(err, errlen, "snapshot header of an unknown version");
        return ERR_VERSION;
    }
    wire_get_u32(&b);
    for (int skip = 0; skip < 2; skip++) { /* version, name */
        uint16_t la = wire_get_u16(&a), lb = wire_get_u16(&b);
        if (a.bad || la > a.len - a.pos) {
            fmt_snprintf(err, errlen, "snapshot header is truncated");
            return ERR_TRUNCATED;
        }
        a.pos += la;
        b.pos += lb;
    }
    if (a.len - a.pos != b.len - b.pos || memcmp(a.buf + a.pos, b.buf + b.pos, a.len - a.pos)) {
        fmt_snprintf(err, errlen,
                     "the snapshot was made for another configuration or host (RAM, vCPUs, "
                     "devices, guest ISA, timebase, vector length or debug triggers differ)");
        return ERR_MISMATCH;
    }
    return 0;
}

/* ---- RAM and disk contents: 2 MiB chunks, zero pages elided ---- */

/* What chunks are cut from: the guest's RAM, or a device's bulk contents
 * (a disk's data).  addr is what a chunk header records (the guest
 * physical address of RAM, 0 for a disk). */
struct snap_region {
    uint64_t addr, size;
    int (*read)(void *ctx, uint64_t off, void *buf, size_t n);
    int (*write)(void *ctx, uint64_t off, const void *buf, size_t n);
    void *ctx;
    uint32_t type; /* SNAP_RAM or SNAP_DISK */
    uint32_t id0;  /* the first chunk's section id */
};

static int ram_read(void *ctx, uint64_t off, void *buf, size_t n)
{
    struct vm *vm = ctx;
    return gpa_read(vm, vm->ram_base + off, buf, n);
}

static int ram_write(void *ctx, uint64_t off, const void *buf, size_t n)
{
    struct vm *vm = ctx;
    return gpa_write(vm, vm->ram_base + off, buf, n);
}

/* The regions of vm in snapshot order: RAM, then each device's bulk
 * contents (id: the device's index in bits 20 and up, the chunk below);
 * keep_shared: not the contents of devices on a host-disk region (a
 * migration between hosts that share it, SNAP_FLAG_KEEP_SHARED). */
static unsigned regions_of(struct vm *vm, struct snap_region *r, unsigned max, bool keep_shared)
{
    unsigned n = 0;

    r[n++] = (struct snap_region){vm->ram_base, vm->ram_size, ram_read, ram_write, vm, SNAP_RAM, 0};
    for (unsigned i = 0; i < vm->nvdevs && n < max; i++) {
        struct vm_vdev *d = vm->vdevs[i];
        struct vdev_bulk b;
        if (keep_shared && vm_device_on_host_disk(vm, i))
            continue;
        if (d->kind->bulk && d->kind->bulk(d, &b))
            r[n++] = (struct snap_region){0, b.size, b.read, b.write, b.ctx, SNAP_DISK, i << 20};
    }
    return n;
}

static bool page_is_zero(const uint64_t *p)
{
    uint64_t acc = 0;
    for (unsigned i = 0; i < 512; i++)
        acc |= p[i];
    return acc == 0;
}

/* Bytes of page i (of a chunk at off) inside the region: 4096, or less for
 * the last page of a region that is not a whole number of pages. */
static size_t page_bytes(const struct snap_region *r, uint64_t off, uint32_t i)
{
    uint64_t at = off + (uint64_t)i * 4096;
    return r->size - at >= 4096 ? 4096 : (size_t)(r->size - at);
}

static uint32_t chunk_pages(const struct snap_region *r, uint64_t off)
{
    uint64_t n = r->size - off >= CHUNK ? CHUNK : r->size - off;
    return (uint32_t)((n + 4095) / 4096);
}

static int region_save(struct vm *vm, const struct snap_region *r, struct snap_sink *s,
                       uint8_t *chunk, struct snapshot_stats *st, snapshot_progress_fn progress)
{
    uint64_t next_report = PROGRESS_STEP;

    for (uint64_t off = 0, k = 0; off < r->size; off += CHUNK, k++) {
        uint32_t npages = chunk_pages(r, off), present = 0;
        uint8_t head[CHUNK_HEAD];
        uint8_t *bitmap = head + CHUNK_HEAD - CHUNK_PAGES / 8;

        memset(head, 0, sizeof(head));
        memset(chunk + (npages - 1) * 4096ull, 0, 4096); /* a short last page reads as zero */
        uint64_t n = r->size - off >= CHUNK ? CHUNK : r->size - off;
        int err = r->read(r->ctx, off, chunk, (size_t)n);
        if (err < 0)
            return err;
        for (uint32_t i = 0; i < npages; i++) {
            if (!page_is_zero((const uint64_t *)(chunk + i * 4096ull))) {
                bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
                present++;
            }
        }
        struct wire w = wire_out(head, CHUNK_HEAD - CHUNK_PAGES / 8);
        wire_put_u32(&w, SNAP_CHUNK_VERSION);
        wire_put_u32(&w, 0);
        wire_put_u64(&w, r->addr + off);
        wire_put_u32(&w, npages);
        wire_put_u32(&w, present);
        uint32_t crc = crc32c(0, head, sizeof(head));
        for (uint32_t i = 0; i < npages; i++)
            if ((bitmap[i / 8] >> (i % 8)) & 1)
                crc = crc32c(crc, chunk + i * 4096ull, 4096);
        struct snap_section h = {r->type, r->id0 + (uint32_t)k, sizeof(head) + present * 4096ull,
                                 crc};
        if ((err = snap_write_head(s, &h)) < 0 || (err = snap_write_raw(s, head, sizeof(head))) < 0)
            return err;
        for (uint32_t i = 0; i < npages; i++) {
            if (!((bitmap[i / 8] >> (i % 8)) & 1))
                continue;
            if ((err = snap_write_raw(s, chunk + i * 4096ull, 4096)) < 0)
                return err;
        }
        st->ram_pages += present;
        st->zero_pages += npages - present;
        if (progress && r->type == SNAP_RAM && off + CHUNK >= next_report) {
            progress(vm, off + CHUNK, r->size);
            next_report += PROGRESS_STEP;
        }
    }
    return 0;
}

/* Checks chunk k of r against its section (the chunk it names, its page
 * count and bitmap against its length, its checksum); apply: also writes
 * it, a page not stored being zero. */
static int chunk_load(const struct snap_region *r, struct snap_source *src,
                      const struct snap_section *h, uint32_t k, bool apply)
{
    static uint64_t page[512];
    uint8_t head[CHUNK_HEAD];
    uint64_t off = (uint64_t)k * CHUNK;

    if (h->type != r->type || h->id != r->id0 + k || off >= r->size || h->len < CHUNK_HEAD)
        return ERR_STRUCTURE;
    int err = src->read(src->ctx, head, sizeof(head));
    if (err < 0)
        return err;
    src->bytes += sizeof(head);
    struct wire_in in = wire_in(head, sizeof(head));
    uint32_t version = wire_get_u32(&in), flags = wire_get_u32(&in);
    uint64_t addr = wire_get_u64(&in);
    uint32_t npages = wire_get_u32(&in), present = wire_get_u32(&in);
    const uint8_t *bitmap = head + CHUNK_HEAD - CHUNK_PAGES / 8;
    uint32_t count = 0;

    if (version != SNAP_CHUNK_VERSION || flags)
        return ERR_VERSION;
    for (uint32_t i = 0; i < CHUNK_PAGES; i++)
        count += (bitmap[i / 8] >> (i % 8)) & 1;
    if (addr != r->addr + off || npages != chunk_pages(r, off) || present != count ||
        h->len != sizeof(head) + present * 4096ull)
        return ERR_STRUCTURE;
    for (uint32_t i = npages; i < CHUNK_PAGES; i++)
        if ((bitmap[i / 8] >> (i % 8)) & 1)
            return ERR_STRUCTURE;
    uint32_t crc = crc32c(0, head, sizeof(head));
    for (uint32_t i = 0; i < npages; i++) {
        if ((bitmap[i / 8] >> (i % 8)) & 1) {
            if ((err = src->read(src->ctx, page, 4096)) < 0)
                return err;
            src->bytes += 4096;
            crc = crc32c(crc, page, 4096);
        } else if (apply) {
            memset(page, 0, 4096);
        }
        if (apply && r->write(r->ctx, off + i * 4096ull, page, page_bytes(r, off, i)) < 0)
            return ERR_IO;
    }
    return crc == h->crc ? 0 : ERR_CHECKSUM;
}

/* ---- the non-RAM state: vCPUs and devices ---- */

/* Each of vm's state sections after VM, in order, as (type, id, saver). */
static long state_save_one(struct vm *vm, uint32_t type, uint32_t id, void *buf, size_t size)
{
    switch (type) {
    case SNAP_VCPU:
        return vcpu_state_save(&vm->vcpus[id], buf, size);
    case SNAP_VPLIC:
        return vplic_save(&vm->plic, buf, size);
    case SNAP_VUART:
        return vuart_save(&vm->uart, buf, size);
    default: {
        const struct vm_vdev *d = vm->vdevs[id];
        if (!d->kind->save)
            return ERR_NOTSUP;
        return d->kind->save(d, buf, size);
    }
    }
}

/* The sections of the non-RAM state: n of them, the k-th being (type, id). */
static unsigned state_count(const struct vm *vm)
{
    return vm->nvcpus + 2 + vm->nvdevs;
}

static void state_nth(const struct vm *vm, unsigned k, uint32_t *type, uint32_t *id)
{
    if (k < vm->nvcpus) {
        *type = SNAP_VCPU;
        *id = k;
    } else if (k == vm->nvcpus) {
        *type = SNAP_VPLIC;
        *id = 0;
    } else if (k == vm->nvcpus + 1) {
        *type = SNAP_VUART;
        *id = 0;
    } else {
        *type = SNAP_DEVICE;
        *id = k - vm->nvcpus - 2;
    }
}

static const char *state_name(const struct vm *vm, uint32_t type, uint32_t id, char *buf, size_t n)
{
    if (type == SNAP_VCPU)
        fmt_snprintf(buf, n, "vCPU %u", id);
    else if (type == SNAP_VPLIC)
        fmt_snprintf(buf, n, "the virtual PLIC");
    else if (type == SNAP_VUART)
        fmt_snprintf(buf, n, "the UART");
    else
        fmt_snprintf(buf, n, "device %s", vm->vdevs[id]->cfg->name);
    return buf;
}

/* ---- save ---- */

static int save_held(struct vm *vm, struct snap_sink *s, uint32_t flags, uint64_t clock,
                     struct snapshot_stats *st, snapshot_progress_fn progress, char *err,
                     size_t errlen)
{
    struct snap_scratch sc = {0};
    char name[48];
    int rc;

    if ((rc = scratch_get(&sc, SNAP_SECTION_MAX)) < 0) {
        fmt_snprintf(err, errlen, "no memory for the snapshot's buffers");
        return rc;
    }
    s->bytes = 0;
    bool no_ram = flags & SNAP_FLAG_NO_RAM;
    rc = snap_write_preamble_flags(s, flags);
    long len = rc < 0 ? rc : header_build(vm, sc.buf, sc.size);
    if (len >= 0)
        rc = snap_write_section(s, SNAP_HEADER, 0, sc.buf, (uint64_t)len);
    else
        rc = (int)len;
    if (rc >= 0) {
        struct wire w = wire_out(sc.buf, sc.size);
        wire_put_u32(&w, SNAP_VM_VERSION);
        wire_put_u64(&w, clock ? clock : guest_now(vm));
        rc = snap_write_section(s, SNAP_VM, 0, sc.buf, w.pos);
    }
    for (unsigned k = 0; rc >= 0 && k < state_count(vm); k++) {
        uint32_t type, id;
        state_nth(vm, k, &type, &id);
        len = state_save_one(vm, type, id, sc.buf, sc.size);
        if (len < 0) {
            fmt_snprintf(err, errlen, "%s: %s", state_name(vm, type, id, name, sizeof(name)),
                         len == ERR_NOTSUP ? "cannot be saved" : err_str((int)len));
            scratch_put(&sc);
            return (int)len;
        }
        rc = snap_write_section(s, type, id, sc.buf, (uint64_t)len);
    }
    if (rc >= 0) {
        /* The VM's console log: what it printed lately, for `vm log`. */
        static char log[VCONSOLE_LOG_SIZE];
        uint64_t total;
        size_t n = vconsole_port_log(&vm->con, log, sizeof(log), &total);
        struct wire w = wire_out(sc.buf, sc.size);
        wire_put_u32(&w, SNAP_CONSOLE_VERSION);
        wire_put_u64(&w, total);
        wire_put_u32(&w, (uint32_t)n);
        wire_put_bytes(&w, log, n);
        rc = snap_write_section(s, SNAP_CONSOLE, 0, sc.buf, w.pos);
    }
    scratch_put(&sc);
    if (rc >= 0) {
        struct snap_region r[MAX_REGIONS];
        unsigned n = regions_of(vm, r, MAX_REGIONS, flags & SNAP_FLAG_KEEP_SHARED);
        uint8_t *chunk = pmem_alloc_block();
        if (!chunk)
            rc = ERR_NOMEM;
        for (unsigned i = no_ram ? 1 : 0; rc >= 0 && i < n; i++) /* RAM is r[0] */
            rc = region_save(vm, &r[i], s, chunk, st, progress);
        if (chunk)
            pmem_free(chunk, CHUNK);
    }
    if (rc >= 0)
        rc = snap_write_end(s);
    if (rc < 0) {
        fmt_snprintf(err, errlen, "writing the snapshot failed: %s", err_str(rc));
        return rc;
    }
    st->bytes = s->bytes;
    return 0;
}

static int save(struct vm *vm, struct snap_sink *s, uint32_t flags, uint64_t clock,
                struct snapshot_stats *st, snapshot_progress_fn progress, char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    if (!sched_vm_off_harts(vm)) {
        fmt_snprintf(err, errlen, "vm %s is not paused with its vCPUs stopped", vm->name);
        return ERR_INVAL;
    }
    int rc = vm_debug_refuse_copy(vm, err, errlen);
    if (rc < 0)
        return rc;
    /* Nothing else may change the VM while it is read: RAM, then device
     * state, must be of one instant. */
    vm_devices_hold(vm, true);
    rc = save_held(vm, s, flags, clock, st, progress, err, errlen);
    vm_devices_hold(vm, false);
    return rc;
}

int snapshot_save(struct vm *vm, struct snap_sink *s, struct snapshot_stats *st,
                  snapshot_progress_fn progress, char *err, size_t errlen)
{
    return save(vm, s, 0, 0, st, progress, err, errlen);
}

int snapshot_save_state(struct vm *vm, struct snap_sink *s, uint64_t clock, bool keep_shared,
                        struct snapshot_stats *st, char *err, size_t errlen)
{
    return save(vm, s, SNAP_FLAG_NO_RAM | (keep_shared ? SNAP_FLAG_KEEP_SHARED : 0), clock, st,
                NULL, err, errlen);
}

/* ---- restore ---- */

static bool vm_log_empty(struct vm *vm)
{
    uint64_t total;
    char none;
    vconsole_port_log(&vm->con, &none, 0, &total);
    return total == 0;
}

static struct vcpu_image images[CONFIG_MAX_VCPUS];

/* Reads the next section header, which must be (type, id). */
static int expect_head(struct snap_source *src, struct snap_section *h, uint32_t type, uint32_t id)
{
    int rc = snap_read_head(src, h);
    if (rc < 0)
        return rc;
    return h->type == type && h->id == id ? 0 : ERR_STRUCTURE;
}

/* Puts the non-RAM state saved in undo back (it came from this VM). */
static void state_undo(struct vm *vm, const uint8_t *undo, const size_t *len)
{
    char e[8];
    for (unsigned k = 0; k < state_count(vm); k++) {
        uint32_t type, id;
        state_nth(vm, k, &type, &id);
        if (type == SNAP_VCPU) {
            if (vcpu_state_parse(&vm->vcpus[id], undo, len[k], &images[0], e, sizeof(e)) == 0)
                vcpu_state_apply(&vm->vcpus[id], &images[0]);
        } else if (type == SNAP_VPLIC) {
            vplic_load(&vm->plic, undo, len[k]);
        } else if (type == SNAP_VUART) {
            vuart_load(&vm->uart, undo, len[k]);
        } else {
            vm->vdevs[id]->kind->load(vm->vdevs[id], undo, len[k]);
        }
        undo += len[k];
    }
}

/* One pass over the snapshot: check (apply false) or apply. */
static int restore_pass(struct vm *vm, struct snap_source *src, uint32_t flags,
                        struct snap_scratch *sc, struct snap_scratch *undo, bool apply,
                        snapshot_progress_fn progress, char *err, size_t errlen)
{
    struct snap_section h;
    char name[48];
    bool no_ram = flags & SNAP_FLAG_NO_RAM;
    int rc = snap_read_preamble_flags(src, flags);
    uint8_t *buf = sc->buf, *mine = sc->buf + SNAP_SECTION_MAX;

    if (rc < 0) {
        fmt_snprintf(err, errlen, "not a Vireo snapshot of a version this Vireo reads (%s)",
                     err_str(rc));
        return rc;
    }
    if ((rc = expect_head(src, &h, SNAP_HEADER, 0)) < 0 || h.len > SNAP_SECTION_MAX ||
        (rc = snap_read_payload(src, &h, buf)) < 0) {
        fmt_snprintf(err, errlen, "snapshot header: %s", err_str(rc < 0 ? rc : ERR_STRUCTURE));
        return rc < 0 ? rc : ERR_STRUCTURE;
    }
    if ((rc = header_check(vm, buf, (size_t)h.len, mine, SNAP_SECTION_MAX, err, errlen)) < 0)
        return rc;
    rc = expect_head(src, &h, SNAP_VM, 0);
    if (rc >= 0 && h.len != 12)
        rc = ERR_STRUCTURE;
    if (rc >= 0)
        rc = snap_read_payload(src, &h, buf);
    struct wire_in r = wire_in(buf, 12);
    if (rc >= 0 && wire_get_u32(&r) != SNAP_VM_VERSION)
        rc = ERR_VERSION;
    uint64_t guest_time = wire_get_u64(&r);
    if (rc < 0) {
        fmt_snprintf(err, errlen, "snapshot VM section: %s", err_str(rc));
        return rc;
    }
    if (apply) {
        /* The guest's clock continues from the snapshot's point. */
        vm->time_offset = guest_time - arch_time();
        for (unsigned i = 0; i < vm->nvcpus; i++)
            vm->vcpus[i].arch.hctl.htimedelta = vm->time_offset;
    }

    size_t undo_len[CONFIG_MAX_VCPUS + 2 + CONFIG_MAX_DEVS];
    if (apply) {
        /* The undo image: this VM's non-RAM state as it is now. */
        size_t used = 0;
        for (unsigned k = 0; k < state_count(vm); k++) {
            uint32_t type, id;
            state_nth(vm, k, &type, &id);
            long len = state_save_one(vm, type, id, undo->buf + used, undo->size - used);
            if (len < 0) {
                fmt_snprintf(err, errlen, "%s: cannot be saved for undo (%s)",
                             state_name(vm, type, id, name, sizeof(name)), err_str((int)len));
                return (int)len;
            }
            undo_len[k] = (size_t)len;
            used += (size_t)len;
        }
    }
    for (unsigned k = 0; k < state_count(vm); k++) {
        uint32_t type, id;
        state_nth(vm, k, &type, &id);
        state_name(vm, type, id, name, sizeof(name));
        rc = expect_head(src, &h, type, id);
        if (rc >= 0 && h.len > SNAP_SECTION_MAX)
            rc = ERR_RANGE;
        if (rc >= 0)
            rc = snap_read_payload(src, &h, buf);
        if (rc < 0) {
            fmt_snprintf(err, errlen, "snapshot section for %s: %s", name, err_str(rc));
            goto undo;
        }
        if (type == SNAP_VCPU) {
            rc = vcpu_state_parse(&vm->vcpus[id], buf, (size_t)h.len, &images[id], err, errlen);
            if (rc < 0)
                goto undo;
            if (apply)
                vcpu_state_apply(&vm->vcpus[id], &images[id]);
            continue;
        }
        if (!apply)
            continue; /* device models check their payloads as they load them */
        if (type == SNAP_VPLIC)
            rc = vplic_load(&vm->plic, buf, (size_t)h.len);
        else if (type == SNAP_VUART)
            rc = vuart_load(&vm->uart, buf, (size_t)h.len);
        else if (vm->vdevs[id]->kind->load)
            rc = vm->vdevs[id]->kind->load(vm->vdevs[id], buf, (size_t)h.len);
        else
            rc = ERR_NOTSUP;
        if (rc < 0) {
            fmt_snprintf(err, errlen, "%s refused its state: %s", name, err_str(rc));
            goto undo;
        }
    }
    /* The console log: checked, then put back into a VM that has printed
     * nothing yet (one built for this restore); a VM rolled back keeps its
     * log, so `vm log` shows what it printed after the snapshot, then what
     * it prints from the snapshot's point on. */
    rc = expect_head(src, &h, SNAP_CONSOLE, 0);
    if (rc >= 0 && h.len > SNAP_SECTION_MAX)
        rc = ERR_RANGE;
    if (rc >= 0)
        rc = snap_read_payload(src, &h, buf);
    if (rc >= 0) {
        struct wire_in lr = wire_in(buf, (size_t)h.len);
        uint32_t version = wire_get_u32(&lr);
        uint64_t total = wire_get_u64(&lr);
        uint32_t n = wire_get_u32(&lr);
        if (version != SNAP_CONSOLE_VERSION)
            rc = ERR_VERSION;
        else if (lr.bad || n > VCONSOLE_LOG_SIZE || n > total || n != lr.len - lr.pos)
            rc = ERR_STRUCTURE;
        else if (apply && vm_log_empty(vm))
            vconsole_port_log_restore(&vm->con, (const char *)lr.buf + lr.pos, n, total);
    }
    if (rc < 0) {
        fmt_snprintf(err, errlen, "snapshot console log: %s", err_str(rc));
        goto undo;
    }
    struct snap_region rg[MAX_REGIONS];
    unsigned nr = regions_of(vm, rg, MAX_REGIONS, flags & SNAP_FLAG_KEEP_SHARED);
    for (unsigned i = no_ram ? 1 : 0; i < nr; i++) { /* RAM is rg[0] */
        uint64_t next_report = PROGRESS_STEP;
        for (uint32_t k = 0; (uint64_t)k * CHUNK < rg[i].size; k++) {
            if ((rc = snap_read_head(src, &h)) >= 0)
                rc = chunk_load(&rg[i], src, &h, k, apply);
            if (rc < 0) {
                if (rg[i].type == SNAP_RAM)
                    fmt_snprintf(err, errlen, "snapshot RAM at 0x%llx: %s",
                                 (unsigned long long)(rg[i].addr + (uint64_t)k * CHUNK),
                                 err_str(rc));
                else
                    fmt_snprintf(err, errlen, "snapshot of device %s's contents at 0x%llx: %s",
                                 vm->vdevs[rg[i].id0 >> 20]->cfg->name,
                                 (unsigned long long)((uint64_t)k * CHUNK), err_str(rc));
                /* Past the point of no return only if the source changed
                 * between the passes: RAM is partly written then. */
                return rc;
            }
            if (apply && progress && rg[i].type == SNAP_RAM &&
                ((uint64_t)k + 1) * CHUNK >= next_report) {
                progress(vm, ((uint64_t)k + 1) * CHUNK, rg[i].size);
                next_report += PROGRESS_STEP;
            }
        }
    }
    if ((rc = snap_read_head(src, &h)) >= 0 && h.type != SNAP_END)
        rc = ERR_STRUCTURE;
    if (rc < 0) {
        fmt_snprintf(err, errlen, "snapshot end: %s", err_str(rc));
        return rc;
    }
    return 0;

undo:
    if (apply)
        state_undo(vm, undo->buf, undo_len);
    return rc;
}

static int restore(struct vm *vm, struct snap_input *in, uint32_t flags,
                   snapshot_progress_fn progress, char *err, size_t errlen)
{
    struct snap_scratch sc = {0}, undo = {0};
    uint64_t offset = vm->time_offset;
    int rc;

    if (!sched_vm_off_harts(vm)) {
        fmt_snprintf(err, errlen, "vm %s is not paused with its vCPUs stopped: pause it first",
                     vm->name);
        return ERR_INVAL;
    }
    if (scratch_get(&sc, 2 * SNAP_SECTION_MAX) < 0 ||
        scratch_get(&undo, (size_t)state_count(vm) * SNAP_SECTION_MAX) < 0) {
        scratch_put(&sc);
        fmt_snprintf(err, errlen, "no memory for the restore's buffers");
        return ERR_NOMEM;
    }
    vm_devices_hold(vm, true);
    rc = restore_pass(vm, &in->src, flags, &sc, &undo, false, NULL, err, errlen);
    if (rc >= 0 && (rc = in->rewind(in->src.ctx)) < 0)
        fmt_snprintf(err, errlen, "cannot read the snapshot again: %s", err_str(rc));
    if (rc >= 0)
        rc = restore_pass(vm, &in->src, flags, &sc, &undo, true, progress, err, errlen);
    if (rc < 0 && vm->time_offset != offset) {
        vm->time_offset = offset;
        for (unsigned i = 0; i < vm->nvcpus; i++)
            vm->vcpus[i].arch.hctl.htimedelta = offset;
    }
    vm_devices_hold(vm, false);
    scratch_put(&undo);
    scratch_put(&sc);
    return rc;
}

int snapshot_restore(struct vm *vm, struct snap_input *in, snapshot_progress_fn progress, char *err,
                     size_t errlen)
{
    return restore(vm, in, 0, progress, err, errlen);
}

int snapshot_restore_state(struct vm *vm, struct snap_input *in, bool keep_shared, char *err,
                           size_t errlen)
{
    return restore(vm, in, SNAP_FLAG_NO_RAM | (keep_shared ? SNAP_FLAG_KEEP_SHARED : 0), NULL, err,
                   errlen);
}

long snapshot_header(const struct vm *vm, void *buf, size_t size)
{
    return header_build(vm, buf, size);
}

int snapshot_header_check(const struct vm *vm, const void *p, size_t n, char *err, size_t errlen)
{
    struct snap_scratch sc = {0};

    if (scratch_get(&sc, SNAP_SECTION_MAX) < 0) {
        fmt_snprintf(err, errlen, "no memory to check the snapshot header");
        return ERR_NOMEM;
    }
    int rc = header_check(vm, p, n, sc.buf, sc.size, err, errlen);
    scratch_put(&sc);
    return rc;
}

uint64_t snapshot_state_bound(const struct vm *vm, bool keep_shared)
{
    uint64_t n = SNAP_PREAMBLE_SIZE +
                 (uint64_t)(state_count(vm) + 4) * (SNAP_SECTION_HEAD + SNAP_SECTION_MAX);
    for (unsigned i = 0; i < vm->nvdevs; i++) {
        const struct vm_vdev *d = vm->vdevs[i];
        struct vdev_bulk b;
        if (keep_shared && vm_device_on_host_disk(vm, i))
            continue;
        if (d->kind->bulk && d->kind->bulk(d, &b))
            n += b.size + (b.size / CHUNK + 1) * (SNAP_SECTION_HEAD + CHUNK_HEAD);
    }
    return n;
}

/* ---- the in-memory target ---- */

#define MEM_BLOCK    (2u << 20)
#define MEM_MAX_BLKS 2048 /* 4 GiB of snapshot per VM */

struct snap_mem {
    char vm_name[32];
    uint64_t size, taken;
    unsigned nblocks;
    uint8_t **blocks; /* MEM_MAX_BLKS pointers, from pmem */
};

static struct snap_mem mem_slots[VM_MAX];

struct mem_cursor {
    struct snap_mem *m;
    uint64_t pos;
};

static int mem_write(void *ctx, const void *p, size_t n)
{
    struct mem_cursor *c = ctx;
    const uint8_t *s = p;

    while (n) {
        unsigned b = (unsigned)(c->pos / MEM_BLOCK);
        size_t off = (size_t)(c->pos % MEM_BLOCK), k = MEM_BLOCK - off;
        if (b >= MEM_MAX_BLKS)
            return ERR_NOSPC;
        if (b >= c->m->nblocks) {
            c->m->blocks[b] = pmem_alloc_block();
            if (!c->m->blocks[b])
                return ERR_NOSPC;
            c->m->nblocks = b + 1;
        }
        if (k > n)
            k = n;
        memcpy(c->m->blocks[b] + off, s, k);
        c->pos += k;
        s += k;
        n -= k;
    }
    return 0;
}

static int mem_read(void *ctx, void *p, size_t n)
{
    struct mem_cursor *c = ctx;
    uint8_t *d = p;

    if (n > c->m->size - c->pos)
        return ERR_TRUNCATED;
    while (n) {
        size_t off = (size_t)(c->pos % MEM_BLOCK), k = MEM_BLOCK - off;
        if (k > n)
            k = n;
        memcpy(d, c->m->blocks[c->pos / MEM_BLOCK] + off, k);
        c->pos += k;
        d += k;
        n -= k;
    }
    return 0;
}

static int mem_rewind(void *ctx)
{
    ((struct mem_cursor *)ctx)->pos = 0;
    return 0;
}

static void mem_free(struct snap_mem *m)
{
    for (unsigned i = 0; i < m->nblocks; i++)
        pmem_free(m->blocks[i], MEM_BLOCK);
    if (m->blocks)
        pmem_free(m->blocks, MEM_MAX_BLKS * sizeof(uint8_t *));
    memset(m, 0, sizeof(*m));
}

int snapshot_mem_save(struct vm *vm, struct snapshot_stats *st, snapshot_progress_fn progress,
                      char *err, size_t errlen)
{
    struct snap_mem m = {0};

    m.blocks = pmem_zalloc(MEM_MAX_BLKS * sizeof(uint8_t *), 4096);
    if (!m.blocks) {
        fmt_snprintf(err, errlen, "no memory for a snapshot");
        return ERR_NOMEM;
    }
    struct mem_cursor c = {&m, 0};
    struct snap_sink s = {mem_write, &c, 0, 0, 0};
    int rc = snapshot_save(vm, &s, st, progress, err, errlen);
    if (rc == ERR_NOSPC)
        fmt_snprintf(err, errlen, "no memory left for the snapshot (%llu MiB written)",
                     (unsigned long long)(c.pos >> 20));
    if (rc < 0) {
        mem_free(&m);
        return rc;
    }
    m.size = c.pos;
    m.taken = arch_time();
    memcpy(m.vm_name, vm->name, sizeof(m.vm_name));
    mem_free(&mem_slots[vm->index]);
    mem_slots[vm->index] = m;
    return 0;
}

int snapshot_mem_restore(struct vm *vm, snapshot_progress_fn progress, char *err, size_t errlen)
{
    struct snap_mem *m = &mem_slots[vm->index];

    if (!m->size || strcmp(m->vm_name, vm->name) != 0) {
        fmt_snprintf(err, errlen, "vm %s has no snapshot (vm snapshot %s takes one)", vm->name,
                     vm->name);
        return ERR_NOENT;
    }
    struct mem_cursor c = {m, 0};
    struct snap_input in = {{mem_read, &c, 0, 0, 0}, mem_rewind};
    return snapshot_restore(vm, &in, progress, err, errlen);
}

uint64_t snapshot_mem_size(const struct vm *vm, uint64_t *taken)
{
    const struct snap_mem *m = &mem_slots[vm->index];
    bool mine = m->size && strcmp(m->vm_name, vm->name) == 0;

    if (taken)
        *taken = mine ? m->taken : 0;
    return mine ? m->size : 0;
}

void snapshot_mem_drop(const struct vm *vm)
{
    mem_free(&mem_slots[vm->index]);
}

long snapshot_mem_read(const struct vm *vm, uint64_t off, void *buf, size_t n)
{
    const struct snap_mem *m = &mem_slots[vm->index];

    if (!m->size || strcmp(m->vm_name, vm->name) != 0)
        return ERR_NOENT;
    if (off > m->size)
        return ERR_RANGE;
    if (n > m->size - off)
        n = (size_t)(m->size - off);
    struct mem_cursor c = {(struct snap_mem *)m, off};
    int rc = mem_read(&c, buf, n);
    return rc < 0 ? rc : (long)n;
}

/* A snapshot in one buffer (an upload), read twice. */
struct buf_cursor {
    const uint8_t *p;
    uint64_t size, pos;
};

static int buf_read(void *ctx, void *p, size_t n)
{
    struct buf_cursor *c = ctx;

    if (n > c->size - c->pos)
        return ERR_TRUNCATED;
    memcpy(p, c->p + c->pos, n);
    c->pos += n;
    return 0;
}

static int buf_rewind(void *ctx)
{
    ((struct buf_cursor *)ctx)->pos = 0;
    return 0;
}

int snapshot_buf_restore(struct vm *vm, const void *buf, uint64_t size,
                         snapshot_progress_fn progress, char *err, size_t errlen)
{
    struct buf_cursor c = {buf, size, 0};
    struct snap_input in = {{buf_read, &c, 0, 0, 0}, buf_rewind};
    return snapshot_restore(vm, &in, progress, err, errlen);
}
