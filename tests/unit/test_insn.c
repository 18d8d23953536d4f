/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/insn.h"
#include "lib/err.h"

/* Everything here is built from the specifications' field layouts, not from
 * the decoder: encoders for each format, and a reference table of opcode
 * match/mask pairs for the sweeps. */

#define OP_LOAD     0x03u
#define OP_LOAD_FP  0x07u
#define OP_STORE    0x23u
#define OP_STORE_FP 0x27u
#define OP_AMO      0x2fu
#define OP_SYSTEM   0x73u

/* funct3 of each RV64I load and store (unprivileged spec, RV32I/RV64I tables). */
enum { F3_B = 0, F3_H = 1, F3_W = 2, F3_D = 3, F3_BU = 4, F3_HU = 5, F3_WU = 6 };

static uint32_t enc_i(uint32_t opcode, uint32_t funct3, uint32_t rd, uint32_t rs1, int32_t imm)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | funct3 << 12 | rd << 7 | opcode;
}

static uint32_t enc_s(uint32_t opcode, uint32_t funct3, uint32_t rs2, uint32_t rs1, int32_t imm)
{
    uint32_t u = (uint32_t)imm & 0xfff;

    return (u >> 5) << 25 | rs2 << 20 | rs1 << 15 | funct3 << 12 | (u & 0x1f) << 7 | opcode;
}

/* Bit n of v, placed at bit `at`. */
static uint32_t bit_at(uint32_t v, unsigned n, unsigned at)
{
    return ((v >> n) & 1) << at;
}

/* CL/CS formats (C.LW, C.LD, C.SW, C.SD, C.FLD, C.FSD): offset[5:3] in 12:10,
 * then offset[2|6] (words) or offset[7:6] (doublewords) in 6:5. r and base are
 * x8..x15. */
static uint32_t enc_cls(uint32_t funct3, uint32_t r, uint32_t base, uint32_t off, bool dword)
{
    uint32_t imm65 =
        dword ? bit_at(off, 7, 6) | bit_at(off, 6, 5) : bit_at(off, 2, 6) | bit_at(off, 6, 5);

    return funct3 << 13 | ((off >> 3) & 7) << 10 | (base - 8) << 7 | imm65 | (r - 8) << 2;
}

/* CI format stack loads: offset[5] in 12; offset[4:2|7:6] (C.LWSP) or
 * offset[4:3|8:6] (C.LDSP, C.FLDSP) in 6:2. */
static uint32_t enc_ci_sp(uint32_t funct3, uint32_t rd, uint32_t off, bool dword)
{
    uint32_t imm62 = dword ? ((off >> 3) & 3) << 5 | ((off >> 6) & 7) << 2
                           : ((off >> 2) & 7) << 4 | ((off >> 6) & 3) << 2;

    return funct3 << 13 | bit_at(off, 5, 12) | rd << 7 | imm62 | 2;
}

/* CSS format stack stores: offset[5:2|7:6] (C.SWSP) or offset[5:3|8:6]
 * (C.SDSP, C.FSDSP) in 12:7. */
static uint32_t enc_css(uint32_t funct3, uint32_t rs2, uint32_t off, bool dword)
{
    uint32_t imm127 = dword ? ((off >> 3) & 7) << 10 | ((off >> 6) & 7) << 7
                            : ((off >> 2) & 15) << 9 | ((off >> 6) & 3) << 7;

    return funct3 << 13 | imm127 | rs2 << 2 | 2;
}

/* Zcb byte/halfword forms: quadrant 0, funct3 100, funct6's low bits in 12:10.
 * Bytes: uimm[0|1] in 6:5. Halfwords: bit 6 is the C.LH flag (0 for C.LHU and
 * C.SH), uimm[1] in 5. */
static uint32_t enc_zcb(uint32_t sub, uint32_t r, uint32_t base, uint32_t off, uint32_t bit6_flag)
{
    uint32_t imm65 = (sub == 0 || sub == 2) ? bit_at(off, 0, 6) | bit_at(off, 1, 5)
                                            : bit6_flag << 6 | bit_at(off, 1, 5);

    return 4u << 13 | sub << 10 | (base - 8) << 7 | imm65 | (r - 8) << 2;
}

struct expect {
    enum insn_kind kind;
    unsigned width;
    bool sign_extend;
    unsigned reg;
    unsigned length;
};

static void check_decoded(const struct mmio_insn *got, struct expect want)
{
    assert_int_equal(got->kind, want.kind);
    assert_int_equal(got->width, want.width);
    assert_int_equal(got->sign_extend, want.sign_extend);
    assert_int_equal(got->reg, want.reg);
    assert_int_equal(got->length, want.length);
}

static void check_insn(uint32_t insn, struct expect want)
{
    struct mmio_insn got;

    if (insn_decode(insn, &got) != 0)
        fail_msg("insn_decode(0x%08x) rejected a load/store", (unsigned)insn);
    check_decoded(&got, want);
}

/* A rejected instruction returns ERR_NOTSUP and leaves *out as it was. */
static void check_rejected(uint32_t insn)
{
    struct mmio_insn got = {INSN_STORE, 77, true, 77, 77};

    if (insn_decode(insn, &got) != ERR_NOTSUP)
        fail_msg("insn_decode(0x%08x) accepted a non-load/store", (unsigned)insn);
    assert_int_equal(got.width, 77);
    assert_int_equal(got.reg, 77);
    assert_int_equal(got.length, 77);
}

static const uint32_t regs[] = {0, 1, 2, 5, 8, 10, 15, 16, 27, 31};
static const int32_t imms[] = {0, 1, -1, 8, -8, 100, 2047, -2048, 0x555, -0x556};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Encodings produced by GNU as (binutils 2.40) and the Zcb spec, to show that
 * the test's encoders are right before they are used to test the decoder. */
