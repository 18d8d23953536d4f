/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: platform_parse() (core/platform.h) on a blob that
 * fdt_open() accepted, plus the ISA string parser on the raw bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/platform.h"
#include "lib/fdt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct platform p;
    char err[160];
    char buf[256];

    /* The ISA parsers take NUL-terminated strings from the FDT. */
    size_t n = size < sizeof(buf) - 1 ? size : sizeof(buf) - 1;
    memcpy(buf, data, n);
    buf[n] = '\0';
    uint32_t isa = isa_parse_string(buf) | isa_parse_extension(buf);
    char out[256];
    int len = isa_format(isa, out, sizeof(out));
    if (len < 0 || (size_t)len >= sizeof(out) || strlen(out) != (size_t)len)
        abort();
    isa_format(isa, out, 1);

    struct fdt fdt;
    if (fdt_open(&fdt, data, size) < 0)
        return 0;
    memset(&p, 0xa5, sizeof(p));
    err[0] = '\0';
    int rc = platform_parse(&fdt, &p, err, sizeof(err));
    if (memchr(err, '\0', sizeof(err)) == NULL)
        abort();
    if (rc == 0) {
        if (p.nharts < 0 || p.nharts > PLAT_MAX_HARTS || p.nmem < 0 || p.nmem > PLAT_MAX_MEM ||
            p.nresv < 0 || p.nresv > PLAT_MAX_RESV || p.nvirtio < 0 || p.nvirtio > PLAT_MAX_VIRTIO)
            abort();
        if (p.bootargs)
            sink += strlen(p.bootargs);
        for (int i = 0; i < p.nharts; i++)
            if (platform_hart_index(&p, p.harts[i].hartid) < 0)
                abort();
        sink += (uint64_t)platform_hart_index(&p, ~0ul);
    }
    /* Small error buffers must be respected too. */
    platform_parse(&fdt, &p, err, 1);
    platform_parse(&fdt, &p, NULL, 0);
    return 0;
}
