/* SPDX-License-Identifier: Apache-2.0 */
/* The control protocol's commands: one row each in control_cmds[], with
 * the arguments it takes (checked before it runs) and its handler.  The
 * handlers call core/vm_ops.c, as the shell does, and write their return
 * value with the JSON writer.  docs/control.md lists them. */
#include "arch/arch.h"
#include "core/control/internal.h"
#include "core/hart.h"
#include "core/pmem.h"
#include "core/vconsole.h"
#include "core/version.h"
#include "core/vm.h"
#include "core/vm_dev.h"
#include "core/snapshot.h"
#include "core/vm_ops.h"
#include "core/vmm.h"
#include "devices/virtio_mmio.h"
#include "lib/base64.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

static struct vm *arg_vm(struct control_req *r)
{
    return control_arg_vm(r, NULL);
}

/* "the management port", or "vm ctl over vsock": who stopped a VM. */
static const char *who(const struct control_req *r)
{
    static char by[96];
    fmt_snprintf(by, sizeof(by), "the control plane (%s)", r->s->who);
    return by;
}

/* ---- hello, commands, host ---------------------------------------------- */

static int cmd_hello(struct control_req *r)
{
    struct jw *w = r->w;

    jw_obj(w);
    jw_kstr(w, "version", VIREO_VERSION);
    jw_ku64(w, "protocol", CONTROL_PROTOCOL);
    jw_kstr(w, "peer", r->s->who);
    jw_kbool(w, "host-port", r->s->peer == NULL);
    jw_end(w);
    return 0;
}

static int cmd_query_commands(struct control_req *r)
{
    struct jw *w = r->w;

    jw_arr(w);
    for (unsigned i = 0; i < control_ncmds; i++) {
        const struct control_cmd *c = &control_cmds[i];
        jw_obj(w);
        jw_kstr(w, "name", c->name);
        jw_kstr(w, "help", c->help);
        jw_key(w, "arguments");
        jw_arr(w);
        for (unsigned k = 0; k < CONTROL_MAX_ARGS && c->args[k].name; k++) {
            jw_obj(w);
            jw_kstr(w, "name", c->args[k].name);
            jw_kstr(w, "type",
                    c->args[k].type == ARG_STR    ? "string"
                    : c->args[k].type == ARG_UINT ? "uint"
                                                  : "bool");
            jw_kbool(w, "required", c->args[k].required);
            jw_end(w);
        }
        jw_end(w);
        jw_end(w);
    }
    jw_end(w);
    return 0;
}

static int cmd_query_host(struct control_req *r)
{
    static char host_isa[1024], guest_isa[1024];
    struct jw *w = r->w;
    unsigned used = 0;

    for (unsigned i = 0; i < vm_count; i++)
        used += vms[i].state != VM_EMPTY;
    vmm_isa_strings(host_isa, sizeof(host_isa), guest_isa, sizeof(guest_isa));
    jw_obj(w);
    jw_kstr(w, "version", VIREO_VERSION);
    jw_ku64(w, "timebase-hz", control_timebase());
    jw_ku64(w, "uptime-ms", control_ms(arch_time()));
    jw_key(w, "harts");
    jw_arr(w);
    for (unsigned i = 0; i < hart_count; i++) {
        const struct vcpu *v = __atomic_load_n(&harts[i].current, __ATOMIC_ACQUIRE);
        jw_obj(w);
        jw_ku64(w, "index", i);
        jw_ku64(w, "hartid", harts[i].hartid);
        if (v) {
            jw_kstr(w, "vm", v->vm->name);
            jw_ku64(w, "vcpu", v->id);
        }
        jw_end(w);
    }
    jw_end(w);
    jw_key(w, "memory");
    jw_obj(w);
    jw_ku64(w, "total", pmem_total_bytes());
    jw_ku64(w, "free", pmem_free_bytes());
    jw_end(w);
    jw_kstr(w, "isa", host_isa);
    jw_kstr(w, "guest-isa", guest_isa);
    jw_key(w, "vms");
    jw_obj(w);
    jw_ku64(w, "count", used);
    jw_ku64(w, "max", VM_MAX);
    jw_end(w);
    jw_end(w);
    return 0;
}

/* ---- VMs ---------------------------------------------------------------- */