static void test_encoders_match_assembler(void **state)
{
    (void)state;
    assert_int_equal(enc_i(OP_LOAD, F3_B, 10, 2, -2048), 0x80010503);  /* lb a0,-2048(sp) */
    assert_int_equal(enc_i(OP_LOAD, F3_H, 31, 8, 2047), 0x7ff41f83);   /* lh t6,2047(s0) */
    assert_int_equal(enc_i(OP_LOAD, F3_W, 0, 15, -1), 0xfff7a003);     /* lw zero,-1(a5) */
    assert_int_equal(enc_i(OP_LOAD, F3_D, 1, 5, 8), 0x0082b083);       /* ld ra,8(t0) */
    assert_int_equal(enc_i(OP_LOAD, F3_BU, 27, 3, 100), 0x0641cd83);   /* lbu s11,100(gp) */
    assert_int_equal(enc_i(OP_LOAD, F3_HU, 11, 4, -100), 0xf9c25583);  /* lhu a1,-100(tp) */
    assert_int_equal(enc_i(OP_LOAD, F3_WU, 28, 31, 0), 0x000fee03);    /* lwu t3,0(t6) */
    assert_int_equal(enc_s(OP_STORE, F3_B, 10, 2, -2048), 0x80a10023); /* sb a0,-2048(sp) */
    assert_int_equal(enc_s(OP_STORE, F3_H, 31, 8, 2047), 0x7ff41fa3);  /* sh t6,2047(s0) */
    assert_int_equal(enc_s(OP_STORE, F3_W, 0, 15, -1), 0xfe07afa3);    /* sw zero,-1(a5) */
    assert_int_equal(enc_s(OP_STORE, F3_D, 1, 5, 8), 0x0012b423);      /* sd ra,8(t0) */
    assert_int_equal(enc_cls(2, 10, 15, 124, false), 0x5fe8);          /* c.lw a0,124(a5) */
    assert_int_equal(enc_cls(3, 9, 14, 248, true), 0x7f64);            /* c.ld s1,248(a4) */
    assert_int_equal(enc_cls(6, 8, 13, 68, false), 0xc2e0);            /* c.sw s0,68(a3) */
    assert_int_equal(enc_cls(7, 15, 9, 136, true), 0xe4dc);            /* c.sd a5,136(s1) */
    assert_int_equal(enc_ci_sp(2, 1, 252, false), 0x50fe);             /* c.lwsp ra,252(sp) */
    assert_int_equal(enc_ci_sp(3, 5, 504, true), 0x72fe);              /* c.ldsp t0,504(sp) */
    assert_int_equal(enc_ci_sp(2, 31, 36, false), 0x5f92);             /* c.lwsp t6,36(sp) */
    assert_int_equal(enc_ci_sp(3, 19, 264, true), 0x69b2);             /* c.ldsp s3,264(sp) */
    assert_int_equal(enc_css(6, 11, 252, false), 0xdfae);              /* c.swsp a1,252(sp) */
    assert_int_equal(enc_css(7, 27, 504, true), 0xffee);               /* c.sdsp s11,504(sp) */
    assert_int_equal(enc_css(6, 0, 4, false), 0xc202);                 /* c.swsp zero,4(sp) */
    assert_int_equal(enc_css(7, 7, 72, true), 0xe49e);                 /* c.sdsp t2,72(sp) */
    assert_int_equal(enc_cls(1, 10, 10, 8, true), 0x2508);             /* c.fld fa0,8(a0) */
    assert_int_equal(enc_cls(5, 11, 11, 16, true), 0xa98c);            /* c.fsd fa1,16(a1) */
    assert_int_equal(enc_ci_sp(1, 8, 24, true), 0x2462);               /* c.fldsp fs0,24(sp) */
    assert_int_equal(enc_css(5, 9, 32, true), 0xb026);                 /* c.fsdsp fs1,32(sp) */
    assert_int_equal(enc_zcb(0, 15, 14, 2, 0), 0x833c);                /* c.lbu a5,2(a4) */
    assert_int_equal(enc_zcb(1, 15, 14, 2, 0), 0x873c);                /* c.lhu a5,2(a4) */
    assert_int_equal(enc_zcb(1, 15, 14, 2, 1), 0x877c);                /* c.lh a5,2(a4) */
    assert_int_equal(enc_zcb(2, 15, 14, 2, 0), 0x8b3c);                /* c.sb a5,2(a4) */
    assert_int_equal(enc_zcb(3, 15, 14, 2, 0), 0x8f3c);                /* c.sh a5,2(a4) */
}

static void test_rv64_loads(void **state)
{
    static const struct {
        uint32_t funct3;
        unsigned width;
        bool sign_extend;
    } loads[] = {
        {F3_B, 1, true},   {F3_H, 2, true},   {F3_W, 4, true},   {F3_D, 8, false},
        {F3_BU, 1, false}, {F3_HU, 2, false}, {F3_WU, 4, false},
    };

    (void)state;
    for (size_t l = 0; l < COUNT(loads); l++)
        for (size_t d = 0; d < COUNT(regs); d++)
            for (size_t b = 0; b < COUNT(regs); b++)
                for (size_t i = 0; i < COUNT(imms); i++) {
                    uint32_t insn = enc_i(OP_LOAD, loads[l].funct3, regs[d], regs[b], imms[i]);
                    check_insn(insn, (struct expect){INSN_LOAD, loads[l].width,
                                                     loads[l].sign_extend, regs[d], 4});
                }
}

