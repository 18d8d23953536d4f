/* SPDX-License-Identifier: Apache-2.0 */
/* Flattened device tree reader; see fdt.h for the trust model.
 *
 * All structure access funnels through fdt_tag(), which checks one token against
 * the structure and strings blocks and reports where the next token starts. The
 * higher-level walks are loops over it whose offset strictly increases, so they end
 * within struct_size / 4 steps whatever the blob holds. */
#include "lib/fdt.h"
#include "lib/string.h"

/* Header field offsets (Devicetree Specification 5.2). */
#define HDR_MAGIC        0
#define HDR_TOTALSIZE    4
#define HDR_OFF_STRUCT   8
#define HDR_OFF_STRINGS  12
#define HDR_OFF_RSVMAP   16
#define HDR_VERSION      20
#define HDR_LAST_COMP    24
#define HDR_BOOT_CPUID   28
#define HDR_SIZE_STRINGS 32
#define HDR_SIZE_STRUCT  36
#define HDR_V16_SIZE     36u /* version 16 ends before size_dt_struct */

#define OLDEST_VERSION 16u

/* Offsets stay representable as non-negative ints. */
#define FDT_MAX_TOTALSIZE 0x7fffffffu

uint32_t fdt_be32(const void *p)
{
    const uint8_t *b = p;

    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

uint64_t fdt_be64(const void *p)
{
    const uint8_t *b = p;

    return (uint64_t)fdt_be32(b) << 32 | fdt_be32(b + 4);
}

uint32_t fdt_header_totalsize(const void *blob)
{
    return fdt_be32((const uint8_t *)blob + HDR_TOTALSIZE);
}

uint32_t fdt_boot_cpuid(const struct fdt *fdt)
{
    if (fdt->size < FDT_HEADER_SIZE)
        return 0;
    return fdt_be32(fdt->blob + HDR_BOOT_CPUID);
}

static uint32_t align4(uint32_t x)
{
    return (x + 3u) & ~3u;
}

/* [off, off + size) lies inside [lo, hi), computed without overflow. */
static bool span_inside(uint32_t off, uint32_t size, uint32_t lo, uint32_t hi)
{
    return off >= lo && off <= hi && size <= hi - off;
}

static bool spans_overlap(uint32_t a, uint32_t asize, uint32_t b, uint32_t bsize)
{
    if (asize == 0 || bsize == 0)
        return false;
    return a < b + bsize && b < a + asize; /* both spans are inside a u32 blob */
}

/* A property name: nameoff inside the strings block and NUL-terminated there,
 * within FDT_MAX_NAME bytes. */
static const char *fdt_string(const struct fdt *fdt, uint32_t nameoff)
{
    const char *s;
    uint32_t room;

    if (nameoff >= fdt->strings_size)
        return NULL;
    s = (const char *)fdt->blob + fdt->strings_off + nameoff;
    room = fdt->strings_size - nameoff;
    if (!memchr(s, 0, room < FDT_MAX_NAME ? room : FDT_MAX_NAME))
        return NULL;
    return s;
}

/* Decode the token at off: its tag, or a negative error if it is misaligned, runs
 * past the structure block, or (for BEGIN_NODE and PROP) carries a name that is not
 * NUL-terminated in its block within FDT_MAX_NAME bytes. *next gets the following
 * token's offset, always at least off + 4. */
static int fdt_tag(const struct fdt *fdt, int off, int *next)
{
    const uint8_t *s;
    uint32_t o, end, tag;

    if (off < 0 || (off & 3))
        return ERR_OFFSET;
    o = (uint32_t)off;
    if (fdt->struct_size < 4 || o > fdt->struct_size - 4)
        return ERR_TRUNCATED;
    s = fdt->blob + fdt->struct_off;
    tag = fdt_be32(s + o);
    end = o + 4;
    switch (tag) {
    case FDT_BEGIN_NODE: {
        uint32_t room = fdt->struct_size - end;
        const uint8_t *nul = memchr(s + end, 0, room < FDT_MAX_NAME ? room : FDT_MAX_NAME);

        if (!nul)
            return room > FDT_MAX_NAME ? ERR_STRUCTURE : ERR_TRUNCATED;
        end = align4((uint32_t)(nul - s) + 1);
        break;
    }
    case FDT_PROP: {
        uint32_t len;

        if (fdt->struct_size - end < 8)
            return ERR_TRUNCATED;
        len = fdt_be32(s + end);
        if (!fdt_string(fdt, fdt_be32(s + end + 4)))
            return ERR_STRUCTURE;
        end += 8;
        if (len > fdt->struct_size - end)
            return ERR_TRUNCATED;
        end = align4(end + len);
        break;
    }
    case FDT_END_NODE:
    case FDT_NOP:
    case FDT_END:
        break;
    default:
        return ERR_STRUCTURE;
    }
    /* Padding may only be missing if struct_size is not a multiple of 4, which
     * fdt_open() refuses; a hand-filled struct fdt must not make us read past it. */
    if (end > fdt->struct_size)
        return ERR_TRUNCATED;
    *next = (int)end;
    return (int)tag;
}

/* fdt_tag() for an offset handed in by a caller: one outside the structure block
 * names no token at all, which is a bad offset rather than a truncated blob. */
static int fdt_tag_user(const struct fdt *fdt, int off, int *next)
{
    if (off < 0 || (uint32_t)off >= fdt->struct_size)
        return ERR_OFFSET;
    return fdt_tag(fdt, off, next);
}

/* Offset just past node's name, or ERR_OFFSET if node is no BEGIN_NODE. */
static int fdt_node_body(const struct fdt *fdt, int node)
{
    int next;
    int tag = fdt_tag_user(fdt, node, &next);

    if (tag < 0)
        return tag;
    if ((uint32_t)tag != FDT_BEGIN_NODE)
        return ERR_OFFSET;
    return next;
}

static int fdt_rsvmap_check(const struct fdt *fdt)
{
    uint32_t off;

    if (fdt->rsvmap_off > fdt->size)
        return ERR_TRUNCATED;
    /* Linear, unlike repeated fdt_rsv_entry() calls: the map's length is hostile. */
    for (off = fdt->rsvmap_off; fdt->size - off >= 16; off += 16) {
        if (fdt_be64(fdt->blob + off) == 0 && fdt_be64(fdt->blob + off + 8) == 0)
            return 0;
    }
    return ERR_TRUNCATED;
}

int fdt_check(const struct fdt *fdt)
{
    int off = 0, next, depth = 0, tag;
    bool props_ok = false, root_done = false;

    tag = fdt_tag(fdt, 0, &next);
    if (tag < 0)
        return tag;
    if ((uint32_t)tag != FDT_BEGIN_NODE)
        return ERR_STRUCTURE;
    for (;; off = next) {
        tag = fdt_tag(fdt, off, &next);
        if (tag < 0)
            return tag;
        switch ((uint32_t)tag) {
        case FDT_BEGIN_NODE:
            if (root_done)
                return ERR_STRUCTURE;
            if (depth >= FDT_MAX_DEPTH)
                return ERR_DEPTH;
            depth++;
            props_ok = true;
            break;
        case FDT_END_NODE:
            if (depth == 0)
                return ERR_STRUCTURE;
            depth--;
            root_done = depth == 0;
            props_ok = false;
            break;
        case FDT_PROP:
            /* Readers look for properties only before a node's first child. */
            if (!props_ok)
                return ERR_STRUCTURE;
            break;
        case FDT_NOP:
            break;
        default: /* FDT_END */
            if (!root_done)
                return ERR_STRUCTURE;
            return fdt_rsvmap_check(fdt);
        }
    }
}

int fdt_open(struct fdt *fdt, const void *blob, size_t maxsize)
{
    const uint8_t *b = blob;
    uint32_t total, version, hdr_size;
    struct fdt f;
    int err;

    if (!fdt)
        return ERR_INVAL;
    memset(fdt, 0, sizeof(*fdt));
    if (!b)
        return ERR_INVAL;
    if (maxsize < FDT_HEADER_SIZE)
        return ERR_TRUNCATED;
    if (fdt_be32(b + HDR_MAGIC) != FDT_MAGIC)
        return ERR_BADMAGIC;
    version = fdt_be32(b + HDR_VERSION);
    if (version < OLDEST_VERSION || fdt_be32(b + HDR_LAST_COMP) > FDT_VERSION)
        return ERR_VERSION;
    hdr_size = version >= FDT_VERSION ? FDT_HEADER_SIZE : HDR_V16_SIZE;

    total = fdt_be32(b + HDR_TOTALSIZE);
    if (total > maxsize)
        return ERR_TRUNCATED;
    if (total < FDT_HEADER_SIZE || total > FDT_MAX_TOTALSIZE)
        return ERR_STRUCTURE;

    f.blob = b;
    f.size = total;
    f.struct_off = fdt_be32(b + HDR_OFF_STRUCT);
    f.strings_off = fdt_be32(b + HDR_OFF_STRINGS);
    f.strings_size = fdt_be32(b + HDR_SIZE_STRINGS);
    f.rsvmap_off = fdt_be32(b + HDR_OFF_RSVMAP);
    if (f.struct_off < hdr_size || f.strings_off < hdr_size || f.rsvmap_off < hdr_size)
        return ERR_OFFSET;
    if (f.struct_off > total || f.strings_off > total || f.rsvmap_off > total)
        return ERR_TRUNCATED;
    if (version >= FDT_VERSION) {
        f.struct_size = fdt_be32(b + HDR_SIZE_STRUCT);
    } else {
        /* No size_dt_struct before v17: the block runs to whichever block starts
         * next; fdt_check() then finds its FDT_END inside that. */
        uint32_t limit = total;

        if (f.strings_off >= f.struct_off && f.strings_off < limit)
            limit = f.strings_off;
        if (f.rsvmap_off >= f.struct_off && f.rsvmap_off < limit)
            limit = f.rsvmap_off;
        f.struct_size = (limit - f.struct_off) & ~3u;
    }
    if (!span_inside(f.struct_off, f.struct_size, hdr_size, total) ||
        !span_inside(f.strings_off, f.strings_size, hdr_size, total))
        return ERR_TRUNCATED;
    /* The walkers step in whole tokens relative to struct_off. */
    if ((f.struct_off & 3) || (f.struct_size & 3))
        return ERR_OFFSET;
    if (spans_overlap(f.struct_off, f.struct_size, f.strings_off, f.strings_size))
        return ERR_OFFSET;

    err = fdt_check(&f);
    if (err < 0)
        return err;
    *fdt = f;
    return 0;
}

int fdt_root(const struct fdt *fdt)
{
    int err = fdt_node_body(fdt, 0);

    return err < 0 ? err : 0;
}

int fdt_next_node(const struct fdt *fdt, int node, int *depth)
{
    int off, next, tag, d = 0;
    bool closed = false;

    off = fdt_node_body(fdt, node);
    if (off < 0)
        return off;
    for (;; off = next) {
        tag = fdt_tag(fdt, off, &next);
        if (tag < 0)
            return tag;
        switch ((uint32_t)tag) {
        case FDT_BEGIN_NODE:
            d++;
            if (depth) {
                /* 64-bit so a wild *depth cannot overflow. */
                int64_t nd = (int64_t)*depth + d;

                if (nd >= FDT_MAX_DEPTH)
                    return ERR_DEPTH;
                if (nd < INT32_MIN)
                    return ERR_INVAL;
                *depth = (int)nd;
            }
            return off;
        case FDT_END_NODE:
            d--;
            closed = true;
            break;
        case FDT_PROP:
            /* Only the starting node's own properties may precede its first child. */
            if (closed)
                return ERR_STRUCTURE;
            break;
        case FDT_NOP:
            break;
        default: /* FDT_END */
            /* The end of the tree must come after `node` itself was closed. */
            return d < 0 ? ERR_NOENT : ERR_STRUCTURE;
        }
    }
}

int fdt_first_child(const struct fdt *fdt, int node)
{
    int d = 0;
    int n = fdt_next_node(fdt, node, &d);

    if (n < 0)
        return n;
    return d == 1 ? n : ERR_NOENT;
}

int fdt_next_sibling(const struct fdt *fdt, int node)
{
    int d = 0;
    int n = node;

    for (;;) {
        n = fdt_next_node(fdt, n, &d);
        if (n < 0)
            return n;
        if (d == 0)
            return n;
        if (d < 0)
            return ERR_NOENT;
    }
}

int fdt_parent(const struct fdt *fdt, int node)
{
    int stack[FDT_MAX_DEPTH];
    int n, depth = 0;

    n = fdt_node_body(fdt, node);
    if (n < 0)
        return n;
    n = fdt_root(fdt);
    if (n < 0)
        return n;
    stack[0] = n;
    while (n < node) {
        n = fdt_next_node(fdt, n, &depth);
        if (n < 0)
            return n == ERR_NOENT ? ERR_OFFSET : n;
        if (depth < 0) /* a node after the root was closed */
            return ERR_STRUCTURE;
        stack[depth] = n; /* fdt_next_node keeps depth < FDT_MAX_DEPTH */
    }
    if (n != node) /* `node` sits inside some other token */
        return ERR_OFFSET;
    return depth == 0 ? ERR_NOENT : stack[depth - 1];
}

const char *fdt_node_name(const struct fdt *fdt, int node)
{
    if (fdt_node_body(fdt, node) < 0)
        return NULL;
    return (const char *)fdt->blob + fdt->struct_off + (uint32_t)node + 4;
}

/* name matches the path component comp[0..len): exactly, or, when comp has no unit
 * address, up to name's '@'. name is NUL-terminated, so strncmp stops in bounds and
 * name[len] is readable once it matched len non-NUL bytes. */
static bool fdt_name_matches(const char *name, const char *comp, size_t len)
{
    if (strncmp(name, comp, len) != 0)
        return false;
    if (name[len] == '\0')
        return true;
    return name[len] == '@' && !memchr(comp, '@', len);
}

int fdt_find_path(const struct fdt *fdt, const char *path)
{
    const char *p = path;
    int cur;

    if (!p || *p != '/')
        return ERR_INVAL;
    cur = fdt_root(fdt);
    if (cur < 0)
        return cur;
    for (;;) {
        const char *name;
        size_t len = 0;
        int child;

        while (*p == '/')
            p++;
        if (!*p)
            return cur;
        while (p[len] && p[len] != '/')
            len++;
        for (child = fdt_first_child(fdt, cur); child >= 0; child = fdt_next_sibling(fdt, child)) {
            name = fdt_node_name(fdt, child);
            if (!name)
                return ERR_STRUCTURE;
            if (fdt_name_matches(name, p, len))
                break;
        }
        if (child < 0)
            return child;
        cur = child;
        p += len;
    }
}

int fdt_find_compatible(const struct fdt *fdt, int after, const char *compat)
{
    int n;

    if (!compat)
        return ERR_INVAL;
    if (after == -1) {
        n = fdt_root(fdt);
        if (n < 0)
            return n;
        if (fdt_node_is_compatible(fdt, n, compat))
            return n;
        after = n;
    }
    for (n = after;;) {
        n = fdt_next_node(fdt, n, NULL);
        if (n < 0)
            return n;
        if (fdt_node_is_compatible(fdt, n, compat))
            return n;
    }
}

/* The first property token at or after off, skipping NOPs, or NOTFOUND once the
 * node's properties end. */
static int fdt_prop_from(const struct fdt *fdt, int off)
{
    int next, tag;

    for (;; off = next) {
        tag = fdt_tag(fdt, off, &next);
        if (tag < 0)
            return tag;
        switch ((uint32_t)tag) {
        case FDT_PROP:
            return off;
        case FDT_NOP:
            break;
        case FDT_END:
            return ERR_STRUCTURE; /* the node was never closed */
        default:
            return ERR_NOENT;
        }
    }
}

int fdt_first_prop(const struct fdt *fdt, int node)
{
    int off = fdt_node_body(fdt, node);

    return off < 0 ? off : fdt_prop_from(fdt, off);
}

int fdt_next_prop(const struct fdt *fdt, int prop)
{
    int next;
    int tag = fdt_tag_user(fdt, prop, &next);

    if (tag < 0)
        return tag;
    if ((uint32_t)tag != FDT_PROP)
        return ERR_OFFSET;
    return fdt_prop_from(fdt, next);
}

int fdt_prop_at(const struct fdt *fdt, int prop, const char **name, const void **val, int *len)
{
    const uint8_t *p;
    int next;
    int tag = fdt_tag_user(fdt, prop, &next);

    if (tag < 0)
        return tag;
    if ((uint32_t)tag != FDT_PROP)
        return ERR_OFFSET;
    /* fdt_tag() checked the length and the name. */
    p = fdt->blob + fdt->struct_off + (uint32_t)prop;
    if (name)
        *name = fdt_string(fdt, fdt_be32(p + 8));
    if (val)
        *val = p + 12;
    if (len)
        *len = (int)fdt_be32(p + 4);
    return 0;
}

const void *fdt_prop(const struct fdt *fdt, int node, const char *name, int *len)
{
    const char *pname;
    const void *val;
    int p, plen;

    if (!name) {
        p = ERR_INVAL;
        goto fail;
    }
    for (p = fdt_first_prop(fdt, node); p >= 0; p = fdt_next_prop(fdt, p)) {
        if (fdt_prop_at(fdt, p, &pname, &val, &plen) < 0)
            break; /* unreachable: fdt_next_prop validated p */
        if (strcmp(pname, name) == 0) {
            if (len)
                *len = plen;
            return val;
        }
    }
fail:
    if (len)
        *len = p < 0 ? p : ERR_STRUCTURE;
    return NULL;
}

bool fdt_prop_u32(const struct fdt *fdt, int node, const char *name, uint32_t *out)
{
    int len;
    const void *v = fdt_prop(fdt, node, name, &len);

    if (!v || len != 4)
        return false;
    if (out)
        *out = fdt_be32(v);
    return true;
}

bool fdt_prop_u64(const struct fdt *fdt, int node, const char *name, uint64_t *out)
{
    int len;
    const void *v = fdt_prop(fdt, node, name, &len);

    if (!v || (len != 4 && len != 8))
        return false;
    if (out)
        *out = len == 4 ? fdt_be32(v) : fdt_be64(v);
    return true;
}

const char *fdt_prop_str(const struct fdt *fdt, int node, const char *name)
{
    int len;
    const char *v = fdt_prop(fdt, node, name, &len);

    if (!v || len <= 0 || !memchr(v, 0, (size_t)len))
        return NULL;
    return v;
}

/* Step over one stringlist entry: its length, or -1 if it has no NUL in the
 * remaining *rem bytes. */
static int fdt_strlist_entry(const char *p, int rem)
{
    const char *nul = memchr(p, 0, (size_t)rem);

    return nul ? (int)(nul - p) : -1;
}

int fdt_stringlist_count(const char *list, int len)
{
    int n = 0, l;

    if (len < 0 || (len > 0 && !list))
        return ERR_INVAL;
    while (len > 0) {
        l = fdt_strlist_entry(list, len);
        if (l < 0)
            return ERR_INVAL;
        list += l + 1;
        len -= l + 1;
        n++;
    }
    return n;
}

const char *fdt_stringlist_get(const char *list, int len, int index)
{
    int i, l;

    if (!list || index < 0)
        return NULL;
    for (i = 0; len > 0; i++) {
        l = fdt_strlist_entry(list, len);
        if (l < 0)
            return NULL;
        if (i == index)
            return list;
        list += l + 1;
        len -= l + 1;
    }
    return NULL;
}

bool fdt_stringlist_contains(const char *list, int len, const char *s)
{
    size_t slen;
    int l;

    if (!list || !s)
        return false;
    slen = strlen(s);
    while (len > 0) {
        l = fdt_strlist_entry(list, len);
        if (l < 0)
            return false;
        if ((size_t)l == slen && memcmp(list, s, slen) == 0)
            return true;
        list += l + 1;
        len -= l + 1;
    }
    return false;
}

bool fdt_node_is_compatible(const struct fdt *fdt, int node, const char *compat)
{
    int len;
    const char *v = fdt_prop(fdt, node, "compatible", &len);

    return v && fdt_stringlist_contains(v, len, compat);
}

bool fdt_node_is_okay(const struct fdt *fdt, int node)
{
    int len;
    const char *s;

    if (!fdt_prop(fdt, node, "status", &len))
        return len == ERR_NOENT;
    s = fdt_prop_str(fdt, node, "status");
    return s && (strcmp(s, "okay") == 0 || strcmp(s, "ok") == 0);
}

static int fdt_cells(const struct fdt *fdt, int node, const char *name, int dflt)
{
    int len;
    const void *v = fdt_prop(fdt, node, name, &len);
    uint32_t n;

    if (!v)
        return len == ERR_NOENT ? dflt : len;
    if (len != 4)
        return ERR_INVAL;
    n = fdt_be32(v);
    return n > FDT_MAX_CELLS ? ERR_INVAL : (int)n;
}

int fdt_address_cells(const struct fdt *fdt, int node)
{
    return fdt_cells(fdt, node, "#address-cells", 2);
}

int fdt_size_cells(const struct fdt *fdt, int node)
{
    return fdt_cells(fdt, node, "#size-cells", 1);
}

/* A number of `cells` big-endian cells (0..FDT_MAX_CELLS). */
static uint64_t fdt_read_cells(const uint8_t *p, int cells)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < cells; i++)
        v = v << 32 | fdt_be32(p + 4 * i);
    return v;
}

