/* SPDX-License-Identifier: Apache-2.0 */
/* G-stage page tables: guest-physical to host-physical translation for one VM
 * (RISC-V privileged spec, hypervisor chapter: hgatp, Sv39x4/Sv48x4/Sv57x4).
 *
 * The tables use the ordinary Sv39/Sv48/Sv57 PTE format; only the root differs,
 * being 16 KiB (16 KiB aligned) so that guest-physical addresses are 2 bits
 * wider than the virtual addresses of the matching scheme. Leaves are 4 KiB,
 * 2 MiB or 1 GiB: the largest one that the alignment of both addresses and the
 * remaining size allow. Leaves are created with U=1 because the hardware checks
 * every G-stage access as a U-mode access, and with A=D=1 so that no hart ever
 * has to update (or fault to update) a G-stage PTE. Table pages come from pmem
 * and are addressed through their physical addresses (translation is off).
 *
 * Nothing here touches a CSR or executes a fence, so it builds and is tested on
 * the host. That leaves two duties to the caller:
 *  - Fencing. After gstage_unmap(), after any change of permissions (unmap and
 *    map again) and before relying on a new mapping, the caller executes
 *    HFENCE.GVMA for this VM's VMID on every hart that may have run it. PTE
 *    stores are single 64-bit stores, so a walker never sees a torn PTE, but
 *    without the fence it may see old and new PTEs in any order: a guest running
 *    on another hart while its huge page is split can take a spurious
 *    guest-page fault, which the fault handler recognises with
 *    gstage_translate() and resumes.
 *  - Table pages freed by gstage_unmap() go straight back to pmem, while a
 *    hart's cached non-leaf translations may still point at them until the
 *    fence completes. Do not let that memory be handed out and written (by
 *    another hart) before the fence.
 *
 * Calls on one struct gstage must be serialised by the caller (one lock per
 * VM); different gstages are independent. */
#ifndef VIREO_CORE_GSTAGE_H
#define VIREO_CORE_GSTAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* The hgatp.MODE encodings. */
enum gstage_mode { GSTAGE_SV39X4 = 8, GSTAGE_SV48X4 = 9, GSTAGE_SV57X4 = 10 };

/* Permissions are the PTE's R, W and X bits, so they go into PTEs unchanged. */
#define GSTAGE_READ  (1u << 1)
#define GSTAGE_WRITE (1u << 2)
#define GSTAGE_EXEC  (1u << 3)
#define GSTAGE_RWX   (GSTAGE_READ | GSTAGE_WRITE | GSTAGE_EXEC)

/* Returned negated. */

struct gstage {
    uint64_t *root; /* 16 KiB, 16 KiB aligned; NULL before init / after destroy */
    enum gstage_mode mode;
    int levels;         /* 3, 4 or 5 */
    uint64_t gpa_bits;  /* 41, 50 or 59: guest-physical addresses are below 2^gpa_bits */
    size_t table_pages; /* 4 KiB pages of tables in use, the root counting 4 */
    /* Bumped (by core/dirty.c) after permissions were taken away: a hart
     * whose last HFENCE.GVMA for this VM saw an older value flushes before
     * running it again (vcpu_arch_load). */
    uint64_t gen;
};

/* 0, ERR_INVAL (unknown mode) or ERR_NOMEM. */
int gstage_init(struct gstage *g, enum gstage_mode mode);
/* Frees every table page (never the mapped memory). Safe on a destroyed or
 * never initialised (zeroed) gstage. The caller must have stopped the VM on
 * every hart and fenced, for the reason given above. */
void gstage_destroy(struct gstage *g);

/* The most table memory, in bytes, that mapping [gpa, gpa + size) into a
 * fresh gstage of this mode can take (every leaf 4 KiB), the root
 * included: what a VM is refused without before anything of it is built.
 * 0 for an unknown mode or an empty range. */
uint64_t gstage_tables_max(enum gstage_mode mode, uint64_t gpa, uint64_t size);

/* Map [gpa, gpa + size) to [hpa, hpa + size) with perm, a non-empty subset of
 * GSTAGE_RWX in which W requires R (W without R is reserved in a PTE).
 * gpa, hpa and size are 4 KiB aligned, size > 0, the guest range lies below
 * 2^gpa_bits and the host range below 2^56 (the physical addresses a PTE can
 * hold); otherwise ERR_INVAL. Any page of the range already mapped:
 * ERR_EXIST. Out of table memory: ERR_NOMEM. On any failure the
 * tables are exactly as before the call: nothing mapped, no page leaked. */
int gstage_map(struct gstage *g, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perm);