static void put_vm_summary(struct jw *w, const struct vm *vm)
{
    uint64_t now = arch_time();

    jw_kstr(w, "name", vm->name);
    jw_kstr(w, "state", vm_ops_state(vm));
    jw_ku64(w, "vcpus", vm->cfg->vcpus);
    jw_ku64(w, "memory", vm->cfg->mem_size);
    jw_ku64(w, "boots", vm->boots);
    jw_kbool(w, "control", vm->cfg->control);
    jw_ku64(w, "uptime-ms", vm->state == VM_RUNNING ? control_ms(now - vm->started) : 0);
}

static int cmd_query_vms(struct control_req *r)
{
    struct jw *w = r->w;

    jw_arr(w);
    for (unsigned i = 0; i < vm_count; i++) {
        if (vms[i].state == VM_EMPTY)
            continue;
        jw_obj(w);
        put_vm_summary(w, &vms[i]);
        jw_end(w);
    }
    jw_end(w);
    return 0;
}

static const char *vcpu_state_word(const struct vcpu *v)
{
    switch (v->state) {
    case VCPU_RUNNING:
        return "running";
    case VCPU_RUNNABLE:
        return "runnable";
    case VCPU_BLOCKED:
        return "waiting";
    default:
        return "offline";
    }
}

static void put_exits(struct jw *w, const uint64_t exits[EXIT_KINDS])
{
    jw_obj(w);
    for (unsigned k = 0; k < EXIT_KINDS; k++)
        jw_ku64(w, vm_ops_exit_names[k] ? vm_ops_exit_names[k] : "unnamed", exits[k]);
    jw_end(w);
}

static bool vm_built(const struct vm *vm)
{
    enum vm_state st = __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
    return st == VM_RUNNING || st == VM_STOPPING;
}

static int cmd_query_vm(struct control_req *r)
{
    struct vm *vm = arg_vm(r);
    struct jw *w = r->w;

    if (!vm)
        return r->rc;
    const struct vm_config *c = vm->cfg;
    jw_obj(w);
    put_vm_summary(w, vm);
    jw_key(w, "config");
    jw_obj(w);
    jw_ku64(w, "kernel-size", c->kernel_size);
    jw_ku64(w, "initrd-size", c->initrd_size);
    jw_kstr(w, "bootargs", c->bootargs);
    jw_kbool(w, "autostart", c->autostart);
    jw_end(w);
    if (vm->end != VM_END_NONE && vm->state == VM_DONE) {
        jw_kstr(w, "how",
                vm->end == VM_END_SHUTDOWN  ? "shutdown"
                : vm->end == VM_END_FAILURE ? "failure"
                : vm->end == VM_END_REBOOT  ? "reboot"
                                            : "stopped");
        jw_kstr(w, "reason", vm->reason);
    }
    if (vm_built(vm)) {
        jw_key(w, "devices");
        jw_arr(w);
        for (unsigned i = 0; vm_device_label(vm, i); i++) {
            jw_obj(w);
            jw_kstr(w, "name", vm_device_label(vm, i));
            jw_kstr(w, "model", vm_device_kind(vm, i));
            jw_ku64(w, "base", vm_device_mmio(vm, i)->base);
            jw_ku64(w, "irq", VM_VIRTIO_IRQ0 + i);
            jw_end(w);
        }
        jw_end(w);
        jw_key(w, "vcpus");
        jw_arr(w);
        for (unsigned i = 0; i < vm->nvcpus; i++) {
            const struct vcpu *v = &vm->vcpus[i];
            jw_obj(w);
            jw_ku64(w, "id", i);
            jw_kstr(w, "state", vcpu_state_word(v));
            if (v->pin >= 0)
                jw_ku64(w, "pinned", (uint64_t)v->pin);
            if (v->state == VCPU_RUNNING && v->hart >= 0)
                jw_ku64(w, "hart", (uint64_t)v->hart);
            jw_end(w);
        }
        jw_end(w);
        uint64_t total[EXIT_KINDS];
        vm_ops_exits(vm, total);
        jw_key(w, "exits");
        put_exits(w, total);
    }
    jw_end(w);
    return 0;
}

