/* SPDX-License-Identifier: Apache-2.0 */
/* The GDB Remote Serial Protocol engine (rsp.h has the state machine).
 * Facts from the GDB manual's "Remote Protocol" appendix; where it leaves
 * a choice, the comment says which and why. */
#include "core/gdb/rsp.h"
#include "lib/hex.h"
#include "lib/err.h"
#include "lib/string.h"

/* Error replies.  gdb shows the number and otherwise treats them alike;
 * distinct numbers tell a person reading a packet log which check failed. */
#define E_MALFORMED "E01" /* a field of the wrong form, length or range */
#define E_THREAD    "E02" /* no such thread */
#define E_TOO_LONG  "E03" /* the packet was longer than PacketSize */
#define E_RUNNING   "E04" /* it needs the VM stopped */
#define E_TARGET    "E05" /* the target refused (a register, a breakpoint) */
#define E_CHECKSUM  "E06" /* a bad checksum in no-ack mode */
#define E_FAULT     "E0e" /* memory not readable or writable there (EFAULT) */
#define E_ANNEX     "E00" /* qXfer: the manual's code for an unknown annex */

/* Signals in stop replies, by gdb's numbering. */
#define SIGINT_GDB  2
#define SIGTRAP_GDB 5

/* ---- the target description ----------------------------------------------- */

/* regnum is given wherever the numbering jumps (f0 after pc, fflags after
 * CSR 0, each CSR: 65 + its number, priv): gdb numbers a register one past
 * the previous one otherwise, and p, P and g use these numbers.  The fpu
 * feature is always there: a VM without F/D reports its registers
 * unavailable (reg_read's ERR_NOENT). */
const char gdb_rsp_target_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n"
    "<architecture>riscv:rv64</architecture>\n"
    "<feature name=\"org.gnu.gdb.riscv.cpu\">\n"
    "<reg name=\"zero\" bitsize=\"64\" type=\"int\" regnum=\"0\"/>\n"
    "<reg name=\"ra\" bitsize=\"64\" type=\"code_ptr\"/>\n"
    "<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"gp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"tp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"t0\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"t1\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"t2\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"fp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"s1\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"a0\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"a1\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"a2\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"a3\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"a4\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"a5\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"a6\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"a7\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s2\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s3\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s4\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s5\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s6\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s7\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s8\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s9\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s10\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"s11\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"t3\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"t4\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"t5\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"t6\" bitsize=\"64\" type=\"int\"/>\n"
    "<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.riscv.fpu\">\n"
    "<reg name=\"ft0\" bitsize=\"64\" type=\"ieee_double\" regnum=\"33\"/>\n"
    "<reg name=\"ft1\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft2\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft3\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft4\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft5\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft6\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft7\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs0\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs1\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fa0\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fa1\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fa2\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fa3\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fa4\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fa5\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fa6\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fa7\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs2\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs3\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs4\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs5\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs6\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs7\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs8\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs9\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs10\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fs11\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft8\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft9\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft10\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"ft11\" bitsize=\"64\" type=\"ieee_double\"/>\n"
    "<reg name=\"fflags\" bitsize=\"32\" type=\"int\" regnum=\"66\"/>\n"
    "<reg name=\"frm\" bitsize=\"32\" type=\"int\" regnum=\"67\"/>\n"
    "<reg name=\"fcsr\" bitsize=\"32\" type=\"int\" regnum=\"68\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.riscv.csr\">\n"
    "<reg name=\"sstatus\" bitsize=\"64\" type=\"int\" regnum=\"321\"/>\n"
    "<reg name=\"sie\" bitsize=\"64\" type=\"int\" regnum=\"325\"/>\n"
    "<reg name=\"stvec\" bitsize=\"64\" type=\"code_ptr\" regnum=\"326\"/>\n"
    "<reg name=\"sscratch\" bitsize=\"64\" type=\"int\" regnum=\"385\"/>\n"
    "<reg name=\"sepc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"386\"/>\n"
    "<reg name=\"scause\" bitsize=\"64\" type=\"int\" regnum=\"387\"/>\n"
    "<reg name=\"stval\" bitsize=\"64\" type=\"int\" regnum=\"388\"/>\n"
    "<reg name=\"sip\" bitsize=\"64\" type=\"int\" regnum=\"389\"/>\n"
    "<reg name=\"satp\" bitsize=\"64\" type=\"int\" regnum=\"449\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.riscv.virtual\">\n"
    "<reg name=\"priv\" bitsize=\"64\" type=\"int\" regnum=\"4161\"/>\n"
    "</feature>\n"
    "</target>\n";

/* The width of a register in bytes (gdb's riscv64 description), 0 for a
 * number that names none. */
static unsigned rsp_reg_size(uint64_t regno)
{
    if (regno <= GDB_REG_F31)
        return 8;
    if (regno >= GDB_REG_FFLAGS && regno <= GDB_REG_FCSR)
        return 4; /* 32 bits in org.gnu.gdb.riscv.fpu */
    if (regno >= GDB_REG_CSR(0) && regno <= GDB_REG_CSR(0xfff))
        return 8;
    if (regno == GDB_REG_PRIV)
        return 8;
    return 0;
}

