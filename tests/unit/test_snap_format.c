/* SPDX-License-Identifier: Apache-2.0 */
/* The snapshot framing (core/snap_format.c) and its checksum: a snapshot
 * written section by section reads back identically, and every kind of
 * damage (a flipped byte anywhere, truncation at any point, a dropped,
 * repeated or reordered section, a wrong magic or version) is refused
 * with the error that names it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/snap_format.h"
#include "lib/crc32c.h"
#include "lib/err.h"
#include "lib/wire.h"

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, "", 0), 0);
    /* In pieces, at every split and alignment, as in one go. */
    static uint8_t buf[300];
    for (unsigned i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    uint32_t whole = crc32c(0, buf, sizeof(buf));
    for (unsigned cut = 0; cut <= sizeof(buf); cut++)
        assert_int_equal(crc32c(crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
    for (unsigned off = 1; off < 8; off++) {
        uint8_t copy[sizeof(buf) + 8];
        memcpy(copy + off, buf, sizeof(buf));
        assert_int_equal(crc32c(0, copy + off, sizeof(buf)), whole);
    }
    /* 32 zero bytes: the value from RFC 3720's test vectors. */
    uint8_t zeros[32] = {0};
    assert_int_equal(crc32c(0, zeros, sizeof(zeros)), 0x8A9136AAu);
}

static void test_wire(void **state)
{
    (void)state;
    uint8_t b[15];
    struct wire w = wire_out(b, sizeof(b));
    wire_put_u8(&w, 0x12);
    wire_put_u16(&w, 0x3456);
    wire_put_u32(&w, 0x789abcde);
    wire_put_u64(&w, 0x0102030405060708ull);
    assert_false(w.bad);
    assert_int_equal(w.pos, 15);
    assert_int_equal(b[1], 0x56); /* little-endian */
    wire_put_u8(&w, 1);
    assert_true(w.bad);
    struct wire_in r = wire_in(b, sizeof(b));
    assert_int_equal(wire_get_u8(&r), 0x12);
    assert_int_equal(wire_get_u16(&r), 0x3456);
    assert_int_equal(wire_get_u32(&r), 0x789abcde);
    assert_int_equal(wire_get_u64(&r), 0x0102030405060708ull);
    assert_true(wire_done(&r));
    assert_int_equal(wire_get_u32(&r), 0); /* past the end: 0, and bad */
    assert_true(r.bad);
    assert_false(wire_done(&r));
}

static uint8_t image[4096];
static size_t image_len;

static void write_image(void)
{
    struct snap_buf b = {image, sizeof(image), 0};
    struct snap_sink s = {snap_buf_write, &b, 0, 0, 0};
    static const char a[] = "first section", c[] = "third";
    uint8_t big[1000];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i ^ 0x5a);

    assert_int_equal(snap_write_preamble(&s), 0);
    assert_int_equal(snap_write_section(&s, SNAP_HEADER, 0, a, sizeof(a)), 0);
    struct snap_section h = {SNAP_RAM, 3, sizeof(big), crc32c(0, big, sizeof(big))};
    assert_int_equal(snap_write_head(&s, &h), 0);
    assert_int_equal(snap_write_raw(&s, big, 400), 0);
    assert_int_equal(snap_write_raw(&s, big + 400, sizeof(big) - 400), 0);
    assert_int_equal(snap_write_section(&s, SNAP_VCPU, 1, c, sizeof(c)), 0);
    assert_int_equal(snap_write_end(&s), 0);
    image_len = b.pos;
    assert_int_equal(s.bytes, image_len);
    assert_int_equal(s.sections, 4); /* END included */
}

/* Reads the whole image back: 0, or the first error. */
static int read_image(const uint8_t *img, size_t len, unsigned *nsections)
{
    static uint8_t copy[sizeof(image)];
    memcpy(copy, img, len);
    struct snap_buf b = {copy, len, 0};
    struct snap_source s = {snap_buf_read, &b, 0, 0, 0};
    uint8_t payload[2048], scratch[64];
    struct snap_section h;
    int err = snap_read_preamble(&s);

    *nsections = 0;
    if (err < 0)
        return err;
    for (;;) {
        err = snap_read_head(&s, &h);
        if (err < 0)
            return err;
        if (h.type == SNAP_END)
            return b.pos == len ? 0 : ERR_STRUCTURE;
        (*nsections)++;
        if (h.len > sizeof(payload))
            return ERR_RANGE;
        err = (*nsections & 1) ? snap_read_payload(&s, &h, payload)
                               : snap_skip_payload(&s, &h, scratch, sizeof(scratch));
        if (err < 0)
            return err;
    }
}

static void test_roundtrip(void **state)
{
    (void)state;
    unsigned n;
    write_image();
    assert_int_equal(read_image(image, image_len, &n), 0);
    assert_int_equal(n, 3);
}

static void test_damage(void **state)
{
    (void)state;
    unsigned n;
    write_image();
    /* Every byte flipped: refused, whatever it hit. */
    for (size_t i = 0; i < image_len; i++) {
        static uint8_t bad[sizeof(image)];
        memcpy(bad, image, image_len);
        bad[i] ^= 0x01;
        int err = read_image(bad, image_len, &n);
        if (err == 0)
            fail_msg("flipping byte %zu went unnoticed", i);
        if (i < 8)
            assert_int_equal(err, ERR_BADMAGIC);
        else if (i < 16)
            assert_int_equal(err, ERR_VERSION);
    }
    /* Truncated anywhere: refused. */
    for (size_t len = 0; len < image_len; len++) {
        int err = read_image(image, len, &n);
        if (err == 0)
            fail_msg("truncation at %zu went unnoticed", len);
    }
}

static void test_sections_reordered(void **state)
{
    (void)state;
    /* Two sections swapped, one dropped, one repeated: each CRC is right
     * but the END section's chain is not. */
    uint8_t a[8] = {1}, b2[8] = {2};
    uint8_t img[4][1024];
    size_t len[4];
    for (int k = 0; k < 4; k++) {
        struct snap_buf b = {img[k], sizeof(img[k]), 0};
        struct snap_sink s = {snap_buf_write, &b, 0, 0, 0};
        assert_int_equal(snap_write_preamble(&s), 0);
        if (k == 0 || k == 3) {
            snap_write_section(&s, SNAP_VCPU, 0, a, sizeof(a));
            snap_write_section(&s, SNAP_VCPU, 1, b2, sizeof(b2));
        } else if (k == 1) {
            snap_write_section(&s, SNAP_VCPU, 1, b2, sizeof(b2));
            snap_write_section(&s, SNAP_VCPU, 0, a, sizeof(a));
        } else {
            snap_write_section(&s, SNAP_VCPU, 0, a, sizeof(a));
        }
        assert_int_equal(snap_write_end(&s), 0);
        len[k] = b.pos;
    }
    /* The END of image 0 after the sections of image 1 (swapped) or 2 (dropped). */
    size_t sec = SNAP_SECTION_HEAD + 8, end = SNAP_SECTION_HEAD + 8;
    unsigned n;
    uint8_t mix[1024];
    memcpy(mix, img[1], SNAP_PREAMBLE_SIZE + 2 * sec);
    memcpy(mix + SNAP_PREAMBLE_SIZE + 2 * sec, img[0] + SNAP_PREAMBLE_SIZE + 2 * sec, end);
    assert_int_equal(read_image(mix, len[0], &n), ERR_STRUCTURE);
    memcpy(mix, img[2], SNAP_PREAMBLE_SIZE + sec);
    memcpy(mix + SNAP_PREAMBLE_SIZE + sec, img[0] + SNAP_PREAMBLE_SIZE + 2 * sec, end);
    assert_int_equal(read_image(mix, SNAP_PREAMBLE_SIZE + sec + end, &n), ERR_STRUCTURE);
    /* A section repeated. */
    memcpy(mix, img[0], SNAP_PREAMBLE_SIZE + 2 * sec);
    memcpy(mix + SNAP_PREAMBLE_SIZE + 2 * sec, img[0] + SNAP_PREAMBLE_SIZE + sec, sec);
    memcpy(mix + SNAP_PREAMBLE_SIZE + 3 * sec, img[0] + SNAP_PREAMBLE_SIZE + 2 * sec, end);
    assert_int_equal(read_image(mix, SNAP_PREAMBLE_SIZE + 3 * sec + end, &n), ERR_STRUCTURE);
    assert_int_equal(read_image(img[3], len[3], &n), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_wire),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_damage),
        cmocka_unit_test(test_sections_reordered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
