/* SPDX-License-Identifier: Apache-2.0 */
/* The host's virtio devices and the virtual switch (see hostdev.h). */
#include "core/hostdev.h"

#include "arch/arch.h"
#include "core/console.h"
#include "core/irq.h"
#include "core/pmem.h"
#include "drivers/hvirtio_console.h"
#include "drivers/hvirtio_net.h"
#include "drivers/hvirtio_rng.h"
#include "lib/string.h"

#define SEED_OPST_ES16 2u
#define SEED_TRIES     1000 /* reads per 16 bits before the source counts as dry */

static struct hvblk *disks[HOSTDEV_MAX_DISKS];
static uint32_t disk_irq[HOSTDEV_MAX_DISKS];
static bool disk_irq_on[HOSTDEV_MAX_DISKS];
static unsigned ndisks;
static struct hvrng *rng;
static struct hvnet *uplink;
static uint32_t uplink_irq;
static struct vswitch sw;
static struct vswitch_port uplink_port;
static struct hvcons *mgmt;
static uint32_t mgmt_irq;
static void (*mgmt_readable)(void), (*mgmt_writable)(void);
static unsigned mgmt_failure_told; /* a word: rv64imac has no byte atomics */
static bool zkr;
static uint64_t timeout; /* ticks a host device may take for one request */

static size_t pages(size_t n)
{
    return (n + 4095) & ~(size_t)4095;
}

static void *alloc(size_t n)
{
    return pmem_zalloc(pages(n), 4096);
}

/* A device Vireo does not take gives its memory back. */
static void unalloc(void *p, size_t n)
{
    if (p)
        pmem_free(p, pages(n));
}

static bool seed16(uint16_t *out)
{
    for (int i = 0; i < SEED_TRIES; i++) {
        uint32_t s;
        if (!arch_seed_read(&s))
            return false;
        if (s >> 30 == SEED_OPST_ES16) {
            *out = (uint16_t)s;
            return true;
        }
        if (s >> 30 == 3) /* DEAD */
            return false;
    }
    return false;
}

static int uplink_deliver(void *ctx, const struct vnet_hdr *h, const void *frame, size_t len)
{
    if (h)
        return ERR_NOTSUP; /* the switch cuts and checksums for the host */
    return hvnet_send(ctx, frame, len);
}

static void uplink_rx(void *ctx, const void *frame, size_t len)
{
    (void)ctx;
    vswitch_send(&sw, &uplink_port, frame, len);
}

static void uplink_irq_handler(void *ctx)
{
    hvnet_poll(ctx, uplink_rx, NULL);
}

static void take_blk(uintptr_t base, uint32_t irq)
{
    char err[160];
    struct hvblk *b = alloc(sizeof(*b));
    void *ring = alloc(hvirtio_ring_bytes(HVBLK_RING));
    void *tables = alloc(HVBLK_TABLES_BYTES);

    if (!b || !ring || !tables || ndisks == HOSTDEV_MAX_DISKS) {
        console_printf("vireo: host disk at %#lx not used (%s)\n", (unsigned long)base,
                       ndisks == HOSTDEV_MAX_DISKS ? "too many disks" : "no memory");
        goto fail;
    }
    if (hvblk_init(b, base, ring, tables, timeout, err, sizeof(err)) < 0) {
        console_printf("vireo: host disk at %#lx not used: %s\n", (unsigned long)base, err);
        goto fail;
    }
    console_printf("vireo: host disk %u: virtio-blk at %#lx, %lu MiB%s%s\n", ndisks,
                   (unsigned long)base, (unsigned long)(b->sectors >> 11),
                   b->read_only ? ", read-only" : "", b->can_flush ? ", flush" : "");
    disk_irq[ndisks] = irq;
    disks[ndisks++] = b;
    return;
fail:
    unalloc(b, sizeof(*b));
    unalloc(ring, hvirtio_ring_bytes(HVBLK_RING));
    unalloc(tables, HVBLK_TABLES_BYTES);
}

