/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for core/gdb/rsp.c, the GDB Remote Serial Protocol engine,
 * against a fake target: registers in arrays, memory in a buffer, and a
 * log of what the engine asked of it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/gdb/rsp.h"
#include "lib/err.h"

#define THREADS_MAX 4
#define MEM_BASE    0x80000000ull
#define MEM_SIZE    65536

static struct fake {
    unsigned threads;
    uint64_t regs[THREADS_MAX + 1][GDB_REG_PRIV + 1];
    bool no_fpu; /* f0..f31, fflags, frm, fcsr: ERR_NOENT */
    uint8_t mem[MEM_SIZE];
    unsigned mem_thread, mem_calls;
    size_t mem_n;
    int bp_type;
    uint64_t bp_addr;
    unsigned bp_kind, bp_inserts, bp_removes;
    unsigned resumes, step, only, interrupts, detaches;
    bool stop_in_resume; /* a step that completes inside resume */
} fk;

static struct gdb_rsp rsp;
static char out[1 << 16];
static size_t out_len;

static bool fake_reg_exists(unsigned regno)
{
    static const unsigned csrs[] = {0x100, 0x104, 0x105, 0x140, 0x141, 0x142, 0x143, 0x144, 0x180};
    if (regno <= GDB_REG_PC || regno == GDB_REG_PRIV)
        return true;
    if ((regno >= GDB_REG_F0 && regno <= GDB_REG_F31) ||
        (regno >= GDB_REG_FFLAGS && regno <= GDB_REG_FCSR))
        return !fk.no_fpu;
    for (size_t i = 0; i < sizeof(csrs) / sizeof(csrs[0]); i++)
        if (regno == GDB_REG_CSR(csrs[i]))
            return true;
    return false;
}

static unsigned fake_threads(void *ctx)
{
    (void)ctx;
    return fk.threads;
}

static int fake_reg_read(void *ctx, unsigned t, unsigned regno, uint64_t *val)
{
    (void)ctx;
    assert_true(t >= 1 && t <= fk.threads);
    if (!fake_reg_exists(regno))
        return ERR_NOENT;
    *val = fk.regs[t][regno];
    return 0;
}

static int fake_reg_write(void *ctx, unsigned t, unsigned regno, uint64_t val)
{
    (void)ctx;
    assert_true(t >= 1 && t <= fk.threads);
    if (!fake_reg_exists(regno))
        return ERR_NOENT;
    fk.regs[t][regno] = val;
    return 0;
}

static int fake_mem(unsigned t, uint64_t addr, size_t n)
{
    assert_true(t >= 1 && t <= fk.threads);
    assert_true(n >= 1 && n <= GDB_RSP_PACKET_MAX);
    fk.mem_thread = t;
    fk.mem_n = n;
    fk.mem_calls++;
    if (addr < MEM_BASE || addr - MEM_BASE > MEM_SIZE || n > MEM_SIZE - (addr - MEM_BASE))
        return ERR_RANGE;
    return 0;
}

static int fake_mem_read(void *ctx, unsigned t, uint64_t addr, void *buf, size_t n)
{
    (void)ctx;
    int rc = fake_mem(t, addr, n);
    if (rc == 0)
        memcpy(buf, &fk.mem[addr - MEM_BASE], n);
    return rc;
}

static int fake_mem_write(void *ctx, unsigned t, uint64_t addr, const void *buf, size_t n)
{
    (void)ctx;
    int rc = fake_mem(t, addr, n);
    if (rc == 0)
        memcpy(&fk.mem[addr - MEM_BASE], buf, n);
    return rc;
}

static int fake_bp(int type, uint64_t addr, unsigned kind)
{
    assert_true(type >= 0 && type <= 4);
    if (type == 4)
        return ERR_NOTSUP; /* no access watchpoints here */
    if (addr == 0xdead)
        return ERR_NOSPC;
    fk.bp_type = type;
    fk.bp_addr = addr;
    fk.bp_kind = kind;
    return 0;
}

static int fake_bp_insert(void *ctx, int type, uint64_t addr, unsigned kind)
{
    (void)ctx;
    int rc = fake_bp(type, addr, kind);
    fk.bp_inserts += rc == 0;
    return rc;
}

static int fake_bp_remove(void *ctx, int type, uint64_t addr, unsigned kind)
{
    (void)ctx;
    int rc = fake_bp(type, addr, kind);
    fk.bp_removes += rc == 0;
    return rc;
}

static void fake_resume(void *ctx, unsigned only, bool step)
{
    (void)ctx;
    assert_true(only <= fk.threads);
    assert_true(!step || only);
    fk.resumes++;
    fk.only = only;
    fk.step = step ? only : 0;
    if (fk.stop_in_resume && step)
        gdb_rsp_stopped(&rsp, only, GDB_STOP_STEP, 0);
}

