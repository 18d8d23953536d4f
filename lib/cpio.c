/* SPDX-License-Identifier: Apache-2.0 */
/* cpio "newc" reader; see cpio.h for the format and the trust model.
 *
 * Bounds are always checked as "wanted <= len - off" with off <= len known, so no
 * sum of untrusted values is ever formed before it is known to fit. */
#include "lib/cpio.h"
#include "lib/hex.h"
#include "lib/err.h"
#include "lib/string.h"

#define FIELD_DIGITS 8u
#define MAGIC_LEN    6u
/* Field indexes after the magic. */
#define FIELD_MODE     1
#define FIELD_FILESIZE 6
#define FIELD_NAMESIZE 11
#define FIELD_COUNT    13

/* Exactly 8 hex digits: sscanf-style leniency (spaces, signs, "0x") would let two
 * readers of one archive disagree on its layout. */
static bool field_parse(const uint8_t *p, uint32_t *out)
{
    uint32_t v = 0;

    for (unsigned i = 0; i < FIELD_DIGITS; i++) {
        int d = hex_digit(p[i]);

        if (d < 0)
            return false;
        v = (v << 4) | (uint32_t)d;
    }
    *out = v;
    return true;
}

/* Padding that takes off to the next multiple of 4. Entries start at multiples of
 * 4 from the archive's start, so absolute offsets give the format's alignment. */
static size_t pad4(size_t off)
{
    return (4 - (off & 3)) & 3;
}

void cpio_iter_init(struct cpio_iter *it, const void *archive, size_t len)
{
    it->base = archive;
    it->len = archive ? len : 0;
    it->off = 0;
    it->mode = 0;
    it->state = 0;
    it->why = "";
}

static int iter_fail(struct cpio_iter *it, const char *why)
{
    it->state = ERR_STRUCTURE;
    it->why = why;
    return ERR_STRUCTURE;
}

int cpio_next(struct cpio_iter *it, const char **name, size_t *namelen, const void **data,
              size_t *size)
{
    uint32_t field[FIELD_COUNT];
    const uint8_t *hdr, *nm;
    size_t left, nsize, fsize, data_off, next;

    if (it->state < 0)
        return it->state;
    if (it->state > 0)
        return 0;
    /* off never exceeds len: every advance below is checked first. */
    left = it->len - it->off;
    if (left == 0)
        return iter_fail(it, "archive ends without a TRAILER!!! entry");
    if (left < CPIO_HEADER_SIZE)
        return iter_fail(it, "truncated entry header");
    hdr = it->base + it->off;
    if (memcmp(hdr, "070701", MAGIC_LEN) != 0 && memcmp(hdr, "070702", MAGIC_LEN) != 0)
        return iter_fail(it, "bad magic (not a cpio newc entry)");
    for (unsigned i = 0; i < FIELD_COUNT; i++) {
        if (!field_parse(hdr + MAGIC_LEN + i * FIELD_DIGITS, &field[i]))
            return iter_fail(it, "header field is not 8 hex digits");
    }

    nsize = field[FIELD_NAMESIZE];
    left -= CPIO_HEADER_SIZE;
    if (nsize < 2)
        return iter_fail(it, "empty entry name");
    if (nsize > left)
        return iter_fail(it, "entry name runs past the end of the archive");
    nm = hdr + CPIO_HEADER_SIZE;
    if (nm[nsize - 1] != '\0')
        return iter_fail(it, "entry name is not NUL-terminated");
    /* An inner NUL would make C string users see a different name than the
     * length-based matcher does. */
    if (memchr(nm, '\0', nsize - 1) != NULL)
        return iter_fail(it, "entry name contains a NUL byte");

    if (nsize - 1 == sizeof(CPIO_TRAILER) - 1 && memcmp(nm, CPIO_TRAILER, nsize - 1) == 0) {
        /* The name's padding and any data are not needed: stop here. */
        it->state = 1;
        return 0;
    }

    left -= nsize;
    data_off = it->off + CPIO_HEADER_SIZE + nsize;
    if (pad4(data_off) > left)
        return iter_fail(it, "entry name padding runs past the end of the archive");
    left -= pad4(data_off);
    data_off += pad4(data_off);

    fsize = field[FIELD_FILESIZE];
    if (fsize > left)
        return iter_fail(it, "entry data runs past the end of the archive");
    left -= fsize;
    next = data_off + fsize;
    /* A missing data pad can only be followed by a truncated header: park at the
     * end so that the next call reports it. */
    next = pad4(next) <= left ? next + pad4(next) : it->len;

    it->off = next;
    it->mode = field[FIELD_MODE];
    if (name)
        *name = (const char *)nm;
    if (namelen)
        *namelen = nsize - 1;
    if (data)
        *data = it->base + data_off;
    if (size)
        *size = fsize;
    return 1;
}

