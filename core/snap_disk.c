/* SPDX-License-Identifier: Apache-2.0 */
/* The host-disk snapshot target; layout and guarantees in snap_disk.h and
 * docs/snapshot.md. */
#include "core/snap_disk.h"

#include "core/hostdev.h"
#include "core/pmem.h"
#include "lib/crc32c.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "lib/wire.h"

#define SECTOR    512u
#define HEAD_USED 76u /* bytes of the header block that are not zero */

/* ---- the header ---- */

static void header_build(uint8_t *block, const struct snap_disk_header *h)
{
    struct wire w = wire_out(block, SNAP_DISK_HEAD);
    char name[CONFIG_NAME_MAX + 1] = {0};

    memset(block, 0, SNAP_DISK_HEAD);
    memcpy(name, h->vm_name, strnlen(h->vm_name, CONFIG_NAME_MAX));
    wire_put_bytes(&w, SNAP_DISK_MAGIC, 8);
    wire_put_u32(&w, SNAP_DISK_VERSION);
    wire_put_u32(&w, h->state);
    wire_put_u64(&w, h->seq);
    wire_put_u64(&w, h->length);
    wire_put_u32(&w, h->crc);
    wire_put_u32(&w, 0);
    wire_put_bytes(&w, name, sizeof(name));
    wire_put_u32(&w, crc32c(0, block, HEAD_USED - 4));
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i])
            return false;
    }
    return true;
}

int snap_disk_header_read(const struct snap_disk_io *io, struct snap_disk_header *h, void *block)
{
    uint8_t *b = block;
    int r = io->read(io->ctx, 0, b, SNAP_DISK_HEAD);

    memset(h, 0, sizeof(*h));
    if (r < 0)
        return r;
    if (all_zero(b, SNAP_DISK_HEAD))
        return ERR_NOENT;
    if (memcmp(b, SNAP_DISK_MAGIC, 8) != 0)
        return ERR_BADMAGIC;
    struct wire_in in = wire_in(b + 8, HEAD_USED - 8);
    uint32_t version = wire_get_u32(&in);
    h->state = wire_get_u32(&in);
    h->seq = wire_get_u64(&in);
    h->length = wire_get_u64(&in);
    h->crc = wire_get_u32(&in);
    uint32_t zero = wire_get_u32(&in);
    wire_get_bytes(&in, h->vm_name, sizeof(h->vm_name));
    uint32_t crc = wire_get_u32(&in);
    if (crc != crc32c(0, b, HEAD_USED - 4))
        return ERR_CHECKSUM;
    if (version != SNAP_DISK_VERSION)
        return ERR_VERSION;
    if (zero || (h->state != SNAP_DISK_COMPLETE && h->state != SNAP_DISK_WRITING) ||
        h->vm_name[CONFIG_NAME_MAX] != '\0' || !all_zero(b + HEAD_USED, SNAP_DISK_HEAD - HEAD_USED))
        return ERR_STRUCTURE;
    if (h->length > io->size - SNAP_DISK_HEAD)
        return ERR_RANGE;
    return 0;
}

/* ---- the sink ---- */

void snap_disk_writer_init(struct snap_disk_writer *w, const struct snap_disk_io *io, void *buf,
                           uint64_t seq)
{
    memset(w, 0, sizeof(*w));
    w->io = io;
    w->buf = buf;
    w->seq = seq;
}

static int header_write(struct snap_disk_writer *w, const struct snap_disk_header *h)
{
    uint8_t *block = w->buf + SNAP_DISK_BUF;
    int r;

    header_build(block, h);
    if ((r = w->io->write(w->io->ctx, 0, block, SNAP_DISK_HEAD)) < 0 ||
        (r = w->io->flush(w->io->ctx)) < 0)
        return r;
    return 0;
}

/* Writes the buffer (padded to a sector) after the data already there;
 * the first time, after marking the header "being written". */
