/* SPDX-License-Identifier: Apache-2.0 */
/* A debugger's hold on one VM (docs/debugging.md): stopping and running
 * its vCPUs all together or one alone, software breakpoints patched into
 * its memory, hardware breakpoints and watchpoints on its vCPUs' debug
 * triggers, single steps, and its memory as its code sees it.  Knows
 * nothing of gdb: the stub (core/control/gdb.c) speaks the protocol and
 * calls these.
 *
 * All-stop, in three states:
 *
 *   off       no debugger; breakpoint exceptions are the guest's own
 *             (hedeleg hands them to it).
 *   running   attached, vCPUs run (all, or the one a step or a
 *             single-thread continue lets go); breakpoint exceptions
 *             come to Vireo while attached: a hit of the debugger's
 *             records a stop and holds every vCPU (VCPU_HOLD_DEBUG); one
 *             that is not the debugger's goes to the guest as before.
 *   stopped   every vCPU held and off the harts (vm_debug_poll said so):
 *             registers, memory and breakpoints may be read and changed.
 *
 * vm_debug_stop asks for a stop; the stop is complete when the last of
 * the VM's vCPUs leaves its hart, and the registered notifier is called
 * then (from the run loop, vm_debug_off_harts) so the stub polls.  Calls
 * other than vm_debug_breakpoint and vm_debug_off_harts come from one
 * place at a time (the control plane's lock). */
#ifndef VIREO_CORE_VM_DEBUG_H
#define VIREO_CORE_VM_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/vcpu.h"
#include "lib/spinlock.h"

#define VM_DEBUG_SWBP_MAX 64 /* software breakpoints per VM */
#define VM_DEBUG_STEP_MAX 8  /* addresses one step may go to (next pc, traps) */

enum vm_debug_why {
    VM_DEBUG_NONE,
    VM_DEBUG_SWBREAK,   /* one of the debugger's software breakpoints */
    VM_DEBUG_HWBREAK,   /* an execution trigger of the debugger's */
    VM_DEBUG_WATCH,     /* a store to a watched range (addr: the address stored to) */
    VM_DEBUG_RWATCH,    /* a load */
    VM_DEBUG_AWATCH,    /* either */
    VM_DEBUG_STEP,      /* the single step completed */
    VM_DEBUG_INTERRUPT, /* asked for (vm_debug_stop) */
};

/* Kinds of breakpoint, as gdb's Z packets number them. */
enum vm_debug_bp {
    VM_DEBUG_BP_SW = 0,
    VM_DEBUG_BP_HW = 1,
    VM_DEBUG_BP_WRITE = 2,
    VM_DEBUG_BP_READ = 3,
    VM_DEBUG_BP_ACCESS = 4,
};

struct vm_debug_patch {
    uint64_t va, gpa;
    uint8_t len; /* 2 (c.ebreak) or 4 (ebreak); 0: unused */
    uint8_t orig[4];
};

struct vm_debug_hw {
    bool used;
    enum vm_debug_bp type;
    uint64_t addr, len;  /* as the debugger gave them */
    uint64_t base, size; /* the naturally aligned range the trigger matches */
};

struct vm_debug {
    struct spinlock lock; /* the stop record, against vCPUs' exits */
    bool attached;
    bool stopped; /* every vCPU held and off the harts, reported by vm_debug_poll */
    /* The stop being made (pending) or last made. */
    bool pending;
    enum vm_debug_why why;
    unsigned vcpu; /* index of the vCPU that made it */
    uint64_t addr;
    /* A step in progress: step_vcpu + 1 (0: none), where it may land. */
    unsigned stepping;
    int only; /* the vCPU let go alone (a step, a continue of one thread); -1: all */
    struct vm_debug_patch step[VM_DEBUG_STEP_MAX];
    struct vm_debug_patch sw[VM_DEBUG_SWBP_MAX];
    struct vm_debug_hw hw[VCPU_TRIG_DEBUG];
};