static int cmd_query_stats(struct control_req *r)
{
    struct vm *vm = arg_vm(r);
    struct jw *w = r->w;

    if (!vm)
        return r->rc;
    jw_obj(w);
    jw_kstr(w, "name", vm->name);
    jw_kstr(w, "state", vm_ops_state(vm));
    if (vm_built(vm)) {
        uint64_t total[EXIT_KINDS];
        vm_ops_exits(vm, total);
        jw_key(w, "exits");
        put_exits(w, total);
        jw_key(w, "vcpus");
        jw_arr(w);
        for (unsigned i = 0; i < vm->nvcpus; i++) {
            const struct vcpu *v = &vm->vcpus[i];
            jw_obj(w);
            jw_ku64(w, "id", i);
            jw_ku64(w, "run-ms", control_ms(v->run_ticks));
            jw_key(w, "exits");
            put_exits(w, v->exits);
            jw_end(w);
        }
        jw_end(w);
        jw_key(w, "devices");
        jw_arr(w);
        for (unsigned i = 0; vm_device_label(vm, i); i++) {
            struct virtio_io_stats io;
            vm_device_io(vm, i, &io);
            jw_obj(w);
            jw_kstr(w, "name", vm_device_label(vm, i));
            jw_ku64(w, "notifications", io.notifications);
            jw_ku64(w, "requests", io.requests);
            jw_ku64(w, "bytes-from-guest", io.from_guest);
            jw_ku64(w, "bytes-to-guest", io.to_guest);
            jw_end(w);
        }
        jw_end(w);
        uint64_t total_con;
        char tmp[1];
        vconsole_port_log(&vm->con, tmp, 0, &total_con);
        jw_ku64(w, "console-output-bytes", total_con);
    }
    jw_end(w);
    return 0;
}

static int cmd_vm_start(struct control_req *r)
{
    struct vm *vm = arg_vm(r);
    return vm ? vm_ops_start(vm, r->err, sizeof(r->err)) : r->rc;
}

static int cmd_vm_stop(struct control_req *r)
{
    struct vm *vm = control_arg_vm(r, "stop");
    return vm ? vm_ops_stop(vm, who(r), r->err, sizeof(r->err)) : r->rc;
}

static int cmd_vm_reset(struct control_req *r)
{
    struct vm *vm = arg_vm(r);
    return vm ? vm_ops_reset(vm, who(r), r->err, sizeof(r->err)) : r->rc;
}

static int cmd_vm_pause(struct control_req *r)
{
    struct vm *vm = control_arg_vm(r, "pause");
    return vm ? vm_ops_pause(vm, r->err, sizeof(r->err)) : r->rc;
}

static int cmd_vm_resume(struct control_req *r)
{
    struct vm *vm = arg_vm(r);
    return vm ? vm_ops_resume(vm, r->err, sizeof(r->err)) : r->rc;
}

static int cmd_vm_delete(struct control_req *r)
{
    struct vm *vm = control_arg_vm(r, "delete");
    return vm ? vm_ops_delete(vm, r->err, sizeof(r->err)) : r->rc;
}

/* ---- snapshots, streamed -------------------------------------------------
 * Saved into Vireo's memory (the shell's `vm snapshot NAME` target), then
 * read out in chunks; restored from an upload.  docs/control.md. */

static int cmd_snapshot_save(struct control_req *r)
{
    struct vm *vm = arg_vm(r);
    struct snapshot_stats st;
    uint64_t ticks;

    if (!vm)
        return r->rc;
    int rc = vm_ops_snapshot_mem(vm, &st, &ticks, NULL, r->err, sizeof(r->err));
    if (rc < 0)
        return rc;
    jw_obj(r->w);
    jw_ku64(r->w, "size", st.bytes);
    jw_ku64(r->w, "ram-pages", st.ram_pages);
    jw_ku64(r->w, "zero-pages", st.zero_pages);
    jw_ku64(r->w, "ms", control_ms(ticks));
    jw_end(r->w);
    return 0;
}

static int cmd_snapshot_read(struct control_req *r)
{
    static uint8_t chunk[CONTROL_CHUNK_MAX];
    struct vm *vm = arg_vm(r);

    if (!vm)
        return r->rc;
    uint64_t off = control_arg_u64(r, "offset", 0);
    uint64_t len = control_arg_u64(r, "length", CONTROL_CHUNK_MAX);
    long n = snapshot_mem_read(vm, off, chunk, len < sizeof(chunk) ? (size_t)len : sizeof(chunk));
    if (n == ERR_NOENT)
        return control_fail(r, ERR_NOENT, "vm %s has no snapshot (snapshot-save takes one)",
                            vm->name);
    if (n < 0)
        return control_fail(r, (int)n, "offset %llu is past the snapshot's end",
                            (unsigned long long)off);
    uint64_t taken, size = snapshot_mem_size(vm, &taken);
    jw_obj(r->w);
    jw_ku64(r->w, "size", size);
    jw_key(r->w, "data");
    jw_base64(r->w, chunk, (size_t)n);
    jw_end(r->w);
    return 0;
}

