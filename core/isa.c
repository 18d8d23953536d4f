/* SPDX-License-Identifier: Apache-2.0 */
/* The guest ISA table and its computation; see isa.h and docs/isa.md.
 *
 * Every extension Vireo knows has one row: how a guest gets it (passed
 * through: the hardware runs it in VS/VU-mode with no help, or with the
 * henvcfg/hcounteren/hstateen0 bits the row names), or why it is withheld.
 * An extension the host lists that has no row is withheld too: Vireo cannot
 * know whether it is safe.  Sources: the RISC-V privileged specification
 * (the H chapter: henvcfg, hcounteren, hstateen0, virtual-instruction
 * exceptions) and each extension's own specification. */
#include "core/isa.h"

#include "arch/riscv/encoding.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

struct isa_row {
    const char *name;
    const char *withheld; /* NULL: the guest gets it; else why not */
    const char *how;      /* how it gets it (docs/isa.md says the same) */
    uint64_t henvcfg;     /* henvcfg bits it needs; withheld if they are not writable */
    uint64_t hstateen0;   /* hstateen0 bits it needs (with Smstateen) */
    uint32_t hcounteren;  /* counters the guest may then read */
    const char *needs[2]; /* extensions the guest must have too */
    const char *keep;     /* why a VM cannot withhold it (NULL: it can) */
};

#define DIRECT "runs in VS/VU-mode as it is: nothing to enable"
#define NESTED "needs the H extension, which guests do not get"
#define MLEVEL "machine-level: the guest runs in VS-mode and never sees M-mode state"
#define FP     "FP instructions on the FP registers, which Vireo switches per vCPU"
#define VEC    "vector instructions on the vector state, which Vireo switches per vCPU"

#define GIVE(n, h)                                                                                 \
    {                                                                                              \
        .name = n, .how = h                                                                        \
    }
#define GIVE_NEEDS(n, a, h)                                                                        \
    {                                                                                              \
        .name = n, .how = h, .needs = { a }                                                        \
    }
#define GIVE_NEEDS2(n, a, b, h)                                                                    \
    {                                                                                              \
        .name = n, .how = h, .needs = { a, b }                                                     \
    }
#define KEEP "the guest cannot do without it"
#define GIVE_REQUIRED(n, h)                                                                        \
    {                                                                                              \
        .name = n, .how = h, .keep = KEEP                                                          \
    }
#define WITHHOLD(n, w)                                                                             \
    {                                                                                              \
        .name = n, .withheld = w                                                                   \
    }

/* In the order riscv,isa lists them: single letters canonically (i m a f d
 * q c b v h), then Z extensions by their first letter's place in that
 * order, then S extensions. */