static void fake_interrupt(void *ctx)
{
    (void)ctx;
    fk.interrupts++;
}

static void fake_detach(void *ctx)
{
    (void)ctx;
    fk.detaches++;
}

static int fake_monitor(void *ctx, const char *cmd, char *text, size_t n)
{
    (void)ctx;
    snprintf(text, n, "%s", strcmp(cmd, "quiet") ? "said: " : "");
    if (strcmp(cmd, "quiet"))
        snprintf(text + strlen(text), n - strlen(text), "%s\n", cmd);
    return strcmp(cmd, "bad") ? 0 : ERR_INVAL;
}

static const struct gdb_target_ops fake_ops = {
    fake_threads,   fake_reg_read, fake_reg_write, fake_mem_read, fake_mem_write, fake_bp_insert,
    fake_bp_remove, fake_resume,   fake_interrupt, fake_detach,   fake_monitor,
};

static void capture(void *ctx, const void *buf, size_t n)
{
    (void)ctx;
    assert_true(n <= sizeof(out) - out_len);
    memcpy(out + out_len, buf, n);
    out_len += n;
}

/* A fresh stub on a VM of `threads` vCPUs, stopped (thread 1, Ctrl-C). */
static void start(unsigned threads)
{
    memset(&fk, 0, sizeof(fk));
    fk.threads = threads;
    for (unsigned t = 1; t <= THREADS_MAX; t++)
        for (unsigned i = 0; i <= GDB_REG_PRIV; i++)
            fk.regs[t][i] = (uint64_t)t << 56 | (uint64_t)i << 8 | 0x11;
    for (unsigned i = 0; i < MEM_SIZE; i++)
        fk.mem[i] = (uint8_t)(i * 7);
    gdb_rsp_init(&rsp, &fake_ops, NULL, capture, NULL);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_INTERRUPT, 0);
    out_len = 0;
}

static void feed(const void *s, size_t n)
{
    gdb_rsp_input(&rsp, s, n);
}

static void feeds(const char *s)
{
    feed(s, strlen(s));
}

static uint8_t checksum(const char *s, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + (uint8_t)s[i]);
    return sum;
}

/* Sends payload (raw, escapes already in it) as one packet. */
static void send_raw(const char *payload, size_t n)
{
    char tail[4];
    feeds("$");
    feed(payload, n);
    snprintf(tail, sizeof(tail), "#%02x", checksum(payload, n));
    feeds(tail);
}

/* The one reply in out (after the ACK unless noack): its payload, raw. */
static char reply_buf[GDB_RSP_PACKET_MAX + 1];
static size_t reply_len;

static const char *take_reply(bool acked)
{
    size_t i = 0;
    if (acked) {
        assert_true(out_len >= 1);
        assert_int_equal(out[0], '+');
        i = 1;
    }
    assert_true(out_len >= i + 4);
    assert_int_equal(out[i], '$');
    assert_int_equal(out[out_len - 3], '#');
    size_t n = out_len - i - 4;
    assert_true(n <= GDB_RSP_PACKET_MAX);
    memcpy(reply_buf, out + i + 1, n);
    reply_buf[n] = 0;
    reply_len = n;
    char sum[3];
    snprintf(sum, sizeof(sum), "%02x", checksum(reply_buf, n));
    assert_memory_equal(sum, out + out_len - 2, 2);
    out_len = 0;
    return reply_buf;
}

/* One command and its reply, in ack mode. */
static const char *cmd(const char *payload)
{
    out_len = 0;
    send_raw(payload, strlen(payload));
    return take_reply(true);
}

