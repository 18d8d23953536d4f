/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests for lib/cpio.c.
 *
 * Archives are written here by a small newc writer, then fed whole, truncated at
 * every length, with corrupted header fields and randomly mutated. Every archive
 * under test sits in a heap buffer of exactly its size, so under ASan a read past
 * `len` is caught. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cpio.h"

#define AR_CAP 8192

/* ---- a newc writer -------------------------------------------------------------- */

struct ar {
    uint8_t buf[AR_CAP];
    size_t len;
};

static void ar_pad(struct ar *a)
{
    while (a->len % 4) {
        assert_true(a->len < AR_CAP);
        a->buf[a->len++] = 0;
    }
}

/* An entry with explicit namesize and filesize fields, so tests can lie in them;
 * `name` bytes (namelen of them) and `data` bytes (datalen) are what is stored. */
static void ar_raw(struct ar *a, const char *magic, uint32_t mode, const void *name, size_t namelen,
                   uint32_t namesize, const void *data, size_t datalen, uint32_t filesize)
{
    char hdr[CPIO_HEADER_SIZE + 1];
    int n;

    n = snprintf(hdr, sizeof(hdr), "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", magic,
                 1u, mode, 0u, 0u, 1u, 0u, filesize, 0u, 0u, 0u, 0u, namesize, 0u);
    assert_int_equal(n, CPIO_HEADER_SIZE);
    assert_true(a->len + CPIO_HEADER_SIZE + namelen + datalen + 8 <= AR_CAP);
    memcpy(a->buf + a->len, hdr, CPIO_HEADER_SIZE);
    a->len += CPIO_HEADER_SIZE;
    memcpy(a->buf + a->len, name, namelen);
    a->len += namelen;
    ar_pad(a);
    if (datalen)
        memcpy(a->buf + a->len, data, datalen);
    a->len += datalen;
    ar_pad(a);
}

static void ar_add(struct ar *a, const char *name, uint32_t mode, const void *data, size_t size)
{
    ar_raw(a, "070701", mode, name, strlen(name) + 1, (uint32_t)strlen(name) + 1, data, size,
           (uint32_t)size);
}

static void ar_file(struct ar *a, const char *name, const char *text)
{
    ar_add(a, name, CPIO_MODE_REG | 0644, text, strlen(text));
}

static void ar_trailer(struct ar *a)
{
    ar_add(a, CPIO_TRAILER, 0, NULL, 0);
}

static uint8_t *dup_exact(const void *src, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);

    assert_non_null(p);
    if (n)
        memcpy(p, src, n);
    return p;
}

/* The sample: regular files (one empty, one with ./, one absolute), a directory,
 * a symlink whose target text would match a name, and data lengths 0..7 mod 4. */
static const char *const sample_names[] = {"vireo.dtb", "./vm0/kernel", "vm0/initrd", "/abs/file",
                                           "e",         "vm1/kernel"};
static const char *const sample_data[] = {"DTB-bytes", "KERNEL!", "", "abcd", "x", "kern-1"};
#define SAMPLE_FILES 6

static void build_sample(struct ar *a)
{
    a->len = 0;
    ar_add(a, ".", CPIO_MODE_DIR | 0755, NULL, 0);
    ar_add(a, "vm0", CPIO_MODE_DIR | 0755, NULL, 0);
    for (int i = 0; i < SAMPLE_FILES; i++)
        ar_file(a, sample_names[i], sample_data[i]);
    ar_add(a, "link", 0120777, "vm0/kernel", 10);
    ar_trailer(a);
}

/* Walks the whole archive, checking every returned pointer lies inside it. Returns
 * the number of entries, or the error. */
static int walk_checked(const uint8_t *buf, size_t len)
{
    struct cpio_iter it;
    const char *name;
    const void *data;
    size_t namelen, size;
    int r, n = 0;

    cpio_iter_init(&it, buf, len);
    while ((r = cpio_next(&it, &name, &namelen, &data, &size)) > 0) {
        const uint8_t *d = data;

        n++;
        assert_true(n <= (int)(len / CPIO_HEADER_SIZE));
        assert_true((const uint8_t *)name >= buf + CPIO_HEADER_SIZE);
        assert_true((const uint8_t *)name + namelen < buf + len);
        assert_int_equal(name[namelen], '\0');
        assert_int_equal(strlen(name), namelen);
        assert_true(namelen > 0);
        assert_true(d >= buf && size <= len && d + size <= buf + len);
        assert_int_equal((d - buf) % 4, 0);
        assert_true(it.off <= len);
    }
    if (r < 0) {
        assert_int_equal(r, ERR_STRUCTURE);
        assert_true(it.why[0] != '\0');
        /* Errors are sticky. */
        assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
        return r;
    }
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), 0);
    return n;
}

