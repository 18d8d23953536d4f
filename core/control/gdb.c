/* SPDX-License-Identifier: Apache-2.0 */
/* The per-VM gdb stub over the control protocol (docs/debugging.md): a
 * session attaches to a VM (gdb-attach), hands the stub what gdb sends
 * (gdb-input, base64) and gets what the stub answers as GDB events, to
 * that session only.  vireoctl gdbserver turns that into the TCP port
 * gdb's `target remote` connects to, on the host (the management port)
 * or in a control VM (vsock).  The protocol engine is core/gdb/rsp.c;
 * the VM's side, stops, breakpoints and memory, core/vm_debug.c; here
 * the two meet, with gdb's register numbers. */
#include "arch/arch.h"
#include "core/control/internal.h"
#include "core/gdb/rsp.h"
#include "core/isa.h"
#include "core/pmem.h"
#include "core/vm.h"
#include "core/vm_debug.h"
#include "lib/base64.h"
#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

#define GDB_STUBS     4           /* VMs debugged at once */
#define GDB_OUT_MAX   (64u << 10) /* bytes for the client not yet sent */
#define GDB_EVENT_RAW 8192        /* bytes of stub output in one GDB event */
#define GDB_INPUT_MAX 16384       /* decoded bytes in one gdb-input */

struct gdb_stub {
    struct vm *vm;
    uint64_t uid; /* vm->uid when attached: the VM is this one still */
    unsigned boots;
    struct control_session *s;
    bool ended; /* the VM went away: its end is told, then the stub freed */
    bool phys;  /* `monitor phys on`: memory by guest physical address */
    struct gdb_rsp rsp;
    size_t out_len;
    bool overflow;
    uint8_t out[GDB_OUT_MAX];
};

static struct gdb_stub *stubs[GDB_STUBS];

static struct vm *stub_vm(struct gdb_stub *st)
{
    return st->vm;
}

/* ---- the target: gdb's view of the VM ----------------------------------- */

static unsigned t_threads(void *ctx)
{
    return stub_vm(ctx)->nvcpus;
}

static bool vm_has(const struct vm *vm, const char *ext)
{
    int i = isa_lookup(ext);
    return i >= 0 && isa_has(&vm->isa.exts, (unsigned)i);
}

/* A supervisor CSR as the guest sees it: the VS copy, or for sip the
 * VS-level interrupts pending (hvip's bits, one place up in sip). */
static uint64_t *csr_field(struct vcpu_arch *a, unsigned csr)
{
    switch (csr) {
    case 0x100:
        return &a->vsstatus;
    case 0x104:
        return &a->vsie;
    case 0x105:
        return &a->vstvec;
    case 0x140:
        return &a->vsscratch;
    case 0x141:
        return &a->vsepc;
    case 0x142:
        return &a->vscause;
    case 0x143:
        return &a->vstval;
    case 0x180:
        return &a->vsatp;
    default:
        return NULL;
    }
}

static int t_reg_read(void *ctx, unsigned thread, unsigned regno, uint64_t *val)
{
    struct vm *vm = stub_vm(ctx);
    struct vcpu_arch *a = &vm->vcpus[thread - 1].arch;

    if (regno < 32) {
        *val = regno ? a->ctx.gpr[regno] : 0;
    } else if (regno == GDB_REG_PC) {
        *val = a->ctx.sepc;
    } else if (regno >= GDB_REG_F0 && regno <= GDB_REG_F31) {
        if (!vm_has(vm, "f"))
            return ERR_NOENT;
        *val = a->fp.f[regno - GDB_REG_F0];
    } else if (regno == GDB_REG_FFLAGS || regno == GDB_REG_FRM || regno == GDB_REG_FCSR) {
        if (!vm_has(vm, "f"))
            return ERR_NOENT;
        *val = regno == GDB_REG_FFLAGS ? a->fp.fcsr & 0x1f
               : regno == GDB_REG_FRM  ? (a->fp.fcsr >> 5) & 7
                                       : a->fp.fcsr & 0xff;
    } else if (regno == GDB_REG_CSR(0x144)) {
        uint64_t p = a->hvip | a->hvip_pending;
        *val = ((p >> 1) & (HVIP_VSSIP >> 1)) | ((p >> 1) & (HVIP_VSTIP >> 1)) |
               ((p >> 1) & (HVIP_VSEIP >> 1));
    } else if (regno == GDB_REG_PRIV) {
        *val = (a->ctx.sstatus & SSTATUS_SPP) ? 1 : 0;
    } else if (regno >= GDB_REG_CSR(0) && regno <= GDB_REG_CSR(4095) &&
               csr_field(a, regno - GDB_REG_CSR(0))) {
        *val = *csr_field(a, regno - GDB_REG_CSR(0));
    } else {
        return ERR_NOENT;
    }
    return 0;
}

