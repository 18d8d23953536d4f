/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the guest image loader (core/loader.h). loader_plan()
 * on the input as a kernel image for a VM with 64 MiB of RAM at 0x80000000,
 * then loader_place() of an initrd and an FDT around it, as Vireo does. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (64ull << 20)

static volatile uint64_t sink;

static void check_place(uint64_t gpa, uint64_t sz, uint64_t align, const struct loader_range *avoid,
                        int navoid)
{
    if (gpa % align || gpa < RAM_BASE || sz > RAM_SIZE || gpa - RAM_BASE > RAM_SIZE - sz)
        abort();
    for (int i = 0; i < navoid; i++)
        if (avoid[i].start < avoid[i].end && gpa < avoid[i].end && avoid[i].start < gpa + sz)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct load_plan plan;
    char err[200];

    memset(err, 0x5a, sizeof(err));
    if (loader_plan(data, size, RAM_BASE, RAM_SIZE, &plan, err, sizeof(err)) != 0) {
        if (plan.nsegs != 0 || memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        loader_plan(data, size, RAM_BASE, RAM_SIZE, &plan, NULL, 0);
        return 0;
    }
    if (plan.nsegs < 1 || plan.nsegs > LOADER_MAX_SEGS || !plan.format)
        abort();
    int entry_ok = 0;
    for (int i = 0; i < plan.nsegs; i++) {
        const struct load_seg *s = &plan.segs[i];
        if (s->file_size > s->mem_size || s->file_off > size || s->file_size > size - s->file_off ||
            s->gpa < RAM_BASE || s->mem_size > RAM_SIZE ||
            s->gpa - RAM_BASE > RAM_SIZE - s->mem_size)
            abort();
        if (s->gpa < plan.image_start || s->gpa + s->mem_size > plan.image_end)
            abort();
        if (plan.entry >= s->gpa && plan.entry - s->gpa < s->mem_size)
            entry_ok = 1;
        for (int j = 0; j < i; j++) {
            const struct load_seg *t = &plan.segs[j];
            if (s->mem_size && t->mem_size && s->gpa < t->gpa + t->mem_size &&
                t->gpa < s->gpa + s->mem_size)
                abort();
        }
        if (s->file_size)
            sink += data[s->file_off + s->file_size - 1];
    }
    if (!entry_ok)
        abort();

    /* Sizes and alignments for the blobs, from the image's first bytes. */
    uint64_t initrd_size = 1, align = 1;
    if (size >= 4) {
        initrd_size = ((uint64_t)data[0] << 16 | (uint64_t)data[1] << 8 | data[2]) << (data[3] & 7);
        align = 1ull << (data[3] >> 3 & 31);
    }
    struct loader_range avoid[2] = {{plan.image_start, plan.image_end}, {0, 0}};
    uint64_t gpa;
    if (initrd_size &&
        loader_place(RAM_BASE, RAM_SIZE, avoid, 1, initrd_size, LOADER_INITRD_ALIGN, &gpa) == 0) {
        check_place(gpa, initrd_size, LOADER_INITRD_ALIGN, avoid, 1);
        avoid[1].start = gpa;
        avoid[1].end = gpa + initrd_size;
    }
    if (loader_place(RAM_BASE, RAM_SIZE, avoid, 2, 0x10000, LOADER_FDT_ALIGN, &gpa) == 0)
        check_place(gpa, 0x10000, LOADER_FDT_ALIGN, avoid, 2);
    if (initrd_size && loader_place(RAM_BASE, RAM_SIZE, avoid, 2, initrd_size, align, &gpa) == 0)
        check_place(gpa, initrd_size, align, avoid, 2);
    if (loader_place_blob(RAM_BASE, RAM_SIZE, plan.image_start, plan.image_end, size, 8, &gpa) ==
            0 &&
        size)
        check_place(gpa, size, 8, avoid, 1);
    /* Bad arguments are refused, not trusted. */
    loader_place(RAM_BASE, RAM_SIZE, avoid, 2, 0, 1, &gpa);
    loader_place(RAM_BASE, RAM_SIZE, avoid, 2, 1, 3, &gpa);
    loader_place(RAM_BASE, RAM_SIZE, avoid, 2, 1, 0, &gpa);
    loader_place(~0ull - 4096, RAM_SIZE, avoid, 2, 4096, 4096, &gpa);
    return 0;
}
