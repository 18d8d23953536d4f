/* SPDX-License-Identifier: Apache-2.0 */
/* The control protocol (core/control/) over an in-memory transport: the
 * framing, every way a request can be malformed, the replies and errors
 * it gets, events, flow control when the client does not read, and the
 * operations on host-built VMs (docs/control.md). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/console.h"
#include "core/control/control.h"
#include "core/hart.h"
#include "core/trace_ctl.h"
#include "core/vconsole.h"
#include "core/vm_ops.h"
#include "host_vm.h"
#include "lib/base64.h"
#include "lib/json.h"

/* A client: what it sent that Vireo has not read, what Vireo wrote. */
struct client {
    char in[1 << 20];
    size_t in_len, in_off;
    char out[1 << 23];
    size_t out_len, out_read;
    size_t write_limit; /* bytes Vireo may still write (flow control); SIZE_MAX: any */
};

static size_t client_read(void *ctx, void *buf, size_t n)
{
    struct client *c = ctx;
    size_t k = c->in_len - c->in_off < n ? c->in_len - c->in_off : n;
    memcpy(buf, c->in + c->in_off, k);
    c->in_off += k;
    return k;
}

static size_t client_write(void *ctx, const void *buf, size_t n)
{
    struct client *c = ctx;
    if (n > c->write_limit)
        n = c->write_limit;
    if (n > sizeof(c->out) - 1 - c->out_len)
        n = sizeof(c->out) - 1 - c->out_len;
    memcpy(c->out + c->out_len, buf, n);
    c->out_len += n;
    c->out[c->out_len] = 0;
    if (c->write_limit != SIZE_MAX)
        c->write_limit -= n;
    return n;
}

static const struct control_transport client_ops = {client_read, client_write, NULL};

static struct client ca, cb;
static struct control_session *sa, *sb;

static void client_send(struct client *c, const char *s)
{
    size_t n = strlen(s);
    assert_true(c->in_len + n <= sizeof(c->in));
    memcpy(c->in + c->in_len, s, n);
    c->in_len += n;
    control_kick();
}

/* The next line Vireo wrote to c that is not an event (events are
 * skipped), or NULL. */
static char line[1 << 18];
static const char *next_line(struct client *c, bool events_too)
{
    for (;;) {
        char *nl = memchr(c->out + c->out_read, '\n', c->out_len - c->out_read);
        if (!nl)
            return NULL;
        size_t n = (size_t)(nl - (c->out + c->out_read));
        assert_true(n < sizeof(line));
        memcpy(line, c->out + c->out_read, n);
        line[n] = 0;
        c->out_read += n + 1;
        if (events_too || !strstr(line, "\"event\":"))
            return line;
    }
}

static jsmntok_t toks[4096];
static struct json_doc doc;

/* Sends req, returns the parsed reply (the document is `doc`). */
static void request(struct client *c, const char *req)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s\n", req);
    client_send(c, buf);
    const char *l = next_line(c, false);
    if (!l)
        fail_msg("no reply to %s", req);
    if (json_parse(&doc, l, strlen(l), toks, 4096) != 0)
        fail_msg("reply is not JSON: %s", l);
}

static bool reply_ok(void)
{
    return json_get(&doc, 0, "return") >= 0;
}

static void expect_error(const char *req, const char *cls, const char *desc_part)
{
    char s[512];
    request(&ca, req);
    int e = json_get(&doc, 0, "error");
    if (e < 0)
        fail_msg("%s: expected error %s, got %.*s", req, cls, (int)doc.len, doc.s);
    assert_int_equal(json_str(&doc, json_get(&doc, e, "class"), s, sizeof(s)) > 0, 1);
    if (strcmp(s, cls) != 0)
        fail_msg("%s: expected class %s, got %s", req, cls, s);
    json_str(&doc, json_get(&doc, e, "desc"), s, sizeof(s));
    if (!strstr(s, desc_part))
        fail_msg("%s: expected \"%s\" in \"%s\"", req, desc_part, s);
}