static int t_reg_write(void *ctx, unsigned thread, unsigned regno, uint64_t val)
{
    struct vm *vm = stub_vm(ctx);
    struct vcpu_arch *a = &vm->vcpus[thread - 1].arch;

    if (regno < 32) {
        if (regno)
            vcpu_arch_set_gpr(a, regno, val);
    } else if (regno == GDB_REG_PC) {
        a->ctx.sepc = val;
    } else if (regno >= GDB_REG_F0 && regno <= GDB_REG_FCSR) {
        if (!vm_has(vm, "f"))
            return ERR_NOENT;
        if (regno <= GDB_REG_F31)
            a->fp.f[regno - GDB_REG_F0] = val;
        else if (regno == GDB_REG_FFLAGS)
            a->fp.fcsr = (a->fp.fcsr & ~0x1full) | (val & 0x1f);
        else if (regno == GDB_REG_FRM)
            a->fp.fcsr = (a->fp.fcsr & ~0xe0ull) | ((val & 7) << 5);
        else if (regno == GDB_REG_FCSR)
            a->fp.fcsr = val & 0xff;
        else
            return ERR_NOENT;
        vcpu_arch_invalidate(a); /* the harts reload its FP registers */
    } else if (regno == GDB_REG_PRIV) {
        if (val > 1)
            return ERR_INVAL; /* a guest has VS- and VU-mode only */
        a->ctx.sstatus = val ? a->ctx.sstatus | SSTATUS_SPP : a->ctx.sstatus & ~SSTATUS_SPP;
    } else if (regno >= GDB_REG_CSR(0) && regno <= GDB_REG_CSR(4095) &&
               csr_field(a, regno - GDB_REG_CSR(0))) {
        *csr_field(a, regno - GDB_REG_CSR(0)) = val;
        if (regno == GDB_REG_CSR(0x180))
            vcpu_arch_invalidate(a); /* a new translation: VS-stage TLBs flushed */
    } else {
        return ERR_NOENT;
    }
    return 0;
}

static int t_mem_read(void *ctx, unsigned thread, uint64_t addr, void *buf, size_t n)
{
    struct gdb_stub *st = ctx;
    return vm_debug_mem_read(st->vm, thread - 1, st->phys, addr, buf, n);
}

static int t_mem_write(void *ctx, unsigned thread, uint64_t addr, const void *buf, size_t n)
{
    struct gdb_stub *st = ctx;
    return vm_debug_mem_write(st->vm, thread - 1, st->phys, addr, buf, n);
}

static int t_bp_insert(void *ctx, int type, uint64_t addr, unsigned kind)
{
    struct vm *vm = stub_vm(ctx);
    /* Addresses are translated by the vCPU that stopped last, which is
     * what gdb shows the user (kernel addresses are the same in all). */
    return vm_debug_bp_insert(vm, vm->debug.vcpu, (enum vm_debug_bp)type, addr, kind);
}

