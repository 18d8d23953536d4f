/* SPDX-License-Identifier: Apache-2.0 */
/* One trace record, as Vireo keeps it and as it travels (docs/tracing.md):
 * the event classes, the event types and what each record's fields mean,
 * and the 32-byte little-endian wire form that the control protocol's
 * trace-read sends and vireoctl reads.  Header-only: Vireo (core/trace.c)
 * and vireoctl share it, so both sides agree on one layout. */
#ifndef VIREO_LIB_TRACE_REC_H
#define VIREO_LIB_TRACE_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Event classes: what can be switched on and off. */
enum trace_class {
    TRACE_EXIT = 1u << 0,   /* exits (cause, pc, address) and their end */
    TRACE_SBI = 1u << 1,    /* SBI calls: extension, function, result */
    TRACE_MMIO = 1u << 2,   /* emulated MMIO: device, offset, width, value */
    TRACE_IRQ = 1u << 3,    /* interrupts injected into vCPUs */
    TRACE_SCHED = 1u << 4,  /* vCPUs in and out of harts, with the reason */
    TRACE_VIRTIO = 1u << 5, /* virtio notifications and completions */
    TRACE_VM = 1u << 6,     /* VM lifecycle */
    TRACE_ALL = (1u << 7) - 1,
};

#define TRACE_CLASSES 7
/* The name of class bit i (0 <= i < TRACE_CLASSES). */
static inline const char *trace_class_name(unsigned i)
{
    static const char *const names[TRACE_CLASSES] = {
        "exit", "sbi", "mmio", "irq", "sched", "virtio", "vm",
    };
    return i < TRACE_CLASSES ? names[i] : "?";
}

/* Event types; per type, what x, a and b hold. */
enum trace_type {
    TRACE_EV_NONE,
    /* x: scause's code, bit 15 = interrupt; a: sepc; b: the fault's guest
     * physical address (guest-page faults) or stval. */
    TRACE_EV_EXIT,
    /* x: the same cause as its EXIT; a: enum exit_action (0 resume, 1 block,
     * 2 yield, 3 leave); b: time spent handling it, in timebase ticks. */
    TRACE_EV_EXIT_DONE,
    /* x: function id (low 16 bits); a: extension id (low 32 bits) and the
     * error (high 32 bits, signed); b: value. */
    TRACE_EV_SBI,
    /* x: width in bytes (bits 0-3), bit 4 = write, bits 8-15 = device
     * index on the VM's bus; a: offset into the device; b: value. */
    TRACE_EV_MMIO,
    /* x: enum trace_irq; vm/vcpu: the target; a: the hart index that
     * injected it (the record's hart is the same); b: 0. */
    TRACE_EV_IRQ,
    /* vCPU vm/vcpu onto the record's hart: x = 0. */
    TRACE_EV_VCPU_IN,
    /* vCPU vm/vcpu off the hart: x = enum trace_out; a: its run time on
     * the hart in ticks. */
    TRACE_EV_VCPU_OUT,
    /* x: queue; a: device (VM index << 8 | virtio slot); vm/vcpu: the vCPU
     * that notified. */
    TRACE_EV_VIRTIO_NOTIFY,
    /* x: queue; a: device as above; vm/vcpu: whatever ran on the hart
     * (often none: the host's interrupt, another VM's transmit). */
    TRACE_EV_VIRTIO_DONE,
    /* x: enum trace_vm_event; vm: the VM; a, b: 0. */
    TRACE_EV_VM,
    TRACE_EV_TYPES
};

enum trace_irq { TRACE_IRQ_TIMER, TRACE_IRQ_IPI, TRACE_IRQ_EXTERNAL };
enum trace_out { TRACE_OUT_BLOCKED, TRACE_OUT_YIELD, TRACE_OUT_PREEMPT, TRACE_OUT_LEAVE };
/* The same order as core/vm_life.h's enum vm_event (checked there). */
enum trace_vm_event {
    TRACE_VM_STARTED,
    TRACE_VM_ENDED,
    TRACE_VM_REBOOTING,
    TRACE_VM_PAUSED,
    TRACE_VM_RESUMED,
    TRACE_VM_ADDED,
    TRACE_VM_DELETED,
    TRACE_VM_EVENTS
};

#define TRACE_NONE          0xffffu /* vm or vcpu: none */
#define TRACE_CAUSE_IRQ     0x8000u /* in x of EXIT, EXIT_DONE */
#define TRACE_MMIO_WRITE    0x10u
#define TRACE_REC_WIRE_SIZE 32

