/* SPDX-License-Identifier: Apache-2.0 */
/* isolation: touches one address outside its RAM and must never get past
 * it.  Under Vireo the access hits no G-stage mapping and Vireo stops the
 * VM (or reflects an access fault, which the runtime's trap handler reports
 * as a FAIL line with scause/sepc/stval); natively the access faults too (no
 * memory there, or PMP).  The one outcome that proves isolation broken is
 * the access completing: then this guest prints "isolation broken".
 *
 * bootargs: addr=0xHEX (default: the first byte past the end of the highest
 * /memory range), mode=read|write|exec (default read). */
#include "guests/rt/gfdt.h"
#include "guests/rt/rt.h"
#include "lib/string.h"

const char guest_name[] = "isolation";

#define MAX_RANGES 16

static uint64_t default_addr(void)
{
    struct mem_range mem[MAX_RANGES];
    int n = gfdt_memory(mem, MAX_RANGES);
    uint64_t end = 0;

    if (n == 0)
        guest_fail("expected a /memory range in the FDT (or addr= in bootargs), found none");
    for (int i = 0; i < n && i < MAX_RANGES; i++) {
        if (mem[i].end > end)
            end = mem[i].end;
    }
    return end;
}

static bool word_is(const char *s, size_t len, const char *word)
{
    return len == strlen(word) && strncmp(s, word, len) == 0;
}

void guest_main(uint64_t hartid)
{
    size_t alen = 0, mlen = 0;
    const char *arg = guest_bootarg("addr", &alen);
    const char *mode = guest_bootarg("mode", &mlen);
    uint64_t addr;

    (void)hartid;
    if (!mode) {
        mode = "read";
        mlen = 4;
    }
    if (!arg)
        addr = default_addr();
    else if (!guest_parse_u64(arg, alen, &addr))
        guest_fail("bootargs addr=%.*s: expected a number such as 0x90000000", (int)alen, arg);

    if (word_is(mode, mlen, "read")) {
        glog("reading 0x%lx", (unsigned long)addr);
        uint8_t v = *(volatile uint8_t *)(uintptr_t)addr;
        guest_fail("isolation broken: read returned (0x%02x from 0x%lx)", v, (unsigned long)addr);
    } else if (word_is(mode, mlen, "write")) {
        glog("writing 0x%lx", (unsigned long)addr);
        *(volatile uint8_t *)(uintptr_t)addr = 0x5a;
        /* Make sure the store is performed before claiming it went through. */
        __asm__ volatile("fence rw, rw" ::: "memory");
        guest_fail("isolation broken: write returned (0x5a to 0x%lx)", (unsigned long)addr);
    } else if (word_is(mode, mlen, "exec")) {
        glog("executing at 0x%lx", (unsigned long)addr);
        /* Whatever runs there, coming back here means it was fetched. */
        ((void (*)(void))(uintptr_t)addr)();
        guest_fail("isolation broken: exec returned (call to 0x%lx)", (unsigned long)addr);
    }
    guest_fail("bootargs mode=%.*s: expected read, write or exec", (int)mlen, mode);
}