static const struct isa_row rows[] = {
    GIVE_REQUIRED("i", "the base ISA"),
    GIVE_REQUIRED("m", "runs in VS/VU-mode as it is (Linux needs it)"),
    GIVE_REQUIRED("a", "runs in VS/VU-mode as it is (Linux needs it)"),
    GIVE("f", "FP registers switched lazily per vCPU; the guest's vsstatus.FS rules"),
    GIVE_NEEDS("d", "f", "FP registers switched lazily per vCPU"),
    WITHHOLD("q", "Vireo saves 64-bit FP registers only"),
    GIVE_NEEDS("c", "zca", DIRECT),
    GIVE_NEEDS2("b", "zba", "zbb", DIRECT),
    GIVE_NEEDS2("v", "d", "zve64d", "vector state switched lazily per vCPU; vsstatus.VS rules"),
    WITHHOLD("h", "no nested virtualization yet"),

    GIVE("zic64b", DIRECT),
    {.name = "zicbom",
     .how = "henvcfg.CBCFE and CBIE = 01 (CBO.INVAL flushes: invalidating could expose "
            "stale memory that belonged to another VM); riscv,cbom-block-size copied",
     .henvcfg = HENVCFG_CBCFE | HENVCFG_CBIE_FLUSH},
    GIVE("zicbop", "prefetch hints: " DIRECT "; riscv,cbop-block-size copied"),
    {.name = "zicboz",
     .how = "henvcfg.CBZE; riscv,cboz-block-size copied",
     .henvcfg = HENVCFG_CBZE},
    GIVE("ziccamoa", DIRECT),
    GIVE("ziccamoc", DIRECT),
    GIVE("ziccif", DIRECT),
    GIVE("zicclsm", DIRECT),
    GIVE("ziccrse", DIRECT),
    WITHHOLD("zicfilp", "needs henvcfg.LPE and per-vCPU landing-pad state; not implemented"),
    WITHHOLD("zicfiss", "needs henvcfg.SSE and a per-vCPU ssp CSR; not implemented"),
    GIVE("zicond", DIRECT),
    {.name = "zicntr",
     .how = "hcounteren.CY, TM and IR (Linux's clock reads time)",
     .hcounteren = HCOUNTEREN_CY | HCOUNTEREN_TM | HCOUNTEREN_IR,
     .keep = KEEP " (Linux reads the time CSR)"},
    GIVE_REQUIRED("zicsr", DIRECT),
    GIVE_REQUIRED("zifencei", DIRECT " (Vireo also sends remote FENCE.I for SBI)"),
    GIVE("zihintntl", DIRECT " (hints)"),
    GIVE("zihintpause", DIRECT " (PAUSE is a hint)"),
    WITHHOLD("zihpm", "the hpm counters count the whole hart's events, other VMs' and "
                      "Vireo's included (a side channel), and guests cannot program them "
                      "(no SBI PMU): hcounteren keeps them closed"),
    GIVE("zimop", DIRECT),
    GIVE("zmmul", DIRECT),
    GIVE("za64rs", DIRECT),
    GIVE("za128rs", DIRECT),
    GIVE("zaamo", DIRECT),
    GIVE("zabha", DIRECT),
    GIVE("zacas", DIRECT),
    GIVE("zalrsc", DIRECT),
    GIVE("zama16b", DIRECT),
    GIVE("zawrs", "WRS.STO runs as it is; WRS.NTO traps as a virtual instruction "
                  "(hstatus.VTW) and Vireo yields the hart"),
    GIVE_NEEDS("zfa", "f", FP),
    GIVE_NEEDS("zfbfmin", "f", FP),
    GIVE_NEEDS("zfh", "zfhmin", FP),
    GIVE_NEEDS("zfhmin", "f", FP),
    WITHHOLD("zfinx", "needs hstateen0.FCSR and integer-register FP; not implemented"),
    WITHHOLD("zdinx", "needs hstateen0.FCSR and integer-register FP; not implemented"),
    WITHHOLD("zhinx", "needs hstateen0.FCSR and integer-register FP; not implemented"),
    WITHHOLD("zhinxmin", "needs hstateen0.FCSR and integer-register FP; not implemented"),
    GIVE("zca", DIRECT),
    GIVE_NEEDS("zcb", "zca", DIRECT),
    GIVE_NEEDS2("zcd", "zca", "d", DIRECT),
    WITHHOLD("zcf", "RV32 only"),
    GIVE_NEEDS("zcmop", "zca", DIRECT),
    GIVE_NEEDS("zcmp", "zca", DIRECT),
    WITHHOLD("zcmt", "its jvt CSR would need hstateen0.JVT and switching per vCPU; "
                     "not implemented"),
    GIVE("zba", DIRECT),
    GIVE("zbb", DIRECT),
    GIVE("zbc", DIRECT),
    GIVE("zbkb", DIRECT),
    GIVE("zbkc", DIRECT),
    GIVE("zbkx", DIRECT),
    GIVE("zbs", DIRECT),
    GIVE_NEEDS("zk", "zkr", "Zkn + Zkr + Zkt: given only with Zkr"),
    GIVE("zkn", DIRECT),
    GIVE("zknd", DIRECT),
    GIVE("zkne", DIRECT),
    GIVE("zknh", DIRECT),
    WITHHOLD("zkr", "the seed CSR from VS-mode traps to Vireo as a virtual instruction "
                    "(mseccfg), which Vireo does not emulate; guests get entropy from "
                    "virtio-rng"),
    GIVE("zks", DIRECT),
    GIVE("zksed", DIRECT),
    GIVE("zksh", DIRECT),
    GIVE("zkt", DIRECT " (a property of the hardware)"),
    GIVE("ztso", DIRECT " (the hart's memory model)"),
    GIVE_NEEDS("zvbb", "v", VEC),
    GIVE_NEEDS("zvbc", "v", VEC),
    GIVE_NEEDS("zve32f", "v", VEC),
    GIVE_NEEDS("zve32x", "v", VEC),
    GIVE_NEEDS("zve64d", "v", VEC),
    GIVE_NEEDS("zve64f", "v", VEC),
    GIVE_NEEDS("zve64x", "v", VEC),
    GIVE_NEEDS("zvfbfmin", "v", VEC),
    GIVE_NEEDS("zvfbfwma", "v", VEC),
    GIVE_NEEDS("zvfh", "v", VEC),
    GIVE_NEEDS("zvfhmin", "v", VEC),
    GIVE_NEEDS("zvkb", "v", VEC),
    GIVE_NEEDS("zvkg", "v", VEC),
    GIVE_NEEDS("zvkn", "v", VEC),
    GIVE_NEEDS("zvknc", "v", VEC),
    GIVE_NEEDS("zvkned", "v", VEC),
    GIVE_NEEDS("zvkng", "v", VEC),
    GIVE_NEEDS("zvknha", "v", VEC),
    GIVE_NEEDS("zvknhb", "v", VEC),
    GIVE_NEEDS("zvks", "v", VEC),
    GIVE_NEEDS("zvksc", "v", VEC),
    GIVE_NEEDS("zvksed", "v", VEC),
    GIVE_NEEDS("zvksg", "v", VEC),
    GIVE_NEEDS("zvksh", "v", VEC),
    GIVE_NEEDS("zvkt", "v", VEC),
    GIVE_NEEDS("zvl32b", "v", VEC),
    GIVE_NEEDS("zvl64b", "v", VEC),
    GIVE_NEEDS("zvl128b", "v", VEC),
    GIVE_NEEDS("zvl256b", "v", VEC),
    GIVE_NEEDS("zvl512b", "v", VEC),
    GIVE_NEEDS("zvl1024b", "v", VEC),

    WITHHOLD("sha", NESTED),
    WITHHOLD("shcounterenw", NESTED),
    WITHHOLD("shgatpa", NESTED),
    WITHHOLD("shtvala", NESTED),
    WITHHOLD("shvsatpa", NESTED),
    WITHHOLD("shvstvala", NESTED),
    WITHHOLD("shvstvecd", NESTED),
    WITHHOLD("smaia", MLEVEL),
    WITHHOLD("smcdeleg", MLEVEL),
    WITHHOLD("smcntrpmf", MLEVEL),
    WITHHOLD("smcsrind", MLEVEL),
    WITHHOLD("smctr", MLEVEL),
    WITHHOLD("smdbltrp", MLEVEL),
    WITHHOLD("smepmp", MLEVEL),
    WITHHOLD("smmpm", MLEVEL),
    WITHHOLD("smnpm", MLEVEL),
    WITHHOLD("smrnmi", MLEVEL),
    WITHHOLD("smstateen", MLEVEL " (the guest gets Ssstateen)"),
    WITHHOLD("ssaia", "guests get a virtual PLIC, not AIA (no guest interrupt files)"),
    WITHHOLD("ssccfg", "counter delegation needs Smcdeleg and hstateen0 bits Vireo does "
                       "not manage"),
    GIVE("ssccptr", DIRECT " (a property of the hardware)"),
    WITHHOLD("sscofpmf", "counter overflow needs SBI PMU, which Vireo does not offer yet"),
    WITHHOLD("sscounterenw", "hpm counters are withheld (zihpm), so scounteren's hpm bits "
                             "do nothing"),
    WITHHOLD("sscsrind", "needs hstateen0.CSRIND and the vsiselect/vsireg state; not "
                         "implemented"),
    WITHHOLD("ssctr", "control transfer records need per-vCPU state and hstateen0 bits; "
                      "not implemented"),
    WITHHOLD("ssdbltrp", "needs henvcfg.DTE and double-trap handling; not implemented"),
    WITHHOLD("ssnpm", "pointer masking for VS/VU needs henvcfg.PMM; not implemented"),
    WITHHOLD("sspm", "pointer masking for VS/VU needs henvcfg.PMM; not implemented"),
    {.name = "ssstateen",
     .how = "hstateen0.SE0 (the guest's sstateen0); senvcfg is switched per vCPU",
     .hstateen0 = HSTATEEN0_SE0},
    {.name = "sstc",
     .how = "henvcfg.STCE: the guest's vstimecmp",
     .henvcfg = HENVCFG_STCE,
     .keep = "Vireo's timer paths use vstimecmp for every VM or for none (QEMU: -cpu "
             "...,sstc=false withholds it from all)"},
    GIVE("sstvala", DIRECT " (vstval is written as stval would be)"),
    GIVE("sstvecd", DIRECT " (vstvec)"),
    GIVE("ssu64xl", DIRECT " (VU-mode is 64-bit)"),
    WITHHOLD("supm", "pointer masking for VU needs senvcfg.PMM through Ssnpm; not "
                     "implemented"),
    GIVE("svade", "A/D faults in the VS-stage while henvcfg.ADUE is clear (also given "
                  "with Svadu: ADUE starts clear)"),
    {.name = "svadu",
     .how = "henvcfg.ADUE, per vCPU through SBI FWFT PTE_AD_HW_UPDATING (reset 0); the "
            "G-stage has A and D set in every leaf, so only the guest's own tables are "
            "updated",
     .henvcfg = HENVCFG_ADUE},
    GIVE("svinval", DIRECT " (SINVAL.VMA and the SFENCE.*.INVAL in VS-mode)"),
    GIVE("svnapot", DIRECT " (VS-stage NAPOT leaves)"),
    {.name = "svpbmt", .how = "henvcfg.PBMTE", .henvcfg = HENVCFG_PBMTE},
    GIVE("svvptc", DIRECT " (a property of the hardware)"),
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))
_Static_assert(NROWS <= ISA_MAX_EXTS, "the ISA table outgrew struct isa_set");

