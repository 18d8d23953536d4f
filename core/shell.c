/* SPDX-License-Identifier: Apache-2.0 */
/* The management shell on Vireo's console (docs/shell.md).
 *
 * Typed bytes arrive one at a time from the virtual console (core/vconsole.c)
 * while it is bound to no VM (shell_input); a whole line runs as a command
 * right there, on the boot hart, between guest exits.  `console NAME` binds
 * it to a VM: every byte then goes to that VM's input queue, except the
 * escape byte (Ctrl-]), which unbinds and comes back here.  Guest output
 * always goes into the VM's log; it reaches the console only while that VM
 * is bound, so it never interleaves with the shell. */
#include "core/shell.h"

#include "arch/arch.h"
#include "core/console.h"
#include "core/dirty.h"
#include "core/dirty_check.h"
#include "core/hart.h"
#include "core/pmem.h"
#include "core/hart_loop.h"
#include "core/sched.h"
#include "core/snap_disk.h"
#include "core/snapshot.h"
#include "core/trace_ctl.h"
#include "core/vm.h"
#include "core/vm_admin.h"
#include "core/vm_dev.h"
#include "core/vconsole.h"
#include "core/vm_life.h"
#include "core/vm_ops.h"
#include "core/version.h"
#include "core/vmm.h"
#include "lib/string.h"

#define PROMPT    "vireo> "
#define LINE_MAX  128
#define MAX_WORDS 4

static bool active;
static char line[LINE_MAX];
static size_t len;
static uint32_t timebase;

bool shell_active(void)
{
    return active;
}

static void prompt(void)
{
    console_printf(PROMPT);
}

static void shell_typed(void *ctx, char c)
{
    (void)ctx;
    shell_input(c);
}

/* Ctrl-] while bound: the virtual console has unbound already. */
static void shell_escaped(void *ctx)
{
    (void)ctx;
    console_printf("\nvireo: console back to the shell\n");
    prompt();
}

static const struct vconsole_shell shell_ops = {shell_typed, shell_escaped, NULL};

void shell_start(uint32_t timebase_hz)
{
    timebase = timebase_hz;
    active = true;
    vconsole_set_shell(&shell_ops);
    console_printf("\nvireo: management shell; type `help`. Try `vm list`, then `console NAME` "
                   "(Ctrl-] comes back here).\n");
    prompt();
}

static struct vm *find_vm(const char *name)
{
    struct vm *vm = vm_find(name);

    if (!vm)
        console_printf("no VM named \"%.32s\" (`vm list` shows them)\n", name);
    return vm;
}

static void cmd_list(struct vm *unused)
{
    (void)unused;
    uint64_t now = arch_time();

    console_printf("%-16s %-9s %5s %9s %10s\n", "NAME", "STATE", "VCPUS", "MEMORY", "UPTIME");
    for (unsigned i = 0; i < vm_count; i++) {
        const struct vm *vm = &vms[i];
        if (!vm_in_use(vm))
            continue;
        bool up = vm->state == VM_RUNNING;
        unsigned long secs = up && timebase ? (unsigned long)((now - vm->started) / timebase) : 0;
        char upt[16] = "-";

        if (up)
            fmt_snprintf(upt, sizeof(upt), "%lu:%02lu:%02lu", secs / 3600, secs / 60 % 60,
                         secs % 60);
        console_printf("%-16s %-9s %5u %6lu MiB %10s\n", vm->name, vm_ops_state(vm), vm->cfg->vcpus,
                       (unsigned long)(vm->cfg->mem_size >> 20), upt);
    }
}