static int find_exact(const struct ar *a, size_t len, const char *name, const void **data,
                      size_t *size)
{
    uint8_t *b = dup_exact(a->buf, len);
    const void *d = NULL;
    int r = cpio_find(b, len, name, &d, size);

    if (r == 0) {
        assert_true((const uint8_t *)d >= b && (const uint8_t *)d + *size <= b + len);
        /* Report the offset into a->buf, since b is freed. */
        *data = a->buf + ((const uint8_t *)d - b);
    }
    free(b);
    return r;
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
    (void)state;
    static struct ar a;
    struct cpio_iter it;
    const char *name;
    const void *data;
    size_t namelen, size;

    build_sample(&a);
    cpio_iter_init(&it, a.buf, a.len);
    assert_int_equal(cpio_next(&it, &name, &namelen, &data, &size), 1);
    assert_string_equal(name, ".");
    assert_int_equal(namelen, 1);
    assert_int_equal(it.mode & CPIO_MODE_TYPE, CPIO_MODE_DIR);
    assert_int_equal(cpio_next(&it, &name, &namelen, &data, &size), 1);
    assert_string_equal(name, "vm0");
    for (int i = 0; i < SAMPLE_FILES; i++) {
        assert_int_equal(cpio_next(&it, &name, &namelen, &data, &size), 1);
        assert_string_equal(name, sample_names[i]);
        assert_int_equal(namelen, strlen(sample_names[i]));
        assert_int_equal(size, strlen(sample_data[i]));
        assert_memory_equal(data, sample_data[i], size);
        assert_int_equal(it.mode, CPIO_MODE_REG | 0644);
        assert_int_equal(((const uint8_t *)data - a.buf) % 4, 0);
    }
    assert_int_equal(cpio_next(&it, &name, &namelen, &data, &size), 1);
    assert_string_equal(name, "link");
    assert_int_equal(it.mode & CPIO_MODE_TYPE, 0120000);
    assert_int_equal(cpio_next(&it, &name, &namelen, &data, &size), 0);
    assert_int_equal(cpio_next(&it, &name, &namelen, &data, &size), 0);
    assert_int_equal(walk_checked(a.buf, a.len), SAMPLE_FILES + 3);

    /* Every file by its plain name, through an exact-size copy. */
    for (int i = 0; i < SAMPLE_FILES; i++) {
        const char *plain = sample_names[i];

        while (*plain == '.' || *plain == '/')
            plain++;
        assert_int_equal(find_exact(&a, a.len, plain, &data, &size), 0);
        assert_int_equal(size, strlen(sample_data[i]));
        assert_memory_equal(data, sample_data[i], size);
    }
}

static void test_find(void **state)
{
    (void)state;
    static struct ar a;
    const void *data;
    size_t size;

    build_sample(&a);
    assert_int_equal(cpio_find(a.buf, a.len, "vm0/kernel", &data, &size), 0);
    assert_memory_equal(data, "KERNEL!", 7);
    assert_int_equal(cpio_find(a.buf, a.len, "./vm0/kernel", NULL, NULL), 0);
    assert_int_equal(cpio_find(a.buf, a.len, "/vm0/kernel", NULL, NULL), 0);
    assert_int_equal(cpio_find(a.buf, a.len, "abs/file", NULL, NULL), 0);
    /* Directories and symlinks are not files. */
    assert_int_equal(cpio_find(a.buf, a.len, "vm0", NULL, NULL), ERR_NOENT);
    assert_int_equal(cpio_find(a.buf, a.len, "link", NULL, NULL), ERR_NOENT);
    assert_int_equal(cpio_find(a.buf, a.len, ".", NULL, NULL), ERR_NOENT);
    /* Names match whole, not by prefix or suffix. */
    assert_int_equal(cpio_find(a.buf, a.len, "vm0/kerne", NULL, NULL), ERR_NOENT);
    assert_int_equal(cpio_find(a.buf, a.len, "vm0/kernel2", NULL, NULL), ERR_NOENT);
    assert_int_equal(cpio_find(a.buf, a.len, "kernel", NULL, NULL), ERR_NOENT);
    assert_int_equal(cpio_find(a.buf, a.len, "", NULL, NULL), ERR_NOENT);
    assert_int_equal(cpio_find(a.buf, a.len, "./", NULL, NULL), ERR_NOENT);
    assert_int_equal(cpio_find(a.buf, a.len, NULL, NULL, NULL), ERR_NOENT);
    assert_int_equal(cpio_find(a.buf, a.len, CPIO_TRAILER, NULL, NULL), ERR_NOENT);
    /* The empty file is found, with size 0. */
    assert_int_equal(cpio_find(a.buf, a.len, "vm0/initrd", &data, &size), 0);
    assert_int_equal(size, 0);
    /* No archive at all. */
    assert_int_equal(cpio_find(NULL, 100, "x", NULL, NULL), ERR_STRUCTURE);
    assert_int_equal(cpio_find(a.buf, 0, "x", NULL, NULL), ERR_STRUCTURE);

    /* The first of two same-named files wins. */
    a.len = 0;
    ar_file(&a, "f", "first");
    ar_file(&a, "./f", "second");
    ar_trailer(&a);
    assert_int_equal(cpio_find(a.buf, a.len, "f", &data, &size), 0);
    assert_memory_equal(data, "first", 5);
}