unsigned isa_count(void)
{
    return NROWS;
}

const char *isa_name(unsigned i)
{
    return i < NROWS ? rows[i].name : NULL;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int lookup_n(const char *name, size_t n)
{
    for (unsigned i = 0; i < NROWS; i++) {
        const char *e = rows[i].name;
        size_t k = 0;

        while (k < n && e[k] && lower(name[k]) == e[k])
            k++;
        if (k == n && !e[k])
            return (int)i;
    }
    return ERR_NOENT;
}

int isa_lookup(const char *name)
{
    return lookup_n(name, strlen(name));
}

bool isa_has_name(const struct isa_set *s, const char *name)
{
    int i = isa_lookup(name);

    return i >= 0 && isa_has(s, (unsigned)i);
}

static void add_name(struct isa_set *s, const char *name)
{
    int i = isa_lookup(name);

    if (i >= 0)
        isa_add(s, (unsigned)i);
}

int isa_set_add_name(struct isa_set *s, const char *name)
{
    if (!strcmp(name, "g") || !strcmp(name, "G")) {
        static const char *const g[] = {"i", "m", "a", "f", "d", "zicsr", "zifencei"};
        for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++)
            add_name(s, g[k]);
        return 1;
    }
    int i = isa_lookup(name);
    if (i < 0)
        return 0;
    isa_add(s, (unsigned)i);
    return 1;
}

