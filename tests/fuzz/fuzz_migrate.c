/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the migration destination (core/migrate_dst.c,
 * core/mig_format.c, and through them vm_add, the snapshot restore and
 * guest memory) fed a hostile stream, on VMs built on the host as
 * tests/unit/test_migrate.c builds them.
 *
 * Once: VM "alpha" is migrated to "beta" in this process and the stream
 * kept; beta is deleted.  Each input is either (first byte even) a copy of
 * that stream damaged as fuzz_snapshot damages a snapshot (two bytes: where
 * to cut it, 0xffff not at all, else that many 65536ths of its length;
 * then 4-byte records: a 24-bit offset and a byte XORed in there), or
 * (first byte odd) the rest of the input as a stream of its own.  It is
 * pushed in pieces into a fresh destination (as "beta"), then the
 * connection closes.  Checked (abort() on failure): a destination that
 * failed keeps no VM and frees every byte it took; one that succeeded
 * runs beta, which is then stopped and deleted; either way free memory
 * ends where it started. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/migrate.h"
#include "core/pmem.h"
#include "core/vm_admin.h"
#include "core/vm_life.h"
#include "tests/unit/bundle_testlib.h"
#include "tests/unit/host_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define GUEST_MEM  (4u << 20)
#define STREAM_MAX (2u << 20)

static uint8_t stream[STREAM_MAX], work[STREAM_MAX];
static size_t stream_len;
static uint64_t free_idle;
static struct migrate_src src;
static struct migrate_dst dst;

static void discard(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

static void die(const char *what)
{
    fprintf(stderr, "fuzz_migrate: %s\n", what);
    abort();
}

/* Feeds p[0..n) to a fresh destination in odd-sized pieces. */
static void feed(const uint8_t *p, size_t n)
{
    static uint8_t reply[4096];
    static const size_t pieces[] = {3, 4096, 17, 65536, 1000};
    char err[160];

    if (migrate_dst_start(&dst, "beta", err, sizeof(err)) < 0)
        die(err);
    for (size_t at = 0, i = 0; at < n && !migrate_dst_over(&dst); i++) {
        size_t k = pieces[i % 5] < n - at ? pieces[i % 5] : n - at;
        migrate_dst_push(&dst, p + at, k);
        at += k;
        while (migrate_dst_pull(&dst, reply, sizeof(reply)))
            ;
    }
    migrate_dst_closed(&dst, "connection closed");
    migrate_dst_free(&dst);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static uint8_t buf[70000];
    char err[192];
    size_t size = 0;

    if (!host_vm_init(64u << 20, err, sizeof(err)))
        die(err);
    console_set_output(discard);
    void *b = bundle_testlib_make("alpha", GUEST_MEM, 2, &size);
    int slot = b ? vm_add(b, size, 2, err, sizeof(err)) : -1;
    if (slot < 0)
        die("vm_add alpha");
    struct vm *vm = &vms[slot];
    vm->boots++;
    if (vm_boot(vm, err, sizeof(err)) < 0)
        die(err);
    for (unsigned p = 0; p < 64; p++) {
        memset(buf, (int)p + 1, 4096);
        gpa_write(vm, vm->ram_base + p * 3 * 4096ull, buf, 4096);
    }
    struct migrate_params mp = {.to = "fuzz"};
    if (migrate_src_start(&src, vm, &mp, err, sizeof(err)) < 0 ||
        migrate_dst_start(&dst, "beta", err, sizeof(err)) < 0)
        die(err);
    while (!migrate_src_over(&src)) {
        size_t n = migrate_src_pull(&src, buf, sizeof(buf));
        if (n > sizeof(stream) - stream_len)
            die("the stream outgrew its buffer");
        memcpy(stream + stream_len, buf, n);
        stream_len += n;
        migrate_dst_push(&dst, buf, n);
        size_t k = migrate_dst_pull(&dst, buf, sizeof(buf));
        migrate_src_push(&src, buf, k);
        if (!n && !k)
            die("the first migration stalled");
    }
    if (src.phase != MIGRATE_DONE || dst.phase != MIGRATE_DONE)
        die(src.reason[0] ? src.reason : dst.reason);
    migrate_src_free(&src);
    migrate_dst_free(&dst);
    struct vm *beta = vm_find("beta");
    vm_end(beta, VM_END_STOPPED, "fuzz");
    if (vm_delete(beta, err, sizeof(err)) < 0 || vm_delete(vm, err, sizeof(err)) < 0)
        die(err);
    free_idle = pmem_free_bytes();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];

    if (size < 1)
        return 0;
    if (data[0] & 1) {
        feed(data + 1, size - 1);
    } else {
        size_t len = stream_len;
        memcpy(work, stream, stream_len);
        if (size >= 3) {
            unsigned cut = (unsigned)data[1] | (unsigned)data[2] << 8;
            if (cut != 0xffff)
                len = (size_t)((uint64_t)stream_len * cut / 65536);
            for (size_t i = 3; i + 4 <= size; i += 4) {
                size_t off = (size_t)(data[i] | data[i + 1] << 8 | data[i + 2] << 16) % stream_len;
                work[off] ^= data[i + 3];
            }
        }
        feed(work, len);
    }
    struct vm *beta = vm_find("beta");
    if (beta) {
        if (beta->state != VM_RUNNING || beta->paused)
            die("a VM beta is left that is not running");
        vm_end(beta, VM_END_STOPPED, "fuzz");
        if (vm_delete(beta, err, sizeof(err)) < 0)
            die(err);
    }
    if (pmem_free_bytes() != free_idle)
        die("free memory changed");
    return 0;
}