/* ---- output ------------------------------------------------------------- */

static const char hexdig[] = "0123456789abcdef";

static void rsp_begin(struct gdb_rsp *r)
{
    r->rlen = 0;
    r->roverflow = false;
}

/* The payload starts at reply[1], after '$'; 3 bytes stay for "#xx". */
static char *rsp_room(struct gdb_rsp *r, size_t n)
{
    if (r->roverflow || n > GDB_RSP_PACKET_MAX - r->rlen) {
        r->roverflow = true;
        return NULL;
    }
    char *p = &r->reply[1 + r->rlen];
    r->rlen += n;
    return p;
}

static void rsp_put(struct gdb_rsp *r, const char *s, size_t n)
{
    char *p = rsp_room(r, n);
    if (p)
        memcpy(p, s, n);
}

static void rsp_puts(struct gdb_rsp *r, const char *s)
{
    rsp_put(r, s, strlen(s));
}

static void rsp_put_hex_bytes(struct gdb_rsp *r, const uint8_t *b, size_t n)
{
    char *p = rsp_room(r, 2 * n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++) {
        p[2 * i] = hexdig[b[i] >> 4];
        p[2 * i + 1] = hexdig[b[i] & 15];
    }
}

/* A number, as the protocol writes them: hex without leading zeros. */
static void rsp_put_num(struct gdb_rsp *r, uint64_t v)
{
    char tmp[16];
    size_t n = 0;
    do {
        tmp[15 - n++] = hexdig[v & 15];
        v >>= 4;
    } while (v);
    rsp_put(r, &tmp[16 - n], n);
}