/* ---- consoles ----------------------------------------------------------- */

static int cmd_vm_log(struct control_req *r)
{
    static char out[VCONSOLE_LOG_SIZE];
    struct vm *vm = arg_vm(r);
    uint64_t total;

    if (!vm)
        return r->rc;
    size_t n = vconsole_port_log(&vm->con, out, sizeof(out), &total);
    jw_obj(r->w);
    jw_ku64(r->w, "total", total);
    jw_key(r->w, "data");
    jw_base64(r->w, out, n);
    jw_end(r->w);
    return 0;
}

static int cmd_console_attach(struct control_req *r)
{
    struct vm *vm = arg_vm(r);
    uint64_t total;
    char tmp[1];

    if (!vm)
        return r->rc;
    vconsole_port_log(&vm->con, tmp, 0, &total);
    /* From what is already in the log (its last 4 KiB), or from now. */
    uint64_t from = control_arg_bool(r, "history", false) ? 0 : total;
    control_console_follow(r->s, vm, from);
    jw_obj(r->w);
    jw_kstr(r->w, "name", vm->name);
    jw_ku64(r->w, "position", from);
    jw_end(r->w);
    return 0;
}

static int cmd_console_detach(struct control_req *r)
{
    control_console_detach(r->s);
    return 0;
}

static int cmd_console_input(struct control_req *r)
{
    static char text[CONTROL_CHUNK_MAX * 4 / 3 + 8];
    static char bytes[CONTROL_CHUNK_MAX];
    struct vm *vm = arg_vm(r);

    if (!vm)
        return r->rc;
    int n = control_arg_str(r, "data", text, sizeof(text));
    if (n < 0)
        return n;
    long k = base64_decode(text, (size_t)n, bytes, sizeof(bytes));
    if (k < 0)
        return control_fail(r, ERR_INVAL, "argument \"data\" is not base64 of at most %u bytes",
                            CONTROL_CHUNK_MAX);
    /* What does not fit the VM's input queue now is not taken: the client
     * sends it again (accepted says how much went in), so no byte is
     * dropped. */
    size_t took = vconsole_port_push(&vm->con, bytes, (size_t)k);
    jw_obj(r->w);
    jw_ku64(r->w, "accepted", took);
    jw_end(r->w);
    return 0;
}