static int t_bp_remove(void *ctx, int type, uint64_t addr, unsigned kind)
{
    return vm_debug_bp_remove(stub_vm(ctx), (enum vm_debug_bp)type, addr, kind);
}

static void t_resume(void *ctx, unsigned only, bool step)
{
    struct gdb_stub *st = ctx;
    if (vm_debug_resume(stub_vm(st), only ? (int)only - 1 : -1, step) < 0) {
        /* Nothing ran (a step from a pc that is not mapped): stopped
         * where it was, at once. */
        gdb_rsp_stopped(&st->rsp, only ? only : 1, GDB_STOP_STEP, 0);
    }
}

static void t_interrupt(void *ctx)
{
    struct vm *vm = stub_vm(ctx);
    if (!vm->debug.attached)
        vm_debug_attach(vm); /* gdb came back after a detach (D) */
    vm_debug_stop(vm);
}

static void t_detach(void *ctx)
{
    vm_debug_detach(stub_vm(ctx));
}

static const char *const vcpu_state_names[] = {"offline", "runnable", "running", "blocked"};

/* gdb's `monitor ...`. */
static int t_monitor(void *ctx, const char *cmd, char *out, size_t outlen)
{
    struct gdb_stub *st = ctx;
    struct vm *vm = st->vm;

    if (!strcmp(cmd, "help")) {
        fmt_snprintf(out, outlen,
                     "monitor phys [on|off]  memory by guest physical address (on) or by virtual "
                     "address through the vCPU's page tables (off, the default)\n"
                     "monitor vcpus          each vCPU: state, mode, pc, translation\n");
        return 0;
    }
    if (!strcmp(cmd, "phys") || !strcmp(cmd, "phys on") || !strcmp(cmd, "phys off")) {
        if (cmd[4])
            st->phys = !strcmp(cmd, "phys on");
        fmt_snprintf(out, outlen, "memory is read and written by guest %s address\n",
                     st->phys ? "physical" : "virtual");
        return 0;
    }
    if (!strcmp(cmd, "vcpus")) {
        size_t o = 0;
        for (unsigned i = 0; i < vm->nvcpus && o < outlen; i++) {
            const struct vcpu *v = &vm->vcpus[i];
            static const char *const modes[16] = {
                [0] = "Bare", [8] = "Sv39", [9] = "Sv48", [10] = "Sv57"};
            const char *m = modes[v->arch.vsatp >> 60];
            o += (size_t)fmt_snprintf(
                out + o, outlen - o, "vcpu %u: %s, %s-mode, pc %#lx, satp %s\n", i,
                vcpu_state_names[v->state & 3], (v->arch.ctx.sstatus & SSTATUS_SPP) ? "VS" : "VU",
                (unsigned long)v->arch.ctx.sepc, m ? m : "?");
        }
        return 0;
    }
    fmt_snprintf(out, outlen, "unknown monitor command '%s' (monitor help lists them)\n", cmd);
    return ERR_INVAL;
}

static const struct gdb_target_ops target = {
    .threads = t_threads,
    .reg_read = t_reg_read,
    .reg_write = t_reg_write,
    .mem_read = t_mem_read,
    .mem_write = t_mem_write,
    .bp_insert = t_bp_insert,
    .bp_remove = t_bp_remove,
    .resume = t_resume,
    .interrupt = t_interrupt,
    .detach = t_detach,
    .monitor = t_monitor,
};

/* The engine's bytes for the client: kept until the session has room. */
static void stub_out(void *ctx, const void *buf, size_t n)
{
    struct gdb_stub *st = ctx;
    if (n > sizeof(st->out) - st->out_len) {
        st->overflow = true; /* the client does not read: it is dropped */
        return;
    }
    memcpy(st->out + st->out_len, buf, n);
    st->out_len += n;
}

/* ---- stubs and sessions ---------------------------------------------------- */