static void test_rv64_stores(void **state)
{
    static const struct {
        uint32_t funct3;
        unsigned width;
    } stores[] = {{F3_B, 1}, {F3_H, 2}, {F3_W, 4}, {F3_D, 8}};

    (void)state;
    for (size_t s = 0; s < COUNT(stores); s++)
        for (size_t r = 0; r < COUNT(regs); r++)
            for (size_t b = 0; b < COUNT(regs); b++)
                for (size_t i = 0; i < COUNT(imms); i++) {
                    uint32_t insn = enc_s(OP_STORE, stores[s].funct3, regs[r], regs[b], imms[i]);
                    check_insn(insn,
                               (struct expect){INSN_STORE, stores[s].width, false, regs[r], 4});
                }
}

static void test_compressed_register_based(void **state)
{
    (void)state;
    for (uint32_t r = 8; r <= 15; r++)
        for (uint32_t base = 8; base <= 15; base++) {
            for (uint32_t off = 0; off <= 124; off += 4) {
                check_insn(enc_cls(2, r, base, off, false),
                           (struct expect){INSN_LOAD, 4, true, r, 2}); /* C.LW */
                check_insn(enc_cls(6, r, base, off, false),
                           (struct expect){INSN_STORE, 4, false, r, 2}); /* C.SW */
            }
            for (uint32_t off = 0; off <= 248; off += 8) {
                check_insn(enc_cls(3, r, base, off, true),
                           (struct expect){INSN_LOAD, 8, false, r, 2}); /* C.LD */
                check_insn(enc_cls(7, r, base, off, true),
                           (struct expect){INSN_STORE, 8, false, r, 2}); /* C.SD */
            }
        }
}

static void test_compressed_sp_based(void **state)
{
    (void)state;
    for (uint32_t r = 0; r < 32; r++) {
        for (uint32_t off = 0; off <= 252; off += 4) {
            if (r != 0)
                check_insn(enc_ci_sp(2, r, off, false),
                           (struct expect){INSN_LOAD, 4, true, r, 2}); /* C.LWSP */
            check_insn(enc_css(6, r, off, false),
                       (struct expect){INSN_STORE, 4, false, r, 2}); /* C.SWSP */
        }
        for (uint32_t off = 0; off <= 504; off += 8) {
            if (r != 0)
                check_insn(enc_ci_sp(3, r, off, true),
                           (struct expect){INSN_LOAD, 8, false, r, 2}); /* C.LDSP */
            check_insn(enc_css(7, r, off, true),
                       (struct expect){INSN_STORE, 8, false, r, 2}); /* C.SDSP */
        }
    }
    /* rd = x0 is a reserved code point for C.LWSP and C.LDSP (but not for the
     * stores: C.SWSP x0 is a valid store of zero). */
    for (uint32_t off = 0; off <= 252; off += 4)
        check_rejected(enc_ci_sp(2, 0, off, false));
    for (uint32_t off = 0; off <= 504; off += 8)
        check_rejected(enc_ci_sp(3, 0, off, true));
}

static void test_compressed_zcb(void **state)
{
    (void)state;
    for (uint32_t r = 8; r <= 15; r++)
        for (uint32_t base = 8; base <= 15; base++) {
            for (uint32_t off = 0; off <= 3; off++) {
                check_insn(enc_zcb(0, r, base, off, 0),
                           (struct expect){INSN_LOAD, 1, false, r, 2}); /* C.LBU */
                check_insn(enc_zcb(2, r, base, off, 0),
                           (struct expect){INSN_STORE, 1, false, r, 2}); /* C.SB */
            }
            for (uint32_t off = 0; off <= 2; off += 2) {
                check_insn(enc_zcb(1, r, base, off, 0),
                           (struct expect){INSN_LOAD, 2, false, r, 2}); /* C.LHU */
                check_insn(enc_zcb(1, r, base, off, 1),
                           (struct expect){INSN_LOAD, 2, true, r, 2}); /* C.LH */
                check_insn(enc_zcb(3, r, base, off, 0),
                           (struct expect){INSN_STORE, 2, false, r, 2}); /* C.SH */
                /* C.SH's bit 6 must be 0; and funct6 100100..100111 are not
                 * loads or stores. */
                check_rejected(enc_zcb(3, r, base, off, 1));
                for (uint32_t sub = 4; sub <= 7; sub++)
                    check_rejected(enc_zcb(sub, r, base, off, 0) | bit_at(off, 0, 6));
            }
        }
}

/* A caller may hand over a whole 32-bit read: what follows a compressed
 * instruction must not change its decoding. */
static void test_compressed_ignores_upper_half(void **state)
{
    static const uint32_t uppers[] = {0x0000, 0xffff, 0x1234, 0x0003, 0x8000};

    (void)state;
    for (size_t u = 0; u < COUNT(uppers); u++) {
        uint32_t hi = uppers[u] << 16;

        check_insn(hi | 0x5fe8, (struct expect){INSN_LOAD, 4, true, 10, 2});   /* c.lw */
        check_insn(hi | 0xffee, (struct expect){INSN_STORE, 8, false, 27, 2}); /* c.sdsp */
        check_insn(hi | 0x877c, (struct expect){INSN_LOAD, 2, true, 15, 2});   /* c.lh */
        check_rejected(hi | 0x0000);                                           /* illegal */
        check_rejected(hi | 0x2508);                                           /* c.fld */
    }
}

