/* SPDX-License-Identifier: Apache-2.0 */
/* A QEMU TCG plugin: how often each instruction address ran, per hart,
 * written at exit as the counts file bench/profile reads (LOG.counts,
 * keys "cpuN PC"), so bench/profile attributes them to functions.  The
 * -d exec,nochain logs bench/profile reads otherwise cost a log line per
 * instruction (with one-insn-per-tb): ~0.2 M instructions a second on a
 * loaded 2-core machine, an hour for a Linux network run; this counts in
 * QEMU at close to its normal speed.
 *
 *   gcc -O2 -shared -fPIC -fvisibility=hidden -o pcount.so bench/pcount.c
 *   tools/vireo run ... --qemu-arg -plugin --qemu-arg ./pcount.so,out=A.log.counts
 *   : >A.log; touch A.log.counts   (bench/profile takes a counts file newer than its log)
 *   bench/profile --elf vmlinux --elf build/vireo.elf --iters N1 N2 A.log B.log
 *
 * Executions are counted per translation block and charged to each of
 * its instructions (a block left early by an exception charges the rest
 * too: negligible against millions).  QEMU's plugin ABI is declared here
 * (only the calls used); API version 2 is accepted by QEMU 8.2 to 10. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct {
    const char *target_name;
    struct {
        int min, cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus, max_vcpus;
        } system;
    };
} qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
                                           void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
                                          void (*cb)(unsigned int vcpu, void *udata), int flags,
                                          void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t i);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, void (*cb)(qemu_plugin_id_t, void *),
                                    void *udata);

__attribute__((visibility("default"))) int qemu_plugin_version = 2;

#define NCPU 8 /* harts counted apart; more share counters (index mod 8) */

/* One translated block: its instruction addresses and runs per hart. */
struct tb_rec {
    struct tb_rec *next;
    uint64_t runs[NCPU];
    size_t n;
    uint64_t pc[];
};

static struct tb_rec *blocks;
static const char *out_path = "pcount.counts";

static void tb_ran(unsigned int vcpu, void *udata)
{
    ((struct tb_rec *)udata)->runs[vcpu % NCPU]++;
}

static void tb_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct tb_rec *r = calloc(1, sizeof(*r) + n * sizeof(uint64_t));
    if (!r)
        return;
    r->n = n;
    for (size_t i = 0; i < n; i++)
        r->pc[i] = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
    r->next = blocks;
    blocks = r;
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_ran, 0 /* QEMU_PLUGIN_CB_NO_REGS */, r);
}

/* Per (hart, address) totals: an open-addressing table (a block may be
 * translated more than once). */
#define TABLE_BITS 24
struct count {
    uint64_t pc, n;
    uint32_t cpu, used;
};

static void write_counts(qemu_plugin_id_t id, void *udata)
{
    (void)id;
    (void)udata;
    const uint32_t mask = (1u << TABLE_BITS) - 1;
    struct count *t = calloc((size_t)mask + 1, sizeof(*t));
    FILE *o = fopen(out_path, "w");
    if (!t || !o) {
        fprintf(stderr, "pcount: cannot write %s\n", out_path);
        return;
    }
    for (struct tb_rec *r = blocks; r; r = r->next) {
        for (uint32_t c = 0; c < NCPU; c++) {
            if (!r->runs[c])
                continue;
            for (size_t i = 0; i < r->n; i++) {
                uint64_t h = r->pc[i] * 0x9E3779B97F4A7C15ull ^ c * 0xC2B2AE3D27D4EB4Full;
                uint32_t k = (uint32_t)(h >> (64 - TABLE_BITS));
                while (t[k].used && !(t[k].pc == r->pc[i] && t[k].cpu == c))
                    k = (k + 1) & mask;
                t[k].used = 1;
                t[k].pc = r->pc[i];
                t[k].cpu = c;
                t[k].n += r->runs[c];
            }
        }
    }
    fputc('{', o);
    const char *sep = "";
    for (uint32_t k = 0; k <= mask; k++) {
        if (!t[k].used)
            continue;
        fprintf(o, "%s\"cpu%u %llx\": %llu", sep, (unsigned)t[k].cpu, (unsigned long long)t[k].pc,
                (unsigned long long)t[k].n);
        sep = ", ";
    }
    fputs("}\n", o);
    fclose(o);
    free(t);
}

__attribute__((visibility("default"))) int
qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0)
            out_path = argv[i] + 4;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_translated);
    qemu_plugin_register_atexit_cb(id, write_counts, NULL);
    return 0;
}
