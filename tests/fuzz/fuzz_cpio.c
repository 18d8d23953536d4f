/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the cpio newc reader (lib/cpio.h) on an untrusted
 * archive. Iterate every entry, then look up the names it returned and the
 * names Vireo's config loader asks for. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cpio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LOOKUPS 16

static volatile uint64_t sink;

static void check_span(const uint8_t *base, size_t len, const void *p, size_t n)
{
    const uint8_t *q = p;
    if (n && (q < base || q > base + len || n > (size_t)(base + len - q)))
        abort(); /* returned data must lie inside the archive */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cpio_iter it;
    const char *name;
    size_t namelen, dsize;
    const void *d;
    char names[MAX_LOOKUPS][64];
    int nnames = 0, rc, entries = 0;

    cpio_iter_init(&it, data, size);
    while ((rc = cpio_next(&it, &name, &namelen, &d, &dsize)) == 1) {
        entries++;
        check_span(data, size, name, namelen + 1);
        check_span(data, size, d, dsize);
        if (name[namelen] != '\0' || strlen(name) != namelen)
            abort();
        if (dsize)
            sink += ((const uint8_t *)d)[dsize - 1];
        sink += it.mode;
        if (nnames < MAX_LOOKUPS && namelen < sizeof(names[0])) {
            memcpy(names[nnames], name, namelen + 1);
            nnames++;
        }
        cpio_name_matches(name, namelen, "vireo.dtb");
        cpio_name_matches(name, namelen, "./vm0/kernel");
    }
    if (rc != 0 && rc != ERR_STRUCTURE)
        abort();
    if (!it.why)
        abort();
    sink += strlen(it.why);
    /* Sticky end state. */
    if (cpio_next(&it, NULL, NULL, NULL, NULL) != rc)
        abort();

    static const char *const fixed[] = {"vireo.dtb", "vm0/kernel", "/vm0/initrd", "./x",
                                        "",          "/",          "TRAILER!!!"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        int r = cpio_find(data, size, fixed[i], &d, &dsize);
        if (r == 0)
            check_span(data, size, d, dsize);
        else if (r != ERR_NOENT && r != ERR_STRUCTURE)
            abort();
    }
    for (int i = 0; i < nnames; i++) {
        int r = cpio_find(data, size, names[i], NULL, NULL);
        if (r == 0 && cpio_find(data, size, names[i], &d, &dsize) == 0)
            check_span(data, size, d, dsize);
    }
    sink += (uint64_t)entries;
    return 0;
}