int fdt_reg(const struct fdt *fdt, int node, int index, uint64_t *addr, uint64_t *size)
{
    const uint8_t *v;
    int parent, ac, sc, len, entry;

    parent = fdt_parent(fdt, node);
    if (parent < 0)
        return parent;
    ac = fdt_address_cells(fdt, parent);
    if (ac < 0)
        return ac;
    sc = fdt_size_cells(fdt, parent);
    if (sc < 0)
        return sc;
    v = fdt_prop(fdt, node, "reg", &len);
    if (!v)
        return len;
    entry = 4 * (ac + sc);
    if (entry == 0 || len % entry != 0)
        return ERR_INVAL;
    if (index < 0)
        return ERR_INVAL;
    if (index >= len / entry)
        return ERR_NOENT;
    v += (size_t)index * (size_t)entry;
    if (addr)
        *addr = fdt_read_cells(v, ac);
    if (size)
        *size = fdt_read_cells(v + 4 * ac, sc);
    return 0;
}

int fdt_node_by_phandle(const struct fdt *fdt, uint32_t phandle)
{
    int n, depth = 0;
    uint32_t v;

    if (phandle == 0 || phandle == 0xffffffffu)
        return ERR_INVAL;
    n = fdt_root(fdt);
    while (n >= 0) {
        if ((fdt_prop_u32(fdt, n, "phandle", &v) || fdt_prop_u32(fdt, n, "linux,phandle", &v)) &&
            v == phandle)
            return n;
        n = fdt_next_node(fdt, n, &depth);
        if (n >= 0 && depth < 0)
            return ERR_STRUCTURE;
    }
    return n;
}

int fdt_rsv_entry(const struct fdt *fdt, int index, uint64_t *addr, uint64_t *size)
{
    uint32_t room, i;
    const uint8_t *e;
    uint64_t a, s;

    if (index < 0)
        return ERR_INVAL;
    if (fdt->rsvmap_off > fdt->size)
        return ERR_TRUNCATED;
    room = (fdt->size - fdt->rsvmap_off) / 16;
    /* Entries before `index` must all be real: a terminator ends the map. */
    for (i = 0;; i++) {
        if (i >= room)
            return ERR_TRUNCATED;
        e = fdt->blob + fdt->rsvmap_off + 16 * i;
        a = fdt_be64(e);
        s = fdt_be64(e + 8);
        if (a == 0 && s == 0)
            return ERR_NOENT;
        if (i == (uint32_t)index)
            break;
    }
    if (addr)
        *addr = a;
    if (size)
        *size = s;
    return 0;
}
