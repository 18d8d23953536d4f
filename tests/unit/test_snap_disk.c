/* SPDX-License-Identifier: Apache-2.0 */
/* The host-disk snapshot target's sink and source (core/snap_disk.c) over
 * a region in memory: a round trip through odd-sized pieces and rewinds;
 * the header written last, after the data and a flush; a write cut off
 * after any number of writes (power lost) never leaves a complete header
 * over partial data; a snapshot larger than the region; damaged headers
 * and damaged data. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/snap_disk.h"
#include "lib/crc32c.h"
#include "lib/err.h"

/* A region in memory that records what happens to it and can lose power. */
#define MAX_OPS 256
struct fake {
    uint8_t *mem;
    uint64_t size;
    unsigned writes, flushes;
    int cut_after;  /* writes that happen; the rest are lost (-1: all happen) */
    int fail_write; /* the write (index) that fails with ERR_IO (-1: none) */
    struct {
        char op; /* 'w', 'f' */
        uint64_t off;
        size_t n;
    } ops[MAX_OPS];
    unsigned nops;
};

static void log_op(struct fake *f, char op, uint64_t off, size_t n)
{
    if (f->nops < MAX_OPS) {
        f->ops[f->nops].op = op;
        f->ops[f->nops].off = off;
        f->ops[f->nops].n = n;
        f->nops++;
    }
}

static int fake_read(void *ctx, uint64_t off, void *buf, size_t n)
{
    struct fake *f = ctx;
    assert_int_equal(off % 512, 0);
    assert_int_equal(n % 512, 0);
    assert_true(off + n <= f->size);
    memcpy(buf, f->mem + off, n);
    return 0;
}

static int fake_write(void *ctx, uint64_t off, const void *buf, size_t n)
{
    struct fake *f = ctx;
    assert_int_equal(off % 512, 0);
    assert_int_equal(n % 512, 0);
    assert_true(off + n <= f->size);
    unsigned i = f->writes++;
    if ((int)i == f->fail_write)
        return ERR_IO;
    log_op(f, 'w', off, n);
    if (f->cut_after < 0 || (int)i < f->cut_after)
        memcpy(f->mem + off, buf, n);
    return 0;
}

static int fake_flush(void *ctx)
{
    struct fake *f = ctx;
    f->flushes++;
    log_op(f, 'f', 0, 0);
    return 0;
}

static struct fake fk;
static struct snap_disk_io io;
static uint8_t scratch[SNAP_DISK_SCRATCH];

static void fake_init(uint64_t size)
{
    free(fk.mem);
    memset(&fk, 0, sizeof(fk));
    fk.mem = calloc(1, size);
    fk.size = size;
    fk.cut_after = -1;
    fk.fail_write = -1;
    io = (struct snap_disk_io){fake_read, fake_write, fake_flush, &fk, size};
}

