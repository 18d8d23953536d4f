/* SPDX-License-Identifier: Apache-2.0 */
/* The GDB Remote Serial Protocol engine of a per-VM gdb stub
 * (docs/debugging.md).  Transport-independent: bytes from the client go
 * in through gdb_rsp_input, bytes for it come out through a callback,
 * and what the protocol asks of the VM goes to a target interface (struct
 * gdb_target_ops).  It calls nothing of Vireo's but lib/, keeps all of a
 * stub's state in struct gdb_rsp (no globals: one per VM) and allocates
 * nothing.  Every byte from the client is hostile input: packets are
 * bounded (GDB_RSP_PACKET_MAX), every field is parsed strictly, and a
 * malformed packet gets an error reply ("Enn") or, for what the engine
 * does not support, the empty reply; never a crash or a hang.
 *
 * Framing (each byte of gdb_rsp_input, outside and inside packets):
 *
 *   IDLE --'$'--> DATA --'#'--> SUM1 --hex--> SUM2 --hex--> IDLE, packet done
 *   IDLE: '+' the client took our last packet; '-' it wants it again
 *         (both ignored in no-ack mode); 0x03 an interrupt (Ctrl-C);
 *         anything else is noise between packets and ignored.
 *   DATA: '}' escapes the next byte (XOR 0x20); a '$' starts the packet
 *         over (the previous one lost its end); bytes past
 *         GDB_RSP_PACKET_MAX are counted in the checksum but not kept:
 *         such a packet is answered "E03".
 *   A packet whose checksum is wrong (or whose checksum is not two hex
 *   digits) is NAKed ('-') so the client sends it again; in no-ack mode,
 *   where the client expects no NAK, it is answered "E06" instead (but
 *   not while the client waits for a stop reply: it would take it for
 *   one).  A good one is ACKed ('+', not in no-ack mode) and then served.
 *
 * The client and the VM (all-stop: every vCPU stops and runs together):
 *
 *   RUNNING  the VM runs and the client waits for nothing.  The state at
 *            gdb_rsp_init and after D or k.  Queries are answered;
 *            commands that touch the VM's state (g G p P m M X Z z c C s S
 *            vCont) get "E04": the VM is read only while it is stopped.
 *            '?' asks the target to stop (interrupt) -> WAITING.
 *   WAITING  the client waits for a stop reply (after c/C/s/S/vCont, or
 *            '?' while running).  0x03 -> interrupt, once.  Packets are
 *            ACKed and dropped: in all-stop a client sends none until the
 *            stop reply.  gdb_rsp_stopped -> the T packet -> STOPPED.
 *   STOPPED  the VM is stopped; every command is served.  c/C/s/S/vCont
 *            -> resume -> WAITING; D, k -> detach -> RUNNING.
 *   gdb_rsp_stopped in RUNNING or STOPPED records the stop (the VM
 *   stopped without the client asking: the wiring pauses the VM when a
 *   client connects) and sends nothing; '?' reports it.
 *
 * The engine is not reentrant across threads: the caller serialises
 * gdb_rsp_input and gdb_rsp_stopped for one stub (a lock per stub).  Of
 * the target's calls only resume and interrupt may call gdb_rsp_stopped
 * from inside (a step that completes at once); the output callback must
 * not call back into the engine. */
#ifndef VIREO_CORE_GDB_RSP_H
#define VIREO_CORE_GDB_RSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Payload bytes of one packet, either way (advertised as PacketSize). */
#define GDB_RSP_PACKET_MAX 16384
/* Bytes of memory in one m or M: two hex digits each must fit a packet. */
#define GDB_RSP_MEM_MAX (GDB_RSP_PACKET_MAX / 2)
/* Thread ids in one qfThreadInfo/qsThreadInfo reply. */
#define GDB_RSP_THREADS_PER_REPLY 256
/* Actions in one vCont (more than a VM has vCPUs, plus a default). */
#define GDB_RSP_VCONT_MAX 64