static void test_name_matches(void **state)
{
    (void)state;
    assert_true(cpio_name_matches("a/b", 3, "a/b"));
    assert_true(cpio_name_matches("./a/b", 5, "a/b"));
    assert_true(cpio_name_matches("././a", 5, "./a"));
    assert_true(cpio_name_matches("//a", 3, "a"));
    assert_true(cpio_name_matches("a/bXYZ", 3, "a/b")); /* length-bounded */
    assert_false(cpio_name_matches("a/b", 3, "a/b/"));
    assert_false(cpio_name_matches("a/./b", 5, "a/b")); /* only leading components */
    assert_false(cpio_name_matches("../a", 4, "a"));
    assert_false(cpio_name_matches(".a", 2, "a"));
    assert_false(cpio_name_matches("A", 1, "a"));
    assert_false(cpio_name_matches("./", 2, ""));
    assert_false(cpio_name_matches("", 0, ""));
    assert_false(cpio_name_matches(NULL, 0, "a"));
    assert_false(cpio_name_matches("a", 1, NULL));
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    static struct ar a;
    size_t data_end[SAMPLE_FILES], trailer_name_end;
    struct cpio_iter it;

    build_sample(&a);
    /* Where each file's data ends and where the trailer's name ends. */
    cpio_iter_init(&it, a.buf, a.len);
    for (int i = 0, k = 0; k < SAMPLE_FILES; i++) {
        const char *name;
        const void *data;
        size_t size;

        assert_int_equal(cpio_next(&it, &name, NULL, &data, &size), 1);
        if ((it.mode & CPIO_MODE_TYPE) == CPIO_MODE_REG)
            data_end[k++] = (size_t)((const uint8_t *)data - a.buf) + size;
    }
    /* The trailer is 110 + 11 bytes, then 3 bytes of padding that are not needed. */
    trailer_name_end = a.len - 3;

    for (size_t len = 0; len <= a.len; len++) {
        uint8_t *b = dup_exact(a.buf, len);
        int r = walk_checked(b, len);

        if (len >= trailer_name_end)
            assert_int_equal(r, SAMPLE_FILES + 3);
        else
            assert_int_equal(r, ERR_STRUCTURE);
        for (int i = 0; i < SAMPLE_FILES; i++) {
            const void *data;
            size_t size;
            int f = cpio_find(b, len, sample_names[i], &data, &size);

            if (len >= data_end[i]) {
                assert_int_equal(f, 0);
                assert_memory_equal(data, sample_data[i], size);
            } else {
                assert_int_equal(f, ERR_STRUCTURE);
            }
        }
        free(b);
    }
}

