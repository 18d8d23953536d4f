/* SPDX-License-Identifier: Apache-2.0 */
/* The transport's kick hook: called after a valid QueueNotify, after
 * notify, with the transport lock released; never for an invalid one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "devices/virtio_mmio.h"
#include "devices/virtqueue.h"
#include "lib/spinlock.h"
#include "tests/unit/virtio_testlib.h"

static struct vt_dev d;
static struct virtio_mmio t;
static unsigned notifies, kicks, last_kick;
static bool notify_before_kick;

static void k_notify(void *dev, unsigned queue)
{
    assert_ptr_equal(dev, &t);
    assert_true(spin_is_locked(&t.lock));
    notifies++;
    notify_before_kick = true;
}

static void k_kick(void *dev, unsigned queue)
{
    assert_ptr_equal(dev, &t);
    assert_false(spin_is_locked(&t.lock));
    assert_true(notify_before_kick);
    notify_before_kick = false;
    kicks++;
    last_kick = queue;
    /* The device may take the lock itself. */
    spin_lock(&t.lock);
    spin_unlock(&t.lock);
}

static void kick_only(void *dev, unsigned queue)
{
    assert_false(spin_is_locked(&t.lock));
    kicks++;
    last_kick = queue;
}

static struct virtio_dev_ops ops = {
    .device_id = 42,
    .nqueues = 3,
    .queue_max = 16,
    .notify = k_notify,
    .kick = k_kick,
};

static int setup(void **state)
{
    (void)state;
    vt_init(&d);
    notifies = kicks = 0;
    last_kick = 99;
    notify_before_kick = false;
    ops.notify = k_notify;
    ops.kick = k_kick;
    virtio_mmio_init(&t, &ops, &t, &d.mem, &d.irq);
    vt_attach(&d, &t, "kick");
    return 0;
}

static void test_kick(void **s)
{
    (void)s;
    /* Before DRIVER_OK, for a queue not ready, beyond nqueues: nothing. */
    vt_kick(&d, 0);
    assert_true(vt_negotiate(&d, VT_F_V1) & VIRTIO_STATUS_FEATURES_OK);
    vt_queue(&d, 0, 16);
    vt_queue(&d, 2, 8);
    vt_kick(&d, 0);
    assert_int_equal(kicks + notifies, 0);
    vt_driver_ok(&d);
    vt_kick(&d, 1);
    vt_kick(&d, 3);
    vt_kick(&d, 0xffffffff);
    assert_int_equal(kicks + notifies, 0);
    /* Valid: notify under the lock, then kick without it. */
    vt_kick(&d, 2);
    assert_int_equal(notifies, 1);
    assert_int_equal(kicks, 1);
    assert_int_equal(last_kick, 2);
    vt_kick(&d, 0);
    assert_int_equal(kicks, 2);
    assert_int_equal(last_kick, 0);
    /* Other registers never kick. */
    vt_wr(&d, VIRTIO_MMIO_INTERRUPT_ACK, 0);
    vt_wr(&d, VIRTIO_MMIO_QUEUE_SEL, 0);
    assert_int_equal(kicks, 2);
    /* NEEDS_RESET: no more kicks until reset. */
    spin_lock(&t.lock);
    virtio_mmio_needs_reset(&t);
    spin_unlock(&t.lock);
    vt_kick(&d, 0);
    assert_int_equal(kicks, 2);
    /* A kick without notify. */
    ops.notify = NULL;
    vt_start(&d, 0, 1, 8);
    ops.kick = kick_only;
    vt_kick(&d, 0);
    assert_int_equal(kicks, 3);
    assert_int_equal(notifies, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_kick, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
