/* SPDX-License-Identifier: Apache-2.0 */
/* Guest virtual addresses: the VS-stage translation a guest set up in its
 * vsatp, walked in software through the one way into guest memory
 * (gpa_read), for those who must see memory as the guest's code does
 * without being the guest: the gdb stub (core/vm_debug.c).
 *
 * The walk follows the privileged specification's Sv39/Sv48/Sv57 virtual
 * memory system (and Svnapot's 64 KiB pages): it fails where the hardware
 * would raise a page fault for an access of any kind (invalid or reserved
 * PTE encodings, a misaligned superpage, a non-canonical address) but
 * ignores the permission bits R/W/X/U and A/D: a debugger reads and writes
 * text and data alike, in kernel or user space.  Nothing is written: A and
 * D bits are left as they are. */
#ifndef VIREO_CORE_GVA_H
#define VIREO_CORE_GVA_H

#include <stdint.h>

struct vm;

/* vsatp's MODE field values (privileged spec, satp). */
#define GVA_MODE_BARE 0
#define GVA_MODE_SV39 8
#define GVA_MODE_SV48 9
#define GVA_MODE_SV57 10

/* Translates va through vsatp (Bare: va is the guest physical address).
 * 0 with *gpa and *left, the bytes from va to the end of its page (so a
 * caller copies at most that much before translating again); or ERR_RANGE
 * (va has no mapping, or a page table is outside the VM's RAM) or
 * ERR_NOTSUP (a vsatp mode Vireo does not give guests). */
int gva_translate(struct vm *vm, uint64_t vsatp, uint64_t va, uint64_t *gpa, uint64_t *left);

#endif
