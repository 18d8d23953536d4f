/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: vireoctl's trace converter (tools/vireoctl/trace_json.c)
 * on records as they come off the wire (32-byte chunks, lib/trace_rec.h),
 * sorted as vireoctl sorts them.  The first byte picks which VM slots have
 * names.  The output must parse as JSON (lib/json.c) and hold as many
 * exit ends as begins. */
#define _GNU_SOURCE /* open_memstream */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "tools/vireoctl/trace_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tj conv;
static struct tj_meta meta;

static size_t count(const char *s, size_t n, const char *pat)
{
    size_t k = 0, m = strlen(pat);
    for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), pat, m)) != NULL; p += m)
        k++;
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    memset(&meta, 0, sizeof(meta));
    meta.timebase_hz = data[0] & 1 ? 10000000 : 0; /* 0: the converter's default */
    for (unsigned i = 0; i < 8; i++)
        if (data[0] & (1u << i)) {
            meta.vm[i].used = true;
            snprintf(meta.vm[i].name, TJ_NAME, "vm\"%u\\", i);
            strcpy(meta.vm[i].bus[0], "uart");
        }
    data++;
    size--;
    size_t n = size / TRACE_REC_WIRE_SIZE, k = 0;
    struct trace_rec *r = calloc(n ? n : 1, sizeof(*r));
    if (!r)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (trace_rec_decode(data + i * TRACE_REC_WIRE_SIZE, &r[k]))
            k++;
    tj_sort(r, k);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    tj_begin(&conv, f, &meta);
    for (size_t i = 0; i < k; i++)
        tj_add(&conv, &r[i]);
    tj_end(&conv);
    tj_summary(&conv, f);
    fclose(f);
    /* The JSON is what comes before the summary. */
    char *end = strstr(buf, "\nExits by reason");
    size_t jlen = end ? (size_t)(end - buf) : len;
    size_t ntok = 16 + jlen / 2;
    jsmntok_t *toks = malloc(ntok * sizeof(*toks));
    struct json_doc d;
    if (!toks || json_parse(&d, buf, jlen, toks, (int)ntok) != 0)
        abort(); /* not JSON */
    if (count(buf, jlen, "\"ph\":\"B\"") != count(buf, jlen, "\"ph\":\"E\""))
        abort(); /* a begin without its end */
    free(toks);
    free(buf);
    free(r);
    return 0;
}
