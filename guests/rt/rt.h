/* SPDX-License-Identifier: Apache-2.0 */
/* Runtime for Vireo's test guests: small freestanding S-mode kernels that run
 * natively under OpenSBI and as VMs under Vireo, and talk to either only
 * through SBI.
 *
 * Entry contract (as for Linux): a0 = hartid, a1 = FDT, translation off,
 * image at 0x80200000.  crt0.S clears BSS, gives each hart a stack and calls
 * guest_main() on the boot hart after printing "guest NAME: start on hart H".
 * A guest ends with guest_pass() or guest_fail(), which print the last line
 * ("guest NAME: PASS ..." / "guest NAME: FAIL: ...") and shut the machine down
 * with SBI SRST reason "none" or "system failure". */
#ifndef VIREO_GUESTS_RT_RT_H
#define VIREO_GUESTS_RT_RT_H

/* Shared with crt0.S. */
#define GUEST_MAX_SLOTS  64   /* hart stacks: the boot hart's plus one per hart_start */
#define GUEST_STACK_SIZE 8192 /* nothing recurses; printing streams, no big buffers */

#define SSTATUS_SIE     (1ul << 1)
#define SSTATUS_VS      (3ul << 9)
#define SSTATUS_VS_INIT (1ul << 9)
#define SSTATUS_FS      (3ul << 13)
#define SSTATUS_FS_INIT (1ul << 13)
#define SIE_STIE        (1ul << 5)
#define IRQ_S_TIMER     5

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/printf.h"

#define csr_read(csr)                                                                              \
    ({                                                                                             \
        unsigned long v_;                                                                          \
        __asm__ volatile("csrr %0, " #csr : "=r"(v_));                                             \
        v_;                                                                                        \
    })
#define csr_write(csr, val)  __asm__ volatile("csrw " #csr ", %0" ::"rK"(val) : "memory")
#define csr_set(csr, bits)   __asm__ volatile("csrs " #csr ", %0" ::"rK"(bits) : "memory")
#define csr_clear(csr, bits) __asm__ volatile("csrc " #csr ", %0" ::"rK"(bits) : "memory")

/* Each guest defines these two. */
extern const char guest_name[];
void guest_main(uint64_t hartid);

/* Console.  Each call is written whole under a lock, so lines from several
 * harts never interleave.  glog() adds "guest NAME: " and a newline. */
void gprintf(const char *fmt, ...) FMT_PRINTF(1, 2);
void glog(const char *fmt, ...) FMT_PRINTF(1, 2);

/* The last line and shutdown. */
_Noreturn void guest_pass(const char *fmt, ...) FMT_PRINTF(1, 2);
_Noreturn void guest_fail(const char *fmt, ...) FMT_PRINTF(1, 2);
/* SRST shutdown, reason "system failure" if failure != 0, else "none". */
_Noreturn void guest_exit(int failure);

/* This hart's id (crt0 keeps it in tp). */
static inline uint64_t guest_hartid(void)
{
    uint64_t id;

    __asm__("mv %0, tp" : "=r"(id));
    return id;
}

/* The time CSR and its rate (timebase-frequency from the FDT; a guest that
 * needs time fails with a message if the FDT has none). */
static inline uint64_t guest_time(void)
{
    uint64_t t;

    __asm__ volatile("rdtime %0" : "=r"(t));
    return t;
}
uint64_t guest_timebase(void);
uint64_t guest_ms_to_ticks(uint64_t ms);
uint64_t guest_ticks_to_us(uint64_t ticks);

/* Start hartid with SBI HSM at crt0's secondary entry; it runs fn(hartid,
 * arg) on its own stack with interrupts off, then parks (wfi forever, so HSM
 * still reports it as started).  Returns the SBI error (0 on success). */
typedef void (*guest_hart_fn)(uint64_t hartid, void *arg);
long guest_hart_start(uint64_t hartid, guest_hart_fn fn, void *arg);
_Noreturn void guest_park(void);

/* Supervisor interrupts go to fn(cause without the interrupt bit); any other
 * trap, or an interrupt with no handler, fails the guest with scause, sepc
 * and stval. */
typedef void (*guest_irq_fn)(uint64_t cause);
void guest_set_irq_handler(guest_irq_fn fn);

/* Exceptions go to fn(scause, sepc, stval) first: it returns true when it
 * handled one (writing sepc to resume elsewhere), false to fail the guest
 * as without it.  NULL removes it. */
typedef bool (*guest_exc_fn)(uint64_t cause, uint64_t epc, uint64_t tval);
void guest_set_exc_handler(guest_exc_fn fn);

/* From an exception handler: resume after the 16- or 32-bit instruction
 * at epc (a breakpoint that has been counted, say). */
void guest_skip_insn(uint64_t epc);

/* /chosen/bootargs words of the form key=value: the value of the first word
 * with this key (not NUL-terminated: *len bytes), or NULL. */
const char *guest_bootarg(const char *key, size_t *len);
/* Parse an unsigned number ("0x" hex or decimal) of exactly len bytes. */
bool guest_parse_u64(const char *s, size_t len, uint64_t *out);
/* The number of bootarg key=N, or dflt without one; a value that is not a
 * number fails the guest (a test's bad configuration, said at once). */
uint64_t guest_bootarg_u64(const char *key, uint64_t dflt);

/* The image as linked, BSS and hart stacks included. */
extern char __image_start[], __image_end[];

#endif /* __ASSEMBLER__ */
#endif
