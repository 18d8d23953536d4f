/* SPDX-License-Identifier: Apache-2.0 */
/* Guests' debug triggers on the host's.  Only machine mode reaches the
 * Sdtrig CSRs, so Vireo asks its firmware through SBI DBTR, and only for
 * this: while a vCPU runs on a hart, its armed triggers are installed
 * there (on load); when it leaves, they are uninstalled (on put), so a
 * trigger never outlives its vCPU's slice on the hart and never matches in
 * another VM.  Each trigger was translated by core/sbi/dbtr.c to match in
 * VS/VU-mode only, with the breakpoint-exception action: a hit traps
 * straight into the guest (hedeleg), never into Vireo.
 *
 * Only num_triggers, set_shmem, install and uninstall are used (one
 * trigger per install, which every firmware version takes the same way);
 * read, update, enable and disable are served to guests from the vCPU's
 * own state.  A vCPU with no armed trigger costs the switch one test. */
#include "arch/riscv/dbtr.h"

#include "arch/arch.h"
#include "arch/riscv/sbi.h"
#include "arch/riscv/vcpu_arch.h"
#include "core/hart.h"

/* The firmware's shared memory, one per hart.  Installs use entry 0 only,
 * but the firmware writes the index back either into entry 0's first word
 * (the specification) or right after entry 0's four words (OpenSBI 1.5.1,
 * whose entry is data then id, not a union): both places are watched. */
struct dbtr_fw_shmem {
    uint64_t word[8];
};
static struct dbtr_fw_shmem dbtr_shmem[HART_MAX] __attribute__((aligned(64)));

#define DBTR_NO_IDX UINT64_MAX

/* Triggers per vCPU, from the first hart set up (the boot hart); -1 before. */
static int dbtr_max = -1;
static unsigned dbtr_fw_count; /* the firmware's triggers (every index Vireo may own) */

unsigned vcpu_arch_trig_max(void)
{
    int n = __atomic_load_n(&dbtr_max, __ATOMIC_RELAXED);
    return n < 0 ? 0 : (unsigned)n;
}

void dbtr_hart_init(void)
{
    struct hart *h = arch_this_hart();
    unsigned n = 0;

    if (sbi_probe(SBI_EXT_DBTR) > 0) {
        struct sbiret r =
            sbi_ecall(SBI_EXT_DBTR, SBI_DBTR_NUM_TRIGGERS, TDATA1_TYPE(TRIG_TYPE_MCONTROL6), 0, 0);
        n = r.error ? 0 : (unsigned)r.value;
        r = sbi_ecall(SBI_EXT_DBTR, SBI_DBTR_NUM_TRIGGERS, 0, 0, 0);
        if (!r.error && (unsigned long)r.value > dbtr_fw_count)
            __atomic_store_n(&dbtr_fw_count, (unsigned)r.value, __ATOMIC_RELAXED);
    }
    if (n) {
        /* A firmware that already has shared memory for this hart (an
         * earlier setup) refuses a new one until it is disabled. */
        sbi_ecall(SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, (unsigned long)-1, (unsigned long)-1, 0);
        struct sbiret r =
            sbi_ecall(SBI_EXT_DBTR, SBI_DBTR_SET_SHMEM, (unsigned long)&dbtr_shmem[h->index], 0, 0);
        if (r.error)
            n = 0;
    }
    if (n > VCPU_TRIG_MAX)
        n = VCPU_TRIG_MAX;
    int unset = -1;
    __atomic_compare_exchange_n(&dbtr_max, &unset, (int)n, false, __ATOMIC_RELAXED,
                                __ATOMIC_RELAXED);
    /* Harts are expected to be alike; on one with fewer, the triggers
     * past its count are not armed while a vCPU runs there. */
}

void dbtr_arm(struct vcpu_arch *a)
{
    struct dbtr_fw_shmem *m = &dbtr_shmem[arch_this_hart()->index];

    /* The debugger's slots first: on a hart with too few triggers it is
     * the guest's own that are left out while someone debugs it. */
    for (unsigned j = 0; j < VCPU_TRIG_SLOTS; j++) {
        unsigned i = (j + VCPU_TRIG_MAX) % VCPU_TRIG_SLOTS;
        if (!((a->trig_on >> i) & 1))
            continue;
        m->word[0] = m->word[4] = DBTR_NO_IDX;
        m->word[1] = a->trig[i].tdata1;
        m->word[2] = a->trig[i].tdata2;
        m->word[3] = a->trig[i].tdata3;
        struct sbiret r = sbi_ecall(SBI_EXT_DBTR, SBI_DBTR_INSTALL_TRIGGERS, 1, 0, 0);
        if (r.error)
            continue; /* the hart has fewer triggers than the boot hart */
        uint64_t idx = m->word[0] != DBTR_NO_IDX ? m->word[0] : m->word[4];
        if (idx < 64) {
            a->trig_fw |= 1ULL << idx;
            continue;
        }
        /* Installed, but where is not known: every index is taken back
         * on disarm (they are all Vireo's). */
        unsigned n = __atomic_load_n(&dbtr_fw_count, __ATOMIC_RELAXED);
        a->trig_fw |= n >= 64 ? UINT64_MAX : (1ULL << n) - 1;
    }
}

/* Disables, then uninstalls, the firmware's triggers in mask: disabled
 * first because uninstalling clears tdata1 by writing 0 to it, which some
 * hardware models (QEMU 10) take as a write of trigger type 0 and ignore,
 * leaving the trigger armed; a trigger without mode bits never fires. */
static long dbtr_fw_remove(uint64_t mask)
{
    struct sbiret r = sbi_ecall(SBI_EXT_DBTR, SBI_DBTR_DISABLE_TRIGGERS, 0, mask, 0);
    if (r.error)
        return r.error;
    r = sbi_ecall(SBI_EXT_DBTR, SBI_DBTR_UNINSTALL_TRIGGERS, 0, mask, 0);
    return r.error;
}

long dbtr_disarm(struct vcpu_arch *a)
{
    if (dbtr_fw_remove(a->trig_fw)) {
        /* One index was not installed (a mask from an unknown index):
         * each on its own, where "not installed" is no failure. */
        for (unsigned b = 0; b < 64; b++) {
            if (!((a->trig_fw >> b) & 1))
                continue;
            long err = dbtr_fw_remove(1ULL << b);
            if (err && err != SBI_ERR_INVALID_PARAM)
                return err;
        }
    }
    a->trig_fw = 0;
    return 0;
}

long vcpu_arch_sync_triggers(struct vcpu_arch *a)
{
    if (a->trig_fw) {
        long err = dbtr_disarm(a);
        if (err)
            return err;
    }
    if (a->trig_on)
        dbtr_arm(a);
    return 0;
}