static void stub_free(unsigned i)
{
    struct gdb_stub *st = stubs[i];
    struct vm *vm = st->vm;

    /* Only the VM it attached to: one rebuilt since has no debugger. */
    if (vm_in_use(vm) && vm->uid == st->uid && vm->boots == st->boots)
        vm_debug_detach(vm);
    stubs[i] = NULL;
    pmem_free(st, sizeof(*st));
}

static char event_buf[GDB_EVENT_RAW * 4 / 3 + 512];

/* A GDB event with bytes for the client, or GDB_END when the VM is gone
 * (bytes NULL).  False if the session has no room now. */
static bool send_event(struct control_session *s, const char *vm, const void *bytes, size_t n,
                       const char *why)
{
    struct jw w;

    jw_init(&w, event_buf, sizeof(event_buf));
    jw_obj(&w);
    jw_kstr(&w, "event", bytes ? "GDB" : "GDB_END");
    jw_key(&w, "data");
    jw_obj(&w);
    jw_kstr(&w, "vm", vm);
    if (bytes) {
        jw_key(&w, "bytes");
        jw_base64(&w, bytes, n);
    } else {
        jw_kstr(&w, "reason", why);
    }
    jw_end(&w);
    jw_end(&w);
    return control_emit(s, &w);
}

static const char *stub_gone(struct gdb_stub *st)
{
    struct vm *vm = st->vm;
    if (st->overflow)
        return "the client did not read the stub's replies";
    if (!vm_in_use(vm) || vm->uid != st->uid)
        return "the VM was deleted";
    if (vm->boots != st->boots || __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING)
        return vm->end == VM_END_REBOOT ? "the VM rebooted" : "the VM ended";
    return NULL;
}

/* Each work: stops to report, bytes to send, VMs that went away. */
static void stub_pump(struct gdb_stub *st)
{
    struct vm *vm = st->vm;
    const char *gone = stub_gone(st);

    if (!gone) {
        enum vm_debug_why why;
        unsigned vcpu;
        uint64_t addr;
        if (vm_debug_poll(vm, &why, &vcpu, &addr)) {
            static const enum gdb_stop_reason reason[] = {
                [VM_DEBUG_SWBREAK] = GDB_STOP_SWBREAK,     [VM_DEBUG_HWBREAK] = GDB_STOP_HWBREAK,
                [VM_DEBUG_WATCH] = GDB_STOP_WATCH,         [VM_DEBUG_RWATCH] = GDB_STOP_RWATCH,
                [VM_DEBUG_AWATCH] = GDB_STOP_AWATCH,       [VM_DEBUG_STEP] = GDB_STOP_STEP,
                [VM_DEBUG_INTERRUPT] = GDB_STOP_INTERRUPT,
            };
            gdb_rsp_stopped(&st->rsp, vcpu + 1,
                            why == VM_DEBUG_NONE ? GDB_STOP_INTERRUPT : reason[why], addr);
        }
    }
    size_t off = 0;
    while (off < st->out_len) {
        size_t k = st->out_len - off < GDB_EVENT_RAW ? st->out_len - off : GDB_EVENT_RAW;
        if (!send_event(st->s, vm->name, st->out + off, k, NULL))
            break;
        off += k;
    }
    memmove(st->out, st->out + off, st->out_len - off);
    st->out_len -= off;
    /* The end is told after the bytes before it (unless the client is
     * too slow to read them at all). */
    if (gone && st->overflow) {
        send_event(st->s, vm->name, NULL, 0, gone);
        st->ended = true;
    } else if (gone && !st->out_len && send_event(st->s, vm->name, NULL, 0, gone)) {
        st->ended = true;
    }
}

void control_gdb_pump(struct control_session *s)
{
    for (unsigned i = 0; i < GDB_STUBS; i++) {
        struct gdb_stub *st = stubs[i];
        if (!st || st->s != s)
            continue;
        stub_pump(st);
        if (st->ended)
            stub_free(i);
    }
}

void control_gdb_gone(struct control_session *s)
{
    for (unsigned i = 0; i < GDB_STUBS; i++) {
        if (stubs[i] && stubs[i]->s == s)
            stub_free(i);
    }
}