static void cmd_info(struct vm *vm)
{
    const struct vm_config *c = vm->cfg;

    console_printf("vm %s: %s, boot %u, %u vCPUs, %lu MiB RAM at %#lx\n", vm->name,
                   vm_ops_state(vm), vm->boots, c->vcpus, (unsigned long)(c->mem_size >> 20),
                   (unsigned long)VM_RAM_BASE);
    console_printf("  kernel %lu bytes, initrd %lu bytes, bootargs \"%.200s\"\n",
                   (unsigned long)c->kernel_size, (unsigned long)c->initrd_size, c->bootargs);
    if (vm->state != VM_RUNNING && vm->state != VM_STOPPING) {
        if (vm->end == VM_END_STOPPED)
            console_printf("  stopped: %s\n", vm->reason);
        return;
    }
    console_printf("  devices: plic %#lx, uart %#lx irq %u\n", (unsigned long)VM_PLIC_BASE,
                   (unsigned long)VM_UART_BASE, VM_UART_IRQ);
    for (unsigned i = 0; vm_device_label(vm, i); i++) {
        const struct mmio_dev *d = vm_device_mmio(vm, i);
        console_printf("  %-14s %-15s at %#lx irq %u\n", vm_device_label(vm, i),
                       vm_device_kind(vm, i), (unsigned long)d->base, VM_VIRTIO_IRQ0 + i);
    }
    uint64_t total[EXIT_KINDS];
    vm_ops_exits(vm, total);
    for (unsigned i = 0; i < vm->nvcpus; i++) {
        const struct vcpu *v = &vm->vcpus[i];
        const char *st = v->state == VCPU_RUNNING    ? "running"
                         : v->state == VCPU_RUNNABLE ? "runnable"
                         : v->state == VCPU_BLOCKED  ? "waiting (wfi)"
                                                     : "offline";
        char where[24] = "floats";
        if (v->pin >= 0)
            fmt_snprintf(where, sizeof(where), "pinned to hart %d", v->pin);
        if (v->state == VCPU_RUNNING)
            console_printf("  vcpu %u: %s on hart %d, %s\n", i, st, v->hart, where);
        else
            console_printf("  vcpu %u: %s, %s\n", i, st, where);
    }
    console_printf("  exits since boot:");
    for (unsigned k = 0; k < EXIT_KINDS; k++)
        console_printf(" %s %lu", vm_ops_exit_names[k] ? vm_ops_exit_names[k] : "?",
                       (unsigned long)total[k]);
    console_printf("\n");
}

static void cmd_log(struct vm *vm)
{
    static char out[VCONSOLE_LOG_SIZE];
    uint64_t total;
    size_t n = vconsole_port_log(&vm->con, out, sizeof(out), &total);

    console_printf("---- vm %s: last %lu of %lu bytes of output ----\n", vm->name, (unsigned long)n,
                   (unsigned long)total);
    console_write(out, n);
    console_printf("\n---- end of vm %s log ----\n", vm->name);
}

static void cmd_harts(struct vm *unused)
{
    (void)unused;
    for (unsigned i = 0; i < hart_count; i++) {
        const struct vcpu *v = __atomic_load_n(&harts[i].current, __ATOMIC_ACQUIRE);
        if (v)
            console_printf("hart %u (hartid %lu): vm %s vcpu %u\n", i, harts[i].hartid, v->vm->name,
                           v->id);
        else
            console_printf("hart %u (hartid %lu): idle\n", i, harts[i].hartid);
    }
}

static void cmd_mem(struct vm *unused)
{
    (void)unused;
    uint64_t used = 0;
    for (unsigned i = 0; i < vm_count; i++) {
        if (vms[i].state == VM_RUNNING || vms[i].state == VM_STOPPING)
            used += vms[i].ram_size;
    }
    console_printf("free %lu MiB; guest RAM in use %lu MiB; free bytes %lu\n",
                   (unsigned long)(pmem_free_bytes() >> 20), (unsigned long)(used >> 20),
                   (unsigned long)pmem_free_bytes());
}

/* ---- trace (docs/tracing.md) ---- */

static void cmd_trace_on(struct vm *unused, const char *arg)
{
    char err[192];
    const char *bad = arg;
    size_t badlen = 0;

    (void)unused;
    long classes = trace_classes_parse(arg, strlen(arg), &bad, &badlen);
    if (classes <= 0) {
        console_printf("no trace class \"%.*s\" (classes: exit, sbi, mmio, irq, sched, virtio, vm, "
                       "all; joined by ',')\n",
                       (int)(badlen > 32 ? 32 : badlen), bad);
        return;
    }
    if (trace_ctl_set((uint32_t)classes, err, sizeof(err)) < 0) {
        console_printf("tracing not started: %s\n", err);
        return;
    }
    trace_ctl_format(trace_ctl_classes(), err, sizeof(err));
    console_printf("tracing %s on %u harts (%u records each; `trace status`, `trace summary`)\n",
                   err, trace_ctl_harts(), TRACE_RING_RECORDS);
}

static void cmd_trace_off(struct vm *unused)
{
    char err[64];

    (void)unused;
    trace_ctl_set(0, err, sizeof(err));
    console_printf("tracing off (records stay until read or tracing starts again)\n");
}