static void test_rejects_fp(void **state)
{
    static const uint32_t fp[] = {
        0x00452007, /* flw ft0,4(a0) */
        0xff85b087, /* fld ft1,-8(a1) */
        0x00262627, /* fsw ft2,12(a2) */
        0xfe36b827, /* fsd ft3,-16(a3) */
        0x00251007, /* flh ft0,2(a0) */
        0x00051127, /* fsh ft0,2(a0) */
        0x01054007, /* flq ft0,16(a0) */
        0x00054827, /* fsq ft0,16(a0) */
    };

    (void)state;
    for (size_t i = 0; i < COUNT(fp); i++)
        check_rejected(fp[i]);
    for (uint32_t r = 8; r <= 15; r++)
        for (uint32_t off = 0; off <= 248; off += 8) {
            check_rejected(enc_cls(1, r, 15 - (r - 8), off, true)); /* C.FLD */
            check_rejected(enc_cls(5, r, 8 + (r - 8), off, true));  /* C.FSD */
        }
    for (uint32_t r = 0; r < 32; r++)
        for (uint32_t off = 0; off <= 504; off += 8) {
            check_rejected(enc_ci_sp(1, r, off, true)); /* C.FLDSP */
            check_rejected(enc_css(5, r, off, true));   /* C.FSDSP */
        }
    /* Every funct3 of LOAD-FP/STORE-FP, with any fields. */
    for (uint32_t f3 = 0; f3 < 8; f3++) {
        check_rejected(enc_i(OP_LOAD_FP, f3, 10, 11, 16));
        check_rejected(enc_s(OP_STORE_FP, f3, 10, 11, 16));
    }
}

static void test_rejects_atomics(void **state)
{
    static const uint32_t amo[] = {
        0x00b6252f, /* amoadd.w a0,a1,(a2) */
        0x0e63b2af, /* amoswap.d.aqrl t0,t1,(t2) */
        0x1005a52f, /* lr.w a0,(a1) */
        0x1405b52f, /* lr.d.aq a0,(a1) */
        0x18b6252f, /* sc.w a0,a1,(a2) */
        0x1ab6352f, /* sc.d.rl a0,a1,(a2) */
    };

    (void)state;
    for (size_t i = 0; i < COUNT(amo); i++)
        check_rejected(amo[i]);
    /* All funct5/funct3 combinations of the AMO opcode (Zaamo, Zalrsc, Zabha,
     * Zacas, Zalasr all live here). */
    for (uint32_t f5 = 0; f5 < 32; f5++)
        for (uint32_t f3 = 0; f3 < 8; f3++)
            check_rejected(f5 << 27 | 11u << 20 | 12u << 15 | f3 << 12 | 10u << 7 | OP_AMO);
}

static void test_rejects_vector(void **state)
{
    static const uint32_t vec[] = {
        0x02050087, /* vle8.v v1,(a0) */
        0x0205e127, /* vse32.v v2,(a1) */
        0x0ad67187, /* vlse64.v v3,(a2),a3 */
        0x06575207, /* vluxei16.v v4,(a4),v5 */
        0x02878307, /* vl1re8.v v6,(a5) */
        0x028803a7, /* vs1r.v v7,(a6) */
    };

    (void)state;
    for (size_t i = 0; i < COUNT(vec); i++)
        check_rejected(vec[i]);
}

static void test_rejects_other(void **state)
{
    static const uint32_t other[] = {
        0x00000000,             /* all zero (illegal, 16-bit) */
        0xffffffff,             /* all ones */
        0x0000ffff,             /* all ones, 16-bit view */
        0x00c58533,             /* add a0,a1,a2 */
        0x00358513,             /* addi a0,a1,3 */
        0x000000ef,             /* jal ra,. */
        0x00000073,             /* ecall */
        0x0ff0000f,             /* fence */
        0x0015200f,             /* cbo.clean (a0) */
        0x6805c573,             /* hlv.w a0,(a1) */
        0x6ec6c073,             /* hsv.d a2,(a3) */
        0x6437c773,             /* hlvx.hu a4,(a5) */
        0x0808,                 /* c.addi4spn a0,sp,16 */
        0x0001,                 /* c.nop */
        0x8082,                 /* c.jr ra (ret) */
        0x9002,                 /* c.ebreak */
        0x4501,                 /* c.li a0,0 */
        0x852e,                 /* c.mv a0,a1 */
        0x00007003 | 10u << 7,  /* LOAD funct3 111 (LDU, RV128 only) */
        0x00004023 | 10u << 20, /* STORE funct3 100 (SQ, RV128 only) */
        0x00005023,             /* STORE funct3 101 */
        0x00006023,             /* STORE funct3 110 */
        0x00007023,             /* STORE funct3 111 */
        0x0000001f,             /* 48-bit instruction prefix */
        0x0000003f,             /* 64-bit instruction prefix */
    };

    (void)state;
    for (size_t i = 0; i < COUNT(other); i++)
        check_rejected(other[i]);
    /* Quadrant 1 holds no loads or stores at all. */
    for (uint32_t c = 1; c < 0x10000; c += 4)
        check_rejected(c);
}

/* The transformed form the hardware writes (privileged spec, hypervisor
 * chapter): a load keeps opcode, rd and funct3; a store keeps opcode, rs2 and
 * funct3; bits 19:15 hold Addr. Offset (0 here) and the immediates are zero.
 * A compressed original is first expanded, then bit 1 is cleared. */
static uint64_t tinst_load(uint32_t funct3, uint32_t rd, bool compressed)
{
    uint32_t v = enc_i(OP_LOAD, funct3, rd, 0, 0);

    return compressed ? v & ~2u : v;
}

static uint64_t tinst_store(uint32_t funct3, uint32_t rs2, bool compressed)
{
    uint32_t v = enc_s(OP_STORE, funct3, rs2, 0, 0);

    return compressed ? v & ~2u : v;
}

static void check_htinst(uint64_t htinst, struct expect want)
{
    struct mmio_insn got;

    if (insn_decode_htinst(htinst, &got) != 0)
        fail_msg("insn_decode_htinst(0x%llx) did not decode", (unsigned long long)htinst);
    check_decoded(&got, want);
}