static void expect(const char *payload, const char *want)
{
    const char *got = cmd(payload);
    if (strcmp(got, want) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", payload, got, want);
}

/* A command with no reply: only the ACK. */
static void expect_silent(const char *payload)
{
    out_len = 0;
    send_raw(payload, strlen(payload));
    assert_int_equal(out_len, 1);
    assert_int_equal(out[0], '+');
    out_len = 0;
}

static void hex_le(char *dst, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        sprintf(dst + 2 * i, "%02x", (unsigned)(uint8_t)(v >> (8 * i)));
}

static void test_gdb_rsp_checksums(void **state)
{
    (void)state;
    start(2);
    feeds("$qAttached#8f");
    assert_int_equal(out_len, 6);
    assert_memory_equal(out, "+$1#31", 6);
    out_len = 0;

    /* Bad: NAKed and not served; the retransmission is. */
    feeds("$qAttached#8e");
    assert_int_equal(out_len, 1);
    assert_int_equal(out[0], '-');
    out_len = 0;
    feeds("$qAttached#zz");
    assert_int_equal(out_len, 1);
    assert_int_equal(out[0], '-');
    out_len = 0;
    feeds("$qAttached#8f");
    assert_string_equal(take_reply(true), "1");

    /* The client NAKs our reply: the same packet again, until it ACKs. */
    expect("qC", "QC1");
    feeds("-");
    assert_string_equal(take_reply(false), "QC1");
    feeds("+");
    feeds("-"); /* a stray NAK after the ACK still gets the last packet */
    assert_string_equal(take_reply(false), "QC1");

    /* Upper-case checksum digits are digits too. */
    out_len = 0;
    feeds("$qAttached#8F");
    assert_string_equal(take_reply(true), "1");
}

static void test_gdb_rsp_noack(void **state)
{
    (void)state;
    start(1);
    expect("QStartNoAckMode:1", "E01");
    expect("QStartNoAckMode", "OK");
    out_len = 0;
    send_raw("qC", 2);
    assert_string_equal(take_reply(false), "QC1");
    /* No NAK and no retransmission; a bad checksum gets an error reply so
     * the client, which expects no NAK, does not wait forever. */
    feeds("-");
    assert_int_equal(out_len, 0);
    feeds("$qC#00");
    assert_string_equal(take_reply(false), "E06");
    feeds("+");
    assert_int_equal(out_len, 0);
    /* While the client waits for a stop, not even that: it would take
     * the error for the stop reply. */
    send_raw("c", 1);
    assert_int_equal(out_len, 0);
    feeds("$qC#00");
    assert_int_equal(out_len, 0);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_STEP, 0);
    assert_string_equal(take_reply(false), "T05thread:1;");
}

static void test_gdb_rsp_framing(void **state)
{
    (void)state;
    start(1);
    /* Noise between packets is ignored. */
    feeds("hello\r\n\x7f");
    assert_int_equal(out_len, 0);
    /* A '$' inside a packet starts it over. */
    feeds("$qAtt$qAttached#8f");
    assert_string_equal(take_reply(true), "1");
    /* Split anywhere. */
    const char *p = "junk$qAttached#8fjunk";
    for (size_t i = 0; p[i]; i++)
        feed(&p[i], 1);
    assert_string_equal(take_reply(true), "1");
    /* The empty packet, an unknown command, a NUL as the command. */
    expect("", "");
    expect("!", "");
    expect("qOffsets", "");
    expect("vMustReplyEmpty", "");
    expect("vKill;1", "");
    send_raw("\0", 1);
    assert_string_equal(take_reply(true), "");
    /* An escape at the end of a packet is malformed. */
    send_raw("qC}", 3);
    assert_string_equal(take_reply(true), "E01");
}

static void test_gdb_rsp_too_long(void **state)
{
    static char big[20000];
    (void)state;
    start(1);
    memset(big, 'M', sizeof(big));
    out_len = 0;
    send_raw(big, sizeof(big));
    assert_string_equal(take_reply(true), "E03");
    /* Exactly the limit is fine (and is an unknown command here). */
    memset(big, 'q', GDB_RSP_PACKET_MAX);
    out_len = 0;
    send_raw(big, GDB_RSP_PACKET_MAX);
    assert_string_equal(take_reply(true), "");
    expect("qAttached", "1");
    /* Escapes: the limit counts the bytes after unescaping. */
    size_t n = 0;
    big[n++] = 'X';
    while (n + 2 <= sizeof(big)) {
        big[n++] = '}';
        big[n++] = '\x5d';
    }
    out_len = 0;
    send_raw(big, n);
    assert_string_equal(take_reply(true), "E01"); /* 9999 bytes, no address */
}

