/* SPDX-License-Identifier: Apache-2.0 */
/* The fpu guest's register soak, in assembly so that no compiled code can
 * touch the registers under test between filling and checking them.
 *
 * bool fpu_soak(uint64_t seed, uint64_t until, struct fpu_result *res,
 *               bool with_vector)
 *
 * Fills f0-f31 with seed + i*STEP and fcsr with a value derived from seed;
 * with_vector also sets vl = min(32, VLMAX) at e64/m1 and fills v0-v31 with
 * element j of v[i] = ~seed + i*STEP + j.  Then re-checks all of them (and
 * vl, vtype) until the time CSR reaches `until`.  Returns true with
 * res->iterations set, or false at the first difference with res->what
 * (0-31 f[i], 32 fcsr, 33 vl, 34 vtype, 64+i v[i]), res->expected and
 * res->seen filled in.  Interrupts must be off and sstatus.FS (and VS when
 * with_vector) enabled. */
    .option arch, +v

#define STEP 0x9e3779b97f4a7c15     /* odd: no two registers share a value */

#define RES_ITER 0
#define RES_WHAT 8
#define RES_EXP  16
#define RES_SEEN 24

    .text
    .globl fpu_soak
    .align 2
fpu_soak:
    addi    sp, sp, -256            /* room to store one vector register */
    li      t1, STEP

    mv      t0, a0
    .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    fmv.d.x f\n, t0
    add     t0, t0, t1
    .endr

    /* fcsr: fflags = seed[4:0], frm = seed[7:5] mod 5 (5-7 are reserved). */
    andi    a4, a0, 0x1f
    srli    t2, a0, 5
    andi    t2, t2, 7
    li      t3, 5
    remu    t2, t2, t3
    slli    t2, t2, 5
    or      a4, a4, t2
    fscsr   a4

    beqz    a3, .Lloop
    li      t3, 32
    vsetvli a5, t3, e64, m1, ta, ma
    csrr    a6, vtype
    not     t0, a0
    .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    vid.v   v\n
    vadd.vx v\n, v\n, t0
    add     t0, t0, t1
    .endr

.Lloop:
    li      a7, 0
.Lagain:
    mv      t0, a0
    .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    fmv.x.d t2, f\n
    li      t3, \n
    bne     t2, t0, .Lfail
    add     t0, t0, t1
    .endr
    frcsr   t2
    li      t3, 32
    mv      t0, a4
    bne     t2, t0, .Lfail

    beqz    a3, .Lnext
    csrr    t2, vl
    li      t3, 33
    mv      t0, a5
    bne     t2, t0, .Lfail
    csrr    t2, vtype
    li      t3, 34
    mv      t0, a6
    bne     t2, t0, .Lfail
    not     t0, a0
    .irp    n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    vse64.v v\n, (sp)
    li      t3, 64 + \n
    mv      t4, sp                  /* element pointer */
    mv      t5, t0                  /* its expected value */
    slli    t6, a5, 3
    add     t6, t6, sp              /* end of the vl elements */
1:  ld      t2, 0(t4)
    bne     t2, t5, .Lvfail
    addi    t4, t4, 8
    addi    t5, t5, 1
    bltu    t4, t6, 1b
    add     t0, t0, t1
    .endr

.Lnext:
    addi    a7, a7, 1
    rdtime  t2
    bltu    t2, a1, .Lagain
    sd      a7, RES_ITER(a2)
    li      a0, 1
    addi    sp, sp, 256
    ret

.Lvfail:
    mv      t0, t5
.Lfail:
    sd      a7, RES_ITER(a2)
    sd      t3, RES_WHAT(a2)
    sd      t0, RES_EXP(a2)
    sd      t2, RES_SEEN(a2)
    li      a0, 0
    addi    sp, sp, 256
    ret
