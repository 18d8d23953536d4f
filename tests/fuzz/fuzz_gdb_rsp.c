/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the GDB Remote Serial Protocol engine (core/gdb/rsp.c)
 * on a hostile byte stream, against a fake target.  Invariants: every
 * write is '+', '-' or one well-formed packet ($payload#xx, the checksum
 * right, nothing unescaped that frames or run-length encodes, at most
 * GDB_RSP_PACKET_MAX bytes); the target is never called with a thread
 * outside 1..n, a memory range that is empty, longer than a packet or
 * wraps, a breakpoint type outside 0..4, or a resume while the VM runs;
 * no crash. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/gdb/rsp.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MEM_BASE 0x1000u
#define MEM_SIZE 4096u

static struct gdb_rsp rsp;
static unsigned nthreads;
static bool running;      /* resumed or interrupted, no stop reported yet */
static bool stop_in_call; /* resume/interrupt report the stop at once */
static uint8_t mem[MEM_SIZE];

static void check_thread(unsigned t)
{
    if (t < 1 || t > nthreads)
        abort();
}

static unsigned fz_threads(void *ctx)
{
    (void)ctx;
    return nthreads;
}

static int fz_reg_read(void *ctx, unsigned t, unsigned regno, uint64_t *val)
{
    (void)ctx;
    check_thread(t);
    if (regno % 7 == 3)
        return ERR_NOENT;
    if (regno % 11 == 5)
        return ERR_IO;
    *val = (uint64_t)t << 48 | regno;
    return 0;
}

static int fz_reg_write(void *ctx, unsigned t, unsigned regno, uint64_t val)
{
    (void)ctx;
    (void)val;
    check_thread(t);
    return regno % 7 == 3 ? ERR_NOENT : 0;
}

static int fz_mem(unsigned t, uint64_t addr, size_t n)
{
    check_thread(t);
    if (n < 1 || n > GDB_RSP_PACKET_MAX || addr > UINT64_MAX - (n - 1))
        abort();
    if (addr < MEM_BASE || addr - MEM_BASE >= MEM_SIZE || n > MEM_SIZE - (addr - MEM_BASE))
        return ERR_RANGE;
    return 0;
}

static int fz_mem_read(void *ctx, unsigned t, uint64_t addr, void *buf, size_t n)
{
    (void)ctx;
    int rc = fz_mem(t, addr, n);
    if (rc == 0)
        memcpy(buf, &mem[addr - MEM_BASE], n);
    return rc;
}

static int fz_mem_write(void *ctx, unsigned t, uint64_t addr, const void *buf, size_t n)
{
    (void)ctx;
    int rc = fz_mem(t, addr, n);
    if (rc == 0)
        memcpy(&mem[addr - MEM_BASE], buf, n);
    return rc;
}

static int fz_bp(int type, uint64_t addr, unsigned kind)
{
    if (type < 0 || type > 4 || kind < 1 || addr > UINT64_MAX - (kind - 1))
        abort();
    if (running)
        abort(); /* breakpoints change only while the VM is stopped */
    return type == 4 ? ERR_NOTSUP : addr & 1 ? ERR_INVAL : 0;
}

static int fz_bp_insert(void *ctx, int type, uint64_t addr, unsigned kind)
{
    (void)ctx;
    return fz_bp(type, addr, kind);
}

static int fz_bp_remove(void *ctx, int type, uint64_t addr, unsigned kind)
{
    (void)ctx;
    return fz_bp(type, addr, kind);
}

static void fz_resume(void *ctx, unsigned only, bool step)
{
    (void)ctx;
    if (running || only > nthreads || (step && !only))
        abort();
    running = true;
    if (stop_in_call && step) {
        running = false;
        gdb_rsp_stopped(&rsp, only, GDB_STOP_STEP, 0);
    }
}

static void fz_interrupt(void *ctx)
{
    (void)ctx;
    running = true;
    if (stop_in_call) {
        running = false;
        gdb_rsp_stopped(&rsp, 1, GDB_STOP_INTERRUPT, 0);
    }
}

static void fz_detach(void *ctx)
{
    (void)ctx;
    running = false;
}

/* The command must be a NUL-free line within bounds; the answer fills
 * the whole buffer (the engine must bound what it sends). */
static int fz_monitor(void *ctx, const char *cmd, char *out, size_t outlen)
{
    (void)ctx;
    size_t n = strlen(cmd);
    if (n == 0 || n > GDB_RSP_MONITOR_MAX || outlen < 2)
        abort();
    memset(out, 'a' + (int)(n % 26), outlen - 1);
    out[outlen - 1] = 0;
    return (n & 1) ? -1 : 0;
}

static const struct gdb_target_ops fz_ops = {
    fz_threads,   fz_reg_read, fz_reg_write, fz_mem_read, fz_mem_write, fz_bp_insert,
    fz_bp_remove, fz_resume,   fz_interrupt, fz_detach,   fz_monitor,
};

static int hexv(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* the engine writes lower-case digits only */
}

/* Each write must be one whole thing the client can read. */
static void fz_out(void *ctx, const void *buf, size_t n)
{
    const char *s = buf;
    (void)ctx;
    if (n == 1 && (s[0] == '+' || s[0] == '-'))
        return;
    if (n < 4 || n - 4 > GDB_RSP_PACKET_MAX || s[0] != '$' || s[n - 3] != '#')
        abort();
    int hi = hexv(s[n - 2]), lo = hexv(s[n - 1]);
    if (hi < 0 || lo < 0)
        abort();
    uint8_t sum = 0;
    for (size_t i = 1; i < n - 3; i++) {
        char c = s[i];
        sum = (uint8_t)(sum + (uint8_t)c);
        if (c == '$' || c == '#' || c == '*')
            abort(); /* unescaped framing, or run-length encoding */
        if (c == '}') {
            if (i + 1 >= n - 3)
                abort(); /* an escape with nothing after it */
            i++;
            sum = (uint8_t)(sum + (uint8_t)s[i]);
        }
    }
    if (sum != (uint8_t)(hi << 4 | lo))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    /* Byte 0: the VM (0..4 vCPUs, or 300 for the thread list in pieces);
     * byte 1: whether it is stopped at the start, and whether stops come
     * from inside the target's calls. */
    nthreads = data[0] & 0x80 ? 300 : data[0] % 5;
    running = false;
    stop_in_call = data[1] & 2;
    memset(mem, 0xa5, sizeof(mem));
    gdb_rsp_init(&rsp, &fz_ops, NULL, fz_out, NULL);
    if (data[1] & 1)
        gdb_rsp_stopped(&rsp, 1, GDB_STOP_INTERRUPT, 0);
    data += 2;
    size -= 2;

    /* In pieces of 1..64 bytes; between them, a VM that was asked to run
     * or stop reports a stop (reason and thread from the input, the
     * thread possibly out of range). */
    size_t off = 0;
    while (off < size) {
        size_t k = 1 + (off * 31 + size) % 64;
        if (k > size - off)
            k = size - off;
        gdb_rsp_input(&rsp, data + off, k);
        off += k;
        if (running && (data[off - 1] & 3) == 0) {
            running = false;
            gdb_rsp_stopped(&rsp, data[off - 1] >> 5,
                            (enum gdb_stop_reason)(data[off - 1] >> 2 & 7), 0x1000);
        }
    }
    return 0;
}