static int writer_drain(struct snap_disk_writer *w)
{
    int r;

    if (!w->fill)
        return 0;
    if (!w->marked) {
        struct snap_disk_header h = {.state = SNAP_DISK_WRITING, .seq = w->seq};
        if ((r = header_write(w, &h)) < 0)
            return r;
        w->marked = true;
    }
    size_t n = (w->fill + SECTOR - 1) / SECTOR * SECTOR;
    memset(w->buf + w->fill, 0, n - w->fill);
    if ((r = w->io->write(w->io->ctx, SNAP_DISK_HEAD + w->flushed, w->buf, n)) < 0)
        return r;
    w->flushed += w->fill;
    w->fill = 0;
    return 0;
}

int snap_disk_writer_write(void *ctx, const void *p, size_t n)
{
    struct snap_disk_writer *w = ctx;
    const uint8_t *s = p;
    uint64_t room = w->io->size - SNAP_DISK_HEAD;

    if (w->err)
        return w->err;
    if (n > room || w->pos > room - n) {
        w->pos += n; /* too large: only counted, so the error can say how large */
        return 0;
    }
    w->crc = crc32c(w->crc, p, n);
    w->pos += n;
    while (n) {
        size_t k = SNAP_DISK_BUF - w->fill;
        if (k > n)
            k = n;
        memcpy(w->buf + w->fill, s, k);
        w->fill += k;
        s += k;
        n -= k;
        if (w->fill == SNAP_DISK_BUF && (w->err = writer_drain(w)) < 0)
            return w->err;
    }
    return 0;
}

int snap_disk_writer_finish(struct snap_disk_writer *w, const char *vm_name)
{
    int r;

    if (w->err)
        return w->err;
    if (w->pos > w->io->size - SNAP_DISK_HEAD)
        return ERR_NOSPC;
    if ((r = writer_drain(w)) < 0 || (r = w->io->flush(w->io->ctx)) < 0)
        return w->err = r;
    struct snap_disk_header h = {
        .state = SNAP_DISK_COMPLETE, .seq = w->seq, .length = w->pos, .crc = w->crc};
    memcpy(h.vm_name, vm_name, strnlen(vm_name, CONFIG_NAME_MAX));
    if ((r = header_write(w, &h)) < 0)
        return w->err = r;
    return 0;
}

/* ---- the source ---- */

int snap_disk_reader_open(struct snap_disk_reader *r, const struct snap_disk_io *io, void *buf)
{
    memset(r, 0, sizeof(*r));
    r->io = io;
    r->buf = buf;
    int rc = snap_disk_header_read(io, &r->h, r->buf + SNAP_DISK_BUF);
    if (rc < 0)
        return rc;
    return r->h.state == SNAP_DISK_COMPLETE ? 0 : ERR_NOENT;
}

static int reader_fill(struct snap_disk_reader *r)
{
    uint64_t left = r->h.length - r->next;
    size_t n = left < SNAP_DISK_BUF ? (size_t)left : SNAP_DISK_BUF;
    size_t padded = (n + SECTOR - 1) / SECTOR * SECTOR; /* inside the region: it is 4 KiB-sized */
    int rc = r->io->read(r->io->ctx, SNAP_DISK_HEAD + r->next, r->buf, padded);

    if (rc < 0)
        return rc;
    r->next += n;
    r->have = n;
    r->at = 0;
    return 0;
}

int snap_disk_reader_read(void *ctx, void *p, size_t n)
{
    struct snap_disk_reader *r = ctx;
    uint8_t *d = p;

    if (n > r->h.length - r->pos)
        return ERR_TRUNCATED;
    r->pos += n;
    while (n) {
        int rc;
        if (r->at == r->have && (rc = reader_fill(r)) < 0)
            return rc;
        size_t k = r->have - r->at;
        if (k > n)
            k = n;
        memcpy(d, r->buf + r->at, k);
        r->crc = crc32c(r->crc, d, k);
        r->at += k;
        d += k;
        n -= k;
    }
    return 0;
}