static void take_rng(uintptr_t base)
{
    char err[160];
    struct hvrng *r = alloc(sizeof(*r));
    void *ring = alloc(hvirtio_ring_bytes(HVRNG_QUEUE));

    if (!rng && r && ring) {
        if (hvrng_init(r, base, ring, timeout, err, sizeof(err)) == 0) {
            rng = r;
            return;
        }
        console_printf("vireo: host virtio-rng at %#lx not used: %s\n", (unsigned long)base, err);
    }
    unalloc(r, sizeof(*r));
    unalloc(ring, hvirtio_ring_bytes(HVRNG_QUEUE));
}

static void take_net(uintptr_t base, uint32_t irq)
{
    char err[160];
    struct hvnet *n = alloc(sizeof(*n));
    void *rings = alloc(2 * hvirtio_ring_bytes(HVNET_QUEUE));
    void *bufs = alloc(HVNET_BUFS_BYTES);

    if (uplink || !n || !rings || !bufs ||
        hvnet_init(n, base, rings, bufs, timeout, err, sizeof(err)) < 0) {
        if (!uplink && n && rings && bufs)
            console_printf("vireo: host virtio-net at %#lx not used: %s\n", (unsigned long)base,
                           err);
        unalloc(n, sizeof(*n));
        unalloc(rings, 2 * hvirtio_ring_bytes(HVNET_QUEUE));
        unalloc(bufs, HVNET_BUFS_BYTES);
        return;
    }
    uplink = n;
    uplink_irq = irq;
    uplink_port = (struct vswitch_port){.name = "uplink", .deliver = uplink_deliver, .ctx = n};
    vswitch_attach(&sw, &uplink_port);
    console_printf("vireo: uplink: virtio-net at %#lx joins the virtual switch\n",
                   (unsigned long)base);
}

static void take_console(uintptr_t base, uint32_t irq)
{
    char err[160];

    if (mgmt) {
        console_printf("vireo: host virtio console at %#lx not used (the management port is at "
                       "%#lx)\n",
                       (unsigned long)base, (unsigned long)mgmt->v.base);
        return;
    }
    struct hvcons *c = alloc(sizeof(*c));
    void *rings = alloc(2 * hvirtio_ring_bytes(HVCONS_QUEUE));
    void *bufs = alloc(HVCONS_BUFS_BYTES);

    if (!c || !rings || !bufs) {
        console_printf("vireo: host virtio console at %#lx not used (no memory)\n",
                       (unsigned long)base);
    } else if (hvcons_init(c, base, rings, bufs, err, sizeof(err)) < 0) {
        console_printf("vireo: host virtio console at %#lx not used: %s\n", (unsigned long)base,
                       err);
    } else {
        mgmt = c;
        mgmt_irq = irq;
        console_printf("vireo: management port: virtio-console at %#lx\n", (unsigned long)base);
        return;
    }
    unalloc(c, sizeof(*c));
    unalloc(rings, 2 * hvirtio_ring_bytes(HVCONS_QUEUE));
    unalloc(bufs, HVCONS_BUFS_BYTES);
}

void hostdev_init(const struct platform *p)
{
    timeout = (uint64_t)p->timebase_hz * 5;
    vswitch_init(&sw);
    for (int i = 0; i < p->nvirtio; i++) {
        uintptr_t base = (uintptr_t)p->virtio[i].base;
        uint32_t id, version;

        if (hvirtio_probe(base, &id, &version) < 0 || id == 0)
            continue;
        switch (id) {
        case 1:
            take_net(base, p->virtio[i].irq);
            break;
        case 2:
            take_blk(base, p->virtio[i].irq);
            break;
        case 3:
            take_console(base, p->virtio[i].irq);
            break;
        case 4:
            take_rng(base);
            break;
        default:
            console_printf("vireo: host virtio device %u at %#lx not used\n", id,
                           (unsigned long)base);
        }
    }
    uint16_t s;
    zkr = (p->isa & ISA_ZKR) && seed16(&s);
    console_printf("vireo: entropy for guests: %s\n", hostdev_entropy_source());
}

