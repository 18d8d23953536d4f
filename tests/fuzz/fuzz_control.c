/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: the control protocol (core/control/) on a hostile
 * byte stream, with two host-built VMs to act on.  Invariants: every
 * message Vireo writes is one line of valid JSON; every request line gets
 * exactly one reply (return or error) and nothing else gets one; and no
 * memory leaks (uploads are dropped with the session).  The trace rings
 * are the one allocation meant to stay (docs/tracing.md): they are made
 * before the first input, and tracing is switched off after each. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/console.h"
#include "core/control/control.h"
#include "core/control/internal.h"
#include "core/pmem.h"
#include "core/trace_ctl.h"
#include "core/vconsole.h"
#include "lib/json.h"
#include "../unit/host_vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t *in;
static size_t in_len, in_off;
static char out[1 << 22];
static size_t out_len;

static size_t fz_read(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    /* Small, odd pieces: lines arrive split anywhere. */
    size_t k = in_len - in_off < n ? in_len - in_off : n;
    if (k > 7)
        k = 7 + (in_off % 61);
    if (k > in_len - in_off)
        k = in_len - in_off;
    memcpy(buf, in + in_off, k);
    in_off += k;
    return k;
}

static size_t fz_write(void *ctx, const void *buf, size_t n)
{
    (void)ctx;
    if (n > sizeof(out) - out_len)
        n = sizeof(out) - out_len;
    memcpy(out + out_len, buf, n);
    out_len += n;
    return n;
}

static const struct control_transport fz_ops = {fz_read, fz_write, NULL};

static void sink(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

static struct vm_config cfgs[2];
static uint8_t kernel[4096];
static jsmntok_t toks[8192];

static void setup_once(void)
{
    static bool done;
    char err[128];
    if (done)
        return;
    done = true;
    console_set_output(sink);
    if (!host_vm_init(64u << 20, err, sizeof(err)))
        abort();
    /* The rings, allocated the first time tracing is on and kept: before
     * any input measures the free memory. */
    if (trace_ctl_set(TRACE_EXIT, err, sizeof(err)) != 0 || trace_ctl_set(0, err, sizeof(err)) != 0)
        abort();
    host_vm_config(&cfgs[0], "alpha", 4u << 20, 1, kernel, sizeof(kernel));
    host_vm_config(&cfgs[1], "ctl", 4u << 20, 1, kernel, sizeof(kernel));
    cfgs[1].control = true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    vconsole_test_reset();
    control_reset();
    host_vm_table_off(cfgs, 2);
    control_init(10000000);
    uint64_t free0 = pmem_free_bytes();

    in = data;
    in_len = size;
    in_off = 0;
    out_len = 0;
    /* The first byte picks who is asking: the host port or the control VM. */
    struct vm *peer = size && (data[0] & 1) ? &vms[1] : NULL;
    struct control_session *s = control_open(&fz_ops, NULL, peer, "fuzz", peer != NULL);
    if (!s)
        abort();
    /* Kicks as the run loop would after each poke: a kick serves a
     * bounded number of lines (blank ones too) and leaves the rest to the
     * loop's next stop, so go on until every line that arrived is served. */
    unsigned kicks = 0;
    while (in_off < in_len || memchr(s->in, '\n', s->in_len)) {
        if (++kicks > 100000)
            abort(); /* a line that is never served */
        control_kick();
    }
    control_kick();

    /* Requests: non-blank lines (a last line without its newline is not
     * one yet). */
    unsigned requests = 0, replies = 0;
    size_t start = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] != '\n')
            continue;
        bool blank = true;
        for (size_t k = start; k < i && blank; k++)
            blank = data[k] == ' ' || data[k] == '\t' || (data[k] == '\r' && k == i - 1);
        requests += !blank;
        start = i + 1;
    }
    start = 0;
    for (size_t i = 0; i < out_len; i++) {
        if (out[i] != '\n')
            continue;
        struct json_doc d;
        if (json_parse(&d, out + start, i - start, toks, 8192) != 0)
            abort(); /* Vireo wrote something that is not JSON */
        if (json_type(&d, 0) != JSON_OBJECT)
            abort();
        if (json_get(&d, 0, "return") >= 0 || json_get(&d, 0, "error") >= 0)
            replies++;
        start = i + 1;
    }
    if (start != out_len)
        abort(); /* a message without its newline */
    if (replies != requests)
        abort();

    control_close(s);
    control_kick();
    for (unsigned i = 0; i < 2; i++) {
        if (vms[i].state == VM_RUNNING || vms[i].state == VM_STOPPING) {
            for (unsigned k = 0; k < vms[i].nvcpus; k++)
                sched_set_vcpu_state(&vms[i].vcpus[k], VCPU_OFFLINE);
            vm_destroy(&vms[i]);
        }
    }
    trace_ctl_set(0, NULL, 0); /* an input's trace-start ends with it */
    if (pmem_free_bytes() != free0)
        abort(); /* an upload or a VM kept memory after its session and VM ended */
    return 0;
}