static void ret_str(const char *key, char *buf, size_t size)
{
    int r = json_get(&doc, 0, "return");
    assert_true(r >= 0);
    assert_true(json_str(&doc, json_get(&doc, r, key), buf, size) >= 0);
}

static struct vm_config cfgs[3];
static uint8_t kernel[4096];
static void *arena;

static void con_sink(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

static int setup(void **state)
{
    char err[128];
    (void)state;
    console_set_output(con_sink);
    vconsole_test_reset();
    if (!arena)
        arena = host_vm_init(64u << 20, err, sizeof(err));
    assert_non_null(arena);
    control_reset();
    host_vm_config(&cfgs[0], "alpha", 4u << 20, 1, kernel, sizeof(kernel));
    host_vm_config(&cfgs[1], "ctl", 4u << 20, 1, kernel, sizeof(kernel));
    cfgs[1].control = true;
    host_vm_table_off(cfgs, 2);
    control_init(10000000);
    memset(&ca, 0, sizeof(ca));
    memset(&cb, 0, sizeof(cb));
    ca.write_limit = cb.write_limit = SIZE_MAX;
    sa = control_open(&client_ops, &ca, NULL, "the management port", false);
    assert_non_null(sa);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < vm_count; i++) {
        if (vms[i].state == VM_RUNNING) {
            for (unsigned k = 0; k < vms[i].nvcpus; k++)
                sched_set_vcpu_state(&vms[i].vcpus[k], VCPU_OFFLINE);
            vm_destroy(&vms[i]);
            vms[i].state = VM_DONE;
        }
    }
    control_reset();
    return 0;
}

static void test_control_hello_and_ids(void **state)
{
    char s[64];
    (void)state;

    request(&ca, "{\"execute\":\"hello\",\"id\":{\"n\":[1,\"x\"]}}");
    assert_true(reply_ok());
    ret_str("version", s, sizeof(s));
    int r = json_get(&doc, 0, "return");
    uint64_t proto;
    assert_int_equal(json_u64(&doc, json_get(&doc, r, "protocol"), &proto), 0);
    assert_int_equal(proto, CONTROL_PROTOCOL);
    size_t n;
    const char *id = json_raw(&doc, json_get(&doc, 0, "id"), &n);
    assert_int_equal(n, strlen("{\"n\":[1,\"x\"]}"));
    assert_memory_equal(id, "{\"n\":[1,\"x\"]}", n);
    /* Without an id, none comes back. */
    request(&ca, "  {\"execute\" : \"hello\"}\r");
    assert_true(reply_ok());
    assert_true(json_get(&doc, 0, "id") < 0);
}

static void test_control_refuses_malformed_requests(void **state)
{
    (void)state;
    expect_error("{\"execute\":\"hello\"", "InvalidRequest", "not JSON");
    expect_error("[\"hello\"]", "InvalidRequest", "a request is a JSON object");
    expect_error("{\"execute\":1}", "InvalidRequest", "\"execute\" must name a command");
    expect_error("{\"arguments\":{}}", "InvalidRequest", "\"execute\" must name a command");
    expect_error("{\"execute\":\"hello\",\"execute\":\"hello\"}", "InvalidRequest", "twice");
    expect_error("{\"execute\":\"hello\",\"x\":1}", "InvalidRequest", "unknown member \"x\"");
    expect_error("{\"execute\":\"reboot-the-world\"}", "CommandNotFound", "reboot-the-world");
    expect_error("{\"execute\":\"vm-start\"}", "InvalidArgument", "needs argument \"name\"");
    expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"name\":7}}", "InvalidArgument",
                 "must be a string");
    expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"a\",\"force\":true}}",
                 "InvalidArgument", "no argument \"force\"");
    expect_error("{\"execute\":\"vm-start\",\"arguments\":[]}", "InvalidArgument",
                 "must be an object");
    expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"nosuch\"}}", "NotFound",
                 "no VM named \"nosuch\"");
    expect_error("{\"execute\":\"console-attach\",\"arguments\":{\"name\":\"alpha\","
                 "\"history\":\"yes\"}}",
                 "InvalidArgument", "true or false");
    /* After all that, it still serves. */
    request(&ca, "{\"execute\":\"hello\"}");
    assert_true(reply_ok());
}