/* Unmap whatever is mapped in [gpa, gpa + size) (same alignment and bounds
 * rules as gstage_map; holes are fine). A huge page only partly inside the
 * range is split so that the part outside stays mapped; that can need table
 * pages, and without them the call returns ERR_NOMEM having changed
 * nothing. Table pages that become empty are freed. */
int gstage_unmap(struct gstage *g, uint64_t gpa, uint64_t size);

/* Software walk. For a mapped gpa: true, with the host address of gpa itself,
 * the GSTAGE_* permissions and the size of the leaf holding it. Any of the out
 * pointers may be NULL. */
bool gstage_translate(const struct gstage *g, uint64_t gpa, uint64_t *hpa, unsigned *perm,
                      uint64_t *page_size);

/* Dirty logging (core/dirty.c, docs/dirty-logging.md).
 *
 * While a VM's dirty log is on, its RAM is mapped by 4 KiB leaves only, and
 * a leaf is in one of two states: writable, or write-protected for logging
 * (W clear and GSTAGE_PTE_LOGWP, a bit of the PTE's RSW field, set). Only
 * those two states are switched while guests run, by compare-and-swap on
 * the one leaf, so the calls below marked "concurrent" may run on several
 * harts at once (and with guests walking the tables); the others follow the
 * one-lock-per-VM rule above. Nothing here fences. */

/* Replaces every 1 GiB and 2 MiB leaf overlapping [gpa, gpa + size) by 4 KiB
 * leaves that translate the same (arguments as for gstage_unmap). All the
 * table pages needed are taken first: without enough of them, ERR_NOMEM
 * and nothing changed. *tables (may be NULL): table pages needed/added.
 * The translation never changes, so guests may run meanwhile. */
int gstage_split_range(struct gstage *g, uint64_t gpa, uint64_t size, size_t *tables);

/* protect: every writable 4 KiB leaf in the range becomes write-protected
 * for logging; !protect: every such leaf becomes writable again. Leaves of
 * other sizes and other permissions are left alone. Returns how many leaves
 * changed. Concurrent with gstage_log_fault/gstage_log_protect_page. */
size_t gstage_log_protect_range(struct gstage *g, uint64_t gpa, uint64_t size, bool protect);

/* What a store guest-page fault at gpa finds (concurrent): */
enum gstage_log_fault {
    GSTAGE_LOG_UNPROTECTED = 1, /* a leaf write-protected for logging: now writable (this call) */
    GSTAGE_LOG_WRITABLE = 2,    /* already writable: a stale TLB entry, or another hart was first */
};
/* D-bit logging (where the hardware sets the G-stage D bit on a store:
 * menvcfg.ADUE): clears D on every writable 4 KiB leaf of the range,
 * calling mark(ctx, gpa) for each that had it set; returns how many. */
size_t gstage_log_dirty_range(struct gstage *g, uint64_t gpa, uint64_t size,
                              void (*mark)(void *ctx, uint64_t gpa), void *ctx);
/* Sets A and D on every leaf of the range again (logging stops). */
void gstage_log_set_d_range(struct gstage *g, uint64_t gpa, uint64_t size);

/* GSTAGE_LOG_* or ERR_NOENT (unmapped, or not writable for another reason:
 * the fault is the guest's, as without logging). */
int gstage_log_fault(struct gstage *g, uint64_t gpa);

/* Write-protects the 4 KiB leaf at gpa for logging if it is writable now;
 * true if it changed (concurrent). */
bool gstage_log_protect_page(struct gstage *g, uint64_t gpa);

/* The hgatp value for this gstage. hgatp.VMID is 14 bits wide, so only the low
 * 14 bits of vmid are used; how many of those the hart implements (VMIDLEN) is
 * for the caller to probe. */
uint64_t gstage_hgatp(const struct gstage *g, uint16_t vmid);

/* 3, 4 or 5; 0 for a value that is not a gstage_mode. */
int gstage_levels(enum gstage_mode mode);

/* The mode for harts whose widest satp mode has satp_max_bits virtual-address
 * bits (39, 48, 57; 0 when unknown): Sv48x4 when satp goes to 48 bits or more,
 * Sv39x4 otherwise. Sv57x4 is never chosen: 2^50 bytes of guest-physical space
 * is plenty, and every G-stage walk (one per level of every VS-stage walk too)
 * would be a level longer. The spec does not tie hgatp modes to satp modes, so
 * the caller confirms the choice by writing hgatp.MODE and reading it back
 * (the field is WARL). */
enum gstage_mode gstage_mode_best(int satp_max_bits);

#endif
