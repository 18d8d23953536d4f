/* SPDX-License-Identifier: Apache-2.0 */
/* The privileged instructions the hostile guest tries from VS-mode and from
 * VU-mode (attack=csr).  One X-macro list, read by hostile_probe.S (which
 * lays each one out as "instruction; ret", 8 bytes, no compression) and by
 * hostile.c (names and modes).  Every probe must trap into the guest's own
 * handler as an illegal instruction: a hypervisor or machine CSR, a
 * hypervisor instruction, or (from VU-mode) a supervisor one.
 *
 * PROBE(modes, name, instruction...): modes is PROBE_VS, PROBE_VU or both.
 * At the probe, a0 holds the address of a scratch doubleword in RAM (for
 * the hypervisor loads and stores). */
#ifndef VIREO_GUESTS_HOSTILE_PROBES_H
#define VIREO_GUESTS_HOSTILE_PROBES_H

#define PROBE_VS   1
#define PROBE_VU   2
#define PROBE_BOTH 3

#define HOSTILE_PROBES(PROBE)                                                                      \
    /* HS-mode CSRs */                                                                             \
    PROBE(PROBE_BOTH, "csrr hstatus", csrr t0, hstatus)                                            \
    PROBE(PROBE_BOTH, "csrw hstatus", csrw hstatus, zero)                                          \
    PROBE(PROBE_BOTH, "csrr hedeleg", csrr t0, hedeleg)                                            \
    PROBE(PROBE_BOTH, "csrw hedeleg", csrw hedeleg, zero)                                          \
    PROBE(PROBE_BOTH, "csrr hideleg", csrr t0, hideleg)                                            \
    PROBE(PROBE_BOTH, "csrw hideleg", csrw hideleg, zero)                                          \
    PROBE(PROBE_BOTH, "csrr hgatp", csrr t0, hgatp)                                                \
    PROBE(PROBE_BOTH, "csrw hgatp", csrw hgatp, zero)                                              \
    PROBE(PROBE_BOTH, "csrr hvip", csrr t0, hvip)                                                  \
    PROBE(PROBE_BOTH, "csrs hvip", csrs hvip, a0)                                                  \
    PROBE(PROBE_BOTH, "csrr hcounteren", csrr t0, hcounteren)                                      \
    PROBE(PROBE_BOTH, "csrr htimedelta", csrr t0, htimedelta)                                      \
    PROBE(PROBE_BOTH, "csrw htimedelta", csrw htimedelta, a0)                                      \
    PROBE(PROBE_BOTH, "csrr hgeip", csrr t0, hgeip)                                                \
    PROBE(PROBE_BOTH, "csrr henvcfg", csrr t0, henvcfg)                                            \
    /* VS CSRs by their own numbers (VS-mode reaches them as s*) */                                \
    PROBE(PROBE_BOTH, "csrr vsatp", csrr t0, vsatp)                                                \
    PROBE(PROBE_BOTH, "csrr vsstatus", csrr t0, vsstatus)                                          \
    PROBE(PROBE_BOTH, "csrw vstvec", csrw vstvec, zero)                                            \
    /* M-mode CSRs */                                                                              \
    PROBE(PROBE_BOTH, "csrr mstatus", csrr t0, mstatus)                                            \
    PROBE(PROBE_BOTH, "csrw mstatus", csrw mstatus, zero)                                          \
    PROBE(PROBE_BOTH, "csrr medeleg", csrr t0, medeleg)                                            \
    PROBE(PROBE_BOTH, "csrr mtvec", csrr t0, mtvec)                                                \
    PROBE(PROBE_BOTH, "csrr mhartid", csrr t0, mhartid)                                            \
    PROBE(PROBE_BOTH, "csrr pmpcfg0", csrr t0, pmpcfg0)                                            \
    PROBE(PROBE_BOTH, "csrw pmpcfg0", csrw pmpcfg0, zero)                                          \
    PROBE(PROBE_BOTH, "csrw pmpaddr0", csrw pmpaddr0, a0)                                          \
    PROBE(PROBE_BOTH, "csrr mip", csrr t0, mip)                                                    \
    /* hypervisor instructions */                                                                  \
    PROBE(PROBE_BOTH, "hfence.gvma", hfence.gvma zero, zero)                                       \
    PROBE(PROBE_BOTH, "hfence.vvma", hfence.vvma zero, zero)                                       \
    PROBE(PROBE_BOTH, "hlv.d", hlv.d t0, (a0))                                                     \
    PROBE(PROBE_BOTH, "hlv.b", hlv.b t0, (a0))                                                     \
    PROBE(PROBE_BOTH, "hlvx.hu", hlvx.hu t0, (a0))                                                 \
    PROBE(PROBE_BOTH, "hsv.d", hsv.d t0, (a0))                                                     \
    PROBE(PROBE_BOTH, "hsv.w", hsv.w t0, (a0))                                                     \
    /* supervisor CSRs and instructions: fine in VS-mode, not in VU-mode */                        \
    PROBE(PROBE_VU, "csrr sstatus", csrr t0, sstatus)                                              \
    PROBE(PROBE_VU, "csrr satp", csrr t0, satp)                                                    \
    PROBE(PROBE_VU, "csrw stvec", csrw stvec, zero)                                                \
    PROBE(PROBE_VU, "csrr sip", csrr t0, sip)                                                      \
    PROBE(PROBE_VU, "sfence.vma", sfence.vma zero, zero)                                           \
    PROBE(PROBE_VU, "sret", sret)

#endif
