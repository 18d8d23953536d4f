/* SPDX-License-Identifier: Apache-2.0 */
/* The guest ISA (core/isa.c) from several hosts' ISA lists and strings:
 * what is given, what is withheld and why, the henvcfg, hcounteren and
 * hstateen0 that go with it, and a VM's isa-withhold. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "arch/riscv/encoding.h"
#include "core/isa.h"
#include "lib/err.h"

/* QEMU 10 -cpu rv64,h=true: its cpu node's riscv,isa-extensions. */
static const char *const rv64_list[] = {"i",
                                        "m",
                                        "a",
                                        "f",
                                        "d",
                                        "c",
                                        "h",
                                        "zic64b",
                                        "zicbom",
                                        "zicbop",
                                        "zicboz",
                                        "ziccamoa",
                                        "ziccif",
                                        "zicclsm",
                                        "ziccrse",
                                        "zicntr",
                                        "zicsr",
                                        "zifencei",
                                        "zihintntl",
                                        "zihintpause",
                                        "zihpm",
                                        "zmmul",
                                        "za64rs",
                                        "zaamo",
                                        "zalrsc",
                                        "zawrs",
                                        "zfa",
                                        "zca",
                                        "zcd",
                                        "zba",
                                        "zbb",
                                        "zbc",
                                        "zbs",
                                        "shcounterenw",
                                        "shgatpa",
                                        "shtvala",
                                        "shvsatpa",
                                        "shvstvala",
                                        "shvstvecd",
                                        "ssccptr",
                                        "sscounterenw",
                                        "sstc",
                                        "sstvala",
                                        "sstvecd",
                                        "ssu64xl",
                                        "svadu",
                                        "svvptc",
                                        NULL};

#define ALL_HENVCFG                                                                                \
    (HENVCFG_CBIE_FLUSH | HENVCFG_CBCFE | HENVCFG_CBZE | HENVCFG_ADUE | HENVCFG_PBMTE |            \
     HENVCFG_STCE)

static struct isa_set from_list(const char *const *l)
{
    struct isa_set s;

    memset(&s, 0, sizeof(s));
    for (; *l; l++)
        assert_int_equal(isa_set_add_name(&s, *l), 1);
    isa_set_expand(&s);
    return s;
}

static struct isa_set from_string(const char *isa)
{
    struct isa_set s;

    memset(&s, 0, sizeof(s));
    assert_int_equal(isa_set_add_string(&s, isa), 0);
    isa_set_expand(&s);
    return s;
}

static const char *why_of(const char **why, const char *name)
{
    int i = isa_lookup(name);

    assert_true(i >= 0);
    return why[i];
}

static void test_rv64_default(void **state)
{
    (void)state;
    struct isa_set host = from_list(rv64_list);
    struct isa_host_caps caps = {.henvcfg = ALL_HENVCFG, .hstateen = false};
    struct isa_guest g;
    const char *why[ISA_MAX_EXTS];
    char s[1024];

    isa_guest_compute(&host, &caps, NULL, &g, why);
    isa_format_string(&g.exts, s, sizeof(s));
    assert_string_equal(s, "rv64imafdc_zic64b_zicbom_zicbop_zicboz_ziccamoa_ziccif_zicclsm_"
                           "ziccrse_zicntr_zicsr_zifencei_zihintntl_zihintpause_zmmul_za64rs_"
                           "zaamo_zalrsc_zawrs_zfa_zca_zcd_zba_zbb_zbc_zbs_ssccptr_sstc_sstvala_"
                           "sstvecd_ssu64xl_svade_svadu_svvptc");
    assert_non_null(why_of(why, "h"));
    assert_non_null(why_of(why, "zihpm"));
    assert_non_null(why_of(why, "shgatpa"));
    assert_null(why_of(why, "zba"));
    assert_null(why_of(why, "svpbmt")); /* the host does not have it */
    assert_int_equal(g.henvcfg, HENVCFG_CBIE_FLUSH | HENVCFG_CBCFE | HENVCFG_CBZE | HENVCFG_ADUE |
                                    HENVCFG_STCE);
    assert_int_equal(g.hcounteren, HCOUNTEREN_CY | HCOUNTEREN_TM | HCOUNTEREN_IR);
    assert_int_equal(g.hstateen0, 0);

    const char *names[ISA_MAX_EXTS + 1];
    unsigned n = isa_names(&g.exts, names, ISA_MAX_EXTS + 1);
    assert_string_equal(names[0], "i");
    assert_string_equal(names[n - 1], "svvptc");
    assert_null(names[n]);
}

