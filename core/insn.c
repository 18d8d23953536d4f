/* SPDX-License-Identifier: Apache-2.0 */
/* Load/store decoding for MMIO emulation; see insn.h. Field positions and
 * opcode values are from the RISC-V unprivileged specification (base formats,
 * Zca and Zcb) and the privileged specification's hypervisor chapter. */
#include "core/insn.h"

/* Major opcodes, bits 6:0 of a 32-bit instruction. */
#define OPCODE_LOAD_FP  0x07
#define OPCODE_STORE_FP 0x27
#define OPCODE_AMO      0x2f
#define OPCODE_SYSTEM   0x73

/* The compressed quadrants, bits 1:0 of a 16-bit instruction. */
#define QUADRANT_0 0
#define QUADRANT_2 2

/* The pseudoinstructions htinst holds when a guest-page fault came from an
 * implicit access for VS-stage address translation: 32- and 64-bit reads and
 * writes (the writes update A/D bits). */
#define HTINST_PSEUDO_READ32  0x00002000u
#define HTINST_PSEUDO_READ64  0x00003000u
#define HTINST_PSEUDO_WRITE32 0x00002020u
#define HTINST_PSEUDO_WRITE64 0x00003020u

static unsigned insn_bits(uint32_t insn, unsigned lo, unsigned count)
{
    return (insn >> lo) & ((1u << count) - 1);
}

static int insn_accept(struct mmio_insn *out, enum insn_kind kind, unsigned width, bool sign_extend,
                       unsigned reg, unsigned length)
{
    out->kind = kind;
    out->width = width;
    out->sign_extend = sign_extend;
    out->reg = reg;
    out->length = length;
    return 0;
}

/* Zcb's byte and halfword accesses share quadrant 0's funct3 100; bits 12:10
 * tell them apart, and bit 6 tells C.LH from C.LHU. */
static int insn_decode_zcb(uint32_t insn, unsigned reg, struct mmio_insn *out)
{
    bool bit6 = insn_bits(insn, 6, 1);

    switch (insn_bits(insn, 10, 3)) {
    case 0:
        return insn_accept(out, INSN_LOAD, 1, false, reg, 2); /* C.LBU */
    case 1:
        return insn_accept(out, INSN_LOAD, 2, bit6, reg, 2); /* C.LH : C.LHU */
    case 2:
        return insn_accept(out, INSN_STORE, 1, false, reg, 2); /* C.SB */
    case 3:
        if (bit6)
            return ERR_NOTSUP;                                 /* reserved */
        return insn_accept(out, INSN_STORE, 2, false, reg, 2); /* C.SH */
    default:
        return ERR_NOTSUP; /* reserved */
    }
}

static int insn_decode_16(uint32_t insn, struct mmio_insn *out)
{
    unsigned funct3 = insn_bits(insn, 13, 3);
    /* CL/CS formats name x8..x15 with 3 bits (rd' or rs2' in bits 4:2); the
     * stack-pointer forms name any register (rd in 11:7, rs2 in 6:2). */
    unsigned reg_short = 8 + insn_bits(insn, 2, 3);
    unsigned rd = insn_bits(insn, 7, 5);
    unsigned rs2 = insn_bits(insn, 2, 5);

    switch (insn_bits(insn, 0, 2)) {
    case QUADRANT_0:
        switch (funct3) {
        case 2:
            return insn_accept(out, INSN_LOAD, 4, true, reg_short, 2); /* C.LW */
        case 3:
            return insn_accept(out, INSN_LOAD, 8, false, reg_short, 2); /* C.LD */
        case 4:
            return insn_decode_zcb(insn, reg_short, out);
        case 6:
            return insn_accept(out, INSN_STORE, 4, false, reg_short, 2); /* C.SW */
        case 7:
            return insn_accept(out, INSN_STORE, 8, false, reg_short, 2); /* C.SD */
        default:
            return ERR_NOTSUP; /* C.ADDI4SPN, C.FLD, C.FSD */
        }
    case QUADRANT_2:
        switch (funct3) {
        case 2:
        case 3:
            /* C.LWSP and C.LDSP with rd = x0 are reserved code points. */
            if (rd == 0)
                return ERR_NOTSUP;
            return insn_accept(out, INSN_LOAD, funct3 == 2 ? 4 : 8, funct3 == 2, rd, 2);
        case 6:
            return insn_accept(out, INSN_STORE, 4, false, rs2, 2); /* C.SWSP */
        case 7:
            return insn_accept(out, INSN_STORE, 8, false, rs2, 2); /* C.SDSP */
        default:
            return ERR_NOTSUP; /* C.SLLI, C.FLDSP, C.JR/MV/ADD..., C.FSDSP */
        }
    default:
        return ERR_NOTSUP; /* quadrant 1 has no loads or stores */
    }
}

int insn_decode(uint32_t insn, struct mmio_insn *out)
{
    struct mmio_insn decoded;
    int err;

    /* Decode into a local so that a rejected instruction leaves *out alone. */
    if (insn_bits(insn, 0, 2) == 3)
        err = insn_decode_ldst32(insn, &decoded);
    else
        err = insn_decode_16(insn & 0xffff, &decoded);
    if (err)
        return err;
    *out = decoded;
    return 0;
}

int insn_decode_htinst_other(uint64_t htinst, struct mmio_insn *out)
{
    struct mmio_insn decoded;
    uint32_t insn;

    if (htinst == HTINST_PSEUDO_READ32 || htinst == HTINST_PSEUDO_READ64 ||
        htinst == HTINST_PSEUDO_WRITE32 || htinst == HTINST_PSEUDO_WRITE64)
        return ERR_NOTSUP;
    /* A transformed instruction has bit 0 set and, on RV64, bits 63:32 clear.
     * The spec lets software treat anything else it does not know (zero,
     * values a future extension may define) as "no information". */
    if ((htinst >> 32) != 0 || (htinst & 1) == 0)
        return INSN_HTINST_NO_INFO;

    /* Bit 1 is clear when the trapping instruction was compressed; setting it
     * gives the transformed 32-bit equivalent. */
    insn = (uint32_t)htinst | 2;
    switch (insn_bits(insn, 0, 7)) {
    case INSN_OPCODE_LOAD:
    case INSN_OPCODE_STORE:
        if (insn_decode_ldst32(insn, &decoded))
            return INSN_HTINST_NO_INFO; /* not a valid standard encoding */
        /* Bits 19:15 hold Addr. Offset, the distance from the access's start
         * to the faulting address; nonzero only for a misaligned access that
         * began below the faulting address. Emulating only its tail would be wrong.
         * The immediate fields are zero now but may carry hints in future, so
         * they are not checked (as the spec advises). */
        if (insn_bits(insn, 15, 5) != 0)
            return ERR_NOTSUP;
        decoded.length = (htinst & 2) ? 4 : 2;
        *out = decoded;
        return 0;
    case OPCODE_LOAD_FP:
    case OPCODE_STORE_FP:
    case OPCODE_AMO:
    case OPCODE_SYSTEM:
        return ERR_NOTSUP; /* a memory access Vireo does not emulate */
    default:
        return INSN_HTINST_NO_INFO; /* custom value or not a transformation */
    }
}
