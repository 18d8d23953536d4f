/* SPDX-License-Identifier: Apache-2.0 */
/* The one way into guest memory: every access is checked against the VM's
 * RAM and translated through its G-stage table, so no guest (or virtio
 * ring, or SBI argument) can make Vireo touch memory the VM does not own. */
#include "core/guest_mem.h"

#include "core/vm.h"
#include "lib/err.h"
#include "lib/string.h"

bool gpa_is_ram(const struct vm *vm, uint64_t gpa, uint64_t n)
{
    return gpa >= vm->ram_base && n <= vm->ram_size && gpa - vm->ram_base <= vm->ram_size - n;
}

/* Walks the G-stage table for each page touched: the table is the single
 * truth of what the guest owns. */
static int gpa_copy(struct vm *vm, uint64_t gpa, void *buf, size_t n, bool write)
{
    uint8_t *p = buf;

    if (!gpa_is_ram(vm, gpa, n))
        return ERR_RANGE;
    while (n) {
        uint64_t hpa, psz;
        unsigned perm;
        if (!gstage_translate(&vm->gs, gpa, &hpa, &perm, &psz))
            return ERR_RANGE;
        size_t chunk = (size_t)(psz - (gpa & (psz - 1)));
        if (chunk > n)
            chunk = n;
        if (write) {
            memcpy((void *)(uintptr_t)hpa, p, chunk);
            /* After the write (core/dirty.h): a fetch that takes the bit
             * copies the page with this write in it. */
            vm_dirty_note(&vm->dirty, gpa - vm->ram_base, chunk);
        } else
            memcpy(p, (const void *)(uintptr_t)hpa, chunk);
        gpa += chunk;
        p += chunk;
        n -= chunk;
    }
    return 0;
}

int gpa_read(struct vm *vm, uint64_t gpa, void *dst, size_t n)
{
    return gpa_copy(vm, gpa, dst, n, false);
}

int gpa_write(struct vm *vm, uint64_t gpa, const void *src, size_t n)
{
    return gpa_copy(vm, gpa, (void *)(uintptr_t)src, n, true);
}

/* Merged segments stop below this, so a length fits struct gm_seg's. */
#define SEG_CAP (1ull << 30)

int gpa_map(struct vm *vm, uint64_t gpa, uint64_t n, struct gm_seg *segs, unsigned max)
{
    unsigned count = 0;

    if (!gpa_is_ram(vm, gpa, n))
        return ERR_RANGE;
    while (n) {
        uint64_t hpa, psz;
        unsigned perm;
        if (!gstage_translate(&vm->gs, gpa, &hpa, &perm, &psz) || !(perm & GSTAGE_READ))
            return ERR_RANGE;
        uint64_t chunk = psz - (gpa & (psz - 1));
        if (chunk > n)
            chunk = n;
        if (chunk > SEG_CAP)
            chunk = SEG_CAP;
        struct gm_seg *last = count ? &segs[count - 1] : NULL;
        if (last && last->addr + last->len == hpa && last->len + chunk <= SEG_CAP) {
            last->len += (uint32_t)chunk;
        } else {
            if (count == max)
                return ERR_NOSPC;
            segs[count++] = (struct gm_seg){hpa, (uint32_t)chunk};
        }
        gpa += chunk;
        n -= chunk;
    }
    return (int)count;
}

void gpa_written(struct vm *vm, uint64_t gpa, uint64_t n)
{
    if (gpa_is_ram(vm, gpa, n))
        vm_dirty_note(&vm->dirty, gpa - vm->ram_base, n);
}