/* Drops leading "./" and "/" so that archives made with `find .` or with absolute
 * names still match plain relative names. */
static const char *name_strip(const char *s, size_t *len)
{
    for (;;) {
        if (*len >= 2 && s[0] == '.' && s[1] == '/') {
            s += 2;
            *len -= 2;
        } else if (*len >= 1 && s[0] == '/') {
            s++;
            (*len)--;
        } else {
            return s;
        }
    }
}

bool cpio_name_matches(const char *stored, size_t storedlen, const char *name)
{
    size_t namelen;

    if (!stored || !name)
        return false;
    namelen = strlen(name);
    stored = name_strip(stored, &storedlen);
    name = name_strip(name, &namelen);
    return namelen > 0 && storedlen == namelen && memcmp(stored, name, namelen) == 0;
}

int cpio_find(const void *archive, size_t len, const char *name, const void **data, size_t *size)
{
    struct cpio_iter it;
    const char *n;
    size_t nlen, fsize;
    const void *fdata;
    int r;

    cpio_iter_init(&it, archive, len);
    while ((r = cpio_next(&it, &n, &nlen, &fdata, &fsize)) > 0) {
        if ((it.mode & CPIO_MODE_TYPE) == CPIO_MODE_REG && cpio_name_matches(n, nlen, name)) {
            if (data)
                *data = fdata;
            if (size)
                *size = fsize;
            return 0;
        }
    }
    return r < 0 ? r : ERR_NOENT;
}

size_t cpio_entry_size(const char *name, size_t size)
{
    size_t head = CPIO_HEADER_SIZE + strlen(name) + 1;
    return (head + 3) / 4 * 4 + (size + 3) / 4 * 4;
}

size_t cpio_write_entry(uint8_t *ar, size_t cap, size_t off, const char *name, const void *data,
                        size_t size)
{
    static const char digits[] = "0123456789ABCDEF";
    size_t namesize = strlen(name) + 1;
    /* ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
     * rdevmajor, rdevminor, namesize, check */
    uint32_t fields[13] = {0, CPIO_MODE_REG | 0644u, 0, 0, 1, 0, (uint32_t)size, 0, 0, 0,
                           0, (uint32_t)namesize,    0};

    if (size > 0xffffffffu || off > cap || cap - off < cpio_entry_size(name, size))
        return 0;
    memcpy(ar + off, "070701", 6);
    for (unsigned f = 0; f < 13; f++)
        for (unsigned d = 0; d < 8; d++)
            ar[off + 6 + f * 8 + d] = (uint8_t)digits[(fields[f] >> (28 - 4 * d)) & 0xf];
    off += CPIO_HEADER_SIZE;
    memcpy(ar + off, name, namesize);
    off += namesize;
    while (off % 4)
        ar[off++] = 0;
    if (size)
        memcpy(ar + off, data, size);
    off += size;
    while (off % 4)
        ar[off++] = 0;
    return off;
}