static void mgmt_irq_handler(void *ctx)
{
    (void)ctx;
    hostdev_mgmt_poll();
}

static void disk_irq_handler(void *ctx)
{
    hvblk_poll(ctx);
}

void hostdev_irq_init(bool have_irqs)
{
    for (unsigned i = 0; i < ndisks; i++) {
        disk_irq_on[i] =
            have_irqs && disk_irq[i] && irq_register(disk_irq[i], disk_irq_handler, disks[i]);
        if (!disk_irq_on[i])
            console_printf("vireo: host disk %u: no host interrupt: requests are polled on the "
                           "vCPU that makes them\n",
                           i);
    }
    if (uplink &&
        (!have_irqs || !uplink_irq || !irq_register(uplink_irq, uplink_irq_handler, uplink)))
        console_printf("vireo: uplink: no host interrupt: frames from the host are not received\n");
    if (mgmt && (!have_irqs || !mgmt_irq || !irq_register(mgmt_irq, mgmt_irq_handler, NULL)))
        console_printf("vireo: management port: no host interrupt: only hostdev_mgmt_poll "
                       "serves it\n");
}

struct hvblk *hostdev_disk(unsigned index)
{
    return index < ndisks ? disks[index] : NULL;
}

bool hostdev_disk_irq(unsigned index)
{
    return index < ndisks && disk_irq_on[index];
}

void hostdev_disks_poll(void)
{
    for (unsigned i = 0; i < ndisks; i++)
        if (hvblk_in_flight(disks[i]))
            hvblk_poll(disks[i]);
}

bool hostdev_has_entropy(void)
{
    return zkr || rng;
}

const char *hostdev_entropy_source(void)
{
    return zkr ? "Zkr seed CSR" : rng ? "host virtio-rng" : "none (no virtio-rng for guests)";
}

size_t hostdev_entropy(void *ctx, void *buf, size_t n)
{
    (void)ctx;
    if (!zkr)
        return rng ? hvrng_read(rng, buf, n) : 0;
    uint8_t *p = buf;
    size_t done = 0;
    uint16_t s;
    while (done < n && seed16(&s)) {
        p[done++] = (uint8_t)s;
        if (done < n)
            p[done++] = (uint8_t)(s >> 8);
    }
    return done;
}

struct vswitch *hostdev_switch(void)
{
    return &sw;
}

bool hostdev_mgmt_present(void)
{
    return mgmt != NULL;
}

size_t hostdev_mgmt_read(void *buf, size_t n)
{
    return mgmt ? hvcons_read(mgmt, buf, n) : 0;
}

size_t hostdev_mgmt_write(const void *buf, size_t n)
{
    return mgmt ? hvcons_write(mgmt, buf, n) : 0;
}

void hostdev_mgmt_notify(void (*readable)(void), void (*writable)(void))
{
    __atomic_store_n(&mgmt_readable, readable, __ATOMIC_RELEASE);
    __atomic_store_n(&mgmt_writable, writable, __ATOMIC_RELEASE);
}

void hostdev_mgmt_poll(void)
{
    if (!mgmt)
        return;
    unsigned ev = hvcons_poll(mgmt);
    /* Said once: a device that broke the protocol leaves the port dead. */
    if (hvcons_failed(mgmt) && !__atomic_exchange_n(&mgmt_failure_told, 1u, __ATOMIC_RELAXED))
        console_printf("vireo: management port: the device broke the virtio protocol; the port "
                       "is closed\n");
    void (*readable)(void) = __atomic_load_n(&mgmt_readable, __ATOMIC_ACQUIRE);
    void (*writable)(void) = __atomic_load_n(&mgmt_writable, __ATOMIC_ACQUIRE);
    if ((ev & HVCONS_READABLE) && readable)
        readable();
    if ((ev & HVCONS_WRITABLE) && writable)
        writable();
}
