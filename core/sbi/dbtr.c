/* SPDX-License-Identifier: Apache-2.0 */
/* DBTR (EID "DBTR", SBI 3.0): debug triggers for guests.  Each vCPU has
 * trig_max triggers of its own, trig_max being the host's mcontrol6
 * triggers (vcpu_arch_trig_max: found through the firmware's DBTR), kept
 * here exactly as the guest configured them (struct vcpu_dbtr): read,
 * update, enable and disable act on that copy.  What the hardware gets is
 * a translation (vcpu_arch's trig[], armed on the hart only while the vCPU
 * runs, arch/riscv/dbtr.c): always mcontrol6, its S and U bits moved to VS
 * and VU, so it matches only in this guest and its hit is a breakpoint
 * exception the guest takes itself.  A guest's mcontrol (type 2, which
 * cannot match in VS/VU-mode) becomes the equivalent mcontrol6.
 *
 * Guests get address/data match triggers (types 2 and 6) with the
 * breakpoint action, unchained, without textra (tdata3 = 0) and, having no
 * H extension, without VS/VU matching; other settings of those fields are
 * NOT_SUPPORTED.  dmode and m must be 0 (the specification's constraint:
 * INVALID_PARAM, as are reserved bits); other trigger types get FAILED (no
 * trigger of the hart can take them).  Errors and their order follow the
 * specification; where it leaves the order open, the firmware's (OpenSBI)
 * is kept: read checks the range before the shared memory, install and
 * update the shared memory first.  Install and update check every entry
 * before changing anything, so a failing call changes nothing. */
#include "core/sbi/sbi.h"

#include "core/panic.h"
#include "core/vm.h"
#include "lib/err.h"

#define DBTR_NO_SHMEM UINT64_MAX

/* Fields a guest may write, per type (the rest are reserved). */
#define MC_FIELDS                                                                                  \
    (TDATA1_TYPE(0xf) | TDATA1_DMODE | MCONTROL_LOAD | MCONTROL_STORE | MCONTROL_EXECUTE |         \
     MCONTROL_U | MCONTROL_S | MCONTROL_M | MCONTROL_MATCH | MCONTROL_CHAIN | MCONTROL_ACTION)
#define MC2_FIELDS                                                                                 \
    (MC_FIELDS | MCONTROL_SIZELO | MCONTROL_TIMING | MCONTROL_SELECT | MCONTROL_HIT |              \
     MCONTROL_SIZEHI | MCONTROL_MASKMAX)
#define MC6_FIELDS                                                                                 \
    (MC_FIELDS | MCONTROL6_UNCERTAINEN | MCONTROL6_SIZE | MCONTROL6_SELECT | MCONTROL6_HIT0 |      \
     MCONTROL6_VU | MCONTROL6_VS | MCONTROL6_HIT1 | MCONTROL6_UNCERTAIN)
#define MC_MODES (MCONTROL_U | MCONTROL_S)

/* One shared-memory entry: (idx or state, tdata1, tdata2, tdata3). */
struct dbtr_entry {
    uint64_t word[4];
};
_Static_assert(sizeof(struct dbtr_entry) == SBI_DBTR_ENTRY_SIZE, "a DBTR entry is XLEN/2 bytes");

static unsigned dbtr_type(uint64_t tdata1)
{
    return (unsigned)(tdata1 >> TDATA1_TYPE_SHIFT);
}

/* mcontrol's size (sizehi:sizelo), which mcontrol6 encodes the same way
 * up to 64 bits. */
static uint64_t mcontrol_size(uint64_t tdata1)
{
    return ((tdata1 & MCONTROL_SIZEHI) >> MCONTROL_SIZEHI_SHIFT) << 2 |
           (tdata1 & MCONTROL_SIZELO) >> MCONTROL_SIZELO_SHIFT;
}

/* SBI_SUCCESS if a guest may have this configuration, else the error its
 * install or update gets. */
static long dbtr_check(uint64_t tdata1, uint64_t tdata3)
{
    unsigned type = dbtr_type(tdata1);

    if (type != TRIG_TYPE_MCONTROL && type != TRIG_TYPE_MCONTROL6)
        return SBI_ERR_FAILED; /* no trigger of this hart has that type */
    if ((tdata1 & (TDATA1_DMODE | MCONTROL_M)) ||
        (tdata1 & ~(type == TRIG_TYPE_MCONTROL ? MC2_FIELDS : MC6_FIELDS)))
        return SBI_ERR_INVALID_PARAM;
    if ((tdata1 & (MCONTROL_ACTION | MCONTROL_CHAIN)) || tdata3)
        return SBI_ERR_NOT_SUPPORTED;
    if (type == TRIG_TYPE_MCONTROL && ((tdata1 & MCONTROL_TIMING) || mcontrol_size(tdata1) > 5))
        return SBI_ERR_NOT_SUPPORTED; /* mcontrol6 has no "after", nor those sizes */
    if (type == TRIG_TYPE_MCONTROL6 && (tdata1 & (MCONTROL6_VU | MCONTROL6_VS)))
        return SBI_ERR_NOT_SUPPORTED; /* the guest has no H extension */
    return SBI_SUCCESS;
}