/* gdb's register numbers for RISC-V (its riscv-tdep numbering, which the
 * target description repeats with regnum attributes). */
#define GDB_REG_X0     0
#define GDB_REG_PC     32 /* x0..x31 and pc: the `g` packet */
#define GDB_REG_F0     33
#define GDB_REG_F31    64
#define GDB_REG_CSR(n) (65u + (n)) /* CSR number n, 0..4095 */
#define GDB_REG_FFLAGS GDB_REG_CSR(0x001)
#define GDB_REG_FRM    GDB_REG_CSR(0x002)
#define GDB_REG_FCSR   GDB_REG_CSR(0x003)
#define GDB_REG_PRIV   4161u /* org.gnu.gdb.riscv.virtual: the privilege level */
#define GDB_G_REGS     33    /* registers in g and G: x0..x31, pc */

/* Why the VM stopped: the stop reply says it (signal 05, SIGTRAP, with a
 * swbreak/hwbreak/watch field; 02, SIGINT, for an interrupt). */
enum gdb_stop_reason {
    GDB_STOP_SWBREAK,   /* an ebreak (gdb's or the program's own) */
    GDB_STOP_HWBREAK,   /* a hardware breakpoint (a debug trigger on execution) */
    GDB_STOP_WATCH,     /* a write watchpoint at addr */
    GDB_STOP_RWATCH,    /* a read watchpoint at addr */
    GDB_STOP_AWATCH,    /* an access watchpoint at addr */
    GDB_STOP_STEP,      /* a single step completed */
    GDB_STOP_INTERRUPT, /* stopped on request (Ctrl-C, '?') */
};

/* What the protocol asks of the VM.  Threads are vCPUs, ids 1..threads();
 * the engine never passes another id.  Calls that can fail return 0 or a
 * negative ERR_* (lib/err.h). */
struct gdb_target_ops {
    /* Number of vCPUs (thread ids 1..n). */
    unsigned (*threads)(void *ctx);
    /* ERR_NOENT: the VM has no such register (the reply marks it
     * unavailable). */
    int (*reg_read)(void *ctx, unsigned thread, unsigned regno, uint64_t *val);
    int (*reg_write)(void *ctx, unsigned thread, unsigned regno, uint64_t val);
    /* Guest virtual addresses, through the thread's translation; n is 1..
     * GDB_RSP_PACKET_MAX and addr + n does not wrap. */
    int (*mem_read)(void *ctx, unsigned thread, uint64_t addr, void *buf, size_t n);
    int (*mem_write)(void *ctx, unsigned thread, uint64_t addr, const void *buf, size_t n);
    /* type: 0 software breakpoint, 1 hardware breakpoint, 2 write, 3 read,
     * 4 access watchpoint; kind: the breakpoint's size (2, 4) or the
     * watched length, >= 1.  ERR_NOTSUP: the empty reply (gdb then uses
     * another way). */
    int (*bp_insert)(void *ctx, int type, uint64_t addr, unsigned kind);
    int (*bp_remove)(void *ctx, int type, uint64_t addr, unsigned kind);
    /* All-stop: every vCPU runs (only 0), or vCPU only alone while the
     * others stay stopped; with step it executes one instruction.  The
     * target reports the next stop with gdb_rsp_stopped. */
    void (*resume)(void *ctx, unsigned only, bool step);
    /* Ctrl-C: stop every vCPU, then gdb_rsp_stopped(GDB_STOP_INTERRUPT). */
    void (*interrupt)(void *ctx);
    /* D or k: remove every breakpoint and let the VM run. */
    void (*detach)(void *ctx);
    /* Optional (NULL: the empty reply): gdb's `monitor CMD` (qRcmd), cmd
     * a NUL-terminated line of at most GDB_RSP_MONITOR_MAX bytes without
     * NULs.  Text for the user goes into out (NUL-terminated, at most
     * outlen bytes); a negative ERR_* becomes "E05" after the text. */
    int (*monitor)(void *ctx, const char *cmd, char *out, size_t outlen);
};