static void test_gdb_rsp_supported(void **state)
{
    (void)state;
    start(1);
    const char *r = cmd("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
    assert_non_null(strstr(r, "PacketSize=4000"));
    assert_non_null(strstr(r, "QStartNoAckMode+"));
    assert_non_null(strstr(r, "qXfer:features:read+"));
    assert_non_null(strstr(r, "swbreak+"));
    assert_null(strstr(r, "multiprocess"));
    assert_true(rsp.client_swbreak && rsp.client_hwbreak);
    r = cmd("qSupported");
    assert_non_null(strstr(r, "PacketSize=4000"));
    assert_false(rsp.client_swbreak);
    expect("qSupported:", "E01");
    expect("qSupported:a;;b", "E01");
    expect("qSupportedx", "E01");
    expect("vCont?", "vCont;c;C;s;S;t");
    expect("vCont?x", "E01");
}

static void test_gdb_rsp_target_xml(void **state)
{
    static char got[16384];
    char q[64];
    size_t total = strlen(gdb_rsp_target_xml), have = 0;
    unsigned pieces = 0;
    (void)state;
    start(1);
    /* In pieces of 200 bytes: 'm' until the last, 'l'. */
    while (true) {
        snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,c8", have);
        const char *r = cmd(q);
        assert_true(r[0] == 'm' || r[0] == 'l');
        /* No escapes needed in this document: the payload is the data. */
        memcpy(got + have, r + 1, reply_len - 1);
        have += reply_len - 1;
        pieces++;
        assert_true(pieces < 1000);
        if (r[0] == 'l')
            break;
        assert_int_equal(reply_len - 1, 200);
    }
    assert_int_equal(have, total);
    assert_memory_equal(got, gdb_rsp_target_xml, total);
    assert_true(pieces > 5);
    /* The numbering gdb expects. */
    assert_non_null(strstr(got, "name=\"ft0\" bitsize=\"64\" type=\"ieee_double\" regnum=\"33\""));
    assert_non_null(strstr(got, "name=\"fflags\" bitsize=\"32\" type=\"int\" regnum=\"66\""));
    assert_non_null(strstr(got, "name=\"satp\" bitsize=\"64\" type=\"int\" regnum=\"449\""));
    assert_non_null(strstr(got, "name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"4161\""));
    assert_non_null(strstr(got, "org.gnu.gdb.riscv.virtual"));

    /* All of it at once; the end; past the end; bad requests. */
    const char *r = cmd("qXfer:features:read:target.xml:0,ffff");
    assert_int_equal(r[0], 'l');
    assert_int_equal(reply_len - 1, total);
    snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,10", total);
    expect(q, "l");
    snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,10", total + 1);
    expect(q, "E01");
    expect("qXfer:features:read:other.xml:0,10", "E00");
    expect("qXfer:features:read:target.xml:0,0", "E00");
    expect("qXfer:features:read:target.xml:0", "E00");
    expect("qXfer:features:read:target.xml:,10", "E00");
    expect("qXfer:features:read:target.xml:0,10x", "E00");
    expect("qXfer:features:read:target.xml:10000000000000000,10", "E00");
    expect("qXfer:auxv:read::0,10", "");
}

static void test_gdb_rsp_registers(void **state)
{
    char want[GDB_RSP_PACKET_MAX], q[1200];
    (void)state;
    start(2);

    /* g: x0..x31 and pc of the selected thread, little-endian. */
    for (unsigned i = 0; i < GDB_G_REGS; i++)
        hex_le(want + 16 * i, fk.regs[1][i], 8);
    want[16 * GDB_G_REGS] = 0;
    expect("g", want);
    expect("gx", "E01");

    /* G writes them all; wrong lengths and digits are refused whole. */
    q[0] = 'G';
    for (unsigned i = 0; i < GDB_G_REGS; i++)
        hex_le(q + 1 + 16 * i, 0x1000 + i, 8);
    q[1 + 16 * GDB_G_REGS] = 0;
    expect("Hg2", "OK");
    expect(q, "OK");
    for (unsigned i = 0; i < GDB_G_REGS; i++)
        assert_true(fk.regs[2][i] == 0x1000 + i);
    assert_true(fk.regs[1][5] != 0x1005);
    q[16 * GDB_G_REGS] = 0; /* one digit short */
    expect(q, "E01");
    q[16 * GDB_G_REGS] = '0';
    q[1 + 16 * GDB_G_REGS] = '0';
    q[2 + 16 * GDB_G_REGS] = 0; /* one digit long */
    expect(q, "E01");
    q[1 + 16 * GDB_G_REGS] = 0;
    q[7] = 'g';
    expect(q, "E01");

    /* p/P for each class: x, pc, f, fflags/frm/fcsr (32 bits), CSRs, priv. */
    static const unsigned regs[] = {1,
                                    31,
                                    GDB_REG_PC,
                                    GDB_REG_F0,
                                    GDB_REG_F31,
                                    GDB_REG_FFLAGS,
                                    GDB_REG_FCSR,
                                    GDB_REG_CSR(0x100),
                                    GDB_REG_CSR(0x180),
                                    GDB_REG_PRIV};
    for (size_t k = 0; k < sizeof(regs) / sizeof(regs[0]); k++) {
        unsigned n = regs[k], size = n >= GDB_REG_FFLAGS && n <= GDB_REG_FCSR ? 4 : 8;
        uint64_t mask = size == 4 ? 0xffffffffu : UINT64_MAX;
        snprintf(q, sizeof(q), "p%x", n);
        hex_le(want, fk.regs[2][n] & mask, size);
        want[2 * size] = 0;
        expect(q, want);
        int o = snprintf(q, sizeof(q), "P%x=", n);
        hex_le(q + o, 0xa5a5a5a5a5a5a5a5ull & mask, size);
        expect(q, "OK");
        assert_true(fk.regs[2][n] == (0xa5a5a5a5a5a5a5a5ull & mask));
        strcat(q, "00");
        expect(q, "E01");
        q[o + 2 * size - 1] = 0;
        expect(q, "E01");
    }
    expect("p1042", "E01"); /* past priv: no such register */
    expect("p", "E01");
    expect("pg", "E01");
    expect("p123456789", "E01");
    expect("p0000000001", "E01");
    expect("P20", "E01");
    expect("P20=zz00000000000000", "E01");
    /* A CSR the VM does not have, the FP registers of a VM without F/D:
     * unavailable, not an error. */
    expect("p41", "xxxxxxxxxxxxxxxx");
    fk.no_fpu = true;
    expect("p42", "xxxxxxxx");
    expect("P42=00000000", "E05");
    fk.no_fpu = false;
}

static void test_gdb_rsp_memory(void **state)
{
    static char q[GDB_RSP_PACKET_MAX + 64];
    char want[64];
    (void)state;
    start(2);

    expect("m80000010,4", "70777e85");
    assert_int_equal(fk.mem_thread, 1);
    expect("Hg2", "OK");
    expect("m80000010,1", "70");
    assert_int_equal(fk.mem_thread, 2);
    /* The largest read fits a packet; one more byte does not. */
    const char *r = cmd("m80000000,2000");
    assert_int_equal(reply_len, 2 * GDB_RSP_MEM_MAX);
    (void)r;
    unsigned calls = fk.mem_calls;
    expect("m80000000,2001", "E01");
    expect("m80000000,0", "E01");
    expect("m80000000", "E01");
    expect("m80000000,", "E01");
    expect("m,4", "E01");
    expect("m80000000,4x", "E01");
    expect("m10000000000000000,4", "E01");
    expect("mffffffffffffffff,2", "E01"); /* wraps */
    assert_int_equal(fk.mem_calls, calls);
    expect("mffffffffffffffff,1", "E0e"); /* the top byte: allowed, not mapped */
    expect("m1000,4", "E0e");

    expect("M80000020,2:abCD", "OK");
    assert_int_equal(fk.mem[0x20], 0xab);
    assert_int_equal(fk.mem[0x21], 0xcd);
    calls = fk.mem_calls;
    expect("M80000020,2:abc", "E01");
    expect("M80000020,2:abcdef", "E01");
    expect("M80000020,2:zzzz", "E01");
    expect("M80000020,2", "E01");
    expect("Mffffffffffffffff,2:0000", "E01");
    /* Longer than a packet holds: refused before the data is read. */
    snprintf(q, sizeof(q), "M80000000,%x:", GDB_RSP_MEM_MAX + 1);
    expect(q, "E01");
    assert_int_equal(fk.mem_calls, calls);
    expect("M80000020,0:", "OK");
    assert_int_equal(fk.mem_calls, calls);

    /* X: binary, with the four escaped bytes and others that are not. */
    static const uint8_t data[] = {'#', '$', '}', '*', 0x00, 0x03, '+', '-', 0xff};
    int o = snprintf(q, sizeof(q), "X80000040,%zx:", sizeof(data));
    size_t n;
    size_t took = gdb_rsp_escape(q + o, sizeof(q) - o, &n, data, sizeof(data));
    assert_int_equal(took, sizeof(data));
    assert_int_equal(n, sizeof(data) + 4);
    out_len = 0;
    send_raw(q, o + n);
    assert_string_equal(take_reply(true), "OK");
    assert_memory_equal(&fk.mem[0x40], data, sizeof(data));
    /* Escaped bytes count once against the length. */
    o = snprintf(q, sizeof(q), "X80000040,%zx:", sizeof(data) + 1);
    gdb_rsp_escape(q + o, sizeof(q) - o, &n, data, sizeof(data));
    out_len = 0;
    send_raw(q, o + n);
    assert_string_equal(take_reply(true), "E01");
    expect("X80000040,0:", "OK");
    expect("X80000040,1:", "E01");
    expect("X80000040,1", "E01");
    expect("Xffffffffffffffff,2:ab", "E01");
    expect("X1000,1:a", "E0e");
    /* The largest X a packet holds. */
    o = snprintf(q, sizeof(q), "X80000000,%x:", GDB_RSP_PACKET_MAX - 16);
    memset(q + o, 'z', GDB_RSP_PACKET_MAX - 16);
    assert_true(o + GDB_RSP_PACKET_MAX - 16 <= GDB_RSP_PACKET_MAX);
    out_len = 0;
    send_raw(q, o + GDB_RSP_PACKET_MAX - 16);
    assert_string_equal(take_reply(true), "OK");
    assert_int_equal(fk.mem_n, GDB_RSP_PACKET_MAX - 16);
    snprintf(want, sizeof(want), "%s", "7a7a");
    expect("m80000000,2", want);
}

static void test_gdb_rsp_breakpoints(void **state)
{
    (void)state;
    start(1);
    expect("Z0,80000000,4", "OK");
    assert_int_equal(fk.bp_inserts, 1);
    assert_int_equal(fk.bp_type, 0);
    assert_true(fk.bp_addr == 0x80000000);
    assert_int_equal(fk.bp_kind, 4);
    expect("z0,80000000,4", "OK");
    assert_int_equal(fk.bp_removes, 1);
    expect("Z1,80000002,2", "OK");
    assert_int_equal(fk.bp_type, 1);
    expect("Z2,80001000,8", "OK");
    expect("Z3,80001000,1", "OK");
    assert_int_equal(fk.bp_type, 3);
    /* The target does not do access watchpoints: the empty reply. */
    expect("Z4,80001000,8", "");
    expect("z4,80001000,8", "");
    /* The target refuses one. */
    expect("Z0,dead,4", "E05");
    unsigned ins = fk.bp_inserts;
    expect("Z5,80000000,4", "E01");
    expect("Z,80000000,4", "E01");
    expect("Z00,80000000,4", "E01");
    expect("Z0,80000000,0", "E01");
    expect("Z0,80000000", "E01");
    expect("Z0,80000000,", "E01");
    expect("Z0,80000000,4;X2,0a", "E01"); /* conditions: not advertised */
    expect("Z0,80000000,123456789", "E01");
    expect("Z2,ffffffffffffffff,2", "E01"); /* the watched range wraps */
    assert_int_equal(fk.bp_inserts, ins);
}

static void test_gdb_rsp_resume(void **state)
{
    char want[64];
    (void)state;
    start(2);
    cmd("qSupported:swbreak+");

    /* c: everything runs; no reply until the stop. */
    expect_silent("c");
    assert_int_equal(fk.resumes, 1);
    assert_int_equal(fk.step, 0);
    assert_int_equal(rsp.state, GDB_RSP_WAITING);
    /* All-stop: packets while running are ACKed and dropped. */
    expect_silent("g");
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_SWBREAK, 0);
    assert_string_equal(take_reply(false), "T05thread:2;swbreak:;");
    /* The stop's thread is the general thread from now on. */
    expect("qC", "QC2");
    hex_le(want, fk.regs[2][0], 8);
    want[16] = 0;
    assert_memory_equal(cmd("g"), want, 16);

    /* s with Hc: that thread steps, the others run. */
    expect("Hc1", "OK");
    expect_silent("s");
    assert_int_equal(fk.step, 1);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_STEP, 0);
    assert_string_equal(take_reply(false), "T05thread:1;");

    /* c addr: resume there. */
    expect_silent("c80001000");
    assert_true(fk.regs[1][GDB_REG_PC] == 0x80001000);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_WATCH, 0x80000100);
    assert_string_equal(take_reply(false), "T05thread:1;watch:80000100;");
    expect_silent("C05;80002000");
    assert_true(fk.regs[1][GDB_REG_PC] == 0x80002000);
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_RWATCH, 0x10);
    assert_string_equal(take_reply(false), "T05thread:2;rwatch:10;");
    expect_silent("S05");
    assert_int_equal(fk.step, 1);
    /* The client did not say hwbreak+: no hwbreak field. */
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_HWBREAK, 0);
    assert_string_equal(take_reply(false), "T05thread:1;");
    expect("c8000x", "E01");
    expect("C5", "E01");
    expect("C05;", "E01");
    expect("C0580000000", "E01");

    /* vCont: the leftmost action that names a thread is its action. */
    expect_silent("vCont;s:2;c");
    assert_int_equal(fk.step, 2);
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_STEP, 0);
    take_reply(false);
    expect_silent("vCont;c");
    assert_int_equal(fk.step, 0);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_AWATCH, 0x20);
    assert_string_equal(take_reply(false), "T05thread:1;awatch:20;");
    expect_silent("vCont;c:1;s:1;c");
    assert_int_equal(fk.step, 0);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_INTERRUPT, 0);
    take_reply(false);
    expect_silent("vCont;S05:1;C05:2");
    assert_int_equal(fk.step, 1);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_STEP, 0);
    take_reply(false);
    expect_silent("vCont;c:2;s"); /* "s" is left with thread 1 alone */
    assert_int_equal(fk.step, 1);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_STEP, 0);
    take_reply(false);
    expect_silent("vCont;t:1;c");
    assert_int_equal(fk.step, 0);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_STEP, 0);
    take_reply(false);
    /* One thread continued alone (gdb stepping over a lifted breakpoint
     * in software): the others stay stopped. */
    expect_silent("vCont;c:2");
    assert_int_equal(fk.step, 0);
    assert_int_equal(fk.only, 2);
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_SWBREAK, 0);
    take_reply(false);
    expect_silent("vCont;c:2;t");
    assert_int_equal(fk.only, 2);
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_SWBREAK, 0);
    take_reply(false);
    expect_silent("vCont;c:1;c:2");
    assert_int_equal(fk.only, 0);
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_SWBREAK, 0);
    take_reply(false);
    expect_silent("vCont;c:2;c");
    assert_int_equal(fk.only, 0);
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_SWBREAK, 0);
    take_reply(false);
    /* A step runs its thread alone. */
    expect_silent("vCont;s:1;c");
    assert_int_equal(fk.only, 1);
    assert_int_equal(fk.step, 1);
    gdb_rsp_stopped(&rsp, 1, GDB_STOP_STEP, 0);
    take_reply(false);
    unsigned resumes = fk.resumes;
    expect("vCont;s", "E01"); /* would step two threads */
    expect("vCont;s:1;s:2", "E01");
    expect("vCont;s:3", "E02");
    expect("vCont;c:0", "E02");
    expect("vCont;t", "E01");
    expect("vCont;t:1;t:2", "E01");
    expect("vCont", "E01");
    expect("vCont;", "E01");
    expect("vCont;x", "E01");
    expect("vCont;C5", "E01");
    expect("vCont;c:", "E01");
    expect("vCont;c:1:2", "E01");
    expect("vCont;cc", "E01");
    expect("vContx", "E01");
    expect("s1;2", "E01");
    assert_int_equal(fk.resumes, resumes);

    /* One vCPU: a step for every thread steps it. */
    start(1);
    expect_silent("vCont;s");
    assert_int_equal(fk.step, 1);

    /* A step that completes inside resume: the stop reply follows the ACK. */
    start(1);
    fk.stop_in_resume = true;
    out_len = 0;
    send_raw("s", 1);
    assert_string_equal(take_reply(true), "T05thread:1;");
    assert_int_equal(rsp.state, GDB_RSP_STOPPED);
}