int snap_disk_reader_rewind(void *ctx)
{
    struct snap_disk_reader *r = ctx;

    if (r->pos == r->h.length && r->crc != r->h.crc)
        r->crc_bad = true;
    r->have = r->at = 0;
    r->next = r->pos = 0;
    r->crc = 0;
    return r->crc_bad ? ERR_CHECKSUM : 0;
}

/* ---- the target ---- */

struct region {
    struct hvblk *disk;
    uint64_t first; /* sector */
    struct snap_disk_io io;
};

static int region_read(void *ctx, uint64_t off, void *buf, size_t n)
{
    struct region *g = ctx;
    return hvblk_read(g->disk, g->first + off / SECTOR, buf, n);
}

static int region_write(void *ctx, uint64_t off, const void *buf, size_t n)
{
    struct region *g = ctx;
    return hvblk_write(g->disk, g->first + off / SECTOR, buf, n);
}

static int region_flush(void *ctx)
{
    struct region *g = ctx;
    return hvblk_flush(g->disk);
}

/* vm's snapshot region on its host disk, checked against the disk. */
static int region_open(const struct vm *vm, struct region *g, char *err, size_t errlen)
{
    const struct vm_config *c = vm->cfg;
    const struct host_region *hr = &c->snapshot_region;

    if (!c->has_snapshot_region) {
        fmt_snprintf(err, errlen,
                     "vm %s has no snapshot region (snapshot-disk, snapshot-offset and "
                     "snapshot-size in its configuration)",
                     vm->name);
        return ERR_NOENT;
    }
    g->disk = hostdev_disk((unsigned)hr->disk);
    if (!g->disk) {
        fmt_snprintf(err, errlen,
                     "vm %s: snapshot region: host disk %d is not there (QEMU: -drive "
                     "file=...,if=none,id=d%d -device virtio-blk-device,drive=d%d)",
                     vm->name, hr->disk, hr->disk, hr->disk);
        return ERR_NOENT;
    }
    uint64_t total = g->disk->sectors * SECTOR;
    if (hr->offset > total || hr->size > total - hr->offset) {
        fmt_snprintf(err, errlen,
                     "vm %s: snapshot region at byte %#llx, %#llx bytes, ends beyond host disk "
                     "%d (%llu bytes)",
                     vm->name, (unsigned long long)hr->offset, (unsigned long long)hr->size,
                     hr->disk, (unsigned long long)total);
        return ERR_RANGE;
    }
    g->first = hr->offset / SECTOR;
    g->io = (struct snap_disk_io){region_read, region_write, region_flush, g, hr->size};
    return 0;
}

static const char *header_problem(int rc)
{
    switch (rc) {
    case ERR_NOENT:
        return "no snapshot (the region was never written)";
    case ERR_BADMAGIC:
        return "no snapshot header (the region holds something else)";
    case ERR_VERSION:
        return "a snapshot header of another version";
    case ERR_CHECKSUM:
        return "a damaged snapshot header (its checksum does not match)";
    case ERR_STRUCTURE:
        return "a malformed snapshot header";
    case ERR_RANGE:
        return "a snapshot header whose length exceeds the region";
    default:
        return err_str(rc);
    }
}