/* An RVA23S64-like host from its riscv,isa string: Svade, Svpbmt, Smstateen
 * with Ssstateen, the vector crypto subset, Sscofpmf. */
static void test_rva23s64_like(void **state)
{
    (void)state;
    struct isa_set host = from_string(
        "rv64imafdcbvh_zic64b_zicbom_zicbop_zicboz_ziccamoa_ziccif_zicclsm_ziccrse_zicond_zicntr_"
        "zicsr_zifencei_zihintntl_zihintpause_zihpm_zimop_zmmul_za64rs_zaamo_zalrsc_zawrs_zfa_"
        "zfhmin_zca_zcb_zcd_zcmop_zba_zbb_zbs_zkt_zvbb_zve32f_zve32x_zve64f_zve64d_zve64x_zvfhmin_"
        "zvkb_zvkt_shcounterenw_sha_shgatpa_shtvala_shvsatpa_shvstvala_shvstvecd_smnpm_smstateen_"
        "ssccptr_sscofpmf_sscounterenw_ssnpm_ssstateen_sstc_sstvala_sstvecd_ssu64xl_supm_svade_"
        "svinval_svnapot_svpbmt");
    struct isa_host_caps caps = {.henvcfg = ALL_HENVCFG, .hstateen = true};
    struct isa_guest g;
    const char *why[ISA_MAX_EXTS];

    isa_guest_compute(&host, &caps, NULL, &g, why);
    static const char *const given[] = {"v",       "b",         "zve64d", "zvkb",   "zicond",
                                        "zcmop",   "zimop",     "svade",  "svpbmt", "svnapot",
                                        "svinval", "ssstateen", "zfhmin", "zcb"};
    for (size_t i = 0; i < sizeof(given) / sizeof(given[0]); i++) {
        if (!isa_has_name(&g.exts, given[i]))
            fail_msg("%s not given: %s", given[i], why_of(why, given[i]));
    }
    static const char *const withheld[] = {"h",     "zihpm", "sscofpmf", "smstateen",
                                           "ssnpm", "supm",  "smnpm",    "sha"};
    for (size_t i = 0; i < sizeof(withheld) / sizeof(withheld[0]); i++) {
        assert_false(isa_has_name(&g.exts, withheld[i]));
        assert_non_null(why_of(why, withheld[i]));
    }
    assert_true(g.henvcfg & HENVCFG_PBMTE);
    assert_false(g.henvcfg & HENVCFG_ADUE);
    assert_int_equal(g.hstateen0, HSTATEEN0_SE0 | HSTATEEN0_ENVCFG);

    /* Without a writable hstateen0, no Ssstateen. */
    caps.hstateen = false;
    isa_guest_compute(&host, &caps, NULL, &g, why);
    assert_false(isa_has_name(&g.exts, "ssstateen"));
    assert_non_null(why_of(why, "ssstateen"));
    assert_int_equal(g.hstateen0, 0);
}

/* A host without Sstc (QEMU -cpu rv64,sstc=false), as an old riscv,isa. */
static void test_no_sstc(void **state)
{
    (void)state;
    struct isa_set host = from_string("rv64imafdch_zicntr_zicsr_zifencei_zihpm_zba_zbb");
    struct isa_host_caps caps = {.henvcfg = ALL_HENVCFG};
    struct isa_guest g;
    char s[256];

    isa_guest_compute(&host, &caps, NULL, &g, NULL);
    isa_format_string(&g.exts, s, sizeof(s));
    assert_string_equal(s, "rv64imafdc_zicntr_zicsr_zifencei_zca_zcd_zba_zbb");
    assert_int_equal(g.henvcfg, 0);
}

/* H without its companions: the firmware left every menvcfg enable clear,
 * so the henvcfg bits read as zero and what needs them is withheld. */