static int teardown(void **state)
{
    (void)state;
    free(fk.mem);
    fk.mem = NULL;
    return 0;
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* Writes n bytes of data in pieces of varying size; the finish's code. */
static int save(const uint8_t *data, size_t n, const char *name, uint64_t seq,
                struct snap_disk_writer *w)
{
    snap_disk_writer_init(w, &io, scratch, seq);
    size_t at = 0, k = 1;
    while (at < n) {
        size_t piece = k < n - at ? k : n - at;
        int rc = snap_disk_writer_write(w, data + at, piece);
        if (rc < 0)
            return rc;
        at += piece;
        k = k * 7 % 70001 + 1;
    }
    return snap_disk_writer_finish(w, name);
}

/* Reads the whole snapshot in varying pieces and compares. */
static void read_all(struct snap_disk_reader *r, const uint8_t *want, size_t n)
{
    uint8_t *got = malloc(n + 1);
    size_t at = 0, k = 3;
    while (at < n) {
        size_t piece = k < n - at ? k : n - at;
        assert_int_equal(snap_disk_reader_read(r, got + at, piece), 0);
        at += piece;
        k = k * 5 % 90001 + 1;
    }
    assert_memory_equal(got, want, n);
    assert_int_equal(snap_disk_reader_read(r, got, 1), ERR_TRUNCATED);
    free(got);
}

static void test_round_trip(void **state)
{
    (void)state;
    const size_t n = 300001;
    uint8_t *data = malloc(n);
    struct snap_disk_writer w;
    struct snap_disk_reader r;
    struct snap_disk_header h;
    uint8_t block[SNAP_DISK_HEAD];

    fill(data, n, 1);
    fake_init(1u << 20);
    assert_int_equal(snap_disk_header_read(&io, &h, block), ERR_NOENT); /* never written */
    assert_int_equal(snap_disk_reader_open(&r, &io, scratch), ERR_NOENT);
    assert_int_equal(save(data, n, "alpha", 7, &w), 0);
    assert_int_equal(snap_disk_header_read(&io, &h, block), 0);
    assert_int_equal(h.state, SNAP_DISK_COMPLETE);
    assert_int_equal(h.length, n);
    assert_int_equal(h.seq, 7);
    assert_int_equal(h.crc, crc32c(0, data, n));
    assert_string_equal(h.vm_name, "alpha");
    assert_memory_equal(fk.mem + SNAP_DISK_HEAD, data, n); /* right after the header block */

    assert_int_equal(snap_disk_reader_open(&r, &io, scratch), 0);
    read_all(&r, data, n);
    assert_int_equal(snap_disk_reader_rewind(&r), 0);
    read_all(&r, data, n);
    /* A rewind part way through starts again too. */
    assert_int_equal(snap_disk_reader_rewind(&r), 0);
    uint8_t part[100];
    assert_int_equal(snap_disk_reader_read(&r, part, sizeof(part)), 0);
    assert_int_equal(snap_disk_reader_rewind(&r), 0);
    read_all(&r, data, n);
    assert_int_equal(snap_disk_reader_rewind(&r), 0);
    free(data);
}

/* The order of I/O: the header marked "being written" first, then data,
 * a flush, the complete header, a flush. */
static void test_header_written_last(void **state)
{
    (void)state;
    const size_t n = 200000;
    uint8_t *data = malloc(n);
    struct snap_disk_writer w;

    fill(data, n, 2);
    fake_init(1u << 20);
    assert_int_equal(save(data, n, "a", 1, &w), 0);
    unsigned k = fk.nops;
    assert_true(k >= 6);
    assert_int_equal(fk.ops[0].op, 'w'); /* the mark */
    assert_int_equal(fk.ops[0].off, 0);
    assert_int_equal(fk.ops[1].op, 'f');
    for (unsigned i = 2; i < k - 3; i++) {
        assert_int_equal(fk.ops[i].op, 'w');
        assert_true(fk.ops[i].off >= SNAP_DISK_HEAD);
    }
    assert_int_equal(fk.ops[k - 3].op, 'f');
    assert_int_equal(fk.ops[k - 2].op, 'w');
    assert_int_equal(fk.ops[k - 2].off, 0);
    assert_int_equal(fk.ops[k - 2].n, SNAP_DISK_HEAD);
    assert_int_equal(fk.ops[k - 1].op, 'f');
    free(data);
}

/* Power lost after any number of writes: the region holds the previous
 * snapshot whole, or a header saying a save did not finish; a complete
 * header only once every write happened. */
static void test_interrupted_write(void **state)
{
    (void)state;
    const size_t old_n = 150000, n = 250000;
    uint8_t *old = malloc(old_n), *data = malloc(n);
    struct snap_disk_writer w;
    struct snap_disk_reader r;
    struct snap_disk_header h;
    uint8_t block[SNAP_DISK_HEAD];

    fill(old, old_n, 3);
    fill(data, n, 4);
    fake_init(1u << 20);
    assert_int_equal(save(data, n, "a", 1, &w), 0);
    unsigned total = fk.writes;
    for (unsigned cut = 0; cut <= total; cut++) {
        fake_init(1u << 20);
        assert_int_equal(save(old, old_n, "a", 1, &w), 0);
        fk.cut_after = (int)(fk.writes + cut);
        save(data, n, "a", 2, &w);
        int rc = snap_disk_header_read(&io, &h, block);
        assert_int_equal(rc, 0);
        if (cut == 0) { /* nothing reached the disk: the old snapshot is whole */
            assert_int_equal(h.state, SNAP_DISK_COMPLETE);
            assert_int_equal(h.seq, 1);
            assert_int_equal(snap_disk_reader_open(&r, &io, scratch), 0);
            read_all(&r, old, old_n);
            assert_int_equal(snap_disk_reader_rewind(&r), 0);
        } else if (cut < total) {
            assert_int_equal(h.state, SNAP_DISK_WRITING);
            assert_int_equal(h.seq, 2);
            assert_int_equal(snap_disk_reader_open(&r, &io, scratch), ERR_NOENT);
        } else {
            assert_int_equal(h.state, SNAP_DISK_COMPLETE);
            assert_int_equal(h.seq, 2);
            assert_int_equal(snap_disk_reader_open(&r, &io, scratch), 0);
            read_all(&r, data, n);
            assert_int_equal(snap_disk_reader_rewind(&r), 0);
        }
    }
    free(old);
    free(data);
}

/* Larger than the region: ERR_NOSPC with the whole size counted; the
 * previous snapshot is kept if nothing was written yet. */
static void test_too_large(void **state)
{
    (void)state;
    const size_t n = 100000;
    uint8_t *data = malloc(n);
    struct snap_disk_writer w;
    struct snap_disk_reader r;
    struct snap_disk_header h;
    uint8_t block[SNAP_DISK_HEAD];

    fill(data, n, 5);
    fake_init(64u << 10);
    assert_int_equal(save(data, 50000, "a", 1, &w), 0);
    unsigned writes = fk.writes;
    assert_int_equal(save(data, n, "a", 2, &w), ERR_NOSPC);
    assert_int_equal(w.pos, n);
    assert_false(w.marked);
    assert_int_equal(fk.writes, writes); /* nothing written */
    assert_int_equal(snap_disk_reader_open(&r, &io, scratch), 0);
    read_all(&r, data, 50000);
    /* Exactly the room: fits. */
    assert_int_equal(save(data, (64u << 10) - SNAP_DISK_HEAD, "a", 3, &w), 0);
    assert_int_equal(save(data, (64u << 10) - SNAP_DISK_HEAD + 1, "a", 4, &w), ERR_NOSPC);
    /* Past the buffer before it overflows: the region has no complete snapshot. */
    fake_init(96u << 10);
    assert_int_equal(save(data, n, "a", 5, &w), ERR_NOSPC);
    assert_true(w.marked);
    assert_int_equal(snap_disk_header_read(&io, &h, block), 0);
    assert_int_equal(h.state, SNAP_DISK_WRITING);
    assert_int_equal(snap_disk_reader_open(&r, &io, scratch), ERR_NOENT);
    free(data);
}

static void test_corrupt_header(void **state)
{
    (void)state;
    const size_t n = 20000;
    uint8_t data[20000];
    struct snap_disk_writer w;
    struct snap_disk_reader r;
    struct snap_disk_header h;
    uint8_t block[SNAP_DISK_HEAD], good[SNAP_DISK_HEAD];

    fill(data, n, 6);
    fake_init(1u << 20);
    assert_int_equal(save(data, n, "a", 1, &w), 0);
    memcpy(good, fk.mem, SNAP_DISK_HEAD);
    /* Every bit of the used part flipped, and a byte of the padding. */
    for (unsigned i = 0; i < 76 * 8; i++) {
        memcpy(fk.mem, good, SNAP_DISK_HEAD);
        fk.mem[i / 8] ^= (uint8_t)(1u << (i % 8));
        int rc = snap_disk_header_read(&io, &h, block);
        if (i / 8 < 8)
            assert_int_equal(rc, ERR_BADMAGIC);
        else
            assert_int_equal(rc, ERR_CHECKSUM);
        assert_int_not_equal(snap_disk_reader_open(&r, &io, scratch), 0);
    }
    memcpy(fk.mem, good, SNAP_DISK_HEAD);
    fk.mem[1000] = 1;
    assert_int_equal(snap_disk_header_read(&io, &h, block), ERR_STRUCTURE);
    /* A length beyond the region, with a checksum that holds. */
    memcpy(fk.mem, good, SNAP_DISK_HEAD);
    uint64_t len = (1u << 20) - SNAP_DISK_HEAD + 1;
    memcpy(fk.mem + 24, &len, 8); /* little-endian host */
    uint32_t crc = crc32c(0, fk.mem, 72);
    memcpy(fk.mem + 72, &crc, 4);
    assert_int_equal(snap_disk_header_read(&io, &h, block), ERR_RANGE);
    /* Another version. */
    memcpy(fk.mem, good, SNAP_DISK_HEAD);
    fk.mem[8] = 2;
    crc = crc32c(0, fk.mem, 72);
    memcpy(fk.mem + 72, &crc, 4);
    assert_int_equal(snap_disk_header_read(&io, &h, block), ERR_VERSION);
}

/* The data damaged under a good header: caught by the CRC when the first
 * pass reaches the end (the rewind). */
static void test_corrupt_data(void **state)
{
    (void)state;
    const size_t n = 100000;
    uint8_t *data = malloc(n);
    struct snap_disk_writer w;
    struct snap_disk_reader r;

    fill(data, n, 7);
    fake_init(1u << 20);
    assert_int_equal(save(data, n, "a", 1, &w), 0);
    fk.mem[SNAP_DISK_HEAD + 77777] ^= 0x10;
    assert_int_equal(snap_disk_reader_open(&r, &io, scratch), 0);
    uint8_t *got = malloc(n);
    assert_int_equal(snap_disk_reader_read(&r, got, n), 0);
    assert_int_equal(snap_disk_reader_rewind(&r), ERR_CHECKSUM);
    assert_true(r.crc_bad);
    free(got);
    free(data);
}

/* A write that fails: the error comes back, from the write or the finish. */
static void test_write_error(void **state)
{
    (void)state;
    const size_t n = 200000;
    uint8_t *data = malloc(n);
    struct snap_disk_writer w;

    fill(data, n, 8);
    for (int k = 0; k < 5; k++) {
        fake_init(1u << 20);
        fk.fail_write = k;
        assert_int_equal(save(data, n, "a", 1, &w), ERR_IO);
        assert_int_equal(w.err, ERR_IO);
    }
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_round_trip, teardown),
        cmocka_unit_test_teardown(test_header_written_last, teardown),
        cmocka_unit_test_teardown(test_interrupted_write, teardown),
        cmocka_unit_test_teardown(test_too_large, teardown),
        cmocka_unit_test_teardown(test_corrupt_header, teardown),
        cmocka_unit_test_teardown(test_corrupt_data, teardown),
        cmocka_unit_test_teardown(test_write_error, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
