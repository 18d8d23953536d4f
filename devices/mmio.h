/* SPDX-License-Identifier: Apache-2.0 */
/* The one interface for emulated devices.  A device model implements
 * struct mmio_ops; the VM's bus (core) finds the device for a faulting
 * guest physical address and calls read/write with the offset into the
 * device's range and the access width.  Models are portable C, tested on
 * the host. */
#ifndef VIREO_DEVICES_MMIO_H
#define VIREO_DEVICES_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mmio_dev;

struct mmio_ops {
    /* width is 1, 2, 4 or 8 and offset + width <= the device's size.
     * Return 0, or a negative ERR_* code, ERR_NOTSUP for an access the
     * device does not support (the VM is then stopped with a reason naming
     * the device and offset; callers only test < 0). */
    int (*read)(struct mmio_dev *dev, uint64_t offset, unsigned width, uint64_t *value);
    int (*write)(struct mmio_dev *dev, uint64_t offset, unsigned width, uint64_t value);
};

struct mmio_dev {
    const struct mmio_ops *ops;
    const char *name; /* "uart", "plic", "virtio-blk", ... for messages */
    uint64_t base, size;
    void *priv; /* the model's state */
};

/* How a device model raises an interrupt: an input line of the VM's
 * interrupt controller (a PLIC source number). */
struct irq_line {
    void (*set_level)(void *ctl, unsigned source, bool level);
    void *ctl;
    unsigned source;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
    if (l->set_level)
        l->set_level(l->ctl, l->source, level);
}

/* A piece of guest memory as the host sees it: a host physical address
 * (a pointer: Vireo runs with translation off) and a length. */
struct gm_seg {
    uint64_t addr;
    uint32_t len;
};

/* How a device model reaches guest memory (virtio rings and buffers).
 * Vireo backs it with gpa_read/gpa_write/gpa_map (core/guest_mem.h), its
 * single checked accessor: every access is bounds-checked against the
 * VM's RAM and fails (ERR_RANGE) outside it.
 *
 * map is the checked translation for handing guest buffers to a host
 * device or copying into them directly: [gpa, gpa + n) as host segments
 * (at most max, host-contiguous pages merged), each page checked to be
 * this VM's RAM; the count, ERR_RANGE (any byte is not the VM's RAM: the
 * range wraps, leaves RAM, or is a device) or ERR_NOSPC (more than max
 * segments).  written tells that the device wrote [gpa, gpa + n) through
 * such segments (dirty logging), after the write.  Both may be NULL
 * (devices that only copy). */
struct guest_mem {
    int (*read)(void *ctx, uint64_t gpa, void *dst, size_t n);
    int (*write)(void *ctx, uint64_t gpa, const void *src, size_t n);
    void *ctx;
    int (*map)(void *ctx, uint64_t gpa, uint64_t n, struct gm_seg *segs, unsigned max);
    void (*written)(void *ctx, uint64_t gpa, uint64_t n);
};

#endif