static void check_htinst_result(uint64_t htinst, int want)
{
    struct mmio_insn got = {INSN_STORE, 77, true, 77, 77};

    if (insn_decode_htinst(htinst, &got) != want)
        fail_msg("insn_decode_htinst(0x%llx) did not return %d", (unsigned long long)htinst, want);
    assert_int_equal(got.width, 77);
    assert_int_equal(got.reg, 77);
}

static void test_htinst_transformed(void **state)
{
    static const struct {
        uint32_t funct3;
        unsigned width;
        bool sign_extend;
    } loads[] = {
        {F3_B, 1, true},   {F3_H, 2, true},   {F3_W, 4, true},   {F3_D, 8, false},
        {F3_BU, 1, false}, {F3_HU, 2, false}, {F3_WU, 4, false},
    };

    (void)state;
    for (uint32_t r = 0; r < 32; r++) {
        for (size_t l = 0; l < COUNT(loads); l++) {
            struct expect want = {INSN_LOAD, loads[l].width, loads[l].sign_extend, r, 4};

            check_htinst(tinst_load(loads[l].funct3, r, false), want);
            want.length = 2;
            check_htinst(tinst_load(loads[l].funct3, r, true), want);
        }
        for (uint32_t f3 = F3_B; f3 <= F3_D; f3++) {
            struct expect want = {INSN_STORE, 1u << f3, false, r, 4};

            check_htinst(tinst_store(f3, r, false), want);
            want.length = 2;
            check_htinst(tinst_store(f3, r, true), want);
        }
    }
    /* The spec reserves the immediate fields for future hints and says they
     * need not be checked: nonzero ones change nothing. */
    check_htinst(tinst_load(F3_W, 10, false) | 0xfff00000u,
                 (struct expect){INSN_LOAD, 4, true, 10, 4});
    check_htinst(tinst_store(F3_D, 11, true) | 0xfe000f80u,
                 (struct expect){INSN_STORE, 8, false, 11, 2});
}

/* Every compressed load/store, expanded and transformed by hand. */
static void test_htinst_compressed_originals(void **state)
{
    (void)state;
    for (uint32_t r = 8; r <= 15; r++) {
        /* C.LW, C.LD, C.SW, C.SD */
        check_htinst(tinst_load(F3_W, r, true), (struct expect){INSN_LOAD, 4, true, r, 2});
        check_htinst(tinst_load(F3_D, r, true), (struct expect){INSN_LOAD, 8, false, r, 2});
        check_htinst(tinst_store(F3_W, r, true), (struct expect){INSN_STORE, 4, false, r, 2});
        check_htinst(tinst_store(F3_D, r, true), (struct expect){INSN_STORE, 8, false, r, 2});
        /* C.LBU, C.LHU, C.LH, C.SB, C.SH */
        check_htinst(tinst_load(F3_BU, r, true), (struct expect){INSN_LOAD, 1, false, r, 2});
        check_htinst(tinst_load(F3_HU, r, true), (struct expect){INSN_LOAD, 2, false, r, 2});
        check_htinst(tinst_load(F3_H, r, true), (struct expect){INSN_LOAD, 2, true, r, 2});
        check_htinst(tinst_store(F3_B, r, true), (struct expect){INSN_STORE, 1, false, r, 2});
        check_htinst(tinst_store(F3_H, r, true), (struct expect){INSN_STORE, 2, false, r, 2});
    }
    for (uint32_t r = 1; r < 32; r++) {
        /* C.LWSP, C.LDSP, C.SWSP, C.SDSP */
        check_htinst(tinst_load(F3_W, r, true), (struct expect){INSN_LOAD, 4, true, r, 2});
        check_htinst(tinst_load(F3_D, r, true), (struct expect){INSN_LOAD, 8, false, r, 2});
        check_htinst(tinst_store(F3_W, r, true), (struct expect){INSN_STORE, 4, false, r, 2});
        check_htinst(tinst_store(F3_D, r, true), (struct expect){INSN_STORE, 8, false, r, 2});
    }
    /* Bit-exact examples: c.lw a0,124(a5) -> lw a0,0(x0) -> 0x00002503 -> 0x00002501. */
    check_htinst(0x00002501, (struct expect){INSN_LOAD, 4, true, 10, 2});
    /* c.sdsp s11,504(sp) -> sd s11,0(x0) -> 0x01b03023 -> 0x01b03021. */
    check_htinst(0x01b03021, (struct expect){INSN_STORE, 8, false, 27, 2});
}

static void test_htinst_pseudoinstructions(void **state)
{
    (void)state;
    /* Implicit VS-stage page-table reads and A/D writes, RV32 and RV64. */
    check_htinst_result(0x00002000, ERR_NOTSUP);
    check_htinst_result(0x00003000, ERR_NOTSUP);
    check_htinst_result(0x00002020, ERR_NOTSUP);
    check_htinst_result(0x00003020, ERR_NOTSUP);
}

static void test_htinst_no_information(void **state)
{
    (void)state;
    check_htinst_result(0, INSN_HTINST_NO_INFO);
    /* Bits 63:32 nonzero: a value a future standard may define. */
    check_htinst_result(1ULL << 32 | tinst_load(F3_W, 10, false), INSN_HTINST_NO_INFO);
    check_htinst_result(1ULL << 63 | tinst_store(F3_D, 10, false), INSN_HTINST_NO_INFO);
    check_htinst_result(~0ULL, INSN_HTINST_NO_INFO);
    /* Bits 1:0 = 10 and non-pseudoinstruction 00 values are excluded. */
    check_htinst_result(0x00002002, INSN_HTINST_NO_INFO);
    check_htinst_result(0x00002022, INSN_HTINST_NO_INFO);
    check_htinst_result(0x00001000, INSN_HTINST_NO_INFO);
    check_htinst_result(0x00003024, INSN_HTINST_NO_INFO);
    /* Custom values (custom-0..3 opcodes), and standard non-memory
     * instructions, which are never transformations. */
    check_htinst_result(0x0000000b, INSN_HTINST_NO_INFO);
    check_htinst_result(0x0000002b, INSN_HTINST_NO_INFO);
    check_htinst_result(0x0000005b, INSN_HTINST_NO_INFO);
    check_htinst_result(0x0000007b, INSN_HTINST_NO_INFO);
    check_htinst_result(0x00000009, INSN_HTINST_NO_INFO); /* custom-0, compressed original */
    check_htinst_result(0x00c58533, INSN_HTINST_NO_INFO); /* add */
    check_htinst_result(0x00000013, INSN_HTINST_NO_INFO); /* nop */
    /* LOAD/STORE opcodes with reserved funct3: not valid standard encodings. */
    check_htinst_result(0x00007003 | 10u << 7, INSN_HTINST_NO_INFO);
    check_htinst_result(0x00004023, INSN_HTINST_NO_INFO);
    check_htinst_result(0x00007021, INSN_HTINST_NO_INFO);
}

