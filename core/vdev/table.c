/* SPDX-License-Identifier: Apache-2.0 */
/* The table of guest device kinds (see vdev.h): adding a kind is one file
 * in core/vdev/ and one row here. */
#include "core/vdev/vdev.h"

#include "lib/printf.h"
#include "lib/string.h"

extern const struct vdev_kind vdev_kind_rng, vdev_kind_console, vdev_kind_blk, vdev_kind_net,
    vdev_kind_vsock;

/* One row per kind.  The order is that of messages listing them. */
const struct vdev_kind *const vdev_kinds[] = {
    &vdev_kind_rng, &vdev_kind_console, &vdev_kind_blk, &vdev_kind_net, &vdev_kind_vsock,
};

const unsigned vdev_kind_count = sizeof(vdev_kinds) / sizeof(vdev_kinds[0]);

const struct vdev_kind *vdev_kind_find(const char *node_name)
{
    for (unsigned k = 0; k < vdev_kind_count; k++) {
        const struct vdev_kind *kind = vdev_kinds[k];
        size_t n = strlen(kind->name);

        if (strncmp(node_name, kind->name, n) != 0)
            continue;
        const char *rest = node_name + n;
        if (*rest == '\0')
            return kind;
        if (!kind->numbered)
            continue;
        size_t digits = 0;
        while (rest[digits] >= '0' && rest[digits] <= '9')
            digits++;
        if (digits >= 1 && digits <= 2 && rest[digits] == '\0')
            return kind;
    }
    return NULL;
}

/* Appends to buf, cut (never overrun) when full. */
static void vdev_text_add(char *buf, size_t size, size_t *used, const char *s1, const char *s2)
{
    if (*used < size)
        *used += (size_t)fmt_snprintf(buf + *used, size - *used, "%s%s", s1, s2);
}

const char *vdev_kind_list(char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (unsigned k = 0; k < vdev_kind_count; k++) {
        const struct vdev_kind *kind = vdev_kinds[k];

        vdev_text_add(buf, size, &used, k ? ", " : "", kind->name);
        if (kind->numbered) {
            vdev_text_add(buf, size, &used, " or ", kind->name);
            vdev_text_add(buf, size, &used, "N", "");
        }
    }
    return buf;
}

const char *vdev_kind_props(const struct vdev_kind *k, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    if (k->nprops == 0)
        vdev_text_add(buf, size, &used, "none", "");
    for (unsigned i = 0; i < k->nprops; i++)
        vdev_text_add(buf, size, &used,
                      i == 0              ? ""
                      : i + 1 < k->nprops ? ", "
                                          : " or ",
                      k->props[i]);
    return buf;
}