static void test_control_oversized_request(void **state)
{
    static char big[200000];
    (void)state;
    memset(big, 'x', sizeof(big) - 2);
    big[sizeof(big) - 2] = '\n';
    big[sizeof(big) - 1] = 0;
    client_send(&ca, big);
    const char *l = next_line(&ca, false);
    assert_non_null(l);
    assert_non_null(strstr(l, "longer than"));
    assert_null(next_line(&ca, false)); /* one error for one long line */
    request(&ca, "{\"execute\":\"hello\",\"id\":2}");
    assert_true(reply_ok());
}

static void test_control_vm_lifecycle_and_events(void **state)
{
    char s[64];
    (void)state;

    request(&ca, "{\"execute\":\"query-vms\"}");
    int r = json_get(&doc, 0, "return");
    assert_int_equal(json_size(&doc, r), 2);
    assert_true(json_str_eq(&doc, json_get(&doc, json_elem(&doc, r, 0), "state"), "off"));

    request(&ca, "{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"alpha\"}}");
    assert_true(reply_ok());
    assert_string_equal(vm_ops_state(&vms[0]), "running");
    expect_error("{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"alpha\"}}", "InvalidState",
                 "already");
    request(&ca, "{\"execute\":\"vm-pause\",\"arguments\":{\"name\":\"alpha\"}}");
    assert_true(reply_ok());
    assert_string_equal(vm_ops_state(&vms[0]), "paused");
    request(&ca, "{\"execute\":\"vm-resume\",\"arguments\":{\"name\":\"alpha\"}}");
    assert_true(reply_ok());
    request(&ca, "{\"execute\":\"query-vm\",\"arguments\":{\"name\":\"alpha\"}}");
    r = json_get(&doc, 0, "return");
    assert_true(json_get(&doc, r, "vcpus") >= 0);
    assert_true(json_get(&doc, r, "exits") >= 0);
    request(&ca, "{\"execute\":\"query-stats\",\"arguments\":{\"name\":\"alpha\"}}");
    assert_true(reply_ok());
    request(&ca, "{\"execute\":\"vm-stop\",\"arguments\":{\"name\":\"alpha\"}}");
    assert_true(reply_ok());
    assert_string_equal(vm_ops_state(&vms[0]), "stopped");
    expect_error("{\"execute\":\"vm-pause\",\"arguments\":{\"name\":\"alpha\"}}", "InvalidState",
                 "needs a running VM");

    /* The events, in order: started, paused, resumed, stopped (with why). */
    const char *want[] = {"running", "paused", "running", "stopped"};
    ca.out_read = 0;
    unsigned seen = 0;
    const char *l;
    while ((l = next_line(&ca, true))) {
        if (!strstr(l, "\"event\":"))
            continue;
        assert_int_equal(json_parse(&doc, l, strlen(l), toks, 4096), 0);
        int d = json_get(&doc, 0, "data");
        assert_true(json_str_eq(&doc, json_get(&doc, d, "name"), "alpha"));
        assert_true(seen < 4);
        json_str(&doc, json_get(&doc, d, "state"), s, sizeof(s));
        assert_string_equal(s, want[seen]);
        if (seen == 3) {
            assert_true(json_str_eq(&doc, json_get(&doc, 0, "event"), "VM_STOPPED"));
            json_str(&doc, json_get(&doc, d, "reason"), s, sizeof(s));
            assert_non_null(strstr(s, "the management port"));
        }
        seen++;
    }
    assert_int_equal(seen, 4);
}