static void test_htinst_rejects(void **state)
{
    (void)state;
    /* Transformed FP loads/stores (Addr. Offset and immediates zero). */
    check_htinst_result(enc_i(OP_LOAD_FP, F3_W, 0, 0, 0), ERR_NOTSUP);        /* flw ft0 */
    check_htinst_result(enc_i(OP_LOAD_FP, F3_D, 8, 0, 0) & ~2u, ERR_NOTSUP);  /* c.fld */
    check_htinst_result(enc_s(OP_STORE_FP, F3_D, 9, 0, 0), ERR_NOTSUP);       /* fsd */
    check_htinst_result(enc_s(OP_STORE_FP, F3_D, 9, 0, 0) & ~2u, ERR_NOTSUP); /* c.fsdsp */
    /* Transformed atomics: amoadd.w a0,a1,(a2) and lr.d a0,(a1) with rs1 = 0. */
    check_htinst_result(0x00b6252f & ~(31u << 15), ERR_NOTSUP);
    check_htinst_result(0x1005b52f & ~(31u << 15), ERR_NOTSUP);
    /* Transformed HLV.W / HSV.D. */
    check_htinst_result(0x6805c573 & ~(31u << 15), ERR_NOTSUP);
    check_htinst_result(0x6ec6c073 & ~(31u << 15), ERR_NOTSUP);
    /* A nonzero Addr. Offset: a misaligned access that began below the
     * faulting address. */
    for (uint32_t off = 1; off < 32; off++) {
        check_htinst_result(tinst_load(F3_D, 10, false) | off << 15, ERR_NOTSUP);
        check_htinst_result(tinst_store(F3_W, 10, true) | off << 15, ERR_NOTSUP);
    }
}

static void test_load_result(void **state)
{
    struct mmio_insn lb = {INSN_LOAD, 1, true, 10, 4};
    struct mmio_insn lbu = {INSN_LOAD, 1, false, 10, 4};
    struct mmio_insn lh = {INSN_LOAD, 2, true, 10, 4};
    struct mmio_insn lhu = {INSN_LOAD, 2, false, 10, 4};
    struct mmio_insn lw = {INSN_LOAD, 4, true, 10, 4};
    struct mmio_insn lwu = {INSN_LOAD, 4, false, 10, 4};
    struct mmio_insn ld = {INSN_LOAD, 8, false, 10, 4};

    (void)state;
    assert_int_equal(insn_load_result(&lb, 0x80), 0xffffffffffffff80ULL);
    assert_int_equal(insn_load_result(&lb, 0x7f), 0x7f);
    assert_int_equal(insn_load_result(&lb, 0xff), ~0ULL);
    assert_int_equal(insn_load_result(&lb, 0x1234), 0x34); /* only the low byte counts */
    assert_int_equal(insn_load_result(&lbu, 0x80), 0x80);
    assert_int_equal(insn_load_result(&lbu, 0xffffffffffffff80ULL), 0x80);
    assert_int_equal(insn_load_result(&lh, 0x8000), 0xffffffffffff8000ULL);
    assert_int_equal(insn_load_result(&lh, 0x7fff), 0x7fff);
    assert_int_equal(insn_load_result(&lh, 0x18001), 0xffffffffffff8001ULL);
    assert_int_equal(insn_load_result(&lhu, 0x8000), 0x8000);
    assert_int_equal(insn_load_result(&lhu, 0xffff8000), 0x8000);
    assert_int_equal(insn_load_result(&lw, 0x80000000), 0xffffffff80000000ULL);
    assert_int_equal(insn_load_result(&lw, 0x7fffffff), 0x7fffffff);
    assert_int_equal(insn_load_result(&lw, 0xdead00000001ULL), 1);
    assert_int_equal(insn_load_result(&lwu, 0x80000000), 0x80000000);
    assert_int_equal(insn_load_result(&lwu, 0xffffffffffffffffULL), 0xffffffff);
    assert_int_equal(insn_load_result(&ld, 0x8000000000000000ULL), 0x8000000000000000ULL);
    assert_int_equal(insn_load_result(&ld, 0x0123456789abcdefULL), 0x0123456789abcdefULL);
    /* Sign extension of a doubleword is the identity. */
    ld.sign_extend = true;
    assert_int_equal(insn_load_result(&ld, 0x8000000000000001ULL), 0x8000000000000001ULL);
}