const struct control_cmd control_cmds[] = {
    {.name = "hello",
     .help = "Vireo's version, the protocol version, who this session is",
     .run = cmd_hello},
    {.name = "query-commands",
     .help = "every command with its arguments",
     .run = cmd_query_commands},
    {.name = "query-host", .help = "harts, memory, ISA, VM slots", .run = cmd_query_host},
    {.name = "query-vms",
     .help = "every VM: name, state, vCPUs, memory, uptime",
     .run = cmd_query_vms},
    {.name = "query-vm",
     .help = "one VM: configuration, devices, vCPUs, exits, how it ended",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_query_vm},
    {.name = "query-stats",
     .help = "one VM's counters: exits by reason, per-vCPU run time, device I/O",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_query_stats},
    {.name = "vm-start",
     .help = "boot a VM that is off or stopped",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_vm_start},
    {.name = "vm-stop",
     .help = "power a VM off (memory freed)",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_vm_stop},
    {.name = "vm-pause",
     .help = "stop running its vCPUs",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_vm_pause},
    {.name = "vm-resume",
     .help = "run a paused VM again",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_vm_resume},
    {.name = "vm-reset",
     .help = "reboot a VM",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_vm_reset},
    {.name = "vm-log",
     .help = "the last 4 KiB a VM printed",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_vm_log},
    {.name = "console-attach",
     .help = "follow a VM's console output as CONSOLE events (history: from its log)",
     .args = {{"name", ARG_STR, true}, {"history", ARG_BOOL, false}},
     .run = cmd_console_attach},
    {.name = "console-detach", .help = "stop following the console", .run = cmd_console_detach},
    {.name = "console-input",
     .help = "type into a VM's console (data: base64); returns how many bytes it took",
     .args = {{"name", ARG_STR, true}, {"data", ARG_STR, true}},
     .run = cmd_console_input},
    {.name = "snapshot-save",
     .help = "pause a VM, save its state into Vireo's memory, resume it; snapshot-read streams it",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_snapshot_save,
     .in_loop = true},
    {.name = "snapshot-read",
     .help = "bytes of a VM's saved snapshot: offset, length (at most 48 KiB)",
     .args = {{"name", ARG_STR, true}, {"offset", ARG_UINT, true}, {"length", ARG_UINT, false}},
     .run = cmd_snapshot_read},
    {.name = "snapshot-restore",
     .help = "put a paused (or off) VM back to the snapshot in an upload; it stays paused",
     .args = {{"name", ARG_STR, true}, {"upload", ARG_UINT, true}},
     .run = control_cmd_snapshot_restore,
     .in_loop = true},
    {.name = "upload-begin",
     .help = "open an upload of size bytes (a bundle for vm-create)",
     .args = {{"size", ARG_UINT, true}},
     .run = control_cmd_upload_begin},
    {.name = "upload-data",
     .help = "the upload's next chunk: offset (the bytes so far) and data (base64)",
     .args = {{"upload", ARG_UINT, true}, {"offset", ARG_UINT, true}, {"data", ARG_STR, true}},
     .run = control_cmd_upload_data},
    {.name = "upload-cancel",
     .help = "drop an open upload",
     .args = {{"upload", ARG_UINT, true}},
     .run = control_cmd_upload_cancel},
    {.name = "vm-create",
     .help = "add the VM a complete upload describes (a boot bundle with one VM); start: boot it",
     .args = {{"upload", ARG_UINT, true}, {"start", ARG_BOOL, false}},
     .run = control_cmd_vm_create},
    {.name = "query-migration",
     .help = "the migration out of this host and the one into it (running or the last): phase, "
             "rounds, pages, bytes, times (docs/migration.md)",
     .run = control_cmd_query_migration},
    {.name = "migrate-cancel",
     .help = "give up a migration out of (the VM resumes here) or into this host (what was "
             "built goes); not once the final state is sent",
     .args = {{"name", ARG_STR, true}},
     .run = control_cmd_migrate_cancel},
    {.name = "migrate-resolve",
     .help = "settle a migration out whose outcome is unknown: action resume (it does not run "
             "at the destination) or drop (it does)",
     .args = {{"name", ARG_STR, true}, {"action", ARG_STR, true}},
     .run = control_cmd_migrate_resolve},
    {.name = "vm-delete",
     .help = "remove a VM that is off or stopped; its memory returns",
     .args = {{"name", ARG_STR, true}},
     .run = cmd_vm_delete},
    {.name = "gdb-attach",
     .help = "debug a running VM with gdb's remote protocol: gdb-input in, GDB events out",
     .args = {{"name", ARG_STR, true}},
     .run = control_cmd_gdb_attach},
    {.name = "gdb-input",
     .help = "bytes from gdb for the VM's stub (bytes: base64, at most 16 KiB decoded)",
     .args = {{"name", ARG_STR, true}, {"bytes", ARG_STR, true}},
     .run = control_cmd_gdb_input},
    {.name = "gdb-detach",
     .help = "end debugging: breakpoints removed, the VM runs on as it was",
     .args = {{"name", ARG_STR, true}},
     .run = control_cmd_gdb_detach},
    {.name = "trace-start",
     .help = "trace the classes named (exit,sbi,mmio,irq,sched,virtio,vm; default all)",
     .args = {{"classes", ARG_STR, false}},
     .run = control_cmd_trace_start},
    {.name = "trace-stop", .help = "stop tracing (records stay)", .run = control_cmd_trace_stop},
    {.name = "trace-status",
     .help = "classes on, records and drops per hart, VMs and devices, the exit summary",
     .run = control_cmd_trace_status},
    {.name = "trace-read",
     .help = "take up to max trace records (32 bytes each, base64) from one hart or all",
     .args = {{"hart", ARG_UINT, false}, {"max", ARG_UINT, false}},
     .run = control_cmd_trace_read},
};

const unsigned control_ncmds = sizeof(control_cmds) / sizeof(control_cmds[0]);
