/* SPDX-License-Identifier: Apache-2.0 */
/* Flattened device tree (DTB) reader and sequential writer.
 *
 * The blob is untrusted: it may come from a hostile config bundle. Every read is
 * bounds-checked against the blocks validated by fdt_open(), multi-byte fields are
 * read byte by byte (the blob may sit at any alignment), and every walk advances
 * strictly through the structure block, so a malformed blob yields a negative
 * ERR_* code and never an out-of-bounds read or an endless loop. Nothing allocates
 * and nothing recurses.
 *
 * Node and property "offsets" are byte offsets of their tokens from the start of
 * the structure block; the root is at 0. Any int offset may be passed in: one that
 * does not name a token of the expected kind gives ERR_OFFSET. Returned
 * names and values point into the blob.
 *
 * Format: Devicetree Specification v0.4, chapter 5 (versions 16 and 17). */
#ifndef VIREO_LIB_FDT_H
#define VIREO_LIB_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define FDT_MAGIC       0xd00dfeedu
#define FDT_BEGIN_NODE  1u
#define FDT_END_NODE    2u
#define FDT_PROP        3u
#define FDT_NOP         4u
#define FDT_END         9u
#define FDT_HEADER_SIZE 40u /* version 17 header; the smallest blob we can inspect */
#define FDT_VERSION     17u
#define FDT_LAST_COMP   16u
/* Levels of nodes, the root included: deeper trees are rejected (ERR_DEPTH) so
 * that callers can keep per-level state in fixed arrays. */
#define FDT_MAX_DEPTH 64
#define FDT_MAX_CELLS 2 /* #address-cells / #size-cells above this are refused */
/* Bytes in a node or property name, its NUL included. The specification allows 31
 * characters plus a unit address; the bound keeps each token's decoding O(1), where
 * many properties sharing one huge unterminated "name" would make walks quadratic. */
#define FDT_MAX_NAME 256

/* A validated view of a blob. Filled in by fdt_open(); all offsets are in bytes from
 * the start of the blob, and every block lies inside [0, size). */
struct fdt {
    const uint8_t *blob;
    uint32_t size; /* totalsize */
    uint32_t struct_off, struct_size;
    uint32_t strings_off, strings_size;
    uint32_t rsvmap_off;
};

/* Unaligned big-endian loads. */
uint32_t fdt_be32(const void *p);
uint64_t fdt_be64(const void *p);

/* Validate the header and the block layout (blocks inside totalsize, totalsize <=
 * maxsize and < 2 GiB, no block overlapping the header or another block, structure
 * block 4-aligned and starting with the root's BEGIN_NODE), then the whole tree with
 * fdt_check(). Rejecting a bad blob here, at the trust boundary, means a caller never
 * acts on a tree whose tail turns out to be garbage. 0 or a negative ERR_* code (lib/err.h); on
 * error *fdt is zeroed, and every accessor on it fails cleanly. */
int fdt_open(struct fdt *fdt, const void *blob, size_t maxsize);

/* Full structural check, in one linear pass: every token well-formed, names
 * NUL-terminated in their block within FDT_MAX_NAME bytes, properties only before a
 * node's children, nodes balanced and at most FDT_MAX_DEPTH deep, one root followed
 * only by NOPs and FDT_END, and a reservation map terminated inside the blob.
 * fdt_open() already calls it; the accessors do not rely on it and stay safe on a
 * blob that would fail it. */
int fdt_check(const struct fdt *fdt);

/* The header's totalsize, to size a copy before fdt_open(); the caller ensures
 * FDT_HEADER_SIZE bytes are readable. Not validated. */
uint32_t fdt_header_totalsize(const void *blob);
/* The header's boot_cpuid_phys; 0 for a view that failed to open. */
uint32_t fdt_boot_cpuid(const struct fdt *fdt);

/* Node navigation. Each returns a node offset or a negative ERR_* code (lib/err.h). */
int fdt_root(const struct fdt *fdt);
/* The next node in document order. If depth is not NULL, *depth is the caller's
 * depth of `node` (0 for the root) and is adjusted: +1 for a child, 0 for a sibling,
 * negative steps after leaving subtrees; going FDT_MAX_DEPTH or deeper is
 * ERR_DEPTH. To walk a subtree, start at 0 and stop once *depth <= 0.
 * ERR_NOENT after the last node. */
int fdt_next_node(const struct fdt *fdt, int node, int *depth);
int fdt_first_child(const struct fdt *fdt, int node);  /* NOTFOUND if none */
int fdt_next_sibling(const struct fdt *fdt, int node); /* NOTFOUND if none */
/* Walks from the root (O(tree size)). NOTFOUND for the root. */
int fdt_parent(const struct fdt *fdt, int node);
/* Full name including "@unit"; "" for the root. NULL if node is not a node. */
const char *fdt_node_name(const struct fdt *fdt, int node);
/* Absolute path such as "/", "/chosen" or "/soc/serial@10000000"; empty components
 * are ignored. A component without '@' also matches a node whose name before its
 * '@' equals it; the first such child in document order wins. Aliases are not
 * resolved (a path not starting with '/' is ERR_INVAL). */
int fdt_find_path(const struct fdt *fdt, const char *path);
/* The first node after `after` in document order (after = -1: from the root,
 * inclusive) whose "compatible" list contains compat. */
int fdt_find_compatible(const struct fdt *fdt, int after, const char *compat);