static void test_control_vm_cannot_harm_itself(void **state)
{
    (void)state;
    struct control_session *sv = control_open(&client_ops, &cb, &vms[1], "vm ctl over vsock", true);
    assert_non_null(sv);
    const char *g = next_line(&cb, false);
    assert_non_null(g);
    assert_non_null(strstr(g, "\"vireo\""));
    request(&cb, "{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"ctl\"}}");
    assert_true(reply_ok());
    struct client save = ca;
    (void)save;
    /* Now the VM asking is ctl itself. */
    const char *reqs[] = {"vm-stop", "vm-pause"};
    for (unsigned i = 0; i < 2; i++) {
        char req[128];
        snprintf(req, sizeof(req), "{\"execute\":\"%s\",\"arguments\":{\"name\":\"ctl\"}}",
                 reqs[i]);
        request(&cb, req);
        int e = json_get(&doc, 0, "error");
        assert_true(e >= 0);
        assert_true(json_str_eq(&doc, json_get(&doc, e, "class"), "PermissionDenied"));
    }
    assert_string_equal(vm_ops_state(&vms[1]), "running");
    /* The host port may. */
    request(&ca, "{\"execute\":\"vm-stop\",\"arguments\":{\"name\":\"ctl\"}}");
    assert_true(reply_ok());
    control_close(sv);
}

static void test_control_waits_for_a_slow_client(void **state)
{
    (void)state;
    /* The client reads nothing: requests stay unread once replies would
     * not fit, and nothing is lost when it reads again. */
    ca.write_limit = 0;
    static char reqs[400 * 64];
    size_t n = 0;
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(reqs + n, sizeof(reqs) - n,
                              "{\"execute\":\"query-commands\",\"id\":%d}\n", i);
    client_send(&ca, reqs);
    assert_int_equal(ca.out_len, 0);
    ca.write_limit = SIZE_MAX;
    for (int i = 0; i < 400; i++) {
        control_kick();
        const char *l = next_line(&ca, false);
        if (!l)
            fail_msg("reply %d missing", i);
        assert_int_equal(json_parse(&doc, l, strlen(l), toks, 4096), 0);
        uint64_t id;
        assert_int_equal(json_u64(&doc, json_get(&doc, 0, "id"), &id), 0);
        assert_int_equal(id, (uint64_t)i);
    }
}

static void test_control_console(void **state)
{
    char b64[64], req[256], text[64];
    (void)state;
    request(&ca, "{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"alpha\"}}");
    assert_true(reply_ok());
    request(&ca, "{\"execute\":\"console-attach\",\"arguments\":{\"name\":\"alpha\"}}");
    assert_true(reply_ok());
    vconsole_output(&vms[0].con, "hello from alpha\n", 17);
    control_kick(); /* what the run loop does after the watcher's poke */
    const char *l;
    bool got = false;
    while ((l = next_line(&ca, true))) {
        if (!strstr(l, "\"CONSOLE\""))
            continue;
        assert_int_equal(json_parse(&doc, l, strlen(l), toks, 4096), 0);
        int d = json_get(&doc, 0, "data");
        int n = json_str(&doc, json_get(&doc, d, "data"), b64, sizeof(b64));
        long k = base64_decode(b64, (size_t)n, text, sizeof(text));
        assert_int_equal(k, 17);
        assert_memory_equal(text, "hello from alpha\n", 17);
        got = true;
    }
    assert_true(got);
    /* Input: all of it taken while the queue has room. */
    size_t m = base64_encode("ls\n", 3, b64, sizeof(b64));
    b64[m] = 0;
    snprintf(req, sizeof(req),
             "{\"execute\":\"console-input\",\"arguments\":{\"name\":\"alpha\",\"data\":\"%s\"}}",
             b64);
    request(&ca, req);
    int r = json_get(&doc, 0, "return");
    uint64_t acc;
    assert_int_equal(json_u64(&doc, json_get(&doc, r, "accepted"), &acc), 0);
    assert_int_equal(acc, 3);
    char got3[4] = {0};
    assert_int_equal(vconsole_port_read(&vms[0].con, got3, 3), 3);
    assert_string_equal(got3, "ls\n");
    expect_error(
        "{\"execute\":\"console-input\",\"arguments\":{\"name\":\"alpha\",\"data\":\"***\"}}",
        "InvalidArgument", "not base64");
}