/* A register's value in the target's byte order (little-endian). */
static void rsp_put_reg(struct gdb_rsp *r, uint64_t v, unsigned size)
{
    uint8_t b[8];
    for (unsigned i = 0; i < size; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    rsp_put_hex_bytes(r, b, size);
}

/* An unavailable register: "xx" per byte. */
static void rsp_put_unavailable(struct gdb_rsp *r, unsigned size)
{
    char *p = rsp_room(r, 2 * size);
    if (p)
        memset(p, 'x', 2 * size);
}

static void rsp_emit(struct gdb_rsp *r, const void *buf, size_t n)
{
    r->out(r->out_ctx, buf, n);
}

/* Frames the reply built since rsp_begin and sends it; it stays in
 * reply[] for a NAK until the next one replaces it. */
static void rsp_send(struct gdb_rsp *r)
{
    if (r->roverflow) {
        /* Replies are sized to fit before they are built; this is the
         * guard for a mistake in that, not a path a client can reach. */
        r->rlen = 3;
        r->roverflow = false;
        memcpy(&r->reply[1], E_TARGET, 3);
    }
    uint8_t sum = 0;
    for (size_t i = 0; i < r->rlen; i++)
        sum = (uint8_t)(sum + (uint8_t)r->reply[1 + i]);
    r->reply[0] = '$';
    r->reply[1 + r->rlen] = '#';
    r->reply[2 + r->rlen] = hexdig[sum >> 4];
    r->reply[3 + r->rlen] = hexdig[sum & 15];
    r->reply_len = r->rlen + 4;
    rsp_emit(r, r->reply, r->reply_len);
}

static void rsp_reply(struct gdb_rsp *r, const char *s)
{
    rsp_begin(r);
    rsp_puts(r, s);
    rsp_send(r);
}

size_t gdb_rsp_escape(char *dst, size_t dst_size, size_t *dst_len, const void *src, size_t n)
{
    const uint8_t *s = src;
    size_t o = 0, i;
    for (i = 0; i < n; i++) {
        uint8_t c = s[i];
        /* '*' too: in a reply it would start a run-length encoding. */
        bool esc = c == '$' || c == '#' || c == '}' || c == '*';
        if (dst_size - o < (esc ? 2u : 1u))
            break;
        if (esc) {
            dst[o++] = '}';
            dst[o++] = (char)(c ^ 0x20);
        } else {
            dst[o++] = (char)c;
        }
    }
    *dst_len = o;
    return i;
}

/* ---- parsing ------------------------------------------------------------ */

/* A packet being read: p moves from its start to end. */
struct cursor {
    const char *p, *end;
};

static bool at_end(const struct cursor *c)
{
    return c->p == c->end;
}

static bool take(struct cursor *c, char ch)
{
    if (c->p == c->end || *c->p != ch)
        return false;
    c->p++;
    return true;
}

/* The word exactly, then more or the end. */
static bool take_word(struct cursor *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

/* A hex number of 1..max_digits digits; more digits than that is an error
 * (not a silent overflow). */
static bool take_hex(struct cursor *c, unsigned max_digits, uint64_t *v)
{
    uint64_t x = 0;
    unsigned n = 0;
    int d;
    while (c->p != c->end && (d = hex_digit(*c->p)) >= 0) {
        if (++n > max_digits)
            return false;
        x = x << 4 | (uint64_t)d;
        c->p++;
    }
    *v = x;
    return n > 0;
}

/* Exactly 2 * n hex digits into n bytes. */
static bool take_hex_bytes(struct cursor *c, uint8_t *out, size_t n)
{
    if ((size_t)(c->end - c->p) < 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(c->p[2 * i]), lo = hex_digit(c->p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    c->p += 2 * n;
    return true;
}

/* A register value of size bytes, little-endian, exactly 2 * size digits. */
static bool take_reg(struct cursor *c, unsigned size, uint64_t *v)
{
    uint8_t b[8];
    if (!take_hex_bytes(c, b, size))
        return false;
    uint64_t x = 0;
    for (unsigned i = 0; i < size; i++)
        x |= (uint64_t)b[i] << (8 * i);
    *v = x;
    return true;
}

#define TID_ALL ((uint64_t)-1) /* "-1": every thread */
#define TID_ANY 0              /* "0": any thread */

/* A thread id: "-1", or a hex number (8 digits at most: an unsigned).
 * Without multiprocess (never advertised) there is no "p" form. */
static bool take_tid(struct cursor *c, uint64_t *tid)
{
    if (take(c, '-')) {
        *tid = TID_ALL;
        return take(c, '1');
    }
    return take_hex(c, 8, tid);
}

/* ---- threads ------------------------------------------------------------ */

static unsigned rsp_threads(struct gdb_rsp *r)
{
    return r->ops->threads(r->ctx);
}

static bool rsp_thread_ok(struct gdb_rsp *r, uint64_t tid)
{
    return tid >= 1 && tid <= rsp_threads(r);
}

/* The thread a selection (Hg/Hc, 0 for none) stands for: itself if it
 * still exists, else the one that stopped, else the first; 0 if the VM
 * has no vCPUs. */
static unsigned rsp_resolve(struct gdb_rsp *r, unsigned sel)
{
    if (rsp_thread_ok(r, sel))
        return sel;
    if (rsp_thread_ok(r, r->stop_thread))
        return r->stop_thread;
    return rsp_threads(r) ? 1 : 0;
}

/* ---- stop replies ------------------------------------------------------- */

static void rsp_send_stop(struct gdb_rsp *r)
{
    rsp_begin(r);
    uint8_t sig = r->stop_reason == GDB_STOP_INTERRUPT ? SIGINT_GDB : SIGTRAP_GDB;
    rsp_puts(r, "T");
    rsp_put_hex_bytes(r, &sig, 1);
    if (rsp_thread_ok(r, r->stop_thread)) {
        rsp_puts(r, "thread:");
        rsp_put_num(r, r->stop_thread);
        rsp_puts(r, ";");
    }
    const char *watch = NULL;
    switch (r->stop_reason) {
    case GDB_STOP_SWBREAK:
        /* Only to a client that said it understands the field. */
        if (r->client_swbreak)
            rsp_puts(r, "swbreak:;");
        break;
    case GDB_STOP_HWBREAK:
        if (r->client_hwbreak)
            rsp_puts(r, "hwbreak:;");
        break;
    case GDB_STOP_WATCH:
        watch = "watch:";
        break;
    case GDB_STOP_RWATCH:
        watch = "rwatch:";
        break;
    case GDB_STOP_AWATCH:
        watch = "awatch:";
        break;
    default:
        break;
    }
    if (watch) {
        rsp_puts(r, watch);
        rsp_put_num(r, r->stop_addr);
        rsp_puts(r, ";");
    }
    rsp_send(r);
}

void gdb_rsp_stopped(struct gdb_rsp *r, unsigned thread, enum gdb_stop_reason reason, uint64_t addr)
{
    if ((unsigned)reason > GDB_STOP_INTERRUPT)
        reason = GDB_STOP_INTERRUPT;
    r->stop_thread = rsp_thread_ok(r, thread) ? thread : 0;
    r->stop_reason = reason;
    r->stop_addr = addr;
    /* A client takes the thread of a stop reply as the stub's general
     * thread from then on (gdb records it as such): follow it. */
    r->g_thread = r->stop_thread;
    bool waiting = r->state == GDB_RSP_WAITING;
    r->state = GDB_RSP_STOPPED;
    r->interrupted = false;
    if (waiting)
        rsp_send_stop(r);
}

/* ---- commands ----------------------------------------------------------- */

static void cmd_status(struct gdb_rsp *r, struct cursor *c)
{
    if (!at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    if (r->state == GDB_RSP_STOPPED) {
        rsp_send_stop(r);
        return;
    }
    /* Running: the answer is the stop this asks for.  The state changes
     * first: interrupt may report the stop from inside. */
    r->state = GDB_RSP_WAITING;
    r->interrupted = true;
    r->ops->interrupt(r->ctx);
}

static void cmd_read_regs(struct gdb_rsp *r, struct cursor *c)
{
    if (!at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    unsigned t = rsp_resolve(r, r->g_thread);
    if (!t) {
        rsp_reply(r, E_THREAD);
        return;
    }
    rsp_begin(r);
    for (unsigned i = 0; i < GDB_G_REGS; i++) {
        uint64_t v;
        int rc = r->ops->reg_read(r->ctx, t, i, &v);
        if (rc == ERR_NOENT) {
            rsp_put_unavailable(r, 8);
        } else if (rc < 0) {
            rsp_reply(r, E_TARGET);
            return;
        } else {
            rsp_put_reg(r, v, 8);
        }
    }
    rsp_send(r);
}

static void cmd_write_regs(struct gdb_rsp *r, struct cursor *c)
{
    uint64_t v[GDB_G_REGS];
    for (unsigned i = 0; i < GDB_G_REGS; i++) {
        if (!take_reg(c, 8, &v[i])) {
            rsp_reply(r, E_MALFORMED);
            return;
        }
    }
    unsigned t = rsp_resolve(r, r->g_thread);
    if (!at_end(c) || !t) {
        rsp_reply(r, t ? E_MALFORMED : E_THREAD);
        return;
    }
    for (unsigned i = 0; i < GDB_G_REGS; i++) {
        if (r->ops->reg_write(r->ctx, t, i, v[i]) < 0) {
            rsp_reply(r, E_TARGET);
            return;
        }
    }
    rsp_reply(r, "OK");
}

static void cmd_read_reg(struct gdb_rsp *r, struct cursor *c)
{
    uint64_t regno, v;
    if (!take_hex(c, 8, &regno) || !at_end(c) || !rsp_reg_size(regno)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    unsigned size = rsp_reg_size(regno), t = rsp_resolve(r, r->g_thread);
    if (!t) {
        rsp_reply(r, E_THREAD);
        return;
    }
    int rc = r->ops->reg_read(r->ctx, t, (unsigned)regno, &v);
    if (rc < 0 && rc != ERR_NOENT) {
        rsp_reply(r, E_TARGET);
        return;
    }
    rsp_begin(r);
    if (rc == ERR_NOENT)
        rsp_put_unavailable(r, size);
    else
        rsp_put_reg(r, v, size);
    rsp_send(r);
}

static void cmd_write_reg(struct gdb_rsp *r, struct cursor *c)
{
    uint64_t regno, v;
    if (!take_hex(c, 8, &regno) || !rsp_reg_size(regno) || !take(c, '=') ||
        !take_reg(c, rsp_reg_size(regno), &v) || !at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    unsigned t = rsp_resolve(r, r->g_thread);
    if (!t) {
        rsp_reply(r, E_THREAD);
        return;
    }
    rsp_reply(r, r->ops->reg_write(r->ctx, t, (unsigned)regno, v) < 0 ? E_TARGET : "OK");
}

/* "addr,length" with length at most max and the range not wrapping past
 * the top of the address space. */
static bool take_range(struct cursor *c, size_t max, uint64_t *addr, size_t *len)
{
    uint64_t a, n;
    if (!take_hex(c, 16, &a) || !take(c, ',') || !take_hex(c, 16, &n))
        return false;
    if (n > max || (n && a > UINT64_MAX - (n - 1)))
        return false;
    *addr = a;
    *len = (size_t)n;
    return true;
}

static void cmd_read_mem(struct gdb_rsp *r, struct cursor *c)
{
    uint64_t addr;
    size_t len;
    /* Length 0 is refused: its empty reply would read as "m unsupported". */
    if (!take_range(c, GDB_RSP_MEM_MAX, &addr, &len) || !len || !at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    unsigned t = rsp_resolve(r, r->g_thread);
    if (!t) {
        rsp_reply(r, E_THREAD);
        return;
    }
    if (r->ops->mem_read(r->ctx, t, addr, r->mem, len) < 0) {
        rsp_reply(r, E_FAULT);
        return;
    }
    rsp_begin(r);
    rsp_put_hex_bytes(r, r->mem, len);
    rsp_send(r);
}

static void rsp_write_mem(struct gdb_rsp *r, uint64_t addr, const void *data, size_t len)
{
    unsigned t = rsp_resolve(r, r->g_thread);
    if (!t) {
        rsp_reply(r, E_THREAD);
        return;
    }
    /* Length 0: gdb's probe for X; nothing to write. */
    if (len && r->ops->mem_write(r->ctx, t, addr, data, len) < 0) {
        rsp_reply(r, E_FAULT);
        return;
    }
    rsp_reply(r, "OK");
}

static void cmd_write_mem_hex(struct gdb_rsp *r, struct cursor *c)
{
    uint64_t addr;
    size_t len;
    if (!take_range(c, GDB_RSP_MEM_MAX, &addr, &len) || !take(c, ':') ||
        !take_hex_bytes(c, r->mem, len) || !at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    rsp_write_mem(r, addr, r->mem, len);
}

static void cmd_write_mem_bin(struct gdb_rsp *r, struct cursor *c)
{
    uint64_t addr;
    size_t len;
    /* The framing already removed the escapes: the rest is the data, and
     * it must be exactly the length given. */
    if (!take_range(c, GDB_RSP_PACKET_MAX, &addr, &len) || !take(c, ':') ||
        (size_t)(c->end - c->p) != len) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    rsp_write_mem(r, addr, c->p, len);
}

static void cmd_breakpoint(struct gdb_rsp *r, struct cursor *c, bool insert)
{
    uint64_t type, addr, kind;
    /* No ";cond" or ";cmds": ConditionalBreakpoints is not advertised. */
    if (!take_hex(c, 1, &type) || type > 4 || !take(c, ',') || !take_hex(c, 16, &addr) ||
        !take(c, ',') || !take_hex(c, 8, &kind) || !at_end(c) || !kind ||
        addr > UINT64_MAX - (kind - 1)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    int rc = insert ? r->ops->bp_insert(r->ctx, (int)type, addr, (unsigned)kind)
                    : r->ops->bp_remove(r->ctx, (int)type, addr, (unsigned)kind);
    rsp_reply(r, rc == ERR_NOTSUP ? "" : rc < 0 ? E_TARGET : "OK");
}

/* Lets the VM run: every thread (only 0) or thread only alone, which
 * single-steps if step. */
static void rsp_resume(struct gdb_rsp *r, unsigned only, bool step)
{
    /* The state changes first: resume may report the stop from inside. */
    r->state = GDB_RSP_WAITING;
    r->interrupted = false;
    r->ops->resume(r->ctx, only, step);
}

/* c, C, s, S: [sig (C, S)][;addr (C, S) | addr (c, s)].  The signal is
 * accepted and dropped: a VM has no signals to deliver. */
static void cmd_continue(struct gdb_rsp *r, struct cursor *c, bool step, bool sig)
{
    uint64_t addr = 0;
    uint8_t signal;
    bool has_addr = false;
    if (sig && !take_hex_bytes(c, &signal, 1)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    if (!at_end(c)) {
        if ((sig && !take(c, ';')) || !take_hex(c, 16, &addr) || !at_end(c)) {
            rsp_reply(r, E_MALFORMED);
            return;
        }
        has_addr = true;
    }
    unsigned t = rsp_resolve(r, r->c_thread);
    if (!t) {
        rsp_reply(r, E_THREAD);
        return;
    }
    /* "Resume at addr": the pc of the thread that continues (gdb only
     * sends it with one thread in mind). */
    if (has_addr && r->ops->reg_write(r->ctx, t, GDB_REG_PC, addr) < 0) {
        rsp_reply(r, E_TARGET);
        return;
    }
    rsp_resume(r, step ? t : 0, step);
}

/* vCont;action[:thread]...: each thread takes the leftmost action that
 * names it (by its id or as "every thread").  The target runs every vCPU
 * or one alone, which may step: so one stepping thread at most, and an
 * action for every thread steps only when it is left with one thread.  A
 * step runs its thread alone (the others stay stopped, whatever their
 * action).  Otherwise the threads a c/C names run: one thread named
 * alone runs alone (gdb's "vCont;c:N", its step over a lifted breakpoint:
 * docs/debugging.md); anything more runs every thread.  't' (stop) keeps
 * a thread stopped only where one runs alone (gdb sends it only in
 * non-stop).  At least one c/C/s/S, or there is nothing to wait for. */
struct vcont_action {
    uint64_t tid; /* TID_ALL or 1..n */
    char a;
};

static bool vcont_named_before(const struct vcont_action *act, unsigned k, uint64_t tid)
{
    for (unsigned i = 0; i < k; i++)
        if (act[i].tid == tid)
            return true;
    return false;
}

static void cmd_vcont(struct gdb_rsp *r, struct cursor *c)
{
    struct vcont_action act[GDB_RSP_VCONT_MAX];
    unsigned na = 0, n = rsp_threads(r), step = 0;
    bool any_run = false;
    uint8_t sig;
    unsigned runners = 0, runner = 0; /* threads named with c/C */
    bool run_rest = false;            /* an action for every thread runs the rest */

    while (!at_end(c)) {
        uint64_t tid = TID_ALL;
        if (!take(c, ';') || at_end(c) || na == GDB_RSP_VCONT_MAX) {
            rsp_reply(r, E_MALFORMED);
            return;
        }
        char a = *c->p++;
        if ((a != 'c' && a != 'C' && a != 's' && a != 'S' && a != 't') ||
            ((a == 'C' || a == 'S') && !take_hex_bytes(c, &sig, 1)) ||
            (take(c, ':') && !take_tid(c, &tid))) {
            rsp_reply(r, E_MALFORMED);
            return;
        }
        if (tid != TID_ALL && !rsp_thread_ok(r, tid)) {
            rsp_reply(r, E_THREAD); /* "0" (any) too: an action names its thread */
            return;
        }
        act[na].tid = tid;
        act[na++].a = a;
    }
    for (unsigned k = 0; k < na; k++) {
        bool steps = act[k].a == 's' || act[k].a == 'S';
        uint64_t t = act[k].tid;
        if (t != TID_ALL) {
            if (vcont_named_before(act, k, t))
                continue;
            any_run |= act[k].a != 't';
            if (act[k].a == 'c' || act[k].a == 'C') {
                runners++;
                runner = (unsigned)t;
            }
            if (steps) {
                if (step) {
                    rsp_reply(r, E_MALFORMED);
                    return;
                }
                step = (unsigned)t;
            }
            continue;
        }
        /* Every thread no earlier action named; later actions name none. */
        unsigned named = 0;
        for (unsigned i = 0; i < k; i++)
            named += !vcont_named_before(act, i, act[i].tid);
        if (named < n) {
            any_run |= act[k].a != 't';
            run_rest = act[k].a == 'c' || act[k].a == 'C';
            if (steps) {
                if (step || n - named != 1) {
                    rsp_reply(r, E_MALFORMED);
                    return;
                }
                /* The one left: at most k + 1 ids to try. */
                unsigned id = 1;
                while (vcont_named_before(act, k, id))
                    id++;
                step = id;
            }
        }
        break;
    }
    if (!any_run) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    if (step)
        rsp_resume(r, step, true);
    else
        rsp_resume(r, !run_rest && runners == 1 ? runner : 0, false);
}

static void cmd_set_thread(struct gdb_rsp *r, struct cursor *c)
{
    uint64_t tid;
    if (at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    char op = *c->p++;
    if ((op != 'g' && op != 'c') || !take_tid(c, &tid) || !at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    if (tid != TID_ALL && tid != TID_ANY && !rsp_thread_ok(r, tid)) {
        rsp_reply(r, E_THREAD);
        return;
    }
    /* -1 and 0 both leave the choice to the stop (rsp_resolve). */
    unsigned sel = tid == TID_ALL ? 0 : (unsigned)tid;
    if (op == 'g')
        r->g_thread = sel;
    else
        r->c_thread = sel;
    rsp_reply(r, "OK");
}

static void cmd_thread_alive(struct gdb_rsp *r, struct cursor *c)
{
    uint64_t tid;
    if (!take_tid(c, &tid) || !at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    rsp_reply(r, rsp_thread_ok(r, tid) ? "OK" : E_THREAD);
}

static void rsp_thread_list(struct gdb_rsp *r)
{
    unsigned n = rsp_threads(r);
    if (r->list_next < 1 || r->list_next > n) {
        rsp_reply(r, "l");
        return;
    }
    rsp_begin(r);
    rsp_puts(r, "m");
    for (unsigned i = 0; i < GDB_RSP_THREADS_PER_REPLY && r->list_next <= n; i++) {
        if (i)
            rsp_puts(r, ",");
        rsp_put_num(r, r->list_next);
        /* n can be UINT_MAX: stop before the id wraps to 0. */
        if (r->list_next == n) {
            r->list_next = 0;
            break;
        }
        r->list_next++;
    }
    rsp_send(r);
}

static void cmd_supported(struct gdb_rsp *r, struct cursor *c)
{
    bool sw = false, hw = false;
    if (take(c, ':')) {
        /* feature;feature...: each non-empty; the ones that matter here
         * are named exactly. */
        while (true) {
            const char *f = c->p;
            while (c->p != c->end && *c->p != ';')
                c->p++;
            size_t n = (size_t)(c->p - f);
            if (!n) {
                rsp_reply(r, E_MALFORMED);
                return;
            }
            sw |= n == 8 && !memcmp(f, "swbreak+", 8);
            hw |= n == 8 && !memcmp(f, "hwbreak+", 8);
            if (!take(c, ';'))
                break;
        }
    }
    if (!at_end(c)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    r->client_swbreak = sw;
    r->client_hwbreak = hw;
    rsp_begin(r);
    rsp_puts(r, "PacketSize=");
    rsp_put_num(r, GDB_RSP_PACKET_MAX);
    rsp_puts(r, ";QStartNoAckMode+;qXfer:features:read+;swbreak+;hwbreak+;vContSupported+");
    rsp_send(r);
}

/* qXfer:features:read:annex:offset,length (after "qXfer:features:read:"). */
static void cmd_xfer_features(struct gdb_rsp *r, struct cursor *c)
{
    static const char annex[] = "target.xml:";
    uint64_t off, len;
    if (!take_word(c, annex)) {
        rsp_reply(r, E_ANNEX);
        return;
    }
    if (!take_hex(c, 16, &off) || !take(c, ',') || !take_hex(c, 16, &len) || !at_end(c) || !len) {
        rsp_reply(r, E_ANNEX); /* the manual's code for a malformed request too */
        return;
    }
    size_t total = sizeof(gdb_rsp_target_xml) - 1;
    if (off > total) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    size_t want = total - (size_t)off;
    if (want > len)
        want = (size_t)len;
    rsp_begin(r);
    char *kind = rsp_room(r, 1);
    size_t wrote;
    size_t took = gdb_rsp_escape(&r->reply[1 + r->rlen], GDB_RSP_PACKET_MAX - r->rlen, &wrote,
                                 gdb_rsp_target_xml + off, want);
    r->rlen += wrote;
    *kind = off + took == total ? 'l' : 'm';
    rsp_send(r);
}

/* qRcmd,HEX: gdb's `monitor` (the text hex-encoded).  The answer is an
 * "O" packet with the target's text, hex-encoded, then OK (or E05). */
static void cmd_monitor(struct gdb_rsp *r, struct cursor *c)
{
    char cmd[GDB_RSP_MONITOR_MAX + 1], text[GDB_RSP_MONITOR_OUT + 1];
    size_t n = (size_t)(c->end - c->p);

    if (!r->ops->monitor) {
        rsp_reply(r, "");
        return;
    }
    if (n == 0 || n % 2 || n / 2 > GDB_RSP_MONITOR_MAX ||
        !take_hex_bytes(c, (uint8_t *)cmd, n / 2) || memchr(cmd, 0, n / 2)) {
        rsp_reply(r, E_MALFORMED);
        return;
    }
    cmd[n / 2] = 0;
    text[0] = 0;
    int rc = r->ops->monitor(r->ctx, cmd, text, sizeof(text));
    text[GDB_RSP_MONITOR_OUT] = 0;
    size_t len = strlen(text);
    if (len) {
        rsp_begin(r);
        rsp_puts(r, "O");
        rsp_put_hex_bytes(r, (const uint8_t *)text, len);
        rsp_send(r);
    }
    rsp_reply(r, rc < 0 ? E_TARGET : "OK");
}

static void cmd_query(struct gdb_rsp *r, struct cursor *c)
{
    if (take_word(c, "Rcmd,")) {
        cmd_monitor(r, c);
        return;
    }
    if (take_word(c, "Supported")) {
        cmd_supported(r, c);
    } else if (take_word(c, "Xfer:features:read:")) {
        cmd_xfer_features(r, c);
    } else if (take_word(c, "fThreadInfo")) {
        if (!at_end(c)) {
            rsp_reply(r, E_MALFORMED);
            return;
        }
        r->list_next = 1;
        rsp_thread_list(r);
    } else if (take_word(c, "sThreadInfo")) {
        if (!at_end(c))
            rsp_reply(r, E_MALFORMED);
        else
            rsp_thread_list(r);
    } else if (take_word(c, "ThreadExtraInfo,")) {
        uint64_t tid;
        if (!take_tid(c, &tid) || !at_end(c)) {
            rsp_reply(r, E_MALFORMED);
        } else if (!rsp_thread_ok(r, tid)) {
            rsp_reply(r, E_THREAD);
        } else {
            /* Free text, hex-encoded: "vcpu N" (Vireo counts from 0). */
            char text[24] = "vcpu ", dec[12];
            size_t n = 0, k = 5;
            uint64_t v = tid - 1;
            do {
                dec[n++] = (char)('0' + v % 10);
                v /= 10;
            } while (v);
            while (n)
                text[k++] = dec[--n];
            rsp_begin(r);
            rsp_put_hex_bytes(r, (const uint8_t *)text, k);
            rsp_send(r);
        }
    } else if (take_word(c, "C")) {
        unsigned t = rsp_resolve(r, r->g_thread);
        if (!at_end(c)) {
            rsp_reply(r, ""); /* qCRC and others */
            return;
        }
        if (!t) {
            rsp_reply(r, E_THREAD);
            return;
        }
        rsp_begin(r);
        rsp_puts(r, "QC");
        rsp_put_num(r, t);
        rsp_send(r);
    } else if (take_word(c, "Attached")) {
        /* "1": the VM existed before the client came; gdb detaches from
         * it on quit instead of killing it. */
        rsp_reply(r, at_end(c) ? "1" : E_MALFORMED);
    } else {
        rsp_reply(r, ""); /* qXfer of other objects, qOffsets, qTStatus, ... */
    }
}

static void cmd_detach(struct gdb_rsp *r, bool reply)
{
    r->state = GDB_RSP_RUNNING;
    r->interrupted = false;
    r->ops->detach(r->ctx);
    if (reply)
        rsp_reply(r, "OK");
}

/* Commands that need the VM stopped. */
static bool rsp_needs_stop(char cmd)
{
    return strchr("gGpPmMXZzcCsS", cmd) != NULL;
}

static void rsp_dispatch(struct gdb_rsp *r)
{
    struct cursor c = {r->in, r->in + r->in_len};
    if (at_end(&c)) {
        rsp_reply(r, "");
        return;
    }
    char cmd = *c.p++;
    if (cmd && rsp_needs_stop(cmd) && r->state != GDB_RSP_STOPPED) {
        rsp_reply(r, E_RUNNING);
        return;
    }
    switch (cmd) {
    case '?':
        cmd_status(r, &c);
        break;
    case 'g':
        cmd_read_regs(r, &c);
        break;
    case 'G':
        cmd_write_regs(r, &c);
        break;
    case 'p':
        cmd_read_reg(r, &c);
        break;
    case 'P':
        cmd_write_reg(r, &c);
        break;
    case 'm':
        cmd_read_mem(r, &c);
        break;
    case 'M':
        cmd_write_mem_hex(r, &c);
        break;
    case 'X':
        cmd_write_mem_bin(r, &c);
        break;
    case 'Z':
    case 'z':
        cmd_breakpoint(r, &c, cmd == 'Z');
        break;
    case 'c':
    case 's':
        cmd_continue(r, &c, cmd == 's', false);
        break;
    case 'C':
    case 'S':
        cmd_continue(r, &c, cmd == 'S', true);
        break;
    case 'H':
        cmd_set_thread(r, &c);
        break;
    case 'T':
        cmd_thread_alive(r, &c);
        break;
    case 'D':
        /* Plain D only: "D;pid" is multiprocess, never advertised. */
        if (!at_end(&c))
            rsp_reply(r, E_MALFORMED);
        else
            cmd_detach(r, true);
        break;
    case 'k':
        /* No reply, by the manual.  Killing a VM from a debugger is not
         * this stub's to do: it detaches. */
        cmd_detach(r, false);
        break;
    case 'q':
        cmd_query(r, &c);
        break;
    case 'Q':
        if (take_word(&c, "StartNoAckMode")) {
            if (!at_end(&c)) {
                rsp_reply(r, E_MALFORMED);
                return;
            }
            /* The OK still goes out (and is ACKed) the old way. */
            rsp_reply(r, "OK");
            r->noack = true;
        } else {
            rsp_reply(r, "");
        }
        break;
    case 'v':
        if (take_word(&c, "Cont?")) {
            /* gdb uses vCont only if c, C, s and S are all listed. */
            rsp_reply(r, at_end(&c) ? "vCont;c;C;s;S;t" : E_MALFORMED);
        } else if (take_word(&c, "Cont")) {
            if (r->state != GDB_RSP_STOPPED)
                rsp_reply(r, E_RUNNING);
            else
                cmd_vcont(r, &c);
        } else {
            rsp_reply(r, ""); /* vMustReplyEmpty, vKill, vRun, vFile, ... */
        }
        break;
    default:
        rsp_reply(r, ""); /* unsupported: !, R, b, B, i, I, t, F, ... */
        break;
    }
}

/* ---- framing ------------------------------------------------------------ */

static void rsp_packet_start(struct gdb_rsp *r)
{
    r->frame = GDB_FRAME_DATA;
    r->escape = false;
    r->too_long = false;
    r->sum = 0;
    r->in_len = 0;
}

static void rsp_packet_done(struct gdb_rsp *r, bool sum_ok)
{
    r->frame = GDB_FRAME_IDLE;
    if (!sum_ok) {
        if (!r->noack)
            rsp_emit(r, "-", 1);
        else if (r->state != GDB_RSP_WAITING)
            rsp_reply(r, E_CHECKSUM); /* while waiting it would pass for the stop reply */
        return;
    }
    if (!r->noack)
        rsp_emit(r, "+", 1);
    if (r->state == GDB_RSP_WAITING)
        return; /* all-stop: nothing but 0x03 until the stop reply */
    if (r->too_long || r->escape) {
        /* An escape with nothing after it is as broken as an overlong
         * packet: neither can be served as sent. */
        rsp_reply(r, r->too_long ? E_TOO_LONG : E_MALFORMED);
        return;
    }
    rsp_dispatch(r);
}

static void rsp_idle_byte(struct gdb_rsp *r, uint8_t b)
{
    switch (b) {
    case '$':
        rsp_packet_start(r);
        break;
    case '+':
        break; /* nothing waits for it: a NAK can come any time, reply[] stays */
    case '-':
        if (!r->noack && r->reply_len)
            rsp_emit(r, r->reply, r->reply_len);
        break;
    case 0x03:
        if (r->state == GDB_RSP_WAITING && !r->interrupted) {
            r->interrupted = true;
            r->ops->interrupt(r->ctx);
        }
        break;
    default:
        break; /* noise between packets */
    }
}

void gdb_rsp_input(struct gdb_rsp *r, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        switch (r->frame) {
        case GDB_FRAME_IDLE:
            rsp_idle_byte(r, b);
            break;
        case GDB_FRAME_DATA:
            /* '$' and '#' frame even after '}': a client escapes them
             * in data, so here they can only be framing. */
            if (b == '$') {
                rsp_packet_start(r);
                break;
            }
            if (b == '#') {
                r->frame = GDB_FRAME_SUM1;
                break;
            }
            r->sum = (uint8_t)(r->sum + b);
            if (b == '}' && !r->escape) {
                r->escape = true;
                break;
            }
            if (r->in_len < GDB_RSP_PACKET_MAX)
                r->in[r->in_len++] = (char)(r->escape ? b ^ 0x20 : b);
            else
                r->too_long = true;
            r->escape = false;
            break;
        case GDB_FRAME_SUM1:
        case GDB_FRAME_SUM2: {
            int d = hex_digit(b);
            if (b == '$') {
                rsp_packet_start(r);
                break;
            }
            if (d < 0) {
                rsp_packet_done(r, false);
                break;
            }
            if (r->frame == GDB_FRAME_SUM1) {
                r->sum_given = (uint8_t)(d << 4);
                r->frame = GDB_FRAME_SUM2;
            } else {
                rsp_packet_done(r, (uint8_t)(r->sum_given | d) == r->sum);
            }
            break;
        }
        }
    }
}

void gdb_rsp_init(struct gdb_rsp *r, const struct gdb_target_ops *ops, void *ctx,
                  gdb_rsp_out_fn out, void *out_ctx)
{
    memset(r, 0, sizeof(*r));
    r->ops = ops;
    r->ctx = ctx;
    r->out = out;
    r->out_ctx = out_ctx;
    r->frame = GDB_FRAME_IDLE;
    r->state = GDB_RSP_RUNNING;
}
