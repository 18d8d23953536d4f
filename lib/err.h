/* SPDX-License-Identifier: Apache-2.0 */
/* The one error convention of core/, devices/, drivers/ and lib/.
 *
 * A function that can fail returns 0 (or a count, offset or index >= 0)
 * on success and one of these negative codes on failure.  Where a person
 * reads the failure (configuration, boot bundle, a VM that cannot start),
 * the function also takes `char *err, size_t errlen` and writes a reason
 * there that names what was wrong (a node and property, a device, a
 * size); the code says what kind of failure it was, the reason says where.
 * err_str() gives each code a short name for messages. */
#ifndef VIREO_LIB_ERR_H
#define VIREO_LIB_ERR_H

enum err {
    ERR_INVAL = -1,      /* an argument or a value has the wrong form */
    ERR_NOMEM = -2,      /* out of memory */
    ERR_NOSPC = -3,      /* no room (a buffer, a table, a bus) */
    ERR_EXIST = -4,      /* already there, or overlapping what is */
    ERR_NOENT = -5,      /* no such thing */
    ERR_RANGE = -6,      /* outside the bounds it must lie in (guest RAM, a device) */
    ERR_BADMAGIC = -7,   /* not the format it claims to be */
    ERR_VERSION = -8,    /* a format version this code does not read */
    ERR_TRUNCATED = -9,  /* ends before its contents do */
    ERR_STRUCTURE = -10, /* its layout is malformed */
    ERR_OFFSET = -11,    /* an offset that names nothing of the expected kind */
    ERR_DEPTH = -12,     /* nested deeper than allowed */
    ERR_AGAIN = -13,     /* nothing now (an empty queue); not a failure of the other side */
    ERR_BROKEN = -14,    /* the other side broke the protocol (a guest's virtio ring) */
    ERR_IO = -15,        /* a device reported an error */
    ERR_NOTSUP = -16,    /* not supported */
    ERR_CHECKSUM = -17,  /* its checksum does not match its contents */
    ERR_MISMATCH = -18,  /* made for a different host or VM than this one */
    ERR_STATE = -19,     /* not in a state that allows it (starting a running VM) */
    ERR_PERM = -20,      /* not allowed to whoever asked */
};

#define ERR_FIRST ERR_PERM /* the most negative code */

/* "out of memory", "truncated", ...; "success" for 0, "unknown error"
 * for anything else. */
const char *err_str(int err);

#endif
