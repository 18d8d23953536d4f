/* SPDX-License-Identifier: Apache-2.0 */
/* echo: console input through SBI (DBCN read, or the legacy getchar when
 * there is no DBCN): echoes what it reads and passes when a line "ping"
 * arrives.  Under Vireo the bytes come from the host UART's receive
 * interrupt; the test types them into QEMU's console. */
#include "guests/rt/rt.h"
#include "guests/rt/sbi.h"
#include "lib/string.h"

const char guest_name[] = "echo";

#define DBCN_EID 0x4442434Eul
#define WAIT_MS  30000

void guest_main(uint64_t hartid)
{
    static char line[128];
    size_t len = 0;
    bool dbcn = sbi_probe(DBCN_EID) > 0;
    uint64_t limit = guest_time() + guest_ms_to_ticks(WAIT_MS);

    (void)hartid;
    glog("type ping (reading through %s)", dbcn ? "DBCN" : "legacy getchar");
    while (guest_time() < limit) {
        char buf[16];
        long n;
        if (dbcn) {
            struct sbiret r = sbi_call(DBCN_EID, 1, sizeof(buf), (uintptr_t)buf, 0);
            if (r.error)
                guest_fail("DBCN read returned %ld", r.error);
            n = r.value;
        } else {
            struct sbiret r = sbi_call(0x02, 0, 0, 0, 0);
            n = r.error >= 0;
            buf[0] = (char)r.error;
        }
        for (long i = 0; i < n; i++) {
            char c = buf[i];
            if (c == '\r' || c == '\n') {
                line[len] = '\0';
                glog("read line \"%s\"", line);
                if (!strcmp(line, "ping"))
                    guest_pass("got ping from the console");
                len = 0;
            } else if (len + 1 < sizeof(line)) {
                line[len++] = c;
            }
        }
    }
    guest_fail("expected a line \"ping\" on the console within %d ms", WAIT_MS);
}
