/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: config_load() (core/config.h) on an untrusted boot
 * bundle, as Vireo sees it on a machine with 4 harts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "lib/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

static void check_span(const uint8_t *base, size_t len, const void *p, size_t n)
{
    const uint8_t *q = p;
    if (q < base || q > base + len || n > (size_t)(base + len - q))
        abort(); /* everything a VM points at lies in the bundle */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config cfg;
    char err[200];

    memset(err, 0x5a, sizeof(err));
    int rc = config_load(data, size, 4, &cfg, err, sizeof(err));
    if (rc != 0) {
        if (rc != ERR_INVAL || cfg.nvms != 0 || memchr(err, '\0', sizeof(err)) == NULL)
            abort();
        config_load(data, size, 4, &cfg, err, 1);
        config_load(data, size, 4, &cfg, NULL, 0);
        return 0;
    }
    if (cfg.nvms < 0 || cfg.nvms > CONFIG_MAX_VMS)
        abort();
    for (int i = 0; i < cfg.nvms; i++) {
        const struct vm_config *vm = &cfg.vms[i];
        if (memchr(vm->name, '\0', sizeof(vm->name)) == NULL)
            abort();
        if (vm->vcpus < 1 || vm->vcpus > CONFIG_MAX_VCPUS)
            abort();
        for (unsigned c = 0; c < vm->vcpus; c++)
            if (vm->pin[c] != CONFIG_PIN_FLOAT && (vm->pin[c] < 0 || vm->pin[c] >= 4))
                abort();
        check_span(data, size, vm->kernel, vm->kernel_size);
        if (vm->initrd)
            check_span(data, size, vm->initrd, vm->initrd_size);
        if (!vm->bootargs)
            abort();
        sink += strlen(vm->bootargs) + vm->mem_size;
    }
    return 0;
}
