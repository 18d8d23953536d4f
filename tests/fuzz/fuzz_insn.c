/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the MMIO instruction decoders (core/insn.h). The input
 * is a sequence of 8-byte little-endian words: each is decoded as htinst,
 * and its low 32 bits as an instruction read from guest memory. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/insn.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void check(const struct mmio_insn *m)
{
    if ((m->kind != INSN_LOAD && m->kind != INSN_STORE) ||
        (m->width != 1 && m->width != 2 && m->width != 4 && m->width != 8) || m->reg > 31 ||
        (m->length != 2 && m->length != 4) || (m->sign_extend && m->kind != INSN_LOAD))
        abort();
    sink += insn_load_result(m, 0xfedcba9876543210ull);
    sink += insn_store_value(m, 0x8000000080008080ull);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t off = 0; off < size; off += 8) {
        uint8_t b[8] = {0};
        memcpy(b, data + off, size - off < 8 ? size - off : 8);
        uint64_t w = 0;
        for (int i = 7; i >= 0; i--)
            w = w << 8 | b[i];

        struct mmio_insn m, before;
        memset(&m, 0xa5, sizeof(m));
        before = m;
        int rc = insn_decode((uint32_t)w, &m);
        if (rc == 0)
            check(&m);
        else if (rc != ERR_NOTSUP || memcmp(&m, &before, sizeof(m)) != 0)
            abort(); /* ERR_NOTSUP leaves *out alone */

        memset(&m, 0xa5, sizeof(m));
        rc = insn_decode_htinst(w, &m);
        if (rc == 0)
            check(&m);
        else if ((rc != ERR_NOTSUP && rc != INSN_HTINST_NO_INFO) ||
                 memcmp(&m, &before, sizeof(m)) != 0)
            abort(); /* *out is written only when 0 is returned */
    }
    return 0;
}