int isa_set_add_string(struct isa_set *s, const char *isa)
{
    const char *p = isa;
    int unknown = 0;

    if (lower(p[0]) != 'r' || lower(p[1]) != 'v')
        return 0;
    p += 2;
    while (*p >= '0' && *p <= '9')
        p++;
    /* Single letters run until '_' or the first multi-letter extension,
     * which starts with s, z or x.  A version ("2p0") may follow a letter. */
    for (; *p && *p != '_'; p++) {
        char c[2] = {lower(*p), '\0'};
        if (c[0] == 's' || c[0] == 'z' || c[0] == 'x')
            break;
        if ((c[0] >= '0' && c[0] <= '9') || c[0] == 'p')
            continue;
        if (!isa_set_add_name(s, c))
            unknown++;
    }
    while (*p) {
        while (*p == '_')
            p++;
        const char *start = p;
        while (*p && *p != '_')
            p++;
        if (p > start) {
            int i = lookup_n(start, (size_t)(p - start));
            if (i >= 0)
                isa_add(s, (unsigned)i);
            else
                unknown++;
        }
    }
    return unknown;
}

void isa_set_expand(struct isa_set *s)
{
    if (isa_has_name(s, "c")) {
        add_name(s, "zca");
        if (isa_has_name(s, "d"))
            add_name(s, "zcd");
    }
    if (isa_has_name(s, "b")) {
        add_name(s, "zba");
        add_name(s, "zbb");
        add_name(s, "zbs");
    }
    if (isa_has_name(s, "v")) {
        /* V is the application-processor profile of the Zve* family. */
        static const char *const v[] = {"zve32x", "zve32f", "zve64x", "zve64f", "zve64d"};
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
            add_name(s, v[k]);
    }
}

