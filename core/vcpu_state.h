/* SPDX-License-Identifier: Apache-2.0 */
/* A vCPU's state as snapshot data (docs/snapshot.md, "VCPU"): everything
 * its guest can observe, written field by field, and read back as hostile
 * input, checked in full before anything is applied. */
#ifndef VIREO_CORE_VCPU_STATE_H
#define VIREO_CORE_VCPU_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/vcpu.h"

#define VCPU_STATE_VERSION 1

/* A vCPU's state read from a snapshot and checked: what vcpu_state_apply
 * puts into a vCPU.  vec points into the payload it was parsed from. */
struct vcpu_image {
    enum vcpu_state run; /* VCPU_OFFLINE, VCPU_RUNNABLE or VCPU_BLOCKED */
    int suspend;         /* VCPU_AWAKE, VCPU_SUSPENDED, VCPU_SUSPENDED_NONRET */
    uint64_t gpr[32], pc, sstatus, hstatus;
    uint64_t vsstatus, vsie, vstvec, vsscratch, vsepc, vscause, vstval, vsatp;
    uint64_t senvcfg, scounteren, henvcfg, hedeleg, hvip, vstimecmp;
    uint64_t timer_guest; /* the SBI deadline on the guest's clock (UINT64_MAX: none) */
    uint64_t resume_pc, resume_opaque, sta_gpa, steal_ns;
    uint32_t fwft_locked;
    struct vcpu_dbtr dbtr;
    struct fp_state fp;
    const uint8_t *vec;
    size_t vec_size;
};

/* Writes v's state (its VM paused, v off the harts) into buf; the guest's
 * clock is v's htimedelta plus host time.  Returns the length, or ERR_NOSPC. */
long vcpu_state_save(const struct vcpu *v, void *buf, size_t size);

/* Reads and checks a payload for v (of the VM it is to be applied to):
 * 0, or a negative ERR_* code with err naming the field.  Nothing is
 * changed; what the guest could not have set itself (hypervisor bits of
 * hstatus and sstatus) is sanitized, what contradicts the VM (its ISA,
 * its RAM, its debug triggers) is refused. */
int vcpu_state_parse(const struct vcpu *v, const void *buf, size_t size, struct vcpu_image *img,
                     char *err, size_t errlen);

/* Puts a parsed image into v (off the harts; its VM's htimedelta already
 * set): registers, CSRs, timers on the guest's clock, SBI state, and its
 * place in the scheduler. */
void vcpu_state_apply(struct vcpu *v, const struct vcpu_image *img);

#endif