/* gdb's `monitor` (qRcmd): the target's text in an O packet, then OK. */
static void test_gdb_rsp_monitor(void **state)
{
    (void)state;
    start(1);
    out_len = 0;
    send_raw("qRcmd,6869", 10); /* "hi" */
    /* "+", the O packet, then "$OK#9a". */
    assert_true(out_len > 7);
    assert_memory_equal(out + out_len - 6, "$OK#9a", 6);
    out_len -= 6;
    assert_string_equal(take_reply(true), "O"
                                          "736169643a2068690a"); /* "said: hi\n" */
    /* No text: just OK; an error after its text. */
    expect("qRcmd,7175696574", "OK");
    out_len = 0;
    send_raw("qRcmd,626164", 12); /* "bad" */
    assert_memory_equal(out + out_len - 7, "$E05#aa", 7);
    expect("qRcmd,", "E01");
    expect("qRcmd,686", "E01");  /* odd */
    expect("qRcmd,6x", "E01");   /* not hex */
    expect("qRcmd,6800", "E01"); /* a NUL in the command */
    char big[2 * (GDB_RSP_MONITOR_MAX + 1) + 8] = "qRcmd,";
    for (unsigned i = 0; i < GDB_RSP_MONITOR_MAX + 1; i++)
        strcat(big, "41");
    expect(big, "E01");
}