static void cmd_trace_status(struct vm *unused)
{
    char classes[96];

    (void)unused;
    trace_ctl_format(trace_ctl_classes(), classes, sizeof(classes));
    console_printf("tracing: %s\n", classes);
    for (unsigned i = 0; i < trace_ctl_harts(); i++) {
        struct trace_ring_info in;
        trace_ring_info(i, &in);
        console_printf("  hart %u: %lu records written, %lu waiting (ring of %u), %lu dropped\n", i,
                       (unsigned long)in.written, (unsigned long)in.pending, in.size,
                       (unsigned long)in.dropped);
    }
}

/* Ticks as microseconds with two decimals, without floating point. */
static void put_us(char *buf, size_t size, uint64_t ticks)
{
    uint64_t c = timebase ? ticks * 100000000ull / timebase : 0; /* hundredths of a µs */
    fmt_snprintf(buf, size, "%lu.%02lu", (unsigned long)(c / 100), (unsigned long)(c % 100));
}

static void cmd_trace_summary(struct vm *unused)
{
    struct trace_exit_stat st[TRACE_EXIT_REASONS];
    uint64_t total = 0;

    (void)unused;
    trace_ctl_summary(st);
    for (unsigned i = 0; i < TRACE_EXIT_REASONS; i++)
        total += st[i].count;
    if (!total) {
        console_printf("no exits traced (`trace on exit` first)\n");
        return;
    }
    console_printf("%-24s %10s %7s %10s %10s %10s\n", "exit reason", "count", "share", "min us",
                   "avg us", "max us");
    for (unsigned i = 0; i < TRACE_EXIT_REASONS; i++) {
        if (!st[i].count)
            continue;
        char mn[24], av[24], mx[24];
        uint64_t share = st[i].count * 1000 / total; /* tenths of a percent */
        put_us(mn, sizeof(mn), st[i].min);
        put_us(av, sizeof(av), st[i].sum / st[i].count);
        put_us(mx, sizeof(mx), st[i].max);
        console_printf("%-24s %10lu %5lu.%lu%% %10s %10s %10s\n", trace_ctl_reason_name(i),
                       (unsigned long)st[i].count, (unsigned long)(share / 10),
                       (unsigned long)(share % 10), mn, av, mx);
    }
    console_printf("%-24s %10lu\n", "total", (unsigned long)total);
}

/* The operations themselves are core/vm_ops.c's; the shell says how they
 * went. */
static void cmd_start(struct vm *vm)
{
    char err[256];

    if (vm_ops_start(vm, err, sizeof(err)) < 0)
        console_printf("%s\n", err);
    else
        console_printf("vm %s started\n", vm->name);
}

static void cmd_delete(struct vm *vm)
{
    char err[160], name[sizeof(vm->name)];

    memcpy(name, vm->name, sizeof(name)); /* the slot forgets it */
    if (vm_ops_delete(vm, err, sizeof(err)) < 0)
        console_printf("vm %s not deleted: %s\n", name, err);
    else
        console_printf("vm %s deleted\n", name);
}

static void cmd_stop(struct vm *vm)
{
    char err[192];

    if (vm_ops_stop(vm, "the shell (vm stop)", err, sizeof(err)) < 0)
        console_printf("%s\n", err);
}

static void cmd_reset(struct vm *vm)
{
    char err[192];

    if (vm_ops_reset(vm, "the shell (vm reset)", err, sizeof(err)) < 0)
        console_printf("%s\n", err);
}

static void cmd_pause(struct vm *vm)
{
    char err[192];

    if (vm_ops_pause(vm, err, sizeof(err)) < 0)
        console_printf("%s\n", err);
    else
        console_printf("vm %s paused\n", vm->name);
}

static void cmd_resume(struct vm *vm)
{
    char err[192];

    if (vm_ops_resume(vm, err, sizeof(err)) < 0)
        console_printf("%s\n", err);
    else
        console_printf("vm %s resumed\n", vm->name);
}

/* Whether vm is running; says so when it is not. */
static bool vm_needs_running(const struct vm *vm, const char *verb)
{
    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING)
        return true;
    console_printf("vm %s is %s: %s needs a running VM\n", vm->name, vm_ops_state(vm), verb);
    return false;
}

/* vm_ops_quiesce, saying why it failed. */
static bool vm_quiesce(struct vm *vm, bool *was_paused)
{
    char err[160];

    if (vm_ops_quiesce(vm, was_paused, err, sizeof(err)) == 0)
        return true;
    console_printf("%s\n", err);
    return false;
}

