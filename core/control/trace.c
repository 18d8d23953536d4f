/* SPDX-License-Identifier: Apache-2.0 */
/* The control protocol's trace commands (docs/control.md, docs/tracing.md):
 * switch tracing on and off, say how the rings are doing, and read
 * records out as base64 of their 32-byte wire form (lib/trace_rec.h),
 * with what a reader needs to name them (VMs, devices, the timebase). */
#include "core/control/internal.h"
#include "core/hart.h"
#include "core/trace_ctl.h"
#include "core/vm.h"
#include "core/vm_dev.h"
#include "lib/err.h"
#include "lib/string.h"

/* Records in one trace-read: 32 KiB of them, 43 KiB of base64 (the reply
 * also lists every hart: it stays under CONTROL_REPLY_MAX). */
#define TRACE_READ_MAX 1024u

static void put_classes(struct jw *w)
{
    char names[96];

    trace_ctl_format(trace_ctl_classes(), names, sizeof(names));
    jw_kstr(w, "classes", names);
}

int control_cmd_trace_start(struct control_req *r)
{
    char text[96];
    const char *bad = "";
    size_t badlen = 0;
    long classes = TRACE_ALL;

    if (control_arg_present(r, "classes")) {
        int n = control_arg_str(r, "classes", text, sizeof(text));
        if (n < 0)
            return n;
        classes = trace_classes_parse(text, (size_t)n, &bad, &badlen);
        if (classes < 0)
            return control_fail(r, ERR_INVAL,
                                "no trace class \"%.*s\" (exit, sbi, mmio, irq, sched, virtio, vm, "
                                "all; joined by ',')",
                                (int)(badlen > 32 ? 32 : badlen), bad);
        if (!classes)
            return control_fail(r, ERR_INVAL, "argument \"classes\" names no class");
    }
    int rc = trace_ctl_set((uint32_t)classes, r->err, sizeof(r->err));
    if (rc < 0)
        return rc;
    jw_obj(r->w);
    put_classes(r->w);
    jw_ku64(r->w, "harts", trace_ctl_harts());
    jw_ku64(r->w, "ring-records", TRACE_RING_RECORDS);
    jw_end(r->w);
    return 0;
}

int control_cmd_trace_stop(struct control_req *r)
{
    int rc = trace_ctl_set(0, r->err, sizeof(r->err));
    if (rc < 0)
        return rc;
    jw_obj(r->w);
    put_classes(r->w);
    jw_end(r->w);
    return 0;
}

static void put_vms(struct jw *w)
{
    jw_key(w, "vms");
    jw_arr(w);
    for (unsigned i = 0; i < vm_count; i++) {
        const struct vm *vm = &vms[i];
        enum vm_state st = __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
        if (st == VM_EMPTY)
            continue;
        jw_obj(w);
        jw_ku64(w, "index", vm->index);
        jw_kstr(w, "name", vm->name);
        jw_ku64(w, "vcpus", vm->cfg ? vm->cfg->vcpus : 0);
        if (st == VM_RUNNING || st == VM_STOPPING) {
            /* MMIO records name a device by its place on the bus. */
            jw_key(w, "bus");
            jw_arr(w);
            for (unsigned k = 0; k < vm->ndevs; k++)
                jw_str(w, vm->devs[k]->name ? vm->devs[k]->name : "?");
            jw_end(w);
            /* Virtio records by their slot. */
            jw_key(w, "virtio");
            jw_arr(w);
            for (unsigned k = 0; vm_device_label(vm, k); k++)
                jw_str(w, vm_device_label(vm, k));
            jw_end(w);
        }
        jw_end(w);
    }
    jw_end(w);
}

static void put_harts(struct jw *w)
{
    jw_key(w, "harts");
    jw_arr(w);
    for (unsigned i = 0; i < trace_ctl_harts(); i++) {
        struct trace_ring_info in;
        trace_ring_info(i, &in);
        jw_obj(w);
        jw_ku64(w, "index", i);
        jw_ku64(w, "hartid", harts[i].hartid);
        jw_ku64(w, "written", in.written);
        jw_ku64(w, "pending", in.pending);
        jw_ku64(w, "dropped", in.dropped);
        jw_ku64(w, "size", in.size);
        jw_end(w);
    }
    jw_end(w);
}

int control_cmd_trace_status(struct control_req *r)
{
    struct trace_exit_stat st[TRACE_EXIT_REASONS];

    jw_obj(r->w);
    put_classes(r->w);
    jw_ku64(r->w, "timebase-hz", control_timebase());
    jw_ku64(r->w, "record-size", TRACE_REC_WIRE_SIZE);
    put_harts(r->w);
    put_vms(r->w);
    /* The exit summary Vireo keeps itself (handling time per reason). */
    trace_ctl_summary(st);
    jw_key(r->w, "exits");
    jw_arr(r->w);
    for (unsigned i = 0; i < TRACE_EXIT_REASONS; i++) {
        if (!st[i].count)
            continue;
        jw_obj(r->w);
        jw_kstr(r->w, "reason", trace_ctl_reason_name(i));
        jw_ku64(r->w, "count", st[i].count);
        jw_ku64(r->w, "sum-ticks", st[i].sum);
        jw_ku64(r->w, "min-ticks", st[i].min);
        jw_ku64(r->w, "max-ticks", st[i].max);
        jw_end(r->w);
    }
    jw_end(r->w);
    jw_end(r->w);
    return 0;
}

int control_cmd_trace_read(struct control_req *r)
{
    static struct trace_rec recs[TRACE_READ_MAX];
    static uint8_t wire[TRACE_READ_MAX * TRACE_REC_WIRE_SIZE];
    unsigned nh = trace_ctl_harts();
    unsigned first = 0, last = nh;

    if (control_arg_present(r, "hart")) {
        uint64_t h = control_arg_u64(r, "hart", 0);
        if (h >= nh)
            return control_fail(r, ERR_NOENT, "no trace ring for hart %llu (%u harts have one)",
                                (unsigned long long)h, nh);
        first = (unsigned)h;
        last = first + 1;
    }
    uint64_t max = control_arg_u64(r, "max", TRACE_READ_MAX);
    if (max > TRACE_READ_MAX)
        max = TRACE_READ_MAX;
    /* Hart by hart, an equal share each first, so one busy hart cannot
     * starve the others' rings; what is left over goes to whoever has
     * more. */
    size_t n = 0;
    size_t share = (size_t)max / (last - first ? last - first : 1);
    for (unsigned pass = 0; pass < 2; pass++)
        for (unsigned h = first; h < last && n < max; h++) {
            size_t want = pass ? (size_t)max - n : share;
            if (want > (size_t)max - n)
                want = (size_t)max - n;
            n += trace_read(h, recs + n, want);
        }
    for (size_t i = 0; i < n; i++)
        trace_rec_encode(&recs[i], wire + i * TRACE_REC_WIRE_SIZE);
    jw_obj(r->w);
    jw_ku64(r->w, "count", n);
    jw_key(r->w, "data");
    jw_base64(r->w, wire, n * TRACE_REC_WIRE_SIZE);
    put_harts(r->w);
    jw_end(r->w);
    return 0;
}