/* A short name for an exit cause as EXIT records carry it (x). */
static inline const char *trace_cause_name(uint16_t x)
{
    static const char *const exc[24] = {
        [0] = "misaligned-fetch",
        [1] = "fetch-access",
        [2] = "illegal-instruction",
        [3] = "breakpoint",
        [4] = "misaligned-load",
        [5] = "load-access",
        [6] = "misaligned-store",
        [7] = "store-access",
        [8] = "ecall-u",
        [9] = "ecall-s",
        [10] = "sbi-call",
        [11] = "ecall-m",
        [12] = "fetch-page-fault",
        [13] = "load-page-fault",
        [15] = "store-page-fault",
        [20] = "fetch-guest-page-fault",
        [21] = "load-guest-page-fault",
        [22] = "virtual-instruction",
        [23] = "store-guest-page-fault",
    };
    static const char *const irq[16] = {
        [1] = "host-ipi",
        [5] = "host-timer",
        [9] = "host-external",
    };
    unsigned code = x & 0x7fffu;
    const char *n = NULL;
    if (x & TRACE_CAUSE_IRQ)
        n = code < 16 ? irq[code] : NULL;
    else
        n = code < 24 ? exc[code] : NULL;
    return n ? n : (x & TRACE_CAUSE_IRQ) ? "other-interrupt" : "other-exception";
}

struct trace_rec {
    uint64_t time; /* the time CSR (timebase ticks) */
    uint8_t type;  /* enum trace_type */
    uint8_t hart;  /* the hart's index in Vireo (not its hart id) */
    uint16_t vm;   /* VM slot index, or TRACE_NONE */
    uint16_t vcpu; /* vCPU id in its VM, or TRACE_NONE */
    uint16_t x;
    uint64_t a, b;
};

static inline void trace_put64(uint8_t *p, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t trace_get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The wire form: time, type, hart, vm, vcpu, x, a, b, little-endian. */
static inline void trace_rec_encode(const struct trace_rec *r, uint8_t out[TRACE_REC_WIRE_SIZE])
{
    trace_put64(out, r->time);
    out[8] = r->type;
    out[9] = r->hart;
    out[10] = (uint8_t)r->vm;
    out[11] = (uint8_t)(r->vm >> 8);
    out[12] = (uint8_t)r->vcpu;
    out[13] = (uint8_t)(r->vcpu >> 8);
    out[14] = (uint8_t)r->x;
    out[15] = (uint8_t)(r->x >> 8);
    trace_put64(out + 16, r->a);
    trace_put64(out + 24, r->b);
}

/* False for a record no Vireo writes (an unknown type): the reader skips
 * it rather than guessing. */
static inline bool trace_rec_decode(const uint8_t in[TRACE_REC_WIRE_SIZE], struct trace_rec *r)
{
    r->time = trace_get64(in);
    r->type = in[8];
    r->hart = in[9];
    r->vm = (uint16_t)(in[10] | in[11] << 8);
    r->vcpu = (uint16_t)(in[12] | in[13] << 8);
    r->x = (uint16_t)(in[14] | in[15] << 8);
    r->a = trace_get64(in + 16);
    r->b = trace_get64(in + 24);
    return r->type > TRACE_EV_NONE && r->type < TRACE_EV_TYPES;
}

/* Parses a class list: "all", "off"/"none", or names joined by ',' (as
 * the shell and the control protocol take it).  Returns the mask, or -1
 * naming the first unknown word in *bad / *badlen. */
static inline long trace_classes_parse(const char *s, size_t n, const char **bad, size_t *badlen)
{
    long mask = 0;
    size_t i = 0;

    if (n && s[n - 1] == ',') { /* an empty last word */
        if (bad)
            *bad = s + n - 1;
        if (badlen)
            *badlen = 1;
        return -1;
    }
    while (i < n) {
        size_t j = i;
        while (j < n && s[j] != ',')
            j++;
        size_t len = j - i;
        long bit = -1;
        if (len == 3 && s[i] == 'a' && s[i + 1] == 'l' && s[i + 2] == 'l')
            bit = TRACE_ALL;
        for (unsigned c = 0; c < TRACE_CLASSES && bit < 0; c++) {
            const char *name = trace_class_name(c);
            size_t k = 0;
            while (k < len && name[k] && name[k] == s[i + k])
                k++;
            if (k == len && !name[k])
                bit = 1l << c;
        }
        if (bit < 0) {
            if (bad)
                *bad = s + i;
            if (badlen)
                *badlen = len;
            return -1;
        }
        mask |= bit;
        i = j + 1;
    }
    return mask;
}

#endif