static void snapshot_progress(const struct vm *vm, uint64_t done, uint64_t total)
{
    console_printf("vm %s: %llu of %llu MiB of RAM\n", vm->name, (unsigned long long)(done >> 20),
                   (unsigned long long)(total >> 20));
}

static unsigned long ticks_ms(uint64_t ticks)
{
    return (unsigned long)(ticks * 1000 / (timebase ? timebase : 1));
}

/* Snapshots and restores run in the run loop (hart_loop_defer), on a hart
 * with no vCPU loaded, because they wait for the VM's vCPUs to leave their
 * harts and the shell runs inside an interrupt that may have stopped one
 * of them.  The shell is busy until the task ends. */
static struct {
    void (*fn)(struct vm *vm, unsigned arg);
    struct vm *vm;
    unsigned arg;
    const char *what; /* for "busy" */
    bool any_state;   /* runs even if the VM is not running (a restore that builds it) */
    volatile bool busy;
} task;

/* Where a snapshot goes or comes from: the task's arg. */
enum snap_target { TARGET_MEM, TARGET_DISK };

static void task_snapshot(struct vm *vm, unsigned target)
{
    char err[256];
    struct snapshot_stats st;
    bool was_paused;

    if (!vm_quiesce(vm, &was_paused))
        return;
    uint64_t t0 = arch_time();
    int rc = target == TARGET_DISK
                 ? snap_disk_save(vm, &st, snapshot_progress, err, sizeof(err))
                 : snapshot_mem_save(vm, &st, snapshot_progress, err, sizeof(err));
    uint64_t t1 = arch_time();
    if (!was_paused)
        sched_pause_vm(vm, false);
    if (rc < 0) {
        console_printf("vm %s: no snapshot: %s\n", vm->name, err);
        return;
    }
    console_printf("vm %s: snapshot %sof %llu KiB (%llu pages of RAM, %llu zero pages left out) "
                   "in %lu ms%s\n",
                   vm->name, target == TARGET_DISK ? "on disk " : "",
                   (unsigned long long)(st.bytes >> 10), (unsigned long long)st.ram_pages,
                   (unsigned long long)st.zero_pages, ticks_ms(t1 - t0),
                   was_paused ? "; still paused" : "");
}

static void task_restore(struct vm *vm, unsigned unused)
{
    (void)unused;
    char err[192];
    bool was_paused;

    if (!vm_quiesce(vm, &was_paused))
        return;
    uint64_t taken, size = snapshot_mem_size(vm, &taken);
    uint64_t t0 = arch_time();
    int rc = snapshot_mem_restore(vm, snapshot_progress, err, sizeof(err));
    uint64_t t1 = arch_time();
    if (rc < 0) {
        console_printf("vm %s: not restored: %s\n", vm->name, err);
        return;
    }
    console_printf("vm %s: restored the snapshot taken %lu s ago (%llu KiB) in %lu ms; still "
                   "paused (vm resume %s)\n",
                   vm->name, ticks_ms(t0 - taken) / 1000, (unsigned long long)(size >> 10),
                   ticks_ms(t1 - t0), vm->name);
}

/* From the VM's snapshot region.  A VM that is off is built first, paused
 * before any vCPU runs; if the restore fails it is off again. */
static void task_restore_disk(struct vm *vm, unsigned unused)
{
    (void)unused;
    char err[256];
    bool was_paused, built = false;

    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_DONE) {
        vm->boots++;
        vm->end = VM_END_NONE;
        if (vm_build_paused(vm, err, sizeof(err)) < 0) {
            console_printf("vm %s: not restored: cannot build it: %s\n", vm->name, err);
            return;
        }
        built = true;
    } else if (!vm_quiesce(vm, &was_paused)) {
        return;
    }
    uint64_t t0 = arch_time();
    int rc = snap_disk_restore(vm, snapshot_progress, err, sizeof(err));
    uint64_t t1 = arch_time();
    if (rc < 0) {
        if (built)
            vm_unbuild(vm);
        console_printf("vm %s: not restored: %s%s\n", vm->name, err,
                       built ? "; it is off again" : "");
        return;
    }
    console_printf("vm %s: restored the snapshot on disk in %lu ms%s; still paused (vm resume "
                   "%s)\n",
                   vm->name, ticks_ms(t1 - t0),
                   built ? " into the VM built from its configuration" : "", vm->name);
}

