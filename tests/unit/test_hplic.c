/* SPDX-License-Identifier: Apache-2.0 */
/* The host PLIC driver writes the registers the PLIC specification puts
 * where it puts them (checked on the fake MMIO space). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "drivers/hplic.h"
#include "tests/unit/fake_arch.h"

static uint32_t rd32(uintptr_t a)
{
    return (uint32_t)fake_mmio[a] | (uint32_t)fake_mmio[a + 1] << 8 |
           (uint32_t)fake_mmio[a + 2] << 16 | (uint32_t)fake_mmio[a + 3] << 24;
}

static void test_registers(void **state)
{
    (void)state;
    struct hplic p;

    memset(fake_mmio, 0, sizeof(fake_mmio));
    fake_mmio_nlog = 0;
    hplic_init(&p, 0, 95);
    hplic_set_priority(&p, 10, 1);
    assert_int_equal(rd32(40), 1);
    hplic_set_priority(&p, 0, 1);  /* source 0 does not exist */
    hplic_set_priority(&p, 96, 1); /* beyond ndev */
    assert_int_equal(rd32(0), 0);
    hplic_enable(&p, 1, 10, true);
    hplic_enable(&p, 1, 33, true);
    assert_int_equal(rd32(0x2080), 1u << 10);
    assert_int_equal(rd32(0x2084), 1u << 1);
    hplic_enable(&p, 1, 10, false);
    assert_int_equal(rd32(0x2080), 0);
    assert_int_equal(rd32(0x2084), 1u << 1);

    hplic_set_threshold(&p, 1, 3);
    assert_int_equal(rd32(0x201000), 3);
    fake_mmio[0x201004] = 10; /* the PLIC would answer a claim with source 10 */
    assert_int_equal(hplic_claim(&p, 1), 10);
    fake_mmio_nlog = 0;
    hplic_complete(&p, 1, 10);
    assert_int_equal(fake_mmio_nlog, 1);
    assert_int_equal(fake_mmio_log[0].addr, 0x201004);
    assert_int_equal(fake_mmio_log[0].value, 10);
    assert_int_equal(fake_mmio_log[0].width, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registers),
    };
    return cmocka_run_group_tests_name("hplic", tests, NULL, NULL);
}