static void test_gdb_rsp_interrupt(void **state)
{
    (void)state;
    start(2);
    /* Ctrl-C while stopped: nothing to interrupt. */
    feeds("\x03");
    assert_int_equal(fk.interrupts, 0);
    assert_int_equal(out_len, 0);
    expect_silent("vCont;c");
    feeds("\x03");
    assert_int_equal(fk.interrupts, 1);
    feeds("\x03");
    assert_int_equal(fk.interrupts, 1); /* asked once per run */
    assert_int_equal(out_len, 0);
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_INTERRUPT, 0);
    assert_string_equal(take_reply(false), "T02thread:2;");
    /* 0x03 inside a packet is data, not an interrupt. */
    expect_silent("c");
    send_raw("X80000000,1:\x03", 13);
    assert_int_equal(fk.interrupts, 1);
    feeds("\x03");
    assert_int_equal(fk.interrupts, 2);
}

static void test_gdb_rsp_status(void **state)
{
    (void)state;
    start(2);
    expect("?", "T02thread:1;");
    expect("?x", "E01");
    /* A fresh stub on a running VM: state-touching commands wait for a
     * stop; '?' asks for one. */
    gdb_rsp_init(&rsp, &fake_ops, NULL, capture, NULL);
    static const char *const need_stop[] = {"g",       "G00",   "p1",     "P1=00",  "m0,1",
                                            "M0,1:00", "X0,0:", "Z0,0,4", "z0,0,4", "c",
                                            "s",       "C05",   "S05",    "vCont;c"};
    for (size_t i = 0; i < sizeof(need_stop) / sizeof(need_stop[0]); i++)
        expect(need_stop[i], "E04");
    assert_int_equal(fk.resumes, 0);
    expect("qfThreadInfo", "m1,2");
    expect_silent("?");
    assert_int_equal(fk.interrupts, 1);
    gdb_rsp_stopped(&rsp, 2, GDB_STOP_INTERRUPT, 0);
    assert_string_equal(take_reply(false), "T02thread:2;");
    expect("p1", "1101000000000002");
    /* A stop naming no valid thread: no thread field; the first thread
     * stands in. */
    expect_silent("c");
    gdb_rsp_stopped(&rsp, 7, GDB_STOP_SWBREAK, 0);
    assert_string_equal(take_reply(false), "T05");
    expect("qC", "QC1");
}

