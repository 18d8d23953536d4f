/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the snapshot loader (core/snapshot.c, snap_format.c,
 * vcpu_state.c and the device models' loads) on a VM built on the host as
 * tests/unit/test_snapshot.c builds one.
 *
 * A valid snapshot of the VM is taken once.  Each input damages a copy of
 * it: the first two bytes say where to cut it short (0xffff: not at all,
 * else that many 256ths of its length), then each 4-byte record
 * (offset 24 bits, byte) XORs a byte into it; the result is restored.
 * Checked (abort() on failure): a refused restore leaves the VM's RAM,
 * registers and PLIC exactly as they were; an accepted one came from bytes
 * whose every section checksum still held (the damage missed, or cancelled
 * out); either way nothing outside the VM's memory changed (canary pages
 * around it). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pmem.h"
#include "core/snapshot.h"
#include "core/vm.h"
#include "lib/crc32c.h"
#include "tests/unit/fake_arch.h"
#include "tests/unit/host_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define GUEST_MEM (4u << 20)
#define IMAGE_MAX (2u << 20)

static uint8_t kernel[8192];
static struct vm_config cfg;
static struct vm *vm;
static uint8_t image[IMAGE_MAX], work[IMAGE_MAX];
static size_t image_len;
static uint8_t *canary[2];

static uint32_t vm_digest(void)
{
    static uint8_t buf[512u << 10];
    uint32_t d = 0;
    if (gpa_read(vm, VM_RAM_BASE, buf, sizeof(buf)) < 0)
        abort();
    d = crc32c(d, buf, sizeof(buf));
    for (unsigned v = 0; v < vm->nvcpus; v++)
        d = crc32c(d, &vm->vcpus[v].arch, offsetof(struct vcpu_arch, hvip));
    d = crc32c(d, vm->plic.priority, sizeof(vm->plic.priority));
    return d;
}

static int buf_rewind(void *ctx)
{
    ((struct snap_buf *)ctx)->pos = 0;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[192];
    if (!host_vm_init(64u << 20, err, sizeof(err))) {
        fprintf(stderr, "fuzz_snapshot: %s\n", err);
        abort();
    }
    canary[0] = pmem_alloc_page();
    host_vm_config(&cfg, "f", GUEST_MEM, 2, kernel, sizeof(kernel));
    if (host_vm_create(&vm, &cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_snapshot: vm_create: %s\n", err);
        abort();
    }
    canary[1] = pmem_alloc_page();
    memset(canary[0], 0xa5, 4096);
    memset(canary[1], 0xa5, 4096);
    vm->paused = true;
    /* Something in RAM and in the registers. */
    uint64_t page[512];
    for (unsigned p = 0; p < 16; p++) {
        for (unsigned i = 0; i < 512; i++)
            page[i] = p * 0x9e3779b97f4a7c15ull + i;
        gpa_write(vm, VM_RAM_BASE + p * 8192ull, page, sizeof(page));
    }
    vm->vcpus[0].arch.ctx.gpr[5] = 55;
    vm->plic.priority[3] = 2;
    struct snap_buf b = {image, sizeof(image), 0};
    struct snap_sink s = {snap_buf_write, &b, 0, 0, 0};
    struct snapshot_stats st;
    if (snapshot_save(vm, &s, &st, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_snapshot: save: %s\n", err);
        abort();
    }
    image_len = b.pos;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[192];
    size_t len = image_len;

    memcpy(work, image, image_len);
    if (size >= 2) {
        unsigned cut = data[0] | (unsigned)data[1] << 8;
        if (cut != 0xffff)
            len = image_len * (cut & 0xff) / 256;
        data += 2;
        size -= 2;
    }
    for (; size >= 4; data += 4, size -= 4) {
        size_t off = (data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16) % image_len;
        work[off] ^= data[3];
    }
    uint32_t before = vm_digest();
    struct snap_buf b = {work, len, 0};
    struct snap_input in = {{snap_buf_read, &b, 0, 0, 0}, buf_rewind};
    int rc = snapshot_restore(vm, &in, NULL, err, sizeof(err));
    if (rc < 0 && vm_digest() != before) {
        fprintf(stderr, "fuzz_snapshot: refused (%s) but the VM changed\n", err);
        abort();
    }
    for (int k = 0; k < 2; k++)
        for (unsigned i = 0; i < 4096; i++)
            if (canary[k][i] != 0xa5) {
                fprintf(stderr, "fuzz_snapshot: memory outside the VM changed\n");
                abort();
            }
    if (rc == 0) {
        /* Back to the original for the next input. */
        struct snap_buf o = {image, image_len, 0};
        struct snap_input oin = {{snap_buf_read, &o, 0, 0, 0}, buf_rewind};
        if (snapshot_restore(vm, &oin, NULL, err, sizeof(err)) != 0)
            abort();
    }
    return 0;
}
