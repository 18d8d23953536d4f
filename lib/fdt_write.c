/* SPDX-License-Identifier: Apache-2.0 */
/* Sequential DTB writer; see fdt.h for the calling sequence.
 *
 * Layout while building: header space, reservation map and structure block grow up
 * from the start of the buffer while property names grow down from its end, so
 * neither size has to be known in advance. A property's nameoff is recorded as the
 * name's distance from the buffer end, the only position that stays fixed; finish
 * moves the strings up against the structure block and rewrites each nameoff
 * relative to the block's final start. */
#include "lib/fdt.h"
#include "lib/string.h"

/* Keeps every offset inside an int and a u32, as the reader requires. */
#define FDTW_MAX_CAP 0x7fffffffu

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

static void fdtw_fail(struct fdt_writer *w, int err)
{
    if (!w->err)
        w->err = err;
}

/* Whether a building call may proceed; using the writer after finish is misuse. */
static bool fdtw_usable(struct fdt_writer *w)
{
    if (w->err)
        return false;
    if (w->finished) {
        fdtw_fail(w, ERR_STRUCTURE);
        return false;
    }
    return true;
}

static size_t fdtw_room(const struct fdt_writer *w)
{
    return w->cap - w->str_size - w->off;
}

/* n bytes at the end of the structure side, or NULL (and NOSPACE) if they would run
 * into the strings. */
static uint8_t *fdtw_take(struct fdt_writer *w, size_t n)
{
    uint8_t *p;

    if (n > fdtw_room(w)) {
        fdtw_fail(w, ERR_NOSPC);
        return NULL;
    }
    p = w->buf + w->off;
    w->off += n;
    return p;
}

/* The name's distance from the buffer end, reusing an existing copy; 0 on error. */
static uint32_t fdtw_string(struct fdt_writer *w, const char *name)
{
    size_t n = strlen(name) + 1;
    const uint8_t *end = w->buf + w->cap;
    const uint8_t *p = end - w->str_size;

    while (p < end) {
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
        size_t l = (size_t)(nul - p) + 1; /* every entry we stored is terminated */

        if (l == n && memcmp(p, name, n) == 0)
            return (uint32_t)(end - p);
        p += l;
    }
    if (n > fdtw_room(w)) {
        fdtw_fail(w, ERR_NOSPC);
        return 0;
    }
    w->str_size += n;
    memcpy(w->buf + w->cap - w->str_size, name, n);
    return (uint32_t)w->str_size;
}

void fdtw_init(struct fdt_writer *w, void *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->off = FDT_HEADER_SIZE;
    if (!buf) {
        w->err = cap ? ERR_INVAL : ERR_NOSPC;
        return;
    }
    w->buf = buf;
    w->cap = cap > FDTW_MAX_CAP ? FDTW_MAX_CAP : cap;
    if (w->cap < FDT_HEADER_SIZE)
        w->err = ERR_NOSPC;
}

void fdtw_reserve(struct fdt_writer *w, uint64_t addr, uint64_t size)
{
    uint8_t *p;

    if (!fdtw_usable(w))
        return;
    if (w->struct_off) {
        fdtw_fail(w, ERR_STRUCTURE);
        return;
    }
    /* (0, 0) would read back as the terminator; a wrapping range is nonsense. */
    if (size == 0 || size - 1 > UINT64_MAX - addr) {
        fdtw_fail(w, ERR_INVAL);
        return;
    }
    p = fdtw_take(w, 16);
    if (!p)
        return;
    put64(p, addr);
    put64(p + 8, size);
}

void fdtw_begin_node(struct fdt_writer *w, const char *name)
{
    size_t n;
    uint8_t *p;

    if (!fdtw_usable(w))
        return;
    if (!name) {
        fdtw_fail(w, ERR_INVAL);
        return;
    }
    if (!w->struct_off) {
        if (*name) {
            fdtw_fail(w, ERR_INVAL);
            return;
        }
        p = fdtw_take(w, 16); /* reservation map terminator */
        if (!p)
            return;
        memset(p, 0, 16);
        w->struct_off = w->off;
    } else if (w->depth == 0) {
        fdtw_fail(w, ERR_STRUCTURE); /* a second root */
        return;
    } else if (!*name || strchr(name, '/')) {
        fdtw_fail(w, ERR_INVAL); /* unreachable by path */
        return;
    } else if (strnlen(name, FDT_MAX_NAME) >= FDT_MAX_NAME) {
        fdtw_fail(w, ERR_INVAL); /* the reader would refuse it */
        return;
    } else if (w->depth >= FDT_MAX_DEPTH) {
        fdtw_fail(w, ERR_DEPTH); /* the reader would refuse it */
        return;
    }
    n = strlen(name) + 1;
    p = fdtw_take(w, 4 + pad4(n));
    if (!p)
        return;
    put32(p, FDT_BEGIN_NODE);
    memcpy(p + 4, name, n);
    memset(p + 4 + n, 0, pad4(n) - n);
    w->depth++;
    w->props_ok = true;
}

void fdtw_end_node(struct fdt_writer *w)
{
    uint8_t *p;

    if (!fdtw_usable(w))
        return;
    if (w->depth == 0) {
        fdtw_fail(w, ERR_STRUCTURE);
        return;
    }
    p = fdtw_take(w, 4);
    if (!p)
        return;
    put32(p, FDT_END_NODE);
    w->depth--;
    /* Back in the parent, after a child: readers would not see more properties. */
    w->props_ok = false;
}