static void test_gdb_rsp_threads(void **state)
{
    static char want[4096];
    (void)state;
    start(2);
    expect("qfThreadInfo", "m1,2");
    expect("qsThreadInfo", "l");
    expect("qsThreadInfo", "l");
    expect("qfThreadInfox", "E01");
    expect("qC", "QC1");
    expect("Hg2", "OK");
    expect("qC", "QC2");
    expect("Hg3", "E02");
    expect("qC", "QC2");
    expect("Hg0", "OK");
    expect("Hg-1", "OK");
    expect("Hc-1", "OK");
    expect("Hc2", "OK");
    expect("Hc-2", "E01");
    expect("Hgx", "E01");
    expect("Hg", "E01");
    expect("H", "E01");
    expect("Hs1", "E01");
    expect("Hg123456789", "E01");
    expect("Hgp1.1", "E01");
    expect("T1", "OK");
    expect("T2", "OK");
    expect("T3", "E02");
    expect("T0", "E02");
    expect("T-1", "E02");
    expect("Tx", "E01");
    expect("qThreadExtraInfo,2", "7663707520"
                                 "31"); /* "vcpu 1" */
    expect("qThreadExtraInfo,3", "E02");
    expect("qThreadExtraInfo,", "E01");
    expect("qAttached", "1");
    expect("qAttached:1", "E01");

    /* Many vCPUs: in pieces. */
    fk.threads = 300;
    size_t o = (size_t)sprintf(want, "m");
    for (unsigned i = 1; i <= GDB_RSP_THREADS_PER_REPLY; i++)
        o += (size_t)sprintf(want + o, i > 1 ? ",%x" : "%x", i);
    expect("qfThreadInfo", want);
    o = (size_t)sprintf(want, "m");
    for (unsigned i = GDB_RSP_THREADS_PER_REPLY + 1; i <= 300; i++)
        o += (size_t)sprintf(want + o, i > GDB_RSP_THREADS_PER_REPLY + 1 ? ",%x" : "%x", i);
    expect("qsThreadInfo", want);
    expect("qsThreadInfo", "l");
    fk.threads = 0;
    expect("qfThreadInfo", "l");
    expect("g", "E02");
    expect("qC", "E02");
}