int isa_withhold_check(unsigned i, const char **why)
{
    if (i < NROWS && rows[i].keep) {
        if (why)
            *why = rows[i].keep;
        return ERR_INVAL;
    }
    return 0;
}

void isa_guest_compute(const struct isa_set *host, const struct isa_host_caps *caps,
                       const struct isa_set *withhold, struct isa_guest *g, const char **why)
{
    static const char *const by_config = "withheld by the VM's configuration (isa-withhold)";
    static const char *const no_henvcfg =
        "the henvcfg bit it needs is read-only zero (the firmware did not enable it in menvcfg)";
    static const char *const no_hstateen = "needs hstateen0, which this hart does not let "
                                           "Vireo write";
    static const char *const no_dep = "needs an extension the guest does not get";

    memset(g, 0, sizeof(*g));
    for (unsigned i = 0; i < NROWS; i++) {
        const struct isa_row *r = &rows[i];
        const char *no = NULL;

        if (why)
            why[i] = NULL;
        if (!isa_has(host, i))
            continue;
        if (r->withheld)
            no = r->withheld;
        else if (withhold && isa_has(withhold, i))
            no = by_config;
        else if ((r->henvcfg & caps->henvcfg) != r->henvcfg)
            no = no_henvcfg;
        else if (r->hstateen0 && !caps->hstateen)
            no = no_hstateen;
        if (no) {
            if (why)
                why[i] = no;
            continue;
        }
        isa_add(&g->exts, i);
    }
    /* What needs a missing extension goes too, until nothing changes. */
    for (bool changed = true; changed;) {
        changed = false;
        for (unsigned i = 0; i < NROWS; i++) {
            if (!isa_has(&g->exts, i))
                continue;
            for (int k = 0; k < 2; k++) {
                if (rows[i].needs[k] && !isa_has_name(&g->exts, rows[i].needs[k])) {
                    isa_del(&g->exts, i);
                    if (why)
                        why[i] = no_dep;
                    changed = true;
                    break;
                }
            }
        }
    }
    /* With Svadu the guest gets Svade too: its vCPUs start with henvcfg.ADUE
     * clear (SBI FWFT PTE_AD_HW_UPDATING resets to 0), so A/D faults are
     * what it sees until it turns hardware updating on, and both in its
     * device tree say exactly that (the binding: Svade in effect, Svadu
     * enabled through SBI FWFT). */
    int svade = isa_lookup("svade");
    if (isa_has_name(&g->exts, "svadu") && svade >= 0) {
        isa_add(&g->exts, (unsigned)svade);
        if (why)
            why[svade] = NULL;
    }
    for (unsigned i = 0; i < NROWS; i++) {
        if (!isa_has(&g->exts, i))
            continue;
        g->henvcfg |= rows[i].henvcfg;
        g->hstateen0 |= rows[i].hstateen0;
        g->hcounteren |= rows[i].hcounteren;
    }
    /* senvcfg is part of each vCPU's state (Vireo switches it): VS-mode
     * may always reach it. */
    if (caps->hstateen)
        g->hstateen0 |= HSTATEEN0_ENVCFG;
}

static bool single_letter(const char *name)
{
    return name[0] && !name[1];
}

int isa_format_string(const struct isa_set *s, char *buf, size_t len)
{
    int n = fmt_snprintf(buf, len, "rv64");

    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; i < NROWS; i++) {
            if (!isa_has(s, i) || single_letter(rows[i].name) != (pass == 0))
                continue;
            size_t used = (size_t)n < len ? (size_t)n : len;
            n += fmt_snprintf(buf + used, len - used, "%s%s", pass ? "_" : "", rows[i].name);
        }
    }
    return n;
}

unsigned isa_names(const struct isa_set *s, const char **names, unsigned max)
{
    unsigned n = 0;

    for (unsigned i = 0; i < NROWS && n + 1 < max; i++) {
        if (isa_has(s, i))
            names[n++] = rows[i].name;
    }
    if (max)
        names[n] = NULL;
    return n;
}
