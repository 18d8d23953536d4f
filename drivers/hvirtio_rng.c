/* SPDX-License-Identifier: Apache-2.0 */
/* Host virtio-rng driver (see hvirtio_rng.h; virtio 1.2 5.4). */
#include "drivers/hvirtio_rng.h"

#include "lib/err.h"
#include "lib/printf.h"
#include "lib/string.h"

int hvrng_init(struct hvrng *r, uintptr_t base, void *ring, uint64_t timeout_ticks, char *err,
               size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->timeout_ticks = timeout_ticks;
    int rc = hvirtio_open(&r->v, base, 0, err, errlen);
    if (rc < 0)
        return rc;
    if (r->v.device_id != 4) {
        fmt_snprintf(err, errlen, "device at %#lx is not virtio-rng", (unsigned long)base);
        return ERR_NOENT;
    }
    rc = hvirtio_queue(&r->v, 0, HVRNG_QUEUE, ring, err, errlen);
    if (rc < 0)
        return rc;
    hvirtio_start(&r->v);
    return 0;
}

size_t hvrng_read(struct hvrng *r, void *buf, size_t n)
{
    size_t done = 0;

    spin_lock(&r->lock);
    while (done < n && !r->failed) {
        struct hv_buf b = {r->buf, sizeof(r->buf), true};
        uint32_t len = 0;
        int head = hvirtio_post(&r->v, 0, &b, 1);

        if (head < 0)
            break;
        hvirtio_kick(&r->v, 0);
        if (hvirtio_wait(&r->v, 0, head, &len, r->timeout_ticks) < 0) {
            r->failed = true;
            break;
        }
        hvirtio_irq_ack(&r->v);
        if (len > sizeof(r->buf))
            len = sizeof(r->buf);
        if (len == 0)
            break;
        size_t k = n - done < len ? n - done : len;
        memcpy((uint8_t *)buf + done, r->buf, k);
        done += k;
    }
    spin_unlock(&r->lock);
    return done;
}