/* Hand-made layouts at the edges of the format. */
static void test_edges(void **state)
{
    (void)state;
    static struct ar a;
    struct cpio_iter it;
    uint8_t *b;

    /* Missing trailer: a clean end is still an error. */
    a.len = 0;
    ar_file(&a, "f", "data");
    assert_int_equal(walk_checked(a.buf, a.len), ERR_STRUCTURE);
    cpio_iter_init(&it, a.buf, a.len);
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), 1);
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
    assert_non_null(strstr(it.why, "TRAILER"));
    assert_int_equal(it.off, a.len);

    /* Bytes after the trailer (block padding, a second archive) are ignored. */
    ar_trailer(&a);
    memset(a.buf + a.len, 0xa5, 100);
    assert_int_equal(walk_checked(a.buf, a.len + 100), 1);

    /* A trailer whose name padding is missing at the very end is accepted. */
    b = dup_exact(a.buf, a.len - 1);
    assert_int_equal(walk_checked(b, a.len - 1), 1);
    free(b);

    /* The checksummed variant "070702" has the same layout. */
    a.len = 0;
    ar_raw(&a, "070702", CPIO_MODE_REG, "f", 2, 2, "xy", 2, 2);
    ar_trailer(&a);
    assert_int_equal(cpio_find(a.buf, a.len, "f", NULL, NULL), 0);

    /* Lowercase hex digits are hex digits. */
    a.len = 0;
    ar_file(&a, "f", "0123456789");
    ar_trailer(&a);
    memcpy(a.buf + 6 + 6 * 8, "0000000a", 8); /* filesize */
    assert_int_equal(walk_checked(a.buf, a.len), 1);

    /* A data pad missing at the end: the entry is whole, the walk then fails. */
    a.len = 0;
    ar_file(&a, "f", "abcde");
    b = dup_exact(a.buf, a.len - 3);
    assert_int_equal(cpio_find(b, a.len - 3, "f", NULL, NULL), 0);
    assert_int_equal(walk_checked(b, a.len - 3), ERR_STRUCTURE);
    free(b);

    /* Not an archive at all. */
    memcpy(a.buf, "070707", 6); /* the old portable ASCII format */
    assert_int_equal(walk_checked(a.buf, a.len), ERR_STRUCTURE);
    assert_int_equal(walk_checked((const uint8_t *)"", 0), ERR_STRUCTURE);
    cpio_iter_init(&it, NULL, 0);
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
}

static void test_corrupt_hex(void **state)
{
    (void)state;
    static struct ar a;
    static const char bad[] = {'g', 'G', ' ', '-', '+', 'x', '\0', '\n', (char)0xff, ':', '@'};
    struct cpio_iter it;

    a.len = 0;
    ar_file(&a, "name", "data");
    ar_trailer(&a);
    for (int field = 0; field < 13; field++) {
        for (int pos = 0; pos < 8; pos++) {
            for (size_t k = 0; k < sizeof(bad); k++) {
                static struct ar c;
                uint8_t *b;

                c = a;
                c.buf[6 + field * 8 + pos] = (uint8_t)bad[k];
                b = dup_exact(c.buf, c.len);
                cpio_iter_init(&it, b, c.len);
                assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
                assert_string_equal(it.why, "header field is not 8 hex digits");
                assert_int_equal(it.off, 0);
                assert_int_equal(cpio_find(b, c.len, "name", NULL, NULL), ERR_STRUCTURE);
                free(b);
            }
        }
    }
    /* Each byte of the magic. */
    for (int pos = 0; pos < 6; pos++) {
        static struct ar c;

        c = a;
        c.buf[pos] ^= 0x01;
        cpio_iter_init(&it, c.buf, c.len);
        assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
        assert_non_null(strstr(it.why, "magic"));
    }
    /* The second entry's header: the error names its offset. */
    {
        static struct ar c;
        size_t second = CPIO_HEADER_SIZE + 5 + 1 + 4; /* header, name, pad, data */

        c = a;
        assert_memory_equal(c.buf + second, "070701", 6);
        c.buf[second + 20] = 'z';
        cpio_iter_init(&it, c.buf, c.len);
        assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), 1);
        assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
        assert_int_equal(it.off, second);
    }
}

static void test_huge_sizes(void **state)
{
    (void)state;
    static struct ar a;
    static const uint32_t sizes[] = {0xffffffffu, 0xfffffffcu, 0x80000000u,
                                     0x7fffffffu, 0x10000u,    5};
    struct cpio_iter it;

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        /* filesize past the end (the data really is 4 bytes) */
        a.len = 0;
        ar_raw(&a, "070701", CPIO_MODE_REG, "f", 2, 2, "data", 4, sizes[i]);
        ar_trailer(&a);
        cpio_iter_init(&it, a.buf, a.len);
        if (sizes[i] == 5) {
            /* Swallows one byte of the next header: that one then fails. */
            assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), 1);
            assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
        } else {
            assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
            assert_string_equal(it.why, "entry data runs past the end of the archive");
        }

        /* namesize past the end */
        a.len = 0;
        ar_raw(&a, "070701", CPIO_MODE_REG, "f", 2, sizes[i], "data", 4, 4);
        cpio_iter_init(&it, a.buf, a.len);
        assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
    }
    /* namesize 0 and 1: no name. */
    for (uint32_t ns = 0; ns < 2; ns++) {
        a.len = 0;
        ar_raw(&a, "070701", CPIO_MODE_REG, "\0\0\0", 4, ns, "data", 4, 4);
        ar_trailer(&a);
        cpio_iter_init(&it, a.buf, a.len);
        assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
        assert_string_equal(it.why, "empty entry name");
    }
    /* Name padding past the end: header + 3-byte name, then nothing. */
    a.len = 0;
    ar_raw(&a, "070701", CPIO_MODE_REG, "ab", 3, 3, NULL, 0, 0);
    cpio_iter_init(&it, a.buf, CPIO_HEADER_SIZE + 3);
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
    assert_non_null(strstr(it.why, "padding"));
}