static void test_no_henvcfg(void **state)
{
    (void)state;
    struct isa_set host =
        from_string("rv64gch_zicbom_zicboz_zicbop_zicntr_sstc_svpbmt_svadu_svade_zkt_zk_zkn");
    struct isa_host_caps caps = {.henvcfg = 0};
    struct isa_guest g;
    const char *why[ISA_MAX_EXTS];

    isa_guest_compute(&host, &caps, NULL, &g, why);
    static const char *const gone[] = {"zicbom", "zicboz", "sstc", "svpbmt", "svadu"};
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
        assert_false(isa_has_name(&g.exts, gone[i]));
        assert_non_null(strstr(why_of(why, gone[i]), "henvcfg"));
    }
    assert_true(isa_has_name(&g.exts, "zicbop"));
    assert_true(isa_has_name(&g.exts, "svade")); /* A/D faults: what ADUE = 0 gives */
    assert_true(isa_has_name(&g.exts, "zkn"));
    assert_false(isa_has_name(&g.exts, "zk"));      /* Zk includes Zkr, which is withheld */
    assert_true(isa_has_name(&g.exts, "zifencei")); /* from g */
    assert_int_equal(g.henvcfg, 0);

    /* With ADUE the guest gets Svadu, and Svade too (ADUE starts clear:
     * SBI FWFT PTE_AD_HW_UPDATING turns it on), even from a host that
     * lists Svadu alone. */
    caps.henvcfg = HENVCFG_ADUE;
    isa_guest_compute(&host, &caps, NULL, &g, why);
    assert_true(isa_has_name(&g.exts, "svadu"));
    assert_true(isa_has_name(&g.exts, "svade"));
    assert_int_equal(g.henvcfg & HENVCFG_ADUE, HENVCFG_ADUE);
    struct isa_set host2 = from_string("rv64gch_svadu");
    isa_guest_compute(&host2, &caps, NULL, &g, why);
    assert_true(isa_has_name(&g.exts, "svade"));
}

static void test_withhold(void **state)
{
    (void)state;
    struct isa_set host = from_list(rv64_list);
    struct isa_host_caps caps = {.henvcfg = ALL_HENVCFG};
    struct isa_set wh;
    struct isa_guest g;
    const char *why[ISA_MAX_EXTS];

    memset(&wh, 0, sizeof(wh));
    isa_add(&wh, (unsigned)isa_lookup("zbc"));
    isa_add(&wh, (unsigned)isa_lookup("zicboz"));
    isa_add(&wh, (unsigned)isa_lookup("d"));
    isa_guest_compute(&host, &caps, &wh, &g, why);
    assert_false(isa_has_name(&g.exts, "zbc"));
    assert_false(isa_has_name(&g.exts, "zicboz"));
    assert_false(g.henvcfg & HENVCFG_CBZE);
    assert_true(g.henvcfg & HENVCFG_CBCFE);
    assert_non_null(strstr(why_of(why, "zbc"), "isa-withhold"));
    /* What needs D goes with it. */
    assert_false(isa_has_name(&g.exts, "d"));
    assert_false(isa_has_name(&g.exts, "zcd"));
    assert_true(isa_has_name(&g.exts, "f"));
    assert_non_null(why_of(why, "zcd"));

    const char *w = NULL;
    assert_int_equal(isa_withhold_check((unsigned)isa_lookup("i"), &w), ERR_INVAL);
    assert_non_null(w);
    assert_int_equal(isa_withhold_check((unsigned)isa_lookup("sstc"), &w), ERR_INVAL);
    assert_int_equal(isa_withhold_check((unsigned)isa_lookup("zbc"), &w), 0);
}

static void test_names(void **state)
{
    (void)state;
    struct isa_set s;

    memset(&s, 0, sizeof(s));
    assert_int_equal(isa_lookup("nope"), ERR_NOENT);
    assert_true(isa_lookup("ZBA") >= 0);
    assert_int_equal(isa_set_add_name(&s, "xtheadvector"), 0);
    assert_int_equal(isa_set_add_string(&s, "rv64i2p1m_xfoo_zba_zbar"), 2);
    assert_true(isa_has_name(&s, "m"));
    assert_true(isa_has_name(&s, "zba"));
    assert_int_equal(isa_set_add_string(&s, "x86"), 0);

    /* Every extension at once still fits the buffers Vireo uses. */
    struct isa_set all;
    char buf[2048];
    memset(&all, 0, sizeof(all));
    for (unsigned i = 0; i < isa_count(); i++)
        isa_add(&all, i);
    assert_true(isa_format_string(&all, buf, sizeof(buf)) < (int)sizeof(buf));
    assert_true(isa_count() <= ISA_MAX_EXTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rv64_default), cmocka_unit_test(test_rva23s64_like),
        cmocka_unit_test(test_no_sstc),      cmocka_unit_test(test_no_henvcfg),
        cmocka_unit_test(test_withhold),     cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
