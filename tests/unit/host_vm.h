/* SPDX-License-Identifier: Apache-2.0 */
/* A VM built on the host, for tests and fuzzers that drive the real exit
 * path (test_sbi.c, fuzz_sbi.c): the page allocator over a heap arena, the
 * VM manager for a plain rv64gch host, and a configuration whose kernel is
 * a raw image of nops. */
#ifndef VIREO_TESTS_UNIT_HOST_VM_H
#define VIREO_TESTS_UNIT_HOST_VM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "arch/riscv/vcpu_arch.h"
#include "core/config.h"
#include "core/console.h"
#include "core/gstage.h"
#include "core/hart_loop.h"
#include "core/platform.h"
#include "core/pmem.h"
#include "core/sched.h"
#include "core/vconsole.h"
#include "core/vm.h"
#include "core/vmm.h"

/* Returns the arena (2 MiB aligned), or NULL; err says why on failure. */
static inline void *host_vm_init(size_t arena_size, char *err, size_t errlen)
{
    struct platform p;
    struct gstage_caps caps;
    void *arena = aligned_alloc(2u << 20, arena_size);
    struct pmem_range r = {(uintptr_t)arena, arena_size};

    if (!arena)
        return NULL;
    pmem_reset();
    if (pmem_init(&r, 1, NULL, 0) != 0) {
        snprintf(err, errlen, "pmem_init failed");
        free(arena);
        return NULL;
    }
    memset(&p, 0, sizeof(p));
    p.isa = ISA_F | ISA_D | ISA_C | ISA_H;
    isa_set_add_string(&p.exts, "rv64imafdch_zicntr_zicsr_zifencei");
    isa_set_expand(&p.exts);
    p.satp_max = 48;
    p.timebase_hz = 10000000;
    arch_gstage_probe(&caps);
    struct isa_host_caps hcaps = {.henvcfg = 0, .hstateen = false};
    if (vmm_init(&p, &caps, &hcaps, err, errlen) != 0) {
        free(arena);
        return NULL;
    }
    hart_loop_init(p.timebase_hz);
    return arena;
}

/* vms[0] built from cfg as the VM table would (the only VM, its first
 * boot): 0, or vm_create's error with err saying why. */
static inline int host_vm_create(struct vm **out, const struct vm_config *cfg, char *err,
                                 size_t errlen)
{
    struct vm *vm = &vms[0];

    memset(vm, 0, sizeof(*vm));
    vm_count = 1;
    vm->cfg = cfg;
    vm->boots = 1;
    *out = vm;
    return vm_create(vm, cfg, err, errlen);
}

static inline void host_vm_config(struct vm_config *cfg, const char *name, uint64_t mem,
                                  unsigned vcpus, uint8_t *kernel, size_t kernel_size)
{
    memset(cfg, 0, sizeof(*cfg));
    snprintf(cfg->name, sizeof(cfg->name), "%s", name);
    cfg->mem_size = mem;
    cfg->vcpus = vcpus;
    for (unsigned i = 0; i < CONFIG_MAX_VCPUS; i++)
        cfg->pin[i] = CONFIG_PIN_FLOAT;
    memset(kernel, 0x13, kernel_size); /* a raw image of nops */
    cfg->kernel = kernel;
    cfg->kernel_size = kernel_size;
    cfg->bootargs = "";
    cfg->autostart = true;
}

/* The usual fixture in one call: the arena (host_vm_init) and vms[0]
 * built from *cfg (host_vm_config with name, mem, vcpus and kernel as
 * its image).  The arena, or NULL with err saying what failed. */
static inline void *host_vm_setup(size_t arena_size, struct vm_config *cfg, const char *name,
                                  uint64_t mem, unsigned vcpus, uint8_t *kernel, size_t kernel_size,
                                  struct vm **vm, char *err, size_t errlen)
{
    void *arena = host_vm_init(arena_size, err, errlen);

    if (!arena)
        return NULL;
    host_vm_config(cfg, name, mem, vcpus, kernel, kernel_size);
    if (host_vm_create(vm, cfg, err, errlen) != 0) {
        free(arena);
        return NULL;
    }
    return arena;
}

static inline void host_vm_no_output(const char *s, size_t n)
{
    (void)s;
    (void)n;
}

/* host_vm_setup with Vireo's console output dropped (tests that drive
 * exits which print, and do not look at what). */
static inline void *host_vm_setup_quiet(size_t arena_size, struct vm_config *cfg, const char *name,
                                        uint64_t mem, unsigned vcpus, uint8_t *kernel,
                                        size_t kernel_size, struct vm **vm, char *err,
                                        size_t errlen)
{
    void *arena =
        host_vm_setup(arena_size, cfg, name, mem, vcpus, kernel, kernel_size, vm, err, errlen);

    if (arena)
        console_set_output(host_vm_no_output);
    return arena;
}

/* The usual teardown: the VM destroyed if it still runs, the allocator
 * reset and the arena freed.  Returns the allocator's count of bad frees
 * (a page freed twice or never allocated), which a test wants at 0. */
static inline uint64_t host_vm_teardown(struct vm *vm, void *arena)
{
    if (vm && vm->state == VM_RUNNING)
        vm_destroy(vm);
    uint64_t bad = pmem_bad_frees();
    pmem_reset();
    free(arena);
    return bad;
}

/* The VM table as at boot with every VM off (autostart = <0>): slots
 * 0..n-1 hold cfg[0..n-1], each with its console port. */
static inline void host_vm_table_off(const struct vm_config *cfg, unsigned n)
{
    memset(vms, 0, sizeof(vms));
    vm_count = n;
    for (unsigned i = 0; i < n; i++) {
        vms[i].index = i;
        vms[i].cfg = &cfg[i];
        memcpy(vms[i].name, cfg[i].name, sizeof(vms[i].name));
        vms[i].state = VM_DONE;
        vconsole_port_init(&vms[i].con, vms[i].name);
    }
}

#endif