static void test_store_value(void **state)
{
    struct mmio_insn sb = {INSN_STORE, 1, false, 10, 4};
    struct mmio_insn sh = {INSN_STORE, 2, false, 10, 4};
    struct mmio_insn sw = {INSN_STORE, 4, false, 10, 4};
    struct mmio_insn sd = {INSN_STORE, 8, false, 10, 4};

    (void)state;
    assert_int_equal(insn_store_value(&sb, 0xffffffffffffff80ULL), 0x80);
    assert_int_equal(insn_store_value(&sh, 0x0123456789abcdefULL), 0xcdef);
    assert_int_equal(insn_store_value(&sw, 0x0123456789abcdefULL), 0x89abcdef);
    assert_int_equal(insn_store_value(&sd, 0x0123456789abcdefULL), 0x0123456789abcdefULL);
    assert_int_equal(insn_store_value(&sw, 0xffffffff00000000ULL), 0);
}

/* The reference for the sweeps: match/mask pairs read off the spec's tables.
 * reg_field says where the register is: 11:7 (rd), 24:20 (rs2), 4:2 plus 8
 * (rd'/rs2'), 6:2 (CSS rs2); nonzero_rd marks C.LWSP/C.LDSP. */
enum ref_reg { REG_RD, REG_RS2, REG_C3, REG_C_RS2 };

struct ref_pattern {
    uint32_t mask, match;
    enum insn_kind kind;
    unsigned width;
    bool sign_extend;
    enum ref_reg reg_field;
    bool nonzero_rd;
};

static const struct ref_pattern ref32[] = {
    {0x707f, 0x0003, INSN_LOAD, 1, true, REG_RD, false},    /* LB */
    {0x707f, 0x1003, INSN_LOAD, 2, true, REG_RD, false},    /* LH */
    {0x707f, 0x2003, INSN_LOAD, 4, true, REG_RD, false},    /* LW */
    {0x707f, 0x3003, INSN_LOAD, 8, false, REG_RD, false},   /* LD */
    {0x707f, 0x4003, INSN_LOAD, 1, false, REG_RD, false},   /* LBU */
    {0x707f, 0x5003, INSN_LOAD, 2, false, REG_RD, false},   /* LHU */
    {0x707f, 0x6003, INSN_LOAD, 4, false, REG_RD, false},   /* LWU */
    {0x707f, 0x0023, INSN_STORE, 1, false, REG_RS2, false}, /* SB */
    {0x707f, 0x1023, INSN_STORE, 2, false, REG_RS2, false}, /* SH */
    {0x707f, 0x2023, INSN_STORE, 4, false, REG_RS2, false}, /* SW */
    {0x707f, 0x3023, INSN_STORE, 8, false, REG_RS2, false}, /* SD */
};

static const struct ref_pattern ref16[] = {
    {0xe003, 0x4000, INSN_LOAD, 4, true, REG_C3, false},      /* C.LW */
    {0xe003, 0x6000, INSN_LOAD, 8, false, REG_C3, false},     /* C.LD */
    {0xe003, 0xc000, INSN_STORE, 4, false, REG_C3, false},    /* C.SW */
    {0xe003, 0xe000, INSN_STORE, 8, false, REG_C3, false},    /* C.SD */
    {0xe003, 0x4002, INSN_LOAD, 4, true, REG_RD, true},       /* C.LWSP */
    {0xe003, 0x6002, INSN_LOAD, 8, false, REG_RD, true},      /* C.LDSP */
    {0xe003, 0xc002, INSN_STORE, 4, false, REG_C_RS2, false}, /* C.SWSP */
    {0xe003, 0xe002, INSN_STORE, 8, false, REG_C_RS2, false}, /* C.SDSP */
    {0xfc03, 0x8000, INSN_LOAD, 1, false, REG_C3, false},     /* C.LBU */
    {0xfc43, 0x8400, INSN_LOAD, 2, false, REG_C3, false},     /* C.LHU */
    {0xfc43, 0x8440, INSN_LOAD, 2, true, REG_C3, false},      /* C.LH */
    {0xfc03, 0x8800, INSN_STORE, 1, false, REG_C3, false},    /* C.SB */
    {0xfc43, 0x8c00, INSN_STORE, 2, false, REG_C3, false},    /* C.SH */
};

static unsigned ref_reg(uint32_t insn, enum ref_reg field)
{
    switch (field) {
    case REG_RD:
        return (insn >> 7) & 31;
    case REG_RS2:
        return (insn >> 20) & 31;
    case REG_C3:
        return 8 + ((insn >> 2) & 7);
    case REG_C_RS2:
    default:
        return (insn >> 2) & 31;
    }
}

/* Fills *want and returns true when the reference accepts insn. */
static bool ref_decode(uint32_t insn, struct expect *want)
{
    bool is32 = (insn & 3) == 3;
    const struct ref_pattern *table = is32 ? ref32 : ref16;
    size_t count = is32 ? COUNT(ref32) : COUNT(ref16);
    uint32_t bits = is32 ? insn : insn & 0xffff;
    const struct ref_pattern *hit = NULL;

    for (size_t i = 0; i < count; i++)
        if ((bits & table[i].mask) == table[i].match) {
            if (hit)
                fail_msg("reference table overlaps at 0x%08x", (unsigned)insn);
            hit = &table[i];
        }
    if (!hit || (hit->nonzero_rd && ref_reg(bits, REG_RD) == 0))
        return false;
    *want = (struct expect){hit->kind, hit->width, hit->sign_extend, ref_reg(bits, hit->reg_field),
                            is32 ? 4 : 2};
    return true;
}

static void check_against_reference(uint32_t insn)
{
    struct mmio_insn got;
    struct expect want;
    bool accepted = insn_decode(insn, &got) == 0;

    if (accepted != ref_decode(insn, &want))
        fail_msg("0x%08x: decoder %s, reference %s", (unsigned)insn,
                 accepted ? "accepts" : "rejects", accepted ? "rejects" : "accepts");
    if (accepted)
        check_decoded(&got, want);
}

