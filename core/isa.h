/* SPDX-License-Identifier: Apache-2.0 */
/* The guest ISA: every RISC-V extension Vireo knows, one row each in
 * core/isa.c with how a guest gets it or why it is withheld (docs/isa.md),
 * sets of them read from a host's device tree, and the computation
 * guest ISA = host ISA minus what cannot be virtualized minus what a VM's
 * configuration withholds, with the henvcfg, hcounteren and hstateen0 that
 * go with it. */
#ifndef VIREO_CORE_ISA_H
#define VIREO_CORE_ISA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/riscv/encoding.h"

#define ISA_SET_WORDS 3
#define ISA_MAX_EXTS  (64 * ISA_SET_WORDS)

/* A set of extensions, by row of the table. */
struct isa_set {
    uint64_t bits[ISA_SET_WORDS];
};

/* What the hart lets Vireo give guests, found at boot. */
struct isa_host_caps {
    uint64_t henvcfg; /* henvcfg bits that are writable (the others read as zero) */
    bool hstateen;    /* hstateen0 exists and is writable (Smstateen) */
};

/* A guest's ISA and the hypervisor controls that go with it. */
struct isa_guest {
    struct isa_set exts;
    uint64_t henvcfg;   /* every bit the guest may have (ADUE: it may turn it on) */
    uint64_t hstateen0; /* only written when the host has Smstateen */
    uint32_t hcounteren;
};

/* The henvcfg a vCPU starts with (boot, HSM hart_start): the guest's, with
 * ADUE clear, because SBI FWFT PTE_AD_HW_UPDATING resets to 0. */
static inline uint64_t isa_guest_henvcfg_reset(const struct isa_guest *g)
{
    return g->henvcfg & ~HENVCFG_ADUE;
}

/* Number of rows in the table; extension i (0 <= i < isa_count()). */
unsigned isa_count(void);
const char *isa_name(unsigned i);

/* Row of an extension name (any case), or ERR_NOENT when Vireo does not know it. */
int isa_lookup(const char *name);

static inline bool isa_has(const struct isa_set *s, unsigned i)
{
    return i < ISA_MAX_EXTS && (s->bits[i / 64] >> (i % 64)) & 1;
}
static inline void isa_add(struct isa_set *s, unsigned i)
{
    if (i < ISA_MAX_EXTS)
        s->bits[i / 64] |= 1ULL << (i % 64);
}
static inline void isa_del(struct isa_set *s, unsigned i)
{
    if (i < ISA_MAX_EXTS)
        s->bits[i / 64] &= ~(1ULL << (i % 64));
}
bool isa_has_name(const struct isa_set *s, const char *name);

/* Adds one riscv,isa-extensions entry; 1 if known, 0 if Vireo does not
 * know it (the set is unchanged: an unknown extension is never given). */
int isa_set_add_name(struct isa_set *s, const char *name);
/* Adds what a riscv,isa string ("rv64imafdch_zicsr_sstc") names; the
 * number of names Vireo did not know. */
int isa_set_add_string(struct isa_set *s, const char *isa);
/* What the binding implies: g = imafd + zicsr + zifencei, c = zca (+ zcd
 * with d), b = zba + zbb + zbs; as Linux reads a cpu node. */
void isa_set_expand(struct isa_set *s);

/* May a VM's configuration withhold this extension?  0, or ERR_INVAL with
 * *why naming what the guest cannot do without. */
int isa_withhold_check(unsigned i, const char **why);

/* The guest's ISA from the host's (every hart's common set, expanded),
 * what the hart allows, and what the VM withholds (NULL: nothing).  When
 * why is not NULL, why[i] gets the reason extension i of the host is not
 * given (NULL where it is given or the host lacks it). */
void isa_guest_compute(const struct isa_set *host, const struct isa_host_caps *caps,
                       const struct isa_set *withhold, struct isa_guest *g, const char **why);

/* riscv,isa for the set: "rv64imafdc_zicntr_..." (single letters in
 * canonical order, then the rest in table order).  The length it needed. */
int isa_format_string(const struct isa_set *s, char *buf, size_t len);
/* riscv,isa-extensions: the names in table order, NULL-terminated; the
 * count, at most max - 1. */
unsigned isa_names(const struct isa_set *s, const char **names, unsigned max);

#endif