/* The hardware's configuration for a guest's (checked) tdata1. */
static uint64_t dbtr_hw_tdata1(uint64_t tdata1)
{
    uint64_t hw = TDATA1_TYPE(TRIG_TYPE_MCONTROL6) |
                  (tdata1 & (MCONTROL_LOAD | MCONTROL_STORE | MCONTROL_EXECUTE | MCONTROL_MATCH));

    if (dbtr_type(tdata1) == TRIG_TYPE_MCONTROL) {
        hw |= mcontrol_size(tdata1) << MCONTROL6_SIZE_SHIFT;
        if (tdata1 & MCONTROL_SELECT)
            hw |= MCONTROL6_SELECT;
    } else {
        hw |= tdata1 & (MCONTROL6_SIZE | MCONTROL6_SELECT | MCONTROL6_UNCERTAINEN);
    }
    if (tdata1 & MCONTROL_S)
        hw |= MCONTROL6_VS;
    if (tdata1 & MCONTROL_U)
        hw |= MCONTROL6_VU;
    return hw;
}

/* trig_state for a trigger the guest configured with tdata1 in slot idx:
 * mapped, the saved U/S bits, and the index (hw_trig_idx, flagged as not
 * a hardware index: the hardware trigger changes from run to run). */
static uint64_t dbtr_state(uint64_t tdata1, unsigned idx)
{
    uint64_t state = SBI_DBTR_STATE_MAPPED | ((uint64_t)idx << SBI_DBTR_STATE_HW_IDX_SHIFT);

    if (tdata1 & MCONTROL_U)
        state |= SBI_DBTR_STATE_U;
    if (tdata1 & MCONTROL_S)
        state |= SBI_DBTR_STATE_S;
    return state;
}

static bool dbtr_mapped(const struct vcpu *v, unsigned idx)
{
    return (v->dbtr.trig[idx].state & SBI_DBTR_STATE_MAPPED) != 0;
}

/* The hardware's part of the vCPU's triggers as they now are: those
 * mapped, enabled (a mode bit set) and watching something. */
static void dbtr_translate(struct vcpu *v, unsigned max)
{
    struct vcpu_arch *a = &v->arch;

    a->trig_on &= ~((1u << VCPU_TRIG_MAX) - 1); /* the debugger's slots stay */
    for (unsigned i = 0; i < max; i++) {
        uint64_t t1 = v->dbtr.trig[i].tdata1;
        if (!dbtr_mapped(v, i) || !(t1 & MC_MODES) ||
            !(t1 & (MCONTROL_LOAD | MCONTROL_STORE | MCONTROL_EXECUTE)))
            continue;
        a->trig[i] = (struct vcpu_trig){dbtr_hw_tdata1(t1), v->dbtr.trig[i].tdata2, 0};
        a->trig_on |= 1u << i;
    }
}

/* ... and armed on this hart in place of what was. */
static void dbtr_sync(struct vcpu *v, unsigned max)
{
    dbtr_translate(v, max);
    long err = vcpu_arch_sync_triggers(&v->arch);
    if (err)
        panic("firmware refused to uninstall debug triggers (SBI error %ld)", err);
}

static struct sbi_ret dbtr_set_shmem(struct vcpu *v, unsigned max, const struct sbi_args *c)
{
    unsigned long lo = c->a[0], hi = c->a[1], flags = c->a[2];

