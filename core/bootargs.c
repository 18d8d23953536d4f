/* SPDX-License-Identifier: Apache-2.0 */
#include "core/bootargs.h"

#include "lib/string.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

bool bootargs_get(const char *args, const char *key, const char **val, size_t *vlen)
{
    size_t klen = strlen(key);

    if (!args || !klen)
        return false;
    for (const char *p = args; *p;) {
        while (is_space(*p))
            p++;
        const char *word = p;
        while (*p && !is_space(*p))
            p++;
        size_t wlen = (size_t)(p - word);
        if (wlen < klen || strncmp(word, key, klen))
            continue;
        if (wlen == klen) {
            *val = word + wlen;
            *vlen = 0;
            return true;
        }
        if (word[klen] == '=') {
            *val = word + klen + 1;
            *vlen = wlen - klen - 1;
            return true;
        }
    }
    return false;
}

static bool value_equal(const char *v, size_t n, const char *s)
{
    return strlen(s) == n && !strncmp(v, s, n);
}

bool bootargs_flag(const char *args, const char *key)
{
    const char *v;
    size_t n;

    if (!bootargs_get(args, key, &v, &n))
        return false;
    return !(value_equal(v, n, "0") || value_equal(v, n, "off") || value_equal(v, n, "no"));
}

bool bootargs_is(const char *args, const char *key, const char *value)
{
    const char *v;
    size_t n;

    return bootargs_get(args, key, &v, &n) && value_equal(v, n, value);
}