static void test_gdb_rsp_detach_kill(void **state)
{
    (void)state;
    start(1);
    expect("D;1", "E01");
    assert_int_equal(fk.detaches, 0);
    expect("D", "OK");
    assert_int_equal(fk.detaches, 1);
    assert_int_equal(rsp.state, GDB_RSP_RUNNING);
    expect("g", "E04");

    start(1);
    expect_silent("k");
    assert_int_equal(fk.detaches, 1);
    expect("m80000000,1", "E04");
}

static void test_gdb_rsp_escape(void **state)
{
    char buf[32];
    size_t n;
    (void)state;
    assert_int_equal(gdb_rsp_escape(buf, sizeof(buf), &n, "a$#}*b", 6), 6);
    assert_int_equal(n, 10);
    assert_memory_equal(buf,
                        "a}\x04}\x03}]}\x0a"
                        "b",
                        10);
    /* Room for "a}\x04" and half an escape: it stops before the escape. */
    assert_int_equal(gdb_rsp_escape(buf, 4, &n, "a$#", 3), 2);
    assert_int_equal(n, 3);
    assert_int_equal(gdb_rsp_escape(buf, 0, &n, "a", 1), 0);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gdb_rsp_checksums),   cmocka_unit_test(test_gdb_rsp_noack),
        cmocka_unit_test(test_gdb_rsp_framing),     cmocka_unit_test(test_gdb_rsp_too_long),
        cmocka_unit_test(test_gdb_rsp_supported),   cmocka_unit_test(test_gdb_rsp_target_xml),
        cmocka_unit_test(test_gdb_rsp_registers),   cmocka_unit_test(test_gdb_rsp_memory),
        cmocka_unit_test(test_gdb_rsp_breakpoints), cmocka_unit_test(test_gdb_rsp_resume),
        cmocka_unit_test(test_gdb_rsp_monitor),     cmocka_unit_test(test_gdb_rsp_interrupt),
        cmocka_unit_test(test_gdb_rsp_status),      cmocka_unit_test(test_gdb_rsp_threads),
        cmocka_unit_test(test_gdb_rsp_detach_kill), cmocka_unit_test(test_gdb_rsp_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