/* Bytes of one monitor command, and of its answer. */
#define GDB_RSP_MONITOR_MAX 256
#define GDB_RSP_MONITOR_OUT 2048

/* Bytes for the client: one call per ACK/NAK byte and one per whole
 * packet.  The transport takes all of them (or drops the connection). */
typedef void (*gdb_rsp_out_fn)(void *ctx, const void *buf, size_t n);

enum gdb_rsp_state { GDB_RSP_RUNNING, GDB_RSP_WAITING, GDB_RSP_STOPPED };

enum gdb_rsp_frame { GDB_FRAME_IDLE, GDB_FRAME_DATA, GDB_FRAME_SUM1, GDB_FRAME_SUM2 };

/* One stub's state; the caller owns it (about 42 KiB). */
struct gdb_rsp {
    const struct gdb_target_ops *ops;
    void *ctx;
    gdb_rsp_out_fn out;
    void *out_ctx;

    /* Framing of the packet coming in. */
    enum gdb_rsp_frame frame;
    bool escape;       /* the last byte was '}' */
    bool too_long;     /* more than GDB_RSP_PACKET_MAX bytes after unescaping */
    uint8_t sum;       /* of the raw bytes between '$' and '#' */
    uint8_t sum_given; /* the first checksum digit */
    size_t in_len;
    char in[GDB_RSP_PACKET_MAX];

    /* The connection. */
    bool noack;          /* QStartNoAckMode: no '+' / '-' either way */
    bool client_swbreak; /* the client's qSupported named swbreak+ */
    bool client_hwbreak;
    size_t reply_len; /* reply[]: the last packet, framed, again on a '-' */
    char reply[GDB_RSP_PACKET_MAX + 4];
    size_t rlen;        /* payload bytes of the reply being built */
    bool roverflow;     /* it did not fit (a bug: it becomes "E05") */
    unsigned list_next; /* the next thread id qsThreadInfo lists */

    /* The VM, as the client sees it. */
    enum gdb_rsp_state state;
    bool interrupted;     /* WAITING: interrupt was called */
    unsigned g_thread;    /* Hg: registers and memory (0: the stop thread) */
    unsigned c_thread;    /* Hc: c and s (0: the stop thread / all) */
    unsigned stop_thread; /* 0 when the target named no valid thread */
    enum gdb_stop_reason stop_reason;
    uint64_t stop_addr;

    uint8_t mem[GDB_RSP_MEM_MAX]; /* m and M data */
};

/* A fresh stub for a new connection: RUNNING, ack mode.  ops and out must
 * stay valid while it is in use. */
void gdb_rsp_init(struct gdb_rsp *r, const struct gdb_target_ops *ops, void *ctx,
                  gdb_rsp_out_fn out, void *out_ctx);

/* Bytes from the client, any amount, split anywhere. */
void gdb_rsp_input(struct gdb_rsp *r, const void *buf, size_t n);

/* The target: the VM stopped (all its vCPUs), thread (1..n) being the one
 * that caused it; addr is the data address for the watchpoint reasons.
 * Sends the stop reply if the client waits for one. */
void gdb_rsp_stopped(struct gdb_rsp *r, unsigned thread, enum gdb_stop_reason reason,
                     uint64_t addr);

/* The target description (target.xml) the stub serves: the cpu, fpu, csr
 * (the supervisor CSRs) and virtual (priv) features, with gdb's register
 * numbers. */
extern const char gdb_rsp_target_xml[];

/* src[0..n) as RSP binary data ('$', '#', '}' and '*' escaped) into dst;
 * stops before a byte that does not fit.  Returns the bytes of src taken;
 * *dst_len gets the bytes written. */
size_t gdb_rsp_escape(char *dst, size_t dst_size, size_t *dst_len, const void *src, size_t n);

#endif
