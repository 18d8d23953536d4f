/* SPDX-License-Identifier: Apache-2.0 */
/* Decoding the guest load or store behind a guest-page fault, so that an MMIO
 * access can be emulated.
 *
 * Encodings are those of the RISC-V unprivileged specification: RV64I loads
 * and stores, the compressed loads and stores of Zca (C.LW, C.LD, C.SW, C.SD
 * and their stack-pointer forms) and of Zcb (C.LBU, C.LHU, C.LH, C.SB, C.SH,
 * which RVA23 guests use). The values found in htinst are those of the
 * privileged specification's hypervisor chapter ("Transformed Instruction or
 * Pseudoinstruction for mtinst or htinst").
 *
 * Only integer loads and stores are accepted. Floating-point and vector
 * accesses, atomics (LR/SC/AMO) and hypervisor loads/stores (HLV/HSV) are
 * rejected: a guest that points them at MMIO is stopped rather than emulated
 * half-right.
 *
 * The caller still checks that the kind matches the fault (INSN_LOAD for a
 * load guest-page fault, INSN_STORE for a store/AMO one), and discards the
 * result of a load whose reg is 0 (x0). */
#ifndef VIREO_CORE_INSN_H
#define VIREO_CORE_INSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum insn_kind { INSN_LOAD, INSN_STORE };

/* Small fields: the decode of an MMIO exit stays in registers. */
struct mmio_insn {
    uint8_t kind;     /* enum insn_kind */
    uint8_t width;    /* bytes accessed: 1, 2, 4 or 8 */
    bool sign_extend; /* loads: LB/LH/LW, C.LH, C.LW/C.LWSP; false for LD and stores */
    uint8_t reg;      /* rd for loads, rs2 for stores (0..31) */
    uint8_t length;   /* 2 or 4: bytes to add to sepc after emulation */
};

#define INSN_OPCODE_LOAD  0x03 /* major opcodes, bits 6:0 */
#define INSN_OPCODE_STORE 0x23

/* A 32-bit RV64I load or store (opcode LOAD or STORE): 0 and *out filled,
 * or ERR_NOTSUP for any other instruction and for the encodings only RV128
 * has.
 * Inline: the MMIO exit path decodes one per access. */
static inline int insn_decode_ldst32(uint32_t insn, struct mmio_insn *out)
{
    unsigned funct3 = (insn >> 12) & 7;

    switch (insn & 0x7f) {
    case INSN_OPCODE_LOAD:
        /* funct3 is log2(width), plus 4 for the unsigned forms. 111 would be
         * LDU, which only RV128 has. LD sign-extends nothing: it fills rd. */
        if (funct3 == 7)
            return ERR_NOTSUP;
        *out = (struct mmio_insn){INSN_LOAD, (uint8_t)(1u << (funct3 & 3)), funct3 < 3,
                                  (uint8_t)((insn >> 7) & 31), 4};
        return 0;
    case INSN_OPCODE_STORE:
        /* 1xx is reserved (SQ on RV128). */
        if (funct3 > 3)
            return ERR_NOTSUP;
        *out = (struct mmio_insn){INSN_STORE, (uint8_t)(1u << funct3), false,
                                  (uint8_t)((insn >> 20) & 31), 4};
        return 0;
    default:
        return ERR_NOTSUP;
    }
}

/* insn_decode_htinst() found no usable information: htinst was zero, or a
 * value the specification says software may treat as zero. The caller reads
 * the instruction itself (HLVX) and uses insn_decode(). */
#define INSN_HTINST_NO_INFO 1

/* Decodes an instruction as read from guest memory: a compressed instruction
 * (bits 1:0 not 11) is the low 16 bits, and bits 31:16 are then ignored, so the
 * caller may pass a whole 32-bit read. Returns 0 and fills *out, or ERR_NOTSUP (and
 * leaves *out alone) for anything that is not a supported integer load or
 * store, including reserved encodings. */
int insn_decode(uint32_t insn, struct mmio_insn *out);

/* What insn_decode_htinst() does not decide inline (same results). */
int insn_decode_htinst_other(uint64_t htinst, struct mmio_insn *out);

/* Decodes htinst as the hardware wrote it on a guest-page fault. Returns
 *  0                    a transformed integer load/store: *out is filled, with
 *                       length 2 when the trapping instruction was compressed;
 *  INSN_HTINST_NO_INFO  zero or an unrecognised value: fetch the instruction;
 *  ERR_NOTSUP           not emulable as MMIO: a pseudoinstruction (the fault
 *                       was on an implicit VS-stage page-table access, so the
 *                       guest's page tables are not in RAM), a transformed
 *                       FP/vector/atomic/hypervisor access, or an access that
 *                       started below the faulting address (nonzero Addr.
 *                       Offset: a misaligned access straddling into the page).
 * *out is written only when 0 is returned. */
/* The common case of insn_decode_htinst(), inline: a transformed load or
 * store (bit 0 set, bits 63:32 clear) with a zero Addr. Offset (bits
 * 19:15).  True and *out filled, or false (*out untouched): ask
 * insn_decode_htinst(). */
static inline bool insn_htinst_ldst(uint64_t htinst, struct mmio_insn *out)
{
    /* Bit 1 is clear when the trapping instruction was compressed; setting
     * it gives the 32-bit equivalent. */
    uint32_t insn = (uint32_t)htinst | 2;
    /* LOAD (0x03) and STORE (0x23) differ only in bit 5. */
    bool store = insn & 0x20;
    unsigned funct3 = (insn >> 12) & 7;

    if ((htinst >> 32) != 0 || !(htinst & 1) || (insn & (31u << 15)) || (insn & 0x5f) != 0x03)
        return false;
    /* The encodings RV64I has: loads with funct3 0-6 (7 would be LDU),
     * stores 0-3 (1xx is SQ, RV128): one bit each in 0x0f7f. */
    if (!((0x0f7fu >> (funct3 + (store ? 8 : 0))) & 1))
        return false;
    /* Same results as insn_decode_ldst32, built without its switch: the
     * exit path decodes one per MMIO access. */
    *out = (struct mmio_insn){
        store ? INSN_STORE : INSN_LOAD, (uint8_t)(1u << (funct3 & 3)), !store && funct3 < 3,
        (uint8_t)((store ? insn >> 20 : insn >> 7) & 31), (htinst & 2) ? 4 : 2};
    return true;
}

static inline int insn_decode_htinst(uint64_t htinst, struct mmio_insn *out)
{
    return insn_htinst_ldst(htinst, out) ? 0 : insn_decode_htinst_other(htinst, out);
}

static inline uint64_t insn_width_mask(unsigned width)
{
    return width >= 8 ? ~0ULL : (1ULL << (8 * width)) - 1;
}

/* The value a load writes to rd, given the device's `width` bytes in the low
 * bits of data (higher bits are ignored): sign- or zero-extended to 64 bits. */
static inline uint64_t insn_load_result(const struct mmio_insn *in, uint64_t data)
{
    /* The width's bytes to the top, and back with or without the sign:
     * a few instructions on the MMIO exit path (width 8: shift 0; a
     * width of 0 or over 8, which no decode gives, yields 0). */
    unsigned shift = 64 - 8u * in->width;

    if (shift >= 64)
        return 0;
    if (in->sign_extend)
        return (uint64_t)((int64_t)(data << shift) >> shift);
    return (data << shift) >> shift;
}

/* The bytes a store sends to the device: the low `width` bytes of rs2. */
static inline uint64_t insn_store_value(const struct mmio_insn *in, uint64_t reg_value)
{
    return reg_value & insn_width_mask(in->width);
}

#endif