/* ---- commands ------------------------------------------------------------ */

int control_cmd_gdb_attach(struct control_req *r)
{
    struct vm *vm = control_arg_vm(r, "debug");
    if (!vm)
        return r->rc;
    if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING)
        return control_fail(r, ERR_STATE, "vm %s is not running: a debugger needs it running",
                            vm->name);
    if (vm->debug.attached)
        return control_fail(r, ERR_STATE, "vm %s already has a debugger", vm->name);
    if (__atomic_load_n(&vm->migrating, __ATOMIC_ACQUIRE))
        return control_fail(r, ERR_STATE, "vm %s is migrating: debug it where it arrives",
                            vm->name);
    unsigned slot = GDB_STUBS;
    for (unsigned i = 0; i < GDB_STUBS && slot == GDB_STUBS; i++) {
        if (!stubs[i])
            slot = i;
    }
    if (slot == GDB_STUBS)
        return control_fail(r, ERR_NOSPC, "%u VMs are being debugged already", GDB_STUBS);
    struct gdb_stub *st = pmem_zalloc(sizeof(*st), 64);
    if (!st)
        return control_fail(r, ERR_NOMEM, "no memory for a gdb stub (%zu KiB)", sizeof(*st) >> 10);
    if (vm_debug_attach(vm) < 0) {
        pmem_free(st, sizeof(*st));
        return control_fail(r, ERR_STATE, "vm %s already has a debugger", vm->name);
    }
    st->vm = vm;
    st->uid = vm->uid;
    st->boots = vm->boots;
    st->s = r->s;
    gdb_rsp_init(&st->rsp, &target, st, stub_out, st);
    stubs[slot] = st;
    jw_obj(r->w);
    jw_kstr(r->w, "vm", vm->name);
    jw_ku64(r->w, "threads", vm->nvcpus);
    jw_end(r->w);
    return 0;
}

static struct gdb_stub *arg_stub(struct control_req *r)
{
    char name[CONFIG_NAME_MAX + 1];
    if (control_arg_str(r, "name", name, sizeof(name)) < 0) {
        control_fail(r, ERR_NOENT, "no such VM");
        return NULL;
    }
    for (unsigned i = 0; i < GDB_STUBS; i++) {
        struct gdb_stub *st = stubs[i];
        if (st && st->s == r->s && !strcmp(st->vm->name, name) && !st->ended)
            return st;
    }
    control_fail(r, ERR_NOENT, "this connection debugs no vm %s (gdb-attach first)", name);
    return NULL;
}

int control_cmd_gdb_input(struct control_req *r)
{
    static char text[GDB_INPUT_MAX * 4 / 3 + 8];
    static uint8_t bytes[GDB_INPUT_MAX];
    struct gdb_stub *st = arg_stub(r);

    if (!st)
        return r->rc;
    int n = control_arg_str(r, "bytes", text, sizeof(text));
    if (n < 0)
        return control_fail(r, ERR_INVAL, "argument \"bytes\": at most %u bytes at a time",
                            GDB_INPUT_MAX);
    long k = base64_decode(text, (size_t)n, bytes, sizeof(bytes));
    if (k < 0)
        return control_fail(r, ERR_INVAL, "argument \"bytes\" is not base64");
    if (stub_gone(st))
        return control_fail(r, ERR_STATE, "vm %s: %s", st->vm->name, stub_gone(st));
    gdb_rsp_input(&st->rsp, bytes, (size_t)k);
    stub_pump(st); /* the reply goes before this command's return */
    return 0;
}

int control_cmd_gdb_detach(struct control_req *r)
{
    struct gdb_stub *st = arg_stub(r);

    if (!st)
        return r->rc;
    for (unsigned i = 0; i < GDB_STUBS; i++) {
        if (stubs[i] == st)
            stub_free(i);
    }
    return 0;
}