struct vm;

/* Called (from the run loop) when a stop a VM's debugger waits for is
 * complete; it polls then.  Boot, once. */
void vm_debug_set_notify(void (*fn)(struct vm *vm));

/* A debugger takes vm (running): ERR_STATE if one has it already or the
 * VM is not running.  Nothing changes for the guest until it stops. */
int vm_debug_attach(struct vm *vm);

/* The debugger lets go: every breakpoint removed (memory as it was), its
 * triggers off, breakpoint exceptions the guest's own again, every vCPU
 * running.  From any state; vm need not be running (then only the
 * record is cleared: its memory is gone or being rebuilt). */
void vm_debug_detach(struct vm *vm);

/* Asks every vCPU to stop (Ctrl-C): the stop is VM_DEBUG_INTERRUPT
 * unless a breakpoint's comes first. */
void vm_debug_stop(struct vm *vm);

/* True once a stop is complete; *why, *vcpu (index) and *addr say what
 * it was.  The VM is then stopped (until vm_debug_resume). */
bool vm_debug_poll(struct vm *vm, enum vm_debug_why *why, unsigned *vcpu, uint64_t *addr);

/* Stopped: runs every vCPU (only < 0), or only vCPU only; step: the
 * vCPU only single-steps one instruction (ERR_INVAL without only >= 0).
 * ERR_STATE when not stopped. */
int vm_debug_resume(struct vm *vm, int only, bool step);

/* Stopped.  type/addr/len as gdb's Z packets: 0 software breakpoint (len
 * 2 or 4: the instruction patched with c.ebreak or ebreak), 1 hardware
 * breakpoint, 2-4 write/read/access watchpoints of len bytes (a debug
 * trigger each on every vCPU).  ERR_NOSPC: no slot or trigger left;
 * ERR_RANGE: addr is not mapped to RAM; ERR_NOTSUP: the host has no
 * triggers.  Inserting what is there already succeeds. */
int vm_debug_bp_insert(struct vm *vm, unsigned vcpu, enum vm_debug_bp type, uint64_t addr,
                       uint64_t len);
/* Removing what is not there succeeds. */
int vm_debug_bp_remove(struct vm *vm, enum vm_debug_bp type, uint64_t addr, uint64_t len);

/* Stopped: memory at guest virtual addresses through vCPU vcpu's
 * translation (its vsatp; physical with phys).  Reads show the bytes the
 * debugger's breakpoints replaced; writes over them change what they
 * restore.  0, or ERR_RANGE at the first byte not mapped to RAM. */
int vm_debug_mem_read(struct vm *vm, unsigned vcpu, bool phys, uint64_t addr, void *buf, size_t n);
int vm_debug_mem_write(struct vm *vm, unsigned vcpu, bool phys, uint64_t addr, const void *buf,
                       size_t n);

/* The exit handler of a breakpoint exception (only while attached does
 * one come to Vireo).  Own exit. */
enum exit_action vm_debug_breakpoint(struct vcpu *v);

/* The run loop: a vCPU held for the debugger left the last hart of its
 * VM. */
void vm_debug_off_harts(struct vm *vm);

/* 0, or ERR_STATE with err saying why when vm has a debugger attached:
 * its memory may hold the debugger's ebreaks, which a copy of it (a
 * snapshot, a migration) without that debugger would trip over. */
int vm_debug_refuse_copy(const struct vm *vm, char *err, size_t errlen);

/* The addresses an instruction at pc can hand control to next (for a
 * single step): the next instruction, a jump's or a taken branch's
 * target, sret's return address.  gpr: the vCPU's registers; vsepc: its
 * guest's sepc.  Returns how many (at most 3), written to out. */
unsigned vm_debug_next_pcs(uint32_t insn, uint64_t pc, const uint64_t gpr[32], uint64_t vsepc,
                           bool vs_mode, uint64_t out[3]);

#endif