/* Properties. fdt_prop returns NULL if the property is absent or the node is bad;
 * *len (if len is not NULL) receives the value length or the negative ERR_* code (lib/err.h). A
 * present empty property returns a non-NULL pointer with *len = 0. */
const void *fdt_prop(const struct fdt *fdt, int node, const char *name, int *len);
int fdt_first_prop(const struct fdt *fdt, int node); /* property offset, NOTFOUND if none */
int fdt_next_prop(const struct fdt *fdt, int prop);
/* Decode the property at offset prop; any out-pointer may be NULL. 0 or error. */
int fdt_prop_at(const struct fdt *fdt, int prop, const char **name, const void **val, int *len);
/* False unless present with exactly 4 bytes (u32) or 4 or 8 bytes (u64); out may be
 * NULL. */
bool fdt_prop_u32(const struct fdt *fdt, int node, const char *name, uint32_t *out);
bool fdt_prop_u64(const struct fdt *fdt, int node, const char *name, uint64_t *out);
/* NULL unless the value holds a NUL within its length. */
const char *fdt_prop_str(const struct fdt *fdt, int node, const char *name);

/* Stringlists ("a\0b\0"). A list whose last entry lacks its NUL is malformed:
 * count returns ERR_INVAL, and get/contains see only the entries before it. */
bool fdt_stringlist_contains(const char *list, int len, const char *s);
int fdt_stringlist_count(const char *list, int len);
const char *fdt_stringlist_get(const char *list, int len, int index); /* NULL if absent */

bool fdt_node_is_compatible(const struct fdt *fdt, int node, const char *compat);
/* "status" absent, "okay" or "ok". A malformed status counts as disabled. */
bool fdt_node_is_okay(const struct fdt *fdt, int node);

/* The cell counts a node gives its children's "reg": #address-cells (default 2) and
 * #size-cells (default 1), each 0..FDT_MAX_CELLS; a larger value (e.g. PCI's 3) or a
 * value not exactly 4 bytes long is ERR_INVAL. */
int fdt_address_cells(const struct fdt *fdt, int node);
int fdt_size_cells(const struct fdt *fdt, int node);
/* Entry `index` of node's "reg", decoded with the parent's cell counts. *size is 0
 * when #size-cells is 0; out-pointers may be NULL. 0, ERR_NOENT past the last
 * entry (or with no "reg", or for the root), ERR_INVAL if the length is not a
 * whole number of entries or both counts are 0. */
int fdt_reg(const struct fdt *fdt, int node, int index, uint64_t *addr, uint64_t *size);
/* Node whose "phandle" (or legacy "linux,phandle") equals phandle; 0 and ~0 are
 * never valid phandles (ERR_INVAL). */
int fdt_node_by_phandle(const struct fdt *fdt, uint32_t phandle);
/* Memory reservation map entry; ERR_NOENT at or past the terminator,
 * ERR_TRUNCATED if the map runs past the blob before it. */
int fdt_rsv_entry(const struct fdt *fdt, int index, uint64_t *addr, uint64_t *size);

/* Sequential writer: builds a valid DTB (version 17, last_comp_version 16) in a
 * caller buffer, never touching bytes at or past cap. Calls go: fdtw_init,
 * fdtw_reserve*, then the root's fdtw_begin_node(""), properties before child nodes,
 * fdtw_end_node for every begin, fdtw_finish. Errors are sticky: once a call fails
 * the writer stays failed, later calls do nothing, and fdtw_finish returns the first
 * error. Property names are deduplicated in the strings block. Misuse (reserve after
 * the first node, a property after a child node or outside any node, a second root,
 * a non-root name that is empty or contains '/', a name of FDT_MAX_NAME bytes or
 * more, unbalanced nodes) is ERR_STRUCTURE or ERR_INVAL; nesting
 * beyond FDT_MAX_DEPTH is ERR_DEPTH; running out of room is ERR_NOSPC. */
struct fdt_writer {
    uint8_t *buf;
    size_t cap;
    size_t off;        /* end of header + reservation map + structure so far */
    size_t struct_off; /* 0 until the root node starts */
    size_t str_size;   /* strings are built down from buf + cap until finish */
    uint32_t boot_cpuid;
    int depth;     /* open nodes */
    bool props_ok; /* no child node begun yet in the current node */
    bool finished;
    int total;
    int err;
};

void fdtw_init(struct fdt_writer *w, void *buf, size_t cap);
void fdtw_reserve(struct fdt_writer *w, uint64_t addr, uint64_t size); /* size != 0 */
void fdtw_begin_node(struct fdt_writer *w, const char *name);          /* first is the root, "" */
void fdtw_end_node(struct fdt_writer *w);
void fdtw_prop(struct fdt_writer *w, const char *name, const void *val, size_t len);
void fdtw_prop_u32(struct fdt_writer *w, const char *name, uint32_t v);
void fdtw_prop_u64(struct fdt_writer *w, const char *name, uint64_t v); /* two cells */
void fdtw_prop_str(struct fdt_writer *w, const char *name, const char *s);
/* Host-order cells in, big-endian out. */
void fdtw_prop_cells(struct fdt_writer *w, const char *name, const uint32_t *cells, size_t n);
void fdtw_set_boot_cpuid(struct fdt_writer *w, uint32_t cpuid);
/* Append FDT_END, move the strings after the structure and write the header. The
 * blob's total size (> 0) or a negative ERR_* code (lib/err.h). Calling it again returns the same
 * size; any other call after it is misuse and fails the writer. */
int fdtw_finish(struct fdt_writer *w);

#endif
