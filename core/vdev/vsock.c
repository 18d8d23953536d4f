/* SPDX-License-Identifier: Apache-2.0 */
/* The "vsock" device kind: virtio-vsock, the guest's sockets to Vireo's
 * services at CID 2 (core/vsock.h; docs/devices.md).
 *
 *   vsock { guest-cid = <3>; };
 */
#include "core/vdev/vsock.h"

#include "core/config_int.h"
#include "core/vdev/vdev.h"
#include "core/vsock.h"
#include "devices/virtio_vsock.h"

enum vsock_prop { VP_GUEST_CID, VP_COUNT };

static const char *const vsock_props[VP_COUNT] = {
    [VP_GUEST_CID] = "guest-cid",
};

/* The first CID a guest may have: 0 and 1 are reserved, 2 is the host. */
#define VSOCK_FIRST_CID 3

void vdev_vsock_settings(const struct dev_config *d, struct vdev_vsock_settings *s)
{
    vdev_settings_get(d, s, sizeof(*s));
}

static int vsock_parse(struct loader *ld, const char *path, const char *vm_name,
                       const struct props *p, struct dev_config *d)
{
    struct vdev_vsock_settings s;

    (void)vm_name;
    if (p->present[VP_GUEST_CID]) {
        if (p->len[VP_GUEST_CID] == 4)
            s.guest_cid = fdt_be32(p->val[VP_GUEST_CID]);
        else if (p->len[VP_GUEST_CID] == 8)
            s.guest_cid = fdt_be64(p->val[VP_GUEST_CID]);
        else
            return loader_fail(ld, path, "guest-cid", "must be 1 or 2 cells (got %d bytes)",
                               p->len[VP_GUEST_CID]);
        /* The spec reserves 0, 1, 2 (the host) and 0xffffffff, and keeps
         * the upper 32 bits zero. */
        if (s.guest_cid < VSOCK_FIRST_CID || s.guest_cid >= 0xffffffffull)
            return loader_fail(ld, path, "guest-cid",
                               "must be 3 to 0xfffffffe (0, 1, 2 and 0xffffffff are reserved; "
                               "got %#llx)",
                               (unsigned long long)s.guest_cid);
    } else {
        /* The same VM keeps its CID as long as the configuration's VM
         * order stays. */
        s.guest_cid = VSOCK_FIRST_CID + ld->vm_index;
    }
    vdev_settings_put(d, &s, sizeof(s));
    return 0;
}

/* A CID names one VM to the host: no two guests may share one. */
static int vsock_conflict(struct loader *ld, const char *path, const char *a_vm,
                          const struct dev_config *a, const struct dev_config *b)
{
    struct vdev_vsock_settings sa, sb;

    vdev_vsock_settings(a, &sa);
    vdev_vsock_settings(b, &sb);
    if (sa.guest_cid == sb.guest_cid)
        return loader_fail(ld, path, "guest-cid",
                           "CID %llu is also /vms/%s/%s's (a VM without guest-cid gets 3 + its "
                           "place in /vms)",
                           (unsigned long long)sa.guest_cid, a_vm, a->name);
    return 0;
}

static int vsock_create(struct vm_vdev *d, char *err, size_t errlen)
{
    struct virtio_vsock *v = d->state;
    struct vdev_vsock_settings s;

    (void)err;
    (void)errlen;
    vdev_vsock_settings(d->cfg, &s);
    virtio_vsock_init(v, &d->mem, &d->irq, s.guest_cid, &vsock_host, d->vm);
    vdev_virtio_mmio(d, &v->t);
    return 0;
}

/* Services hear closed() for every connection before the VM's memory
 * goes. */
static void vsock_destroy(struct vm_vdev *d)
{
    virtio_vsock_detach(d->state);
}

static void vsock_hold(struct vm_vdev *d, bool on)
{
    virtio_vsock_hold(d->state, on);
}

static long vsock_save(const struct vm_vdev *d, void *buf, size_t size)
{
    return virtio_vsock_save(d->state, buf, size);
}

static int vsock_load(struct vm_vdev *d, const void *buf, size_t size)
{
    return virtio_vsock_load(d->state, buf, size);
}

const struct vdev_kind vdev_kind_vsock = {
    .name = "vsock",
    .model = "virtio-vsock",
    .props = vsock_props,
    .nprops = VP_COUNT,
    .state_size = sizeof(struct virtio_vsock),
    .parse = vsock_parse,
    .conflict = vsock_conflict,
    .create = vsock_create,
    .destroy = vsock_destroy,
    .hold = vsock_hold,
    .save = vsock_save,
    .load = vsock_load,
};
