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

/* One call: the arguments are read where the exit saved the guest's
 * registers (no copy); the answer goes back into a0 and a1. */
struct sbi_call {
    unsigned long eid, fid;
    const uint64_t *a;  /* a0..a5 */
    long error;         /* returned in a0 */
    long value;         /* returned in a1 */
    bool legacy;        /* v0.1 call: only a0 is returned, and it is `error` */
};

struct sbi_ext {
    unsigned long eid_min, eid_max;
    const char *name;
    enum exit_action (*handler)(struct vcpu *v, struct sbi_call *c);
};

extern const struct sbi_ext sbi_ext_base, sbi_ext_legacy, sbi_ext_time, sbi_ext_ipi, sbi_ext_rfence,
    sbi_ext_hsm, sbi_ext_srst, sbi_ext_dbcn, sbi_ext_susp, sbi_ext_sta, sbi_ext_fwft;

/* The ecall exit: decode a7/a6/a0..a5, run the extension, write a0/a1. */
enum exit_action sbi_dispatch(struct vcpu *v);

/* For BASE probe_extension: 1 if Vireo implements eid. */
bool sbi_ext_present(unsigned long eid);

/* The vCPUs of v's VM named by an SBI hart mask (mask, mask_base; base -1
 * is every hart).  Calls fn for each; returns SBI_ERR_INVALID_PARAM if the
 * mask names a hart the VM does not have, before calling fn at all. */
long sbi_for_each_hart(struct vcpu *v, unsigned long mask, unsigned long base,
                       void (*fn)(struct vcpu *target, void *arg), void *arg);

#endif