static void task_run(void *arg)
{
    (void)arg;
    /* The VM may have ended meanwhile. */
    vm_ops_hold();
    enum vm_state st = __atomic_load_n(&task.vm->state, __ATOMIC_ACQUIRE);
    if (st != VM_RUNNING && !(task.any_state && st == VM_DONE))
        console_printf("vm %s is no longer running\n", task.vm->name);
    else
        task.fn(task.vm, task.arg);
    vm_ops_release();
    __atomic_store_n(&task.busy, false, __ATOMIC_RELEASE);
    if (!vconsole_bound())
        prompt();
}

static void task_start(void (*fn)(struct vm *, unsigned), struct vm *vm, unsigned arg,
                       const char *what)
{
    task.fn = fn;
    task.vm = vm;
    task.arg = arg;
    task.what = what;
    task.any_state = fn == task_restore_disk;
    __atomic_store_n(&task.busy, true, __ATOMIC_RELEASE);
    if (!hart_loop_defer(task_run, NULL)) {
        __atomic_store_n(&task.busy, false, __ATOMIC_RELEASE);
        console_printf("busy: other management work is waiting for a hart\n");
    }
}

/* The optional last word of vm snapshot / vm restore: none (memory) or
 * "disk" (the VM's snapshot region); -1 after printing the usage. */
static int snap_target(const char *arg, const char *verb)
{
    if (!arg)
        return TARGET_MEM;
    if (strcmp(arg, "disk") == 0)
        return TARGET_DISK;
    console_printf("usage: vm %s NAME [disk] (without disk: in Vireo's memory)\n", verb);
    return -1;
}

static void cmd_snapshot(struct vm *vm, const char *arg)
{
    int target = snap_target(arg, "snapshot");

    if (target >= 0 && vm_needs_running(vm, "snapshot"))
        task_start(task_snapshot, vm, (unsigned)target, "snapshot");
}

static void cmd_restore(struct vm *vm, const char *arg)
{
    int target = snap_target(arg, "restore");
    enum vm_state st = __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);

    if (target < 0)
        return;
    if (target == TARGET_DISK && st == VM_DONE) {
        if (!vm->cfg->has_snapshot_region) {
            console_printf("vm %s has no snapshot region (snapshot-disk in its configuration)\n",
                           vm->name);
            return;
        }
        task_start(task_restore_disk, vm, 0, "restore");
        return;
    }
    if (!vm_needs_running(vm, "restore"))
        return;
    if (!__atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE)) {
        console_printf("vm %s is running: pause it first (vm pause %s), then vm restore %s%s\n",
                       vm->name, vm->name, vm->name, target == TARGET_DISK ? " disk" : "");
        return;
    }
    if (target == TARGET_DISK) {
        task_start(task_restore_disk, vm, 0, "restore");
        return;
    }
    if (!snapshot_mem_size(vm, NULL)) {
        console_printf("vm %s has no snapshot (vm snapshot %s takes one)\n", vm->name, vm->name);
        return;
    }
    task_start(task_restore, vm, 0, "restore");
}

/* A VM's snapshot region: what its header says. */
static void snapshots_disk(const struct vm *vm)
{
    const struct host_region *r = &vm->cfg->snapshot_region;
    struct snap_disk_header h;
    char err[256];
    int rc = snap_disk_info(vm, &h, err, sizeof(err));

    console_printf("vm %s: on host disk %d at byte %#llx (%llu KiB): ", vm->name, r->disk,
                   (unsigned long long)r->offset, (unsigned long long)(r->size >> 10));
    if (rc < 0)
        console_printf("%s\n", err);
    else if (h.state != SNAP_DISK_COMPLETE)
        console_printf("no complete snapshot (save %llu did not finish)\n",
                       (unsigned long long)h.seq);
    else
        console_printf("%llu KiB of vm %.32s, save %llu, header valid\n",
                       (unsigned long long)(h.length >> 10), h.vm_name, (unsigned long long)h.seq);
}

static void cmd_snapshots(struct vm *unused)
{
    (void)unused;
    unsigned n = 0;
    uint64_t now = arch_time();

    for (unsigned i = 0; i < vm_count; i++) {
        if (!vm_in_use(&vms[i]))
            continue;
        uint64_t taken, size = snapshot_mem_size(&vms[i], &taken);
        if (size) {
            console_printf("vm %s: %llu KiB in memory, taken %lu s ago\n", vms[i].name,
                           (unsigned long long)(size >> 10), ticks_ms(now - taken) / 1000);
            n++;
        }
        if (vms[i].cfg && vms[i].cfg->has_snapshot_region) {
            snapshots_disk(&vms[i]);
            n++;
        }
    }
    if (!n)
        console_printf("no snapshots (vm snapshot NAME takes one)\n");
}

