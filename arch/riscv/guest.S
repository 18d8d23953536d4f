/* SPDX-License-Identifier: Apache-2.0 */
/* Reading guest memory through the guest's own (VS-stage) translation, as
 * the vCPU loaded on this hart sees it.  A fault must not become a trap in
 * Vireo: stvec points just past the access while it runs, exactly as in
 * arch_probe_h. */
    .option push
    .option arch, +h

/* uint64_t arch_hlvx_hu(uint64_t va, int *fault) */
    .text
    .globl arch_hlvx_hu
    .align 2
arch_hlvx_hu:
    csrr    t1, stvec
    lla     t0, 1f
    csrw    stvec, t0
    li      t2, 1
    hlvx.hu a0, (a0)
    li      t2, 0
    .align 2
1:  csrw    stvec, t1
    sw      t2, 0(a1)
    ret

/* uint64_t arch_hlv_d(uint64_t va, int *fault): a doubleword the guest
 * can read at va with its own translation and privilege (hstatus.SPVP). */
    .globl arch_hlv_d
    .align 2
arch_hlv_d:
    csrr    t1, stvec
    lla     t0, 1f
    csrw    stvec, t0
    li      t2, 1
    hlv.d   a0, (a0)
    li      t2, 0
    .align 2
1:  csrw    stvec, t1
    sw      t2, 0(a1)
    ret

/* uint64_t arch_hlv_bu(uint64_t va, uint64_t *cause): a byte the guest
 * can read at va; *cause is -1, or scause of the fault. */
    .globl arch_hlv_bu
    .align 2
arch_hlv_bu:
    csrr    t1, stvec
    lla     t0, 1f
    csrw    stvec, t0
    li      t2, -1
    hlv.bu  a0, (a0)
    j       2f
    .align 2
1:  csrr    t2, scause
2:  csrw    stvec, t1
    sd      t2, 0(a1)
    ret

/* void arch_hsv_b(uint64_t va, uint64_t value, uint64_t *cause): stores a
 * byte as the guest would; *cause is -1, or scause of the fault. */
    .globl arch_hsv_b
    .align 2
arch_hsv_b:
    csrr    t1, stvec
    lla     t0, 1f
    csrw    stvec, t0
    li      t2, -1
    hsv.b   a1, (a0)
    j       2f
    .align 2
1:  csrr    t2, scause
2:  csrw    stvec, t1
    sd      t2, 0(a2)
    ret

    .globl arch_hfence_gvma_vmid
    .align 2
arch_hfence_gvma_vmid:
    hfence.gvma zero, a0
    ret

    .globl arch_hfence_gvma_gpa
    .align 2
arch_hfence_gvma_gpa:
    /* rs1 holds the guest physical address shifted right by 2. */
    srli    a0, a0, 2
    hfence.gvma a0, a1
    ret

    .globl arch_hfence_gvma_all
    .align 2
arch_hfence_gvma_all:
    hfence.gvma zero, zero
    ret

    .globl arch_hfence_vvma_vmid
    .align 2
arch_hfence_vvma_vmid:
    /* hfence.vvma acts on the VMID in hgatp: the caller has loaded it. */
    hfence.vvma zero, zero
    ret

    .option pop