static void test_names_without_nul(void **state)
{
    (void)state;
    static struct ar a;
    struct cpio_iter it;
    uint8_t *b;

    /* namesize excludes the NUL: the last name byte is 'e'. */
    a.len = 0;
    ar_raw(&a, "070701", CPIO_MODE_REG, "name", 4, 4, "data", 4, 4);
    ar_trailer(&a);
    b = dup_exact(a.buf, a.len);
    cpio_iter_init(&it, b, a.len);
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
    assert_string_equal(it.why, "entry name is not NUL-terminated");
    assert_int_equal(cpio_find(b, a.len, "nam", NULL, NULL), ERR_STRUCTURE);
    free(b);

    /* The name fills the archive to its last byte, with no NUL. */
    a.len = 0;
    ar_raw(&a, "070701", CPIO_MODE_REG, "abcdef", 6, 6, NULL, 0, 0);
    b = dup_exact(a.buf, CPIO_HEADER_SIZE + 6);
    cpio_iter_init(&it, b, CPIO_HEADER_SIZE + 6);
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
    free(b);

    /* An inner NUL. */
    a.len = 0;
    ar_raw(&a, "070701", CPIO_MODE_REG, "ab\0cd", 6, 6, "data", 4, 4);
    ar_trailer(&a);
    cpio_iter_init(&it, a.buf, a.len);
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
    assert_string_equal(it.why, "entry name contains a NUL byte");

    /* A trailer spelled without its NUL is not a trailer. */
    a.len = 0;
    ar_raw(&a, "070701", 0, CPIO_TRAILER, 10, 10, NULL, 0, 0);
    cpio_iter_init(&it, a.buf, a.len);
    assert_int_equal(cpio_next(&it, NULL, NULL, NULL, NULL), ERR_STRUCTURE);
}

static void test_fuzz_mutations(void **state)
{
    (void)state;
    static const char digits[] = "0123456789abcdefABCDEFgx \0\xff";
    static struct ar a, m;
    int ok = 0, bad = 0, found = 0;

    build_sample(&a);
    rng_state = 0x5eed0c1a0f00d5ull;
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = a.len;
        int nmut = 1 + (int)(rng() % 4);
        uint8_t *b;
        int r;

        m = a;
        for (int k = 0; k < nmut; k++) {
            size_t pos = rng() % a.len;
            uint64_t how = rng() % 4;

            if (how == 0)
                m.buf[pos] = (uint8_t)rng();
            else if (how == 1)
                m.buf[pos] = (uint8_t)digits[rng() % (sizeof(digits) - 1)];
            else if (how == 2)
                m.buf[pos] ^= (uint8_t)(1u << (rng() % 8));
            else
                len = rng() % (a.len + 1);
        }
        b = dup_exact(m.buf, len);
        r = walk_checked(b, len);
        if (r < 0)
            bad++;
        else
            ok++;
        for (int i = 0; i < SAMPLE_FILES; i++) {
            const void *data;
            size_t size;

            if (cpio_find(b, len, sample_names[i], &data, &size) == 0) {
                assert_true((const uint8_t *)data >= b && (const uint8_t *)data + size <= b + len);
                found++;
            }
        }
        free(b);
    }
    /* Both outcomes happen, so the loop really explores the format. */
    assert_true(ok > 100);
    assert_true(bad > 100);
    assert_true(found > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),      cmocka_unit_test(test_find),
        cmocka_unit_test(test_name_matches),   cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_edges),          cmocka_unit_test(test_corrupt_hex),
        cmocka_unit_test(test_huge_sizes),     cmocka_unit_test(test_names_without_nul),
        cmocka_unit_test(test_fuzz_mutations),
    };

    return cmocka_run_group_tests_name("cpio", tests, NULL, NULL);
}
