/* SPDX-License-Identifier: Apache-2.0 */
#include "lib/err.h"

static const char *const err_names[] = {
    [-ERR_INVAL] = "invalid value",
    [-ERR_NOMEM] = "out of memory",
    [-ERR_NOSPC] = "no space",
    [-ERR_EXIST] = "already exists",
    [-ERR_NOENT] = "not found",
    [-ERR_RANGE] = "out of range",
    [-ERR_BADMAGIC] = "bad magic",
    [-ERR_VERSION] = "unsupported version",
    [-ERR_TRUNCATED] = "truncated",
    [-ERR_STRUCTURE] = "bad structure",
    [-ERR_OFFSET] = "bad offset",
    [-ERR_DEPTH] = "too deep",
    [-ERR_AGAIN] = "nothing available",
    [-ERR_BROKEN] = "protocol broken",
    [-ERR_IO] = "I/O error",
    [-ERR_NOTSUP] = "not supported",
    [-ERR_CHECKSUM] = "checksum mismatch",
    [-ERR_MISMATCH] = "made for another host or VM",
    [-ERR_STATE] = "wrong state",
    [-ERR_PERM] = "not permitted",
};

_Static_assert(sizeof(err_names) / sizeof(err_names[0]) == 1 - ERR_FIRST, "a name for every code");

const char *err_str(int err)
{
    if (err == 0)
        return "success";
    if (err < ERR_FIRST || err > 0)
        return "unknown error";
    return err_names[-err];
}
