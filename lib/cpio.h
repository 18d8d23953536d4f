/* SPDX-License-Identifier: Apache-2.0 */
/* Reader (and a small writer) for cpio "newc" archives (the format of Linux
 * initramfs and of Vireo's boot bundle).
 *
 * Each entry is a 110-byte ASCII header: the magic "070701" (or "070702", the same
 * layout with a checksum field, which is not verified) and 13 fields of exactly 8
 * hex digits: ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
 * rdevmajor, rdevminor, namesize (the NUL included) and check. The name follows,
 * padded with NULs so that header + name ends on a 4-byte boundary; then the data,
 * padded likewise. The entry named "TRAILER!!!" ends the archive; bytes after it
 * are ignored.
 *
 * The archive is untrusted (a hostile boot bundle): every field is validated,
 * every length is checked against the bytes left before any arithmetic that could
 * overflow, and nothing is read at or past `len`. A malformed archive yields
 * ERR_STRUCTURE; an archive that ends before its trailer is malformed too.
 * Returned names and data point into the archive; nothing allocates. */
#ifndef VIREO_LIB_CPIO_H
#define VIREO_LIB_CPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define CPIO_HEADER_SIZE 110u
#define CPIO_TRAILER     "TRAILER!!!"

/* File type bits of the mode field (as in POSIX st_mode). */
#define CPIO_MODE_TYPE 0170000u
#define CPIO_MODE_REG  0100000u
#define CPIO_MODE_DIR  0040000u

/* Walks an archive entry by entry. After cpio_next() returns 1, `mode` is the
 * entry's mode field; after it fails, `off` is the offset of the offending entry
 * and `why` says what is wrong with it. */
struct cpio_iter {
    const uint8_t *base;
    size_t len;
    size_t off;      /* offset of the next entry's header */
    uint32_t mode;   /* of the entry last returned */
    int state;       /* 0 walking, 1 trailer seen, or the sticky negative error */
    const char *why; /* static text describing the error; "" otherwise */
};

void cpio_iter_init(struct cpio_iter *it, const void *archive, size_t len);

/* The next entry: 1 with *name (NUL-terminated, *namelen bytes before the NUL),
 * *data and *size filled in; 0 at the trailer (and on every later call);
 * ERR_STRUCTURE on a malformed entry (and on every later call). Any out-pointer
 * may be NULL. The trailer itself is never returned as an entry. */
int cpio_next(struct cpio_iter *it, const char **name, size_t *namelen, const void **data,
              size_t *size);

/* Whether a stored name denotes `name`: leading "./" and "/" components are
 * ignored on both sides, so "./vm0/kernel" matches "vm0/kernel". An empty name
 * (after stripping) matches nothing. */
bool cpio_name_matches(const char *stored, size_t storedlen, const char *name);

/* The first regular file (mode type CPIO_MODE_REG) whose name matches `name`, as
 * above. Directories, symlinks and device nodes never match. Hard links are not
 * resolved (newc stores the data with the last link only). 0 with *data and *size
 * set (either may be NULL), ERR_NOENT if the walk reaches the trailer without
 * a match, ERR_STRUCTURE if it meets a malformed entry first. */
int cpio_find(const void *archive, size_t len, const char *name, const void **data, size_t *size);

/* Writing (a VM's own bundle, core/vm_pack.c): the bytes one regular-file
 * entry takes, header, name and data padded; and the entry (mode 0644,
 * everything else 0) written at off of ar (cap bytes): the offset after
 * it, or 0 if it does not fit or size needs more than 32 bits.  The
 * archive ends with an entry named CPIO_TRAILER and no data. */
size_t cpio_entry_size(const char *name, size_t size);
size_t cpio_write_entry(uint8_t *ar, size_t cap, size_t off, const char *name, const void *data,
                        size_t size);

#endif
