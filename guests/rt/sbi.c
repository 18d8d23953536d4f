/* SPDX-License-Identifier: Apache-2.0 */
#include "guests/rt/sbi.h"

struct sbiret sbi_call(unsigned long ext, unsigned long fid, unsigned long arg0, unsigned long arg1,
                       unsigned long arg2)
{
    /* The calling convention pins arguments to a0-a2, the function to a6 and
     * the extension to a7; everything but a0/a1 survives the call.  "memory":
     * the firmware may read what we wrote before the call (HSM start). */
    register unsigned long a0 __asm__("a0") = arg0;
    register unsigned long a1 __asm__("a1") = arg1;
    register unsigned long a2 __asm__("a2") = arg2;
    register unsigned long a6 __asm__("a6") = fid;
    register unsigned long a7 __asm__("a7") = ext;

    __asm__ volatile("ecall" : "+r"(a0), "+r"(a1) : "r"(a2), "r"(a6), "r"(a7) : "memory");
    return (struct sbiret){.error = (long)a0, .value = (long)a1};
}

long sbi_probe(unsigned long ext)
{
    struct sbiret r = sbi_call(SBI_EXT_BASE, SBI_BASE_PROBE_EXT, ext, 0, 0);

    return r.error ? 0 : r.value;
}

const char *sbi_strerror(long err)
{
    static const char *const names[] = {
        "SBI_SUCCESS",
        "SBI_ERR_FAILED",
        "SBI_ERR_NOT_SUPPORTED",
        "SBI_ERR_INVALID_PARAM",
        "SBI_ERR_DENIED",
        "SBI_ERR_INVALID_ADDRESS",
        "SBI_ERR_ALREADY_AVAILABLE",
        "SBI_ERR_ALREADY_STARTED",
        "SBI_ERR_ALREADY_STOPPED",
        "SBI_ERR_NO_SHMEM",
        "SBI_ERR_INVALID_STATE",
        "SBI_ERR_BAD_RANGE",
        "SBI_ERR_TIMEOUT",
        "SBI_ERR_IO",
        "SBI_ERR_DENIED_LOCKED",
    };

    if (err <= 0 && -err < (long)(sizeof(names) / sizeof(names[0])))
        return names[-err];
    return "unknown SBI error";
}

long sbi_hart_start(uint64_t hartid, uint64_t start_addr, uint64_t opaque)
{
    return sbi_call(SBI_EXT_HSM, SBI_HSM_HART_START, hartid, start_addr, opaque).error;
}

long sbi_hart_status(uint64_t hartid)
{
    struct sbiret r = sbi_call(SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, hartid, 0, 0);

    return r.error ? r.error : r.value;
}

void sbi_set_timer(uint64_t when)
{
    static int have_time = -1; /* probed once; racing probes agree */

    if (have_time < 0)
        have_time = sbi_probe(SBI_EXT_TIME) != 0;
    if (have_time)
        sbi_call(SBI_EXT_TIME, SBI_TIME_SET_TIMER, when, 0, 0);
    else
        sbi_call(SBI_EXT_LEGACY_SET_TIMER, 0, when, 0, 0);
}

void sbi_shutdown(int failure)
{
    unsigned long reason = failure ? SBI_SRST_REASON_SYSFAILURE : SBI_SRST_REASON_NONE;

    sbi_call(SBI_EXT_SRST, SBI_SRST_RESET, SBI_SRST_TYPE_SHUTDOWN, reason, 0);
    /* Legacy shutdown cannot say "failure"; better an exit than a hang. */
    sbi_call(SBI_EXT_LEGACY_SHUTDOWN, 0, 0, 0, 0);
}