/* vm dirty NAME start|stop|fetch: dirty logging by hand; fetch prints how
 * many pages were dirty (and clears them). */
static void cmd_dirty(struct vm *vm, const char *what)
{
    char err[160];

    if (__atomic_load_n(&vm->migrating, __ATOMIC_ACQUIRE)) {
        console_printf("vm %s is migrating: its dirty log is the migration's\n", vm->name);
        return;
    }
    if (strcmp(what, "stop") == 0) {
        vm_dirty_stop(vm);
        console_printf("vm %s: dirty logging off\n", vm->name);
        return;
    }
    if (!vm_needs_running(vm, "dirty logging"))
        return;
    if (strcmp(what, "start") == 0) {
        if (vm_dirty_start(vm, err, sizeof(err)) < 0)
            console_printf("vm %s: cannot start dirty logging: %s\n", vm->name, err);
        else
            console_printf("vm %s: dirty logging on (%lu pages, %s)\n", vm->name,
                           (unsigned long)vm->dirty.pages,
                           vm->dirty.dbit ? "D bits the hardware sets" : "write-protect and fault");
    } else if (strcmp(what, "fetch") == 0) {
        size_t words = vm_dirty_words(vm);
        uint64_t *bm = pmem_alloc(words * sizeof(uint64_t), 4096);
        uint64_t t0 = arch_time();
        long n = bm ? vm_dirty_fetch(vm, bm, words) : ERR_NOMEM;
        uint64_t t1 = arch_time();
        pmem_free(bm, words * sizeof(uint64_t));
        if (n < 0)
            console_printf("vm %s: no dirty log to fetch: %s\n", vm->name,
                           n == ERR_INVAL ? "logging is off (vm dirty NAME start)"
                                          : err_str((int)n));
        else
            console_printf("vm %s: %ld dirty pages (fetched and cleared in %lu us)\n", vm->name, n,
                           (unsigned long)((t1 - t0) * 1000000 / (timebase ? timebase : 1)));
    } else {
        console_printf("usage: vm dirty NAME start|stop|fetch\n");
    }
}

/* In the run loop (task_start), as snapshots: it pauses the VM and waits
 * for its vCPUs. */
static void task_dirtycheck(struct vm *vm, unsigned secs)
{
    vm_dirty_check(vm, secs, timebase);
}

/* vm dirtycheck NAME SECONDS: the dirty-logging self-check (system tests). */
static void cmd_dirtycheck(struct vm *vm, const char *secs)
{
    unsigned long s = 0;

    for (const char *c = secs; *c; c++) {
        if (*c < '0' || *c > '9' || s > 3600) {
            s = 0;
            break;
        }
        s = s * 10 + (unsigned long)(*c - '0');
    }
    if (s == 0 || s > 3600) {
        console_printf("usage: vm dirtycheck NAME SECS (1 to 3600)\n");
        return;
    }
    if (vm_needs_running(vm, "dirtycheck"))
        task_start(task_dirtycheck, vm, (unsigned)s, "dirtycheck");
}

static void cmd_version(struct vm *unused)
{
    (void)unused;
    console_printf("Vireo " VIREO_VERSION "\n");
}

static void bind(struct vm *vm)
{
    enum vm_state st = __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);

    /* A VM that is rebooting comes back: what is typed meanwhile waits in
     * its console queue for the new boot (core/vconsole.c). */
    if (st != VM_RUNNING && !(st == VM_STOPPING && vm->end == VM_END_REBOOT)) {
        console_printf("vm %s is %s; start it first (vm start %s)\n", vm->name, vm_ops_state(vm),
                       vm->name);
        return;
    }
    console_printf("console bound to vm %s; Ctrl-] returns to the shell\n", vm->name);
    vconsole_bind(&vm->con);
    vconsole_port_push(&vm->con, "\n", 1); /* a fresh prompt from the guest */
}

/* One command, one row (Xvisor's command objects are the model): `help`
 * is generated from the rows, and a command typed with the wrong number of
 * words answers with its usage.  Adding a command: its handler and a row. */