int snap_disk_save(struct vm *vm, struct snapshot_stats *st, snapshot_progress_fn progress,
                   char *err, size_t errlen)
{
    struct region g;
    struct snap_disk_header old;
    int rc = region_open(vm, &g, err, errlen);

    if (rc < 0)
        return rc;
    if (g.disk->read_only) {
        fmt_snprintf(err, errlen, "vm %s: snapshot region: host disk %d is read-only", vm->name,
                     vm->cfg->snapshot_region.disk);
        return ERR_NOTSUP;
    }
    uint8_t *buf = pmem_alloc(SNAP_DISK_SCRATCH, 4096);
    if (!buf) {
        fmt_snprintf(err, errlen, "no memory for the disk snapshot's buffer");
        return ERR_NOMEM;
    }
    /* The sequence goes on from the region's last header, whatever it says. */
    uint64_t seq = snap_disk_header_read(&g.io, &old, buf + SNAP_DISK_BUF) == 0 ? old.seq + 1 : 1;
    struct snap_disk_writer w;
    snap_disk_writer_init(&w, &g.io, buf, seq);
    struct snap_sink s = {snap_disk_writer_write, &w, 0, 0, 0};
    rc = snapshot_save(vm, &s, st, progress, err, errlen);
    if (rc >= 0)
        rc = snap_disk_writer_finish(&w, vm->name);
    if (rc == ERR_NOSPC)
        fmt_snprintf(err, errlen,
                     "the snapshot (%llu bytes) does not fit vm %s's snapshot region on host disk "
                     "%d (%llu bytes: %llu for a snapshot after the 4 KiB header)%s",
                     (unsigned long long)w.pos, vm->name, vm->cfg->snapshot_region.disk,
                     (unsigned long long)g.io.size,
                     (unsigned long long)(g.io.size - SNAP_DISK_HEAD),
                     w.marked ? "" : "; the region's previous snapshot is kept");
    else if (rc < 0 && w.err)
        fmt_snprintf(err, errlen, "vm %s: writing to host disk %d failed (%s)%s", vm->name,
                     vm->cfg->snapshot_region.disk, err_str(w.err),
                     w.marked ? "; the region holds no complete snapshot now" : "");
    pmem_free(buf, SNAP_DISK_SCRATCH);
    return rc;
}

int snap_disk_restore(struct vm *vm, snapshot_progress_fn progress, char *err, size_t errlen)
{
    struct region g;
    struct snap_disk_reader r;
    int rc = region_open(vm, &g, err, errlen);

    if (rc < 0)
        return rc;
    uint8_t *buf = pmem_alloc(SNAP_DISK_SCRATCH, 4096);
    if (!buf) {
        fmt_snprintf(err, errlen, "no memory for the disk snapshot's buffer");
        return ERR_NOMEM;
    }
    rc = snap_disk_reader_open(&r, &g.io, buf);
    if (rc < 0) {
        fmt_snprintf(err, errlen, "vm %s's snapshot region on host disk %d holds %s", vm->name,
                     vm->cfg->snapshot_region.disk,
                     rc == ERR_NOENT && r.h.state == SNAP_DISK_WRITING
                         ? "no complete snapshot (a save did not finish)"
                         : header_problem(rc));
    } else if (strcmp(r.h.vm_name, vm->name) != 0) {
        fmt_snprintf(err, errlen, "the snapshot on host disk %d is vm %.32s's, not vm %s's",
                     vm->cfg->snapshot_region.disk, r.h.vm_name, vm->name);
        rc = ERR_MISMATCH;
    } else {
        struct snap_input in = {{snap_disk_reader_read, &r, 0, 0, 0}, snap_disk_reader_rewind};
        rc = snapshot_restore(vm, &in, progress, err, errlen);
        if (rc < 0 && r.crc_bad)
            fmt_snprintf(err, errlen,
                         "the snapshot on host disk %d (%llu bytes) does not match its header's "
                         "CRC-32C: damaged",
                         vm->cfg->snapshot_region.disk, (unsigned long long)r.h.length);
    }
    pmem_free(buf, SNAP_DISK_SCRATCH);
    return rc;
}

int snap_disk_info(const struct vm *vm, struct snap_disk_header *h, char *err, size_t errlen)
{
    struct region g;
    int rc = region_open(vm, &g, err, errlen);

    if (rc < 0)
        return rc;
    uint8_t *block = pmem_alloc(SNAP_DISK_HEAD, 4096);
    if (!block) {
        fmt_snprintf(err, errlen, "no memory");
        return ERR_NOMEM;
    }
    rc = snap_disk_header_read(&g.io, h, block);
    if (rc < 0)
        fmt_snprintf(err, errlen, "%s", header_problem(rc));
    pmem_free(block, SNAP_DISK_HEAD);
    return rc;
}
