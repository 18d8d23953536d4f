/* SPDX-License-Identifier: Apache-2.0 */
/* What every part of configuration parsing shares (config_int.h): error
 * messages that name the node and property, strings from the bundle shown
 * safely, the bundle's files, and collecting a node's properties. */
#include "core/config_int.h"

#include "lib/cpio.h"
#include "lib/err.h"
#include "lib/fdt.h"
#include "lib/printf.h"
#include "lib/string.h"

/* Formats "config: PATH: property PROP: MESSAGE" (without the property part when
 * prop is NULL) and returns ERR_INVAL, so callers can `return loader_fail(...)`. */
int loader_fail(struct loader *ld, const char *path, const char *prop, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (!ld->err || ld->errlen == 0)
        return ERR_INVAL;
    if (prop)
        n = fmt_snprintf(ld->err, ld->errlen, "config: %s: property %s: ", path, prop);
    else
        n = fmt_snprintf(ld->err, ld->errlen, "config: %s: ", path);
    if (n < 0 || (size_t)n >= ld->errlen)
        return ERR_INVAL;
    va_start(ap, fmt);
    fmt_vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return ERR_INVAL;
}

/* A bundle string made safe to print: a hostile name could otherwise carry
 * terminal escape sequences or flood the console. */
const char *show(char buf[SHOW_SIZE], const char *s)
{
    size_t i;

    for (i = 0; i < SHOW_MAX && s[i] != '\0'; i++)
        buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (i == SHOW_MAX && s[i] != '\0') {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* Exactly one NUL-terminated string, with no NUL before the end: a string list
 * ("a", "b") where one name is expected is a mistake, not a name. */
bool prop_is_string(const uint8_t *val, int len)
{
    return len >= 1 && val[len - 1] == '\0' && memchr(val, '\0', (size_t)len - 1) == NULL;
}

/* Looks `name` up among the bundle's files. Every entry is visited so that a name
 * stored twice is reported instead of one copy silently winning. */
enum bundle_lookup bundle_file(const struct loader *ld, const char *name, const void **data,
                               size_t *size)
{
    struct cpio_iter it;
    const char *n;
    size_t nlen, fsize;
    const void *fdata;
    int found = 0;
    bool other = false;

    cpio_iter_init(&it, ld->bundle, ld->bundle_size);
    /* The whole archive was checked by bundle_check(), so the walk ends cleanly. */
    while (cpio_next(&it, &n, &nlen, &fdata, &fsize) > 0) {
        if (!cpio_name_matches(n, nlen, name))
            continue;
        if ((it.mode & CPIO_MODE_TYPE) != CPIO_MODE_REG) {
            other = true;
            continue;
        }
        if (found++ == 0) {
            *data = fdata;
            *size = fsize;
        }
    }
    if (found > 1)
        return BUNDLE_FILE_DUPLICATE;
    if (found == 1)
        return BUNDLE_FILE_OK;
    return other ? BUNDLE_FILE_NOT_REGULAR : BUNDLE_FILE_MISSING;
}

/* One full walk up front: a bundle cut short (say, by a size limit on the way to
 * the machine) is refused as a whole rather than half used. */

/* The file a kernel/initrd property names: present once, a regular file, and not
 * empty (an empty image is always a packing mistake). */
int vm_file(struct loader *ld, const char *path, const char *prop, const char *fname,
            const void **data, size_t *size)
{
    char shown[SHOW_SIZE];

    switch (bundle_file(ld, fname, data, size)) {
    case BUNDLE_FILE_OK:
        break;
    case BUNDLE_FILE_MISSING:
        return loader_fail(ld, path, prop, "file \"%s\" is not in the bundle", show(shown, fname));
    case BUNDLE_FILE_DUPLICATE:
        return loader_fail(ld, path, prop, "file \"%s\" appears more than once in the bundle",
                           show(shown, fname));
    case BUNDLE_FILE_NOT_REGULAR:
        return loader_fail(ld, path, prop, "\"%s\" in the bundle is not a regular file",
                           show(shown, fname));
    }
    if (*size == 0)
        return loader_fail(ld, path, prop, "file \"%s\" in the bundle is empty",
                           show(shown, fname));
    return 0;
}

int props_collect(struct loader *ld, int node, const char *path, const char *const *names,
                  unsigned count, unsigned allowed, const char *expected, struct props *p)
{
    char shown[SHOW_SIZE];
    int prop;

    memset(p, 0, sizeof(*p));
    for (prop = fdt_first_prop(&ld->fdt, node); prop >= 0; prop = fdt_next_prop(&ld->fdt, prop)) {
        const char *name;
        const void *val;
        int len;
        unsigned i;

        if (fdt_prop_at(&ld->fdt, prop, &name, &val, &len) < 0)
            return loader_fail(ld, path, NULL, "malformed property in vireo.dtb");
        for (i = 0; i < count; i++) {
            if ((allowed & (1u << i)) && strcmp(name, names[i]) == 0)
                break;
        }
        if (i == count)
            return loader_fail(ld, path, show(shown, name), "unknown %s", expected);
        if (p->present[i])
            return loader_fail(ld, path, names[i], "given more than once");
        p->present[i] = true;
        p->val[i] = val;
        p->len[i] = len;
    }
    if (prop != ERR_NOENT)
        return loader_fail(ld, path, NULL, "malformed properties in vireo.dtb (%s)", err_str(prop));
    return 0;
}