struct shell_cmd {
    const char *name;               /* the word that selects it */
    const char *usage;              /* the whole command as typed, for `help` and errors */
    const char *help;               /* what it does, one line (a group: its commands' lines) */
    bool takes_vm;                  /* one more word, a VM's name, found before the handler runs */
    void (*handler)(struct vm *vm); /* vm: the named VM, or NULL */
    /* Instead of handler, for a command with one more word after the VM's
     * name (takes_vm too): that word. */
    void (*handler_arg)(struct vm *vm, const char *arg);
    bool arg_optional;           /* handler_arg's word may be left out: arg is NULL then */
    const struct shell_cmd *sub; /* a group ("vm"): its commands, by the next word */
    unsigned nsub;
};

#define SHELL_CMD_COUNT(t) (sizeof(t) / sizeof((t)[0]))

static void cmd_help(struct vm *unused);

static const struct shell_cmd vm_cmds[] = {
    {.name = "list",
     .usage = "vm list",
     .help = "VMs: state, vCPUs, memory, uptime",
     .handler = cmd_list},
    {.name = "info",
     .usage = "vm info NAME",
     .help = "configuration, devices, vCPUs, exits by reason",
     .takes_vm = true,
     .handler = cmd_info},
    {.name = "start",
     .usage = "vm start NAME",
     .help = "boot a VM that is off or stopped",
     .takes_vm = true,
     .handler = cmd_start},
    {.name = "stop",
     .usage = "vm stop NAME",
     .help = "power a VM off (its memory is freed)",
     .takes_vm = true,
     .handler = cmd_stop},
    {.name = "pause",
     .usage = "vm pause NAME",
     .help = "stop running its vCPUs (memory kept)",
     .takes_vm = true,
     .handler = cmd_pause},
    {.name = "resume",
     .usage = "vm resume NAME",
     .help = "run a paused VM again",
     .takes_vm = true,
     .handler = cmd_resume},
    {.name = "reset",
     .usage = "vm reset NAME",
     .help = "reboot a VM (disk data kept)",
     .takes_vm = true,
     .handler = cmd_reset},
    {.name = "delete",
     .usage = "vm delete NAME",
     .help = "remove a VM that is off or stopped (its slot is free)",
     .takes_vm = true,
     .handler = cmd_delete},
    {.name = "snapshot",
     .usage = "vm snapshot NAME [disk]",
     .help = "save its state in memory, or in its snapshot region (paused meanwhile)",
     .takes_vm = true,
     .handler_arg = cmd_snapshot,
     .arg_optional = true},
    {.name = "restore",
     .usage = "vm restore NAME [disk]",
     .help = "put a paused VM back to its snapshot (disk: also a VM that is off)",
     .takes_vm = true,
     .handler_arg = cmd_restore,
     .arg_optional = true},
    {.name = "snapshots",
     .usage = "vm snapshots",
     .help = "the snapshots in memory and in snapshot regions",
     .handler = cmd_snapshots},
    {.name = "log",
     .usage = "vm log NAME",
     .help = "what the VM printed lately (the last 4 KiB)",
     .takes_vm = true,
     .handler = cmd_log},
    {.name = "dirty",
     .usage = "vm dirty NAME OP",
     .help = "dirty logging: OP start, stop, or fetch (count and clear)",
     .takes_vm = true,
     .handler_arg = cmd_dirty},
    {.name = "dirtycheck",
     .usage = "vm dirtycheck NAME SECS",
     .help = "dirty-log self-check: pre-copy for SECS, pause, compare",
     .takes_vm = true,
     .handler_arg = cmd_dirtycheck},
};

static const struct shell_cmd trace_cmds[] = {
    {.name = "on",
     .usage = "trace on CLASSES",
     .help = "trace exit,sbi,mmio,irq,sched,virtio,vm (or all), joined by ','",
     .handler_arg = cmd_trace_on},
    {.name = "off", .usage = "trace off", .help = "stop tracing", .handler = cmd_trace_off},
    {.name = "status",
     .usage = "trace status",
     .help = "classes on; records and drops per hart",
     .handler = cmd_trace_status},
    {.name = "summary",
     .usage = "trace summary",
     .help = "exits by reason: count, share, min/avg/max handling time",
     .handler = cmd_trace_summary},
};

static const struct shell_cmd shell_cmds[] = {
    {.name = "vm", .usage = "vm COMMAND [NAME]", .sub = vm_cmds, .nsub = SHELL_CMD_COUNT(vm_cmds)},
    {.name = "console",
     .usage = "console NAME",
     .help = "bind this console to the VM; Ctrl-] comes back",
     .takes_vm = true,
     .handler = bind},
    {.name = "trace",
     .usage = "trace COMMAND",
     .sub = trace_cmds,
     .nsub = SHELL_CMD_COUNT(trace_cmds)},
    {.name = "harts",
     .usage = "harts",
     .help = "host harts and what they run",
     .handler = cmd_harts},
    {.name = "mem", .usage = "mem", .help = "host memory", .handler = cmd_mem},
    {.name = "version", .usage = "version", .help = "Vireo's version", .handler = cmd_version},
    {.name = "help", .usage = "help", .help = "this list", .handler = cmd_help},
};