static void test_control_two_clients_see_the_same(void **state)
{
    (void)state;
    sb = control_open(&client_ops, &cb, NULL, "second client", false);
    assert_non_null(sb);
    request(&ca, "{\"execute\":\"vm-start\",\"arguments\":{\"name\":\"alpha\"}}");
    assert_true(reply_ok());
    request(&cb, "{\"execute\":\"query-vms\"}");
    int r = json_get(&doc, 0, "return");
    assert_true(json_str_eq(&doc, json_get(&doc, json_elem(&doc, r, 0), "state"), "running"));
    /* cb heard the start as an event too. */
    cb.out_read = 0;
    const char *l;
    bool ev = false;
    while ((l = next_line(&cb, true)))
        ev |= strstr(l, "\"VM_STATE\"") != NULL && strstr(l, "\"alpha\"") != NULL;
    assert_true(ev);
    control_close(sb);
}

static void test_control_uploads(void **state)
{
    (void)state;
    uint64_t free0 = pmem_free_bytes();
    request(&ca, "{\"execute\":\"upload-begin\",\"arguments\":{\"size\":8}}");
    int r = json_get(&doc, 0, "return");
    uint64_t id;
    assert_int_equal(json_u64(&doc, json_get(&doc, r, "upload"), &id), 0);
    assert_true(pmem_free_bytes() < free0);
    char req[256];
    snprintf(req, sizeof(req), "{\"execute\":\"upload-begin\",\"arguments\":{\"size\":8}}");
    expect_error(req, "InvalidState", "still open");
    snprintf(req, sizeof(req),
             "{\"execute\":\"upload-data\",\"arguments\":{\"upload\":%llu,\"offset\":4,"
             "\"data\":\"AAAA\"}}",
             (unsigned long long)id);
    expect_error(req, "InvalidArgument", "the next byte expected is 0");
    snprintf(req, sizeof(req),
             "{\"execute\":\"upload-data\",\"arguments\":{\"upload\":%llu,\"offset\":0,"
             "\"data\":\"AAAAAAAAAAAAAAAA\"}}",
             (unsigned long long)id);
    expect_error(req, "InvalidArgument", "past the declared size");
    snprintf(req, sizeof(req),
             "{\"execute\":\"upload-data\",\"arguments\":{\"upload\":%llu,\"offset\":0,"
             "\"data\":\"not base64!\"}}",
             (unsigned long long)id);
    expect_error(req, "InvalidArgument", "not base64");
    snprintf(req, sizeof(req), "{\"execute\":\"vm-create\",\"arguments\":{\"upload\":%llu}}",
             (unsigned long long)id);
    expect_error(req, "InvalidState", "has 0 of its 8 bytes");
    snprintf(req, sizeof(req),
             "{\"execute\":\"upload-data\",\"arguments\":{\"upload\":%llu,\"offset\":0,"
             "\"data\":\"AAECAwQFBgc=\"}}",
             (unsigned long long)id);
    request(&ca, req);
    assert_true(reply_ok());
    /* Eight bytes are no boot bundle: refused by the configuration's
     * checks, and the bundle's memory is back. */
    snprintf(req, sizeof(req), "{\"execute\":\"vm-create\",\"arguments\":{\"upload\":%llu}}",
             (unsigned long long)id);
    request(&ca, req);
    assert_true(json_get(&doc, 0, "error") >= 0);
    assert_int_equal(pmem_free_bytes(), free0);
    expect_error(req, "NotFound", "no upload");
    /* An upload that does not fit is refused before anything is taken;
     * one left open is dropped with its session. */
    expect_error("{\"execute\":\"upload-begin\",\"arguments\":{\"size\":1073741824}}", "NoMemory",
                 "KiB free");
    request(&ca, "{\"execute\":\"upload-begin\",\"arguments\":{\"size\":4096}}");
    assert_true(reply_ok());
    assert_true(pmem_free_bytes() < free0);
    control_close(sa);
    control_kick();
    assert_int_equal(pmem_free_bytes(), free0);
}