/* A fixed-seed xorshift64 generator: the sweep is the same on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void test_sweep_all_16bit(void **state)
{
    unsigned accepted = 0;

    (void)state;
    for (uint32_t c = 0; c < 0x10000; c++) {
        struct expect want;

        check_against_reference(c);
        /* Compressed ones again with a random upper half. */
        if ((c & 3) != 3)
            check_against_reference(c | (uint32_t)rng_next() << 16);
        if ((c & 3) != 3 && ref_decode(c, &want))
            accepted++;
    }
    /* 8 x 2^11 for the Zca forms minus C.LWSP/C.LDSP with rd = 0 (2 x 2^6),
     * plus Zcb: C.LBU/C.SB 2^8 each, C.LHU/C.LH/C.SH 2^7 each. */
    assert_int_equal(accepted, 8 * 2048 - 2 * 64 + 2 * 256 + 3 * 128);
}

static const uint32_t sweep_opcodes[] = {OP_LOAD, OP_STORE,  OP_LOAD_FP, OP_STORE_FP,
                                         OP_AMO,  OP_SYSTEM, 0x13,       0x33};

static void test_sweep_random_32bit(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 4000000; i++) {
        uint32_t insn = (uint32_t)rng_next();

        /* Half of them with an interesting opcode, so loads and stores with
         * every funct3 and field value turn up often. */
        if (i & 1)
            insn = (insn & ~0x7fu) | sweep_opcodes[(insn >> 7) % COUNT(sweep_opcodes)];
        check_against_reference(insn);
    }
}

/* The reference for htinst, straight from the list of allowed values. */
static int ref_htinst(uint64_t v, struct expect *want)
{
    uint32_t insn = (uint32_t)v | 2;
    uint32_t opcode = insn & 0x7f;

    if (v == 0x2000 || v == 0x3000 || v == 0x2020 || v == 0x3020)
        return ERR_NOTSUP;
    if (v >> 32 || !(v & 1))
        return INSN_HTINST_NO_INFO;
    if (opcode == OP_LOAD || opcode == OP_STORE) {
        if (!ref_decode(insn, want))
            return INSN_HTINST_NO_INFO;
        if ((insn >> 15) & 31)
            return ERR_NOTSUP;
        want->length = (v & 2) ? 4 : 2;
        return 0;
    }
    if (opcode == OP_LOAD_FP || opcode == OP_STORE_FP || opcode == OP_AMO || opcode == OP_SYSTEM)
        return ERR_NOTSUP;
    return INSN_HTINST_NO_INFO;
}

static void check_htinst_against_reference(uint64_t v)
{
    struct mmio_insn got;
    struct expect want;
    int expected = ref_htinst(v, &want);
    int result = insn_decode_htinst(v, &got);

    if (result != expected)
        fail_msg("htinst 0x%llx: decoder %d, reference %d", (unsigned long long)v, result,
                 expected);
    if (result == 0)
        check_decoded(&got, want);
}

static void test_sweep_htinst(void **state)
{
    (void)state;
    /* Every compressed load/store the reference knows, transformed by hand:
     * expand (same kind, width, signedness, register), clear bit 1. */
    for (uint32_t c = 0; c < 0x10000; c++) {
        struct expect want;
        struct mmio_insn got;
        uint32_t funct3, log2w;
        uint64_t tinst;

        if ((c & 3) == 3 || !ref_decode(c, &want))
            continue;
        log2w = want.width == 8 ? 3 : want.width == 4 ? 2 : want.width == 2 ? 1 : 0;
        funct3 = log2w | ((want.kind == INSN_LOAD && !want.sign_extend && want.width < 8) ? 4 : 0);
        tinst = want.kind == INSN_LOAD ? tinst_load(funct3, want.reg, true)
                                       : tinst_store(funct3, want.reg, true);
        assert_int_equal(insn_decode_htinst(tinst, &got), 0);
        check_decoded(&got, want);
    }
    for (unsigned i = 0; i < 2000000; i++) {
        uint64_t v = rng_next();

        switch (i % 4) {
        case 0: /* anything */
            break;
        case 1: /* a 32-bit value */
            v &= 0xffffffff;
            break;
        case 2: /* a load/store-like value, Addr. Offset usually 0 */
            v = (v & 0xffffffff & ~0x7fULL) | sweep_opcodes[(v >> 40) % COUNT(sweep_opcodes)];
            if ((v >> 32) & 1)
                v &= ~2ULL;
            if ((v >> 33) & 7)
                v &= ~(31ULL << 15);
            v &= 0xffffffff;
            break;
        default: /* small values, around the pseudoinstructions */
            v &= 0x3fff;
            break;
        }
        check_htinst_against_reference(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoders_match_assembler),
        cmocka_unit_test(test_rv64_loads),
        cmocka_unit_test(test_rv64_stores),
        cmocka_unit_test(test_compressed_register_based),
        cmocka_unit_test(test_compressed_sp_based),
        cmocka_unit_test(test_compressed_zcb),
        cmocka_unit_test(test_compressed_ignores_upper_half),
        cmocka_unit_test(test_rejects_fp),
        cmocka_unit_test(test_rejects_atomics),
        cmocka_unit_test(test_rejects_vector),
        cmocka_unit_test(test_rejects_other),
        cmocka_unit_test(test_htinst_transformed),
        cmocka_unit_test(test_htinst_compressed_originals),
        cmocka_unit_test(test_htinst_pseudoinstructions),
        cmocka_unit_test(test_htinst_no_information),
        cmocka_unit_test(test_htinst_rejects),
        cmocka_unit_test(test_load_result),
        cmocka_unit_test(test_store_value),
        cmocka_unit_test(test_sweep_all_16bit),
        cmocka_unit_test(test_sweep_random_32bit),
        cmocka_unit_test(test_sweep_htinst),
    };
    return cmocka_run_group_tests_name("insn", tests, NULL, NULL);
}
