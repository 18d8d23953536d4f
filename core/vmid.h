/* SPDX-License-Identifier: Apache-2.0 */
/* VMIDs for G-stage TLB tagging, and never-reused VM uids (vmid.c).
 * Safe from any hart. */
#ifndef VIREO_CORE_VMID_H
#define VIREO_CORE_VMID_H

#include <stdint.h>

/* How many VMID bits the hart implements (arch_gstage_probe).  Boot. */
void vmid_init(unsigned vmid_bits);
/* A free VMID, or (all taken) a shared one chosen by hint. */
unsigned vmid_alloc(unsigned hint);
void vmid_free(unsigned vmid);
/* A number no VM had before: tells harts when a VMID changed owner. */
uint64_t vmid_next_uid(void);

#endif