static void shell_cmds_help(const struct shell_cmd *t, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (t[i].sub)
            shell_cmds_help(t[i].sub, t[i].nsub);
        else
            console_printf("  %-24s%s\n", t[i].usage, t[i].help);
    }
}

static void cmd_help(struct vm *unused)
{
    (void)unused;
    console_printf("commands:\n");
    shell_cmds_help(shell_cmds, SHELL_CMD_COUNT(shell_cmds));
}

static const struct shell_cmd *shell_cmd_find(const struct shell_cmd *t, unsigned n,
                                              const char *name)
{
    for (unsigned i = 0; i < n; i++) {
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    }
    return NULL;
}

/* A group's command names, "list, info, start, ...", for one console line. */
static const char *shell_cmd_names(const struct shell_cmd *group, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned i = 0; i < group->nsub && used < size; i++)
        used += (size_t)fmt_snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                                     group->sub[i].name);
    return buf;
}

/* Words w[0..n-1]: the command (and, in a group, its subcommand), then its
 * arguments. */
static void shell_dispatch(char **w, unsigned n)
{
    const struct shell_cmd *cmd = shell_cmd_find(shell_cmds, SHELL_CMD_COUNT(shell_cmds), w[0]);

    if (!cmd) {
        console_printf("unknown command \"%.40s\" (`help` lists the commands)\n", w[0]);
        return;
    }
    if (cmd->sub) {
        const struct shell_cmd *group = cmd;

        char names[192];

        if (n < 2) {
            console_printf("usage: %s (%s)\n", group->usage,
                           shell_cmd_names(group, names, sizeof(names)));
            return;
        }
        cmd = shell_cmd_find(group->sub, group->nsub, w[1]);
        if (!cmd) {
            console_printf("unknown %s command \"%.16s\" (%s)\n", group->name, w[1],
                           shell_cmd_names(group, names, sizeof(names)));
            return;
        }
        w++;
        n--;
    }
    unsigned words = (cmd->takes_vm ? 2u : 1u) + (cmd->handler_arg ? 1u : 0u);
    if (n != words && !(cmd->arg_optional && n == words - 1)) {
        console_printf("usage: %s\n", cmd->usage);
        return;
    }
    struct vm *vm = NULL;
    vm_ops_hold(); /* the whole command sees the VM table still */
    if (cmd->takes_vm && !(vm = find_vm(w[1]))) {
        vm_ops_release();
        return;
    }
    if (cmd->handler_arg)
        cmd->handler_arg(vm, n == words ? w[words - 1] : NULL);
    else
        cmd->handler(vm);
    vm_ops_release();
}

static void run_line(char *s)
{
    char *w[MAX_WORDS + 1];
    unsigned n = 0;

    while (*s && n <= MAX_WORDS) {
        while (*s == ' ' || *s == '\t')
            *s++ = '\0';
        if (!*s)
            break;
        w[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
    }
    if (n == 0)
        return;
    if (n > MAX_WORDS) {
        console_printf("too many words (`help` lists the commands)\n");
        return;
    }
    shell_dispatch(w, n);
}

void shell_input(char c)
{
    if (c == '\r' || c == '\n') {
        console_printf("\n");
        line[len] = '\0';
        len = 0;
        if (__atomic_load_n(&task.busy, __ATOMIC_ACQUIRE)) {
            console_printf("busy: vm %s %s still running\n", task.vm->name, task.what);
            return;
        }
        run_line(line);
        if (!vconsole_bound() && !__atomic_load_n(&task.busy, __ATOMIC_ACQUIRE))
            prompt();
    } else if (c == 0x7f || c == '\b') {
        if (len) {
            len--;
            console_printf("\b \b");
        }
    } else if (c == 0x03) { /* Ctrl-C: drop the line */
        len = 0;
        console_printf("^C\n");
        prompt();
    } else if (c >= 0x20 && c < 0x7f && len < LINE_MAX - 1) {
        line[len++] = c;
        console_write(&c, 1); /* echo */
    }
}