/* Tracing through the protocol: classes checked, records read back
 * whole (base64 of the 32-byte wire form), drops and VMs reported. */
static void test_control_trace(void **state)
{
    (void)state;
    char s[256];
    static char text[64 << 10];
    static uint8_t bytes[48 << 10];

    if (!hart_count)
        hart_count = 1;
    expect_error("{\"execute\":\"trace-start\",\"arguments\":{\"classes\":\"exit,nope\"}}",
                 "InvalidArgument", "no trace class \"nope\"");
    expect_error("{\"execute\":\"trace-start\",\"arguments\":{\"classes\":\"\"}}",
                 "InvalidArgument", "names no class");
    expect_error("{\"execute\":\"trace-read\",\"arguments\":{\"hart\":99}}", "NotFound",
                 "no trace ring for hart 99");
    request(&ca, "{\"execute\":\"trace-start\",\"arguments\":{\"classes\":\"exit,sbi\"}}");
    assert_true(reply_ok());
    ret_str("classes", s, sizeof(s));
    assert_string_equal(s, "exit,sbi");
    assert_int_equal(trace_ctl_classes(), TRACE_EXIT | TRACE_SBI);
    assert_int_equal(harts[0].trace_on, TRACE_EXIT | TRACE_SBI); /* the exit path's copy */
    for (uint64_t i = 0; i < 5; i++)
        trace_emit(TRACE_EV_SBI, 0, 0, 7, 0x10 + i, i);
    request(&ca, "{\"execute\":\"trace-status\"}");
    int r = json_get(&doc, 0, "return");
    int h0 = json_elem(&doc, json_get(&doc, r, "harts"), 0);
    uint64_t pending = 0, hz = 0;
    json_u64(&doc, json_get(&doc, h0, "pending"), &pending);
    json_u64(&doc, json_get(&doc, r, "timebase-hz"), &hz);
    assert_int_equal(pending, 5);
    assert_int_equal(hz, 10000000);
    assert_true(json_elem(&doc, json_get(&doc, r, "vms"), 0) >= 0);
    request(&ca, "{\"execute\":\"trace-read\",\"arguments\":{\"max\":3}}");
    r = json_get(&doc, 0, "return");
    int n = json_str(&doc, json_get(&doc, r, "data"), text, sizeof(text));
    long k = base64_decode(text, (size_t)n, bytes, sizeof(bytes));
    if (k != 3 * TRACE_REC_WIRE_SIZE)
        fail_msg("expected 3 records (96 bytes), got %ld bytes", k);
    for (unsigned i = 0; i < 3; i++) {
        struct trace_rec rec;
        assert_true(trace_rec_decode(bytes + i * TRACE_REC_WIRE_SIZE, &rec));
        assert_int_equal(rec.type, TRACE_EV_SBI);
        assert_int_equal(rec.a, 0x10 + i);
    }
    request(&ca, "{\"execute\":\"trace-read\"}");
    r = json_get(&doc, 0, "return");
    uint64_t count = 0;
    json_u64(&doc, json_get(&doc, r, "count"), &count);
    assert_int_equal(count, 2);
    request(&ca, "{\"execute\":\"trace-stop\"}");
    assert_true(reply_ok());
    ret_str("classes", s, sizeof(s));
    assert_string_equal(s, "off");
    assert_int_equal(harts[0].trace_on, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_control_hello_and_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_refuses_malformed_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_oversized_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_vm_lifecycle_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_vm_cannot_harm_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_waits_for_a_slow_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_console, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_two_clients_see_the_same, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_uploads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_trace, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
