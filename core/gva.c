/* SPDX-License-Identifier: Apache-2.0 */
#include "core/gva.h"

#include "core/guest_mem.h"
#include "lib/err.h"

#define PTE_V       (1ull << 0)
#define PTE_R       (1ull << 1)
#define PTE_W       (1ull << 2)
#define PTE_X       (1ull << 3)
#define PTE_N       (1ull << 63) /* Svnapot */
#define PTE_PPN(p)  (((p) >> 10) & ((1ull << 44) - 1))
#define PTE_RSVD    (0x7full << 54) /* bits 60:54 are reserved: a page fault if set */
#define SATP_PPN(s) ((s) & ((1ull << 44) - 1))
#define PAGE_SHIFT  12

int gva_translate(struct vm *vm, uint64_t vsatp, uint64_t va, uint64_t *gpa, uint64_t *left)
{
    unsigned mode = (unsigned)(vsatp >> 60), levels;

    switch (mode) {
    case GVA_MODE_BARE:
        *gpa = va;
        *left = (1ull << PAGE_SHIFT) - (va & ((1ull << PAGE_SHIFT) - 1));
        return 0;
    case GVA_MODE_SV39:
        levels = 3;
        break;
    case GVA_MODE_SV48:
        levels = 4;
        break;
    case GVA_MODE_SV57:
        levels = 5;
        break;
    default:
        return ERR_NOTSUP;
    }
    /* Bits above the top VPN must all equal its highest bit. */
    unsigned vabits = PAGE_SHIFT + 9 * levels;
    int64_t top = (int64_t)(va << (64 - vabits)) >> (64 - vabits);
    if ((uint64_t)top != va)
        return ERR_RANGE;

    uint64_t table = SATP_PPN(vsatp) << PAGE_SHIFT;
    for (int level = (int)levels - 1; level >= 0; level--) {
        unsigned shift = PAGE_SHIFT + 9 * (unsigned)level;
        uint64_t pte;
        if (gpa_read(vm, table + ((va >> shift) & 511) * 8, &pte, sizeof(pte)) != 0)
            return ERR_RANGE;
        if (!(pte & PTE_V) || ((pte & PTE_W) && !(pte & PTE_R)) || (pte & PTE_RSVD))
            return ERR_RANGE;
        uint64_t ppn = PTE_PPN(pte);
        if (!(pte & (PTE_R | PTE_X))) { /* a pointer to the next level */
            if (pte & PTE_N)
                return ERR_RANGE; /* N is reserved in non-leaf PTEs */
            table = ppn << PAGE_SHIFT;
            continue;
        }
        uint64_t size = 1ull << shift;
        if (pte & PTE_N) {
            /* Svnapot: only 64 KiB pages (ppn[3:0] = 1000) at level 0. */
            if (level != 0 || (ppn & 0xf) != 0x8)
                return ERR_RANGE;
            ppn &= ~0xfull;
            size = 1ull << 16;
        } else if (ppn & ((1ull << (9 * (unsigned)level)) - 1)) {
            return ERR_RANGE; /* a misaligned superpage */
        }
        uint64_t off = va & (size - 1);
        *gpa = (ppn << PAGE_SHIFT) + off;
        /* Per 4 KiB page at most, so the caller checks RAM per page. */
        *left = (1ull << PAGE_SHIFT) - (va & ((1ull << PAGE_SHIFT) - 1));
        return 0;
    }
    return ERR_RANGE; /* a pointer at the last level */
}