/* Emit a property header for a len-byte value and zero its padding; the caller
 * fills the value. NULL once the writer has failed. */
static uint8_t *fdtw_prop_alloc(struct fdt_writer *w, const char *name, size_t len)
{
    uint32_t nameoff;
    uint8_t *p;

    if (!fdtw_usable(w))
        return NULL;
    if (!name || !*name || strnlen(name, FDT_MAX_NAME) >= FDT_MAX_NAME) {
        fdtw_fail(w, ERR_INVAL);
        return NULL;
    }
    if (w->depth == 0 || !w->props_ok) {
        fdtw_fail(w, ERR_STRUCTURE);
        return NULL;
    }
    if (len > FDTW_MAX_CAP) {
        fdtw_fail(w, ERR_NOSPC);
        return NULL;
    }
    nameoff = fdtw_string(w, name);
    if (!nameoff)
        return NULL;
    p = fdtw_take(w, 12 + pad4(len));
    if (!p)
        return NULL;
    put32(p, FDT_PROP);
    put32(p + 4, (uint32_t)len);
    put32(p + 8, nameoff);
    memset(p + 12 + len, 0, pad4(len) - len);
    return p + 12;
}

void fdtw_prop(struct fdt_writer *w, const char *name, const void *val, size_t len)
{
    uint8_t *p;

    if (!val && len) {
        fdtw_fail(w, ERR_INVAL);
        return;
    }
    p = fdtw_prop_alloc(w, name, len);
    if (p && len)
        memcpy(p, val, len);
}

void fdtw_prop_u32(struct fdt_writer *w, const char *name, uint32_t v)
{
    uint8_t *p = fdtw_prop_alloc(w, name, 4);

    if (p)
        put32(p, v);
}

void fdtw_prop_u64(struct fdt_writer *w, const char *name, uint64_t v)
{
    uint8_t *p = fdtw_prop_alloc(w, name, 8);

    if (p)
        put64(p, v);
}

void fdtw_prop_str(struct fdt_writer *w, const char *name, const char *s)
{
    if (!s) {
        fdtw_fail(w, ERR_INVAL);
        return;
    }
    fdtw_prop(w, name, s, strlen(s) + 1);
}

void fdtw_prop_cells(struct fdt_writer *w, const char *name, const uint32_t *cells, size_t n)
{
    uint8_t *p;
    size_t i;

    if (!cells && n) {
        fdtw_fail(w, ERR_INVAL);
        return;
    }
    if (n > FDTW_MAX_CAP / 4) {
        fdtw_fail(w, ERR_NOSPC);
        return;
    }
    p = fdtw_prop_alloc(w, name, 4 * n);
    if (!p)
        return;
    for (i = 0; i < n; i++)
        put32(p + 4 * i, cells[i]);
}

void fdtw_set_boot_cpuid(struct fdt_writer *w, uint32_t cpuid)
{
    if (fdtw_usable(w))
        w->boot_cpuid = cpuid;
}

/* Turn every recorded distance-from-end nameoff into an offset in the strings block
 * that now starts right after the structure block. The walk covers only tokens this
 * writer emitted, but stays inside [struct_off, end) regardless. */
static void fdtw_fix_nameoffs(struct fdt_writer *w, size_t end)
{
    size_t off = w->struct_off;

    while (off + 4 <= end) {
        uint8_t *p = w->buf + off;
        uint32_t tag = fdt_be32(p);

        if (tag == FDT_BEGIN_NODE) {
            const uint8_t *nul = memchr(p + 4, 0, end - off - 4);

            if (!nul)
                return;
            off += 4 + pad4((size_t)(nul - (p + 4)) + 1);
        } else if (tag == FDT_PROP) {
            if (end - off < 12)
                return;
            put32(p + 8, (uint32_t)w->str_size - fdt_be32(p + 8));
            off += 12 + pad4(fdt_be32(p + 4));
        } else {
            off += 4;
        }
    }
}

int fdtw_finish(struct fdt_writer *w)
{
    size_t struct_end;
    uint8_t *p;

    if (w->finished && !w->err)
        return w->total;
    if (w->err)
        return w->err;
    if (!w->struct_off || w->depth) {
        fdtw_fail(w, ERR_STRUCTURE);
        return w->err;
    }
    p = fdtw_take(w, 4);
    if (!p)
        return w->err;
    put32(p, FDT_END);
    struct_end = w->off;
    memmove(w->buf + struct_end, w->buf + w->cap - w->str_size, w->str_size);
    fdtw_fix_nameoffs(w, struct_end);

    w->total = (int)(struct_end + w->str_size);
    p = w->buf;
    put32(p + 0, FDT_MAGIC);
    put32(p + 4, (uint32_t)w->total);
    put32(p + 8, (uint32_t)w->struct_off);
    put32(p + 12, (uint32_t)struct_end);
    put32(p + 16, FDT_HEADER_SIZE);
    put32(p + 20, FDT_VERSION);
    put32(p + 24, FDT_LAST_COMP);
    put32(p + 28, w->boot_cpuid);
    put32(p + 32, (uint32_t)w->str_size);
    put32(p + 36, (uint32_t)(struct_end - w->struct_off));
    w->finished = true;
    return w->total;
}