    if (flags)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    if (lo == (unsigned long)-1 && hi == (unsigned long)-1) {
        v->dbtr.shmem = DBTR_NO_SHMEM;
        return (struct sbi_ret){SBI_SUCCESS, 0};
    }
    if (lo & 7)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    /* trig_max entries, in the VM's RAM (on RV64 the address is all in lo). */
    if (hi || !gpa_is_ram(v->vm, lo, (uint64_t)max * SBI_DBTR_ENTRY_SIZE))
        return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
    v->dbtr.shmem = lo;
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

static struct sbi_ret dbtr_read(struct vcpu *v, unsigned max, unsigned long base,
                                unsigned long count)
{
    /* The specification's range: base + count must stay below trig_max. */
    if (base >= max || count >= max - base)
        return (struct sbi_ret){SBI_ERR_BAD_RANGE, 0};
    if (v->dbtr.shmem == DBTR_NO_SHMEM)
        return (struct sbi_ret){SBI_ERR_NO_SHMEM, 0};
    for (unsigned long i = 0; i < count; i++) {
        const unsigned idx = (unsigned)(base + i);
        struct dbtr_entry e = {{v->dbtr.trig[idx].state, v->dbtr.trig[idx].tdata1,
                                v->dbtr.trig[idx].tdata2, v->dbtr.trig[idx].tdata3}};
        if (gpa_write(v->vm, v->dbtr.shmem + i * sizeof(e), &e, sizeof(e)) < 0)
            return (struct sbi_ret){SBI_ERR_FAILED, 0};
    }
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

/* The first count entries of the shared memory (count < trig_max), or
 * false if the shared memory is off or unreadable (*err says which). */
static bool dbtr_entries(struct vcpu *v, unsigned max, unsigned long count, struct dbtr_entry *e,
                         long *err)
{
    if (v->dbtr.shmem == DBTR_NO_SHMEM) {
        *err = SBI_ERR_NO_SHMEM;
        return false;
    }
    if (count >= max) {
        *err = SBI_ERR_BAD_RANGE;
        return false;
    }
    if (gpa_read(v->vm, v->dbtr.shmem, e, count * sizeof(*e)) < 0) {
        *err = SBI_ERR_FAILED;
        return false;
    }
    return true;
}

static struct sbi_ret dbtr_install(struct vcpu *v, unsigned max, unsigned long count)
{
    struct dbtr_entry e[VCPU_TRIG_MAX];
    unsigned free = 0;
    long err;

    if (!dbtr_entries(v, max, count, e, &err))
        return (struct sbi_ret){err, 0};
    for (unsigned long i = 0; i < count; i++) {
        err = dbtr_check(e[i].word[1], e[i].word[3]);
        if (err)
            return (struct sbi_ret){err, (long)i};
    }
    for (unsigned i = 0; i < max; i++)
        free += !dbtr_mapped(v, i);
    if (free < count)
        return (struct sbi_ret){SBI_ERR_FAILED, (long)free}; /* the first without a trigger */
    /* Lowest free index first, as the firmware assigns them. */
    unsigned idx = 0;
    for (unsigned long i = 0; i < count; i++) {
        while (dbtr_mapped(v, idx))
            idx++;
        v->dbtr.trig[idx].state = dbtr_state(e[i].word[1], idx);
        v->dbtr.trig[idx].tdata1 = e[i].word[1];
        v->dbtr.trig[idx].tdata2 = e[i].word[2];
        v->dbtr.trig[idx].tdata3 = e[i].word[3];
        uint64_t word0 = idx;
        if (gpa_write(v->vm, v->dbtr.shmem + i * sizeof(e[0]), &word0, sizeof(word0)) < 0)
            break; /* cannot happen: the shared memory was checked to be RAM */
    }
    dbtr_sync(v, max);
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

static struct sbi_ret dbtr_update(struct vcpu *v, unsigned max, unsigned long count)
{
    struct dbtr_entry e[VCPU_TRIG_MAX];
    long err;

    if (!dbtr_entries(v, max, count, e, &err))
        return (struct sbi_ret){err, 0};
    for (unsigned long i = 0; i < count; i++) {
        uint64_t idx = e[i].word[0], t1 = e[i].word[1];
        if (idx >= max)
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, (long)i};
        if (!dbtr_mapped(v, (unsigned)idx))
            return (struct sbi_ret){SBI_ERR_FAILED, (long)i};
        uint64_t old = v->dbtr.trig[idx].tdata1;
        if (dbtr_type(t1) != dbtr_type(old) || (t1 & MCONTROL_CHAIN) != (old & MCONTROL_CHAIN))
            return (struct sbi_ret){SBI_ERR_INVALID_PARAM, (long)i};
        err = dbtr_check(t1, e[i].word[3]);
        if (err)
            return (struct sbi_ret){err, (long)i};
    }
    for (unsigned long i = 0; i < count; i++) {
        unsigned idx = (unsigned)e[i].word[0];
        v->dbtr.trig[idx].state = dbtr_state(e[i].word[1], idx);
        v->dbtr.trig[idx].tdata1 = e[i].word[1];
        v->dbtr.trig[idx].tdata2 = e[i].word[2];
        v->dbtr.trig[idx].tdata3 = e[i].word[3];
    }
    dbtr_sync(v, max);
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

/* The triggers base + (bits of mask), as a bit set: SBI_SUCCESS, or
 * INVALID_PARAM if one is past trig_max or not mapped. */
static long dbtr_set_of(const struct vcpu *v, unsigned max, unsigned long base, unsigned long mask,
                        uint32_t *set)
{
    *set = 0;
    for (unsigned b = 0; b < 64; b++) {
        if (!((mask >> b) & 1))
            continue;
        if (base >= max || b >= max - base || !dbtr_mapped(v, (unsigned)(base + b)))
            return SBI_ERR_INVALID_PARAM;
        *set |= 1u << (base + b);
    }
    return SBI_SUCCESS;
}

static struct sbi_ret dbtr_uninstall_enable_disable(struct vcpu *v, unsigned max,
                                                    const struct sbi_args *c)
{
    uint32_t set;
    long err = dbtr_set_of(v, max, c->a[0], c->a[1], &set);

    if (err)
        return (struct sbi_ret){err, 0};
    for (unsigned i = 0; i < max; i++) {
        if (!((set >> i) & 1))
            continue;
        uint64_t *t1 = &v->dbtr.trig[i].tdata1, state = v->dbtr.trig[i].state;
        if (c->fid == SBI_DBTR_UNINSTALL_TRIGGERS) {
            v->dbtr.trig[i].state = *t1 = v->dbtr.trig[i].tdata2 = v->dbtr.trig[i].tdata3 = 0;
        } else if (c->fid == SBI_DBTR_DISABLE_TRIGGERS) {
            *t1 &= ~MC_MODES;
        } else {
            /* Enable: the mode bits back from their saved copies. */
            *t1 = (*t1 & ~MC_MODES) | ((state & SBI_DBTR_STATE_U) ? MCONTROL_U : 0) |
                  ((state & SBI_DBTR_STATE_S) ? MCONTROL_S : 0);
        }
    }
    dbtr_sync(v, max);
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

static struct sbi_ret dbtr_call(struct vcpu *v, const struct sbi_args *c)
{
    unsigned max = vcpu_arch_trig_max();

    switch (c->fid) {
    case SBI_DBTR_NUM_TRIGGERS: {
        unsigned type = dbtr_type(c->a[0]);
        bool match = c->a[0] == 0 || type == TRIG_TYPE_MCONTROL || type == TRIG_TYPE_MCONTROL6;
        return (struct sbi_ret){SBI_SUCCESS, match ? (long)max : 0};
    }
    case SBI_DBTR_SET_SHMEM:
        return dbtr_set_shmem(v, max, c);
    case SBI_DBTR_READ_TRIGGERS:
        return dbtr_read(v, max, c->a[0], c->a[1]);
    case SBI_DBTR_INSTALL_TRIGGERS:
        return dbtr_install(v, max, c->a[0]);
    case SBI_DBTR_UPDATE_TRIGGERS:
        return dbtr_update(v, max, c->a[0]);
    case SBI_DBTR_UNINSTALL_TRIGGERS:
    case SBI_DBTR_ENABLE_TRIGGERS:
    case SBI_DBTR_DISABLE_TRIGGERS:
        return dbtr_uninstall_enable_disable(v, max, c);
    default:
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}

int sbi_dbtr_state_check(const struct vcpu_dbtr *d)
{
    unsigned max = vcpu_arch_trig_max();

    if (d->shmem != DBTR_NO_SHMEM && (d->shmem & 7))
        return ERR_RANGE;
    for (unsigned i = 0; i < VCPU_TRIG_MAX; i++) {
        uint64_t state = d->trig[i].state, t1 = d->trig[i].tdata1;
        if (!(state & SBI_DBTR_STATE_MAPPED)) {
            if (state | t1 | d->trig[i].tdata2 | d->trig[i].tdata3)
                return ERR_RANGE; /* a free trigger is all zero */
            continue;
        }
        if (i >= max || dbtr_check(t1, d->trig[i].tdata3) != SBI_SUCCESS)
            return ERR_RANGE;
        /* Its state is what install or update made of some configuration:
         * the saved mode bits, and the mode bits now either those (enabled)
         * or none (disabled). */
        uint64_t saved = ((state & SBI_DBTR_STATE_U) ? MCONTROL_U : 0) |
                         ((state & SBI_DBTR_STATE_S) ? MCONTROL_S : 0);
        uint64_t modes = t1 & MC_MODES;
        if (state != dbtr_state(saved, i) || (modes && modes != saved))
            return ERR_RANGE;
    }
    return 0;
}

void sbi_dbtr_restored(struct vcpu *v)
{
    dbtr_translate(v, vcpu_arch_trig_max());
}

/* Offered when the host has triggers for guests. */
static bool dbtr_available(const struct vcpu *v)
{
    (void)v;
    return vcpu_arch_trig_max() > 0;
}

const struct sbi_ext sbi_ext_dbtr = {
    .eid_min = SBI_EXT_DBTR,
    .eid_max = SBI_EXT_DBTR,
    .name = "dbtr",
    .handler = dbtr_call,
    .available = dbtr_available,
};
