/* SPDX-License-Identifier: Apache-2.0 */
/* JSON for the control protocol (docs/control.md): reading a document
 * that arrived from outside, and writing one.
 *
 * Reading uses jsmn (Debian's libjsmn-dev, a small, widely used
 * tokenizer that allocates nothing) in strict mode, then checks what jsmn
 * lets through so that only RFC 8259 JSON is accepted: exactly one value
 * and nothing after it but whitespace; commas and colons exactly where
 * they belong; object keys are strings; numbers, literals and escapes in
 * their exact grammar; no raw control characters in strings; nesting at
 * most JSON_DEPTH.  A document is hostile input: every accessor checks the
 * token's type and range and never reads outside the text.
 *
 * Writing goes into a caller's buffer; running out of room marks the
 * writer bad and later calls do nothing (jw_finish says so). */
#ifndef VIREO_LIB_JSON_H
#define VIREO_LIB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSMN_HEADER
#include <jsmn.h>
#undef JSMN_HEADER

#define JSON_DEPTH 16 /* containers inside containers, at most */

enum json_type {
    JSON_INVALID,
    JSON_OBJECT,
    JSON_ARRAY,
    JSON_STRING,
    JSON_NUMBER,
    JSON_TRUE,
    JSON_FALSE,
    JSON_NULL,
};

struct json_doc {
    const char *s;
    size_t len;
    jsmntok_t *tok;
    int cap, n;
    size_t bad_at; /* where json_parse found the text wrong (for messages) */
};

/* Parses s[0..len) into tok[0..cap).  0; ERR_INVAL (not JSON: bad_at is
 * the offset), ERR_TRUNCATED (it ends early), ERR_NOSPC (more than cap
 * tokens), ERR_DEPTH (nested deeper than JSON_DEPTH), ERR_RANGE (longer
 * than INT32_MAX).  Token 0 is the document's value.  A bare number or
 * literal as the whole document ("1") is refused as truncated: jsmn's
 * strict mode wants a delimiter after one, and the protocol's messages
 * are objects anyway. */
int json_parse(struct json_doc *d, const char *s, size_t len, jsmntok_t *tok, int cap);

enum json_type json_type(const struct json_doc *d, int i);
/* Members of an object or elements of an array; 0 for anything else. */
int json_size(const struct json_doc *d, int i);
/* The token after i and everything inside it. */
int json_next(const struct json_doc *d, int i);
/* The value of key in object obj: its token, ERR_NOENT, or ERR_INVAL if
 * obj is not an object.  A key given twice is found once (the first);
 * json_dup_key says whether an object has one. */
int json_get(const struct json_doc *d, int obj, const char *key);
bool json_dup_key(const struct json_doc *d, int obj);
/* Element k of array arr, or ERR_NOENT / ERR_INVAL. */
int json_elem(const struct json_doc *d, int arr, int k);

/* A string's value, unescaped (UTF-8), NUL-terminated: its length, or
 * ERR_INVAL (not a string, or it holds \u0000 or an unpaired surrogate),
 * ERR_NOSPC (buf too small). */
int json_str(const struct json_doc *d, int i, char *buf, size_t size);
/* Whether token i is a string equal to lit (after unescaping). */
bool json_str_eq(const struct json_doc *d, int i, const char *lit);
/* An integer in [0, UINT64_MAX]: 0, ERR_INVAL (not a number, or has a
 * fraction, exponent or sign), ERR_RANGE (too large). */
int json_u64(const struct json_doc *d, int i, uint64_t *out);
/* A signed integer: as json_u64, with a minus sign allowed. */
int json_i64(const struct json_doc *d, int i, int64_t *out);
int json_bool(const struct json_doc *d, int i, bool *out);
/* Token i's text as it appears in the document (for echoing an id). */
const char *json_raw(const struct json_doc *d, int i, size_t *len);

/* The writer. */
struct jw {
    char *buf;
    size_t cap, len;
    bool bad;
    int depth;
    bool first[JSON_DEPTH + 1];  /* nothing written yet in this container */
    char closer[JSON_DEPTH + 1]; /* '}' or ']' for each open container */
    bool key;                    /* a key was just written: a value follows */
};

void jw_init(struct jw *w, char *buf, size_t cap);
void jw_obj(struct jw *w);
void jw_arr(struct jw *w);
void jw_end(struct jw *w); /* closes the innermost object or array */
void jw_key(struct jw *w, const char *k);
/* Strings: quotes, backslashes and control characters escaped; bytes
 * above 0x7e that are not valid UTF-8 become '?'. */
void jw_str(struct jw *w, const char *s);
void jw_strn(struct jw *w, const char *s, size_t n);
/* A string of base64 (RFC 4648) of n bytes: binary data. */
void jw_base64(struct jw *w, const void *p, size_t n);
void jw_u64(struct jw *w, uint64_t v);
void jw_i64(struct jw *w, int64_t v);
void jw_bool(struct jw *w, bool v);
void jw_null(struct jw *w);
/* Pre-formed JSON text (a value copied from a request). */
void jw_raw(struct jw *w, const char *s, size_t n);
/* Key and value in one call. */
void jw_kstr(struct jw *w, const char *k, const char *s);
void jw_ku64(struct jw *w, const char *k, uint64_t v);
void jw_kbool(struct jw *w, const char *k, bool v);
/* The length written (NUL-terminated when it fits), or ERR_NOSPC if it did
 * not fit, ERR_STRUCTURE if containers were left open. */
long jw_finish(struct jw *w);

#endif
