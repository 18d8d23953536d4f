/* SPDX-License-Identifier: Apache-2.0 */
/* SBI for guests: Vireo is the firmware its guests call.  One file per
 * extension, each exporting a struct sbi_ext; sbi.c holds the table. */
#ifndef VIREO_CORE_SBI_SBI_H
#define VIREO_CORE_SBI_SBI_H

#include <stdbool.h>

#include "core/vcpu.h"
#include "lib/sbi_spec.h"

/* Vireo's SBI implementation ID: the specification's table assigns 0..11;
 * this is "VIRE" in ASCII, far from that range. */
#define SBI_IMPL_ID_VIREO 0x56495245UL
#define SBI_IMPL_VERSION  0x000100UL /* 0.1.0 as major << 16 | minor << 8 | patch */

/* The guest's a0..a7 as the ecall left them, read in place where the exit
 * saved its registers (no copy). */
struct sbi_args {
    unsigned long a[6]; /* a0..a5: the arguments */
    unsigned long fid;  /* a6 */
    unsigned long eid;  /* a7 */
};

/* A parameter the specification declares uint32_t: on RV64 the upper 32
 * bits of its register are ignored (binary encoding chapter), as the
 * firmware does.  Those are exactly HSM's suspend_type, SUSP's sleep_type,
 * SRST's reset_type and reset_reason and FWFT's feature; every other
 * parameter of the functions Vireo implements is unsigned long (or
 * DBCN's uint8_t byte). */
static inline uint32_t sbi_u32(unsigned long reg)
{
    return (uint32_t)reg;
}

/* The answer: error goes to a0, value to a1 (returned in registers). */
struct sbi_ret {
    long error;
    long value;
};

/* One extension, one row: each file defines its instance with named fields
 * (.eid_min = ..., .handler = ...), as Linux KVM's kvm_vcpu_sbi_extension,
 * so a new field cannot shift the others.  Adding an extension: a file
 * with its handler and this struct, its name in the extern list below and
 * in sbi_exts[] (sbi.c). */
struct sbi_ext {
    unsigned long eid_min; /* the EIDs it answers: eid_min..eid_max */
    unsigned long eid_max;
    const char *name;
    struct sbi_ret (*handler)(struct vcpu *v, const struct sbi_args *c);
    /* NULL, or whether v's VM has the extension (one that depends on the
     * host): when it does not, probing says 0 and calls NOT_SUPPORTED. */
    bool (*available)(const struct vcpu *v);
};

/* For a handler whose call, besides its answer, blocks the vCPU or makes it
 * leave the hart: records act for sbi_dispatch to return, and answers
 * error (a1 = 0).  Call it after anything that may recreate the VM (vm_end
 * of a reboot clears its vCPUs). */
static inline struct sbi_ret sbi_ret_then(struct vcpu *v, enum exit_action act, long error)
{
    v->sbi_action = (uint8_t)act;
    return (struct sbi_ret){error, 0};
}

extern const struct sbi_ext sbi_ext_base, sbi_ext_legacy, sbi_ext_time, sbi_ext_ipi, sbi_ext_rfence,
    sbi_ext_hsm, sbi_ext_srst, sbi_ext_dbcn, sbi_ext_susp, sbi_ext_sta, sbi_ext_fwft, sbi_ext_dbtr;

/* The ecall exit: runs the extension a7 names on the registers in place,
 * writes its answer to a0/a1 and returns what it asked for (v->sbi_action). */
enum exit_action sbi_dispatch(struct vcpu *v);

/* The extension that implements eid for v's VM, or NULL (the table in
 * base.c). */
const struct sbi_ext *sbi_ext_find(const struct vcpu *v, unsigned long eid);

/* Shared between extensions: TIME's set_timer (and legacy set_timer), the
 * HSM suspend that SUSP also uses, and the per-target actions of IPI and
 * RFENCE (legacy calls use them too). */
void sbi_time_set(struct vcpu *v, uint64_t deadline);
struct sbi_ret sbi_suspend(struct vcpu *v, bool retentive, uint64_t pc, uint64_t opaque);
void sbi_ipi_raise(struct vcpu *target, void *arg);
void sbi_rfence_request(struct vcpu *target, void *arg);

/* DBTR and snapshots: whether a vCPU's trigger state (from a snapshot) is
 * one the guest could have made on this host (0, or ERR_RANGE); and, once
 * it is the vCPU's, the hardware's part rebuilt from it (the vCPU not
 * loaded: its triggers are armed when it next is). */
int sbi_dbtr_state_check(const struct vcpu_dbtr *d);
void sbi_dbtr_restored(struct vcpu *v);

/* STA: adds the time v waited in the run queue (since v->runnable_since)
 * to its steal-time record, if it named one.  From the run loop, as v
 * gets a hart. */
void sbi_sta_update(struct vcpu *v, uint64_t now, uint32_t timebase_hz);

/* The vCPUs of v's VM named by an SBI hart mask (mask, mask_base; base -1
 * is every hart).  Calls fn for each; returns SBI_ERR_INVALID_PARAM if the
 * mask names a hart the VM does not have, before calling fn at all. */
long sbi_for_each_hart(struct vcpu *v, unsigned long mask, unsigned long base,
                       void (*fn)(struct vcpu *target, void *arg), void *arg);

#endif
