/* SPDX-License-Identifier: Apache-2.0 */
/* DBCN (EID "DBCN"): the debug console.  Buffers named by the guest are
 * read through the checked guest-memory accessor and must lie in its RAM. */
#include "core/sbi/sbi.h"

#include "core/vm.h"

#define DBCN_CHUNK 256

static struct sbi_ret dbcn_call(struct vcpu *v, const struct sbi_args *c)
{
    struct vm *vm = v->vm;
    unsigned long n = c->a[0], lo = c->a[1], hi = c->a[2];

    switch (c->fid) {
    case SBI_DBCN_WRITE: {
        /* On RV64 the whole address is in base_addr_lo. */
        if (hi || !gpa_is_ram(vm, lo, n))
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        /* Partial writes are allowed: take a bounded piece per call so one
         * guest cannot hold the console for long. */
        char buf[DBCN_CHUNK];
        unsigned long done = n < DBCN_CHUNK ? n : DBCN_CHUNK;
        if (gpa_read(vm, lo, buf, done) < 0)
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        vconsole_output(&vm->con, buf, done);
        return (struct sbi_ret){SBI_SUCCESS, (long)done};
    }
    case SBI_DBCN_READ: {
        if (hi || !gpa_is_ram(vm, lo, n))
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        char in[DBCN_CHUNK];
        size_t got = vconsole_port_read(&vm->con, in, n < DBCN_CHUNK ? n : DBCN_CHUNK);
        if (got && gpa_write(vm, lo, in, got) < 0)
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        return (struct sbi_ret){SBI_SUCCESS, (long)got};
    }
    case SBI_DBCN_WRITE_BYTE: {
        char ch = (char)(c->a[0] & 0xff);
        vconsole_output(&vm->con, &ch, 1);
        return (struct sbi_ret){SBI_SUCCESS, 0};
    }
    default:
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}

const struct sbi_ext sbi_ext_dbcn = {
    .eid_min = SBI_EXT_DBCN,
    .eid_max = SBI_EXT_DBCN,
    .name = "dbcn",
    .handler = dbcn_call,
};
