/* SPDX-License-Identifier: Apache-2.0 */
/* The "net" device kind: virtio-net, a port of the virtual switch
 * (docs/devices.md).
 *
 *   net0 { mac = [02 00 00 00 00 01]; };
 */
#include "core/vdev/net.h"

#include "core/config_int.h"
#include "core/hostdev.h"
#include "core/vdev/vdev.h"
#include "devices/virtio_net.h"
#include "lib/string.h"

enum net_prop { NP_MAC, NP_COUNT };

static const char *const net_props[NP_COUNT] = {
    [NP_MAC] = "mac",
};

void vdev_net_settings(const struct dev_config *d, struct vdev_net_settings *s)
{
    vdev_settings_get(d, s, sizeof(*s));
}

/* FNV-1a: a stable, well-spread hash for generated MAC addresses. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static int net_parse(struct loader *ld, const char *path, const char *vm_name,
                     const struct props *p, struct dev_config *d)
{
    struct vdev_net_settings s;

    if (p->present[NP_MAC]) {
        const uint8_t *m = p->val[NP_MAC];
        static const uint8_t zero[6];

        if (p->len[NP_MAC] != 6)
            return loader_fail(ld, path, "mac",
                               "must be 6 bytes, e.g. [02 00 00 00 00 01] (got %d)",
                               p->len[NP_MAC]);
        if (m[0] & 1)
            return loader_fail(ld, path, "mac",
                               "must be a unicast address (the first byte's low bit clear)");
        if (memcmp(m, zero, 6) == 0)
            return loader_fail(ld, path, "mac", "must not be all zeros");
        memcpy(s.mac, m, 6);
    } else {
        /* Locally administered (02:...), "V" for Vireo, then a hash of
         * "vm/net": the same VM and node get the same address on every boot. */
        uint32_t h = fnv1a(fnv1a(fnv1a(2166136261u, vm_name), "/"), d->name);
        s.mac[0] = 0x02;
        s.mac[1] = 0x56;
        s.mac[2] = (uint8_t)(h >> 24);
        s.mac[3] = (uint8_t)(h >> 16);
        s.mac[4] = (uint8_t)(h >> 8);
        s.mac[5] = (uint8_t)h;
    }
    vdev_settings_put(d, &s, sizeof(s));
    return 0;
}

/* Two NICs on one switch must not share a MAC. */
static int net_conflict(struct loader *ld, const char *path, const char *a_vm,
                        const struct dev_config *a, const struct dev_config *b)
{
    struct vdev_net_settings sa, sb;

    vdev_net_settings(a, &sa);
    vdev_net_settings(b, &sb);
    if (memcmp(sa.mac, sb.mac, 6) == 0)
        return loader_fail(ld, path, "mac", "same address as /vms/%s/%s", a_vm, a->name);
    return 0;
}

static int net_create(struct vm_vdev *d, char *err, size_t errlen)
{
    struct virtio_net *n = d->state;
    struct vdev_net_settings s;

    (void)err;
    (void)errlen;
    vdev_net_settings(d->cfg, &s);
    virtio_net_init(n, &d->mem, &d->irq, s.mac, hostdev_switch());
    n->port.name = d->label;
    vdev_virtio_mmio(d, &n->t);
    return 0;
}

/* The port stays as create attached it: the switch's state, not the VM's
 * (virtio_net.h). */
static long net_save(const struct vm_vdev *d, void *buf, size_t size)
{
    return virtio_net_save(d->state, buf, size);
}

static int net_load(struct vm_vdev *d, const void *buf, size_t size)
{
    return virtio_net_load(d->state, buf, size);
}

static void net_hold(struct vm_vdev *d, bool on)
{
    virtio_net_hold(d->state, on);
}

static void net_announce(struct vm_vdev *d)
{
    virtio_net_announce(d->state);
}

/* The switch may deliver to the port until it is detached. */
static void net_destroy(struct vm_vdev *d)
{
    virtio_net_detach(d->state);
}

const struct vdev_kind vdev_kind_net = {
    .name = "net",
    .numbered = true,
    .model = "virtio-net",
    .props = net_props,
    .nprops = NP_COUNT,
    .state_size = sizeof(struct virtio_net),
    .parse = net_parse,
    .hold = net_hold,
    .conflict = net_conflict,
    .create = net_create,
    .destroy = net_destroy,
    .save = net_save,
    .announce = net_announce,
    .load = net_load,
};
