/* SPDX-License-Identifier: Apache-2.0 */
/* The guest's console: an emulated 16550A UART, one per VM.
 *
 * Enough of the PC16550D for Linux's 8250 driver (which identifies it as a
 * 16550A) and for earlycon=uart8250,mmio,<base>: reg-shift 0, byte
 * accesses only (any other width fails the access, so the VM stops with the
 * device and offset named).  Registers 0-7 as in the data sheet; offsets 8
 * up to VUART_SIZE read 0 and ignore writes, so a guest probing the rest of
 * the window described in its device tree is harmless.
 *
 * Transmit is instantaneous: a THR write hands the byte to the output
 * callback, THR and the transmitter are empty again at once (LSR.THRE and
 * LSR.TEMT always read 1), and the THRE interrupt follows 16550 rules.
 * Receive keeps a 16-byte FIFO (1-byte holding register while FIFOs are
 * disabled) filled by the host through vuart_input().  The model has no
 * clock, so the character timeout (IIR 0x0C) has zero length: whenever the
 * FIFO holds fewer bytes than the trigger level, the timeout is already
 * pending.  The guest therefore sees every byte at once, whatever trigger
 * level it chose, and still gets the IIR codes a real 16550A would give once
 * the line went idle.
 *
 * Modem lines: outside loopback the model reports CTS, DSR and DCD asserted
 * and RI clear (MSR 0xB0), as a null-modem cable to a ready terminal would;
 * in loopback (MCR bit 4) they follow RTS, DTR, OUT2 and OUT1 as on the
 * chip, with the delta bits and the modem status interrupt.
 *
 * The interrupt line is level-style: high exactly while IIR bit 0 is 0.
 *
 * Locking: register accesses (from the harts running the VM's vCPUs) and
 * vuart_input() (from whichever hart reads the host UART) serialise on the
 * vuart's lock.  The output callback runs after the lock is released, so it
 * may take its own locks, block on a slow device or even call vuart_input()
 * on this vuart; calls are still made one at a time, in the order of the
 * guest's THR writes (a turn taken under the lock).  The irq line's set_level runs with the lock
 * held, so the interrupt controller sees level changes in the order the state changed (released
 * first, a high from one hart and a low from another could reach the controller swapped and leave
 * the line stuck high with nothing pending).  set_level must therefore not call back into this
 * vuart nor wait for another hart; taking the interrupt controller's own lock is fine (the order is
 * always vuart, then controller). */
#ifndef VIREO_DEVICES_VUART_H
#define VIREO_DEVICES_VUART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "lib/spinlock.h"

#define VUART_SIZE      0x100 /* the MMIO window, as QEMU's virt machine gives its UART */
#define VUART_FIFO_SIZE 16

/* Defined here so a VM can embed it; only vuart.c touches the fields. */
struct vuart {
    struct spinlock lock;
    struct irq_line irq; /* a copy: the caller's struct need not outlive init */
    void (*output)(void *ctx, char c);
    void *ctx;

    uint8_t rx[VUART_FIFO_SIZE]; /* ring: rx_count bytes from rx_head */
    uint8_t rx_head, rx_count;
    uint8_t rx_trigger; /* bytes for "received data available", from FCR bits 7:6 */
    bool fifo_enabled;  /* FCR bit 0 */

    uint8_t ier, lcr, mcr, scr, dll, dlm;
    uint8_t lsr_errors; /* LSR.OE: sticky until the guest reads LSR */
    uint8_t msr_delta;  /* MSR bits 3:0: sticky until the guest reads MSR */
    bool thre_pending;  /* the THRE interrupt source, before IER masks it */
    bool irq_level;     /* the level last driven onto the line */

    /* Output order: a THR write takes turn tx_next under the lock and calls
     * the output callback once tx_done reaches it. */
    uint32_t tx_next, tx_done;

    /* Flow-controlled input (vuart_input_offer): bytes the guest cleared
     * from the FIFO unread, delivered again before anything new, and
     * whether the host waits to be told there is room. */
    void (*room_notify)(void *ctx);
    void *room_ctx;
    uint8_t held[VUART_FIFO_SIZE];
    uint8_t held_count;
    bool room_wanted;
};

/* Resets every register (IER 0, IIR 0x01, LSR 0x60, MSR 0xB0, FIFOs off).
 * irq may be NULL (no interrupt line), output may be NULL (bytes the guest
 * sends are dropped).  The line is assumed low and is not driven here. */
void vuart_init(struct vuart *u, const struct irq_line *irq, void (*output)(void *ctx, char c),
                void *ctx);

extern const struct mmio_ops vuart_ops; /* dev->priv = struct vuart * */

/* Host side: a byte typed for this VM.  Returns false if it was lost: the
 * FIFO was full (c dropped, LSR.OE set; with FIFOs disabled the 16550 keeps
 * the newest byte, so the unread one is lost instead), or the UART is in
 * loopback, where the receiver listens only to the transmitter (c dropped,
 * no OE: the receiver never saw it). */
bool vuart_input(struct vuart *u, char c);

/* Bytes vuart_input() would accept now without loss (0 in loopback), so the
 * host can leave input in its own UART instead of dropping it.  A snapshot:
 * the guest changes it at any time (reading RBR, switching FIFOs or
 * loopback), so a byte pushed within it can still, rarely, be lost, exactly
 * as on a real line. */
unsigned vuart_input_room(struct vuart *u);

/* Flow-controlled input, for a host that never wants to lose a byte (the
 * virtual console; the line-like vuart_input above is for tests and
 * fuzzing).  Once room_notify is set:
 * - vuart_input_offer() takes at most what fits, and only while the guest
 *   takes receive interrupts (IER.ERBFI, outside loopback): a guest that
 *   does not listen leaves input with the host, which gives it to SBI
 *   console reads instead.  It returns how many bytes it took; when that
 *   is fewer than offered, room_notify(ctx) is called (once, after the
 *   guest's register access, with the lock released) as soon as the guest
 *   listens and has room.
 * - Bytes the guest clears from its receive FIFO unread (FCR bit 1, or
 *   switching FIFO mode, as Linux does when it closes and reopens the
 *   port) are not lost: they are held and delivered again, first, once the
 *   guest listens.  On a real line they would be gone; here they were
 *   typed by someone who expects them to arrive.
 * - vuart_input_reclaim() takes back every offered byte the guest has not
 *   read (FIFO, then held: the order they came in), at most
 *   2 * VUART_FIFO_SIZE, when the VM goes away. */
void vuart_set_room_notify(struct vuart *u, void (*room_notify)(void *ctx), void *ctx);
size_t vuart_input_offer(struct vuart *u, const char *buf, size_t n);
size_t vuart_input_reclaim(struct vuart *u, char *buf, size_t cap);
/* Whether the guest takes input now (IER.ERBFI, not in loopback). */
bool vuart_input_listening(const struct vuart *u);

/* Snapshots (docs/snapshot-devices.md).  vuart_save writes every register,
 * the receive FIFO's bytes, the held bytes (input the guest has not read is
 * state: a keystroke is never dropped) and the pending interrupt sources;
 * it returns the length or ERR_NOSPC.  vuart_load checks every field first
 * (format VUART_STATE_VERSION, reserved bits clear, counts within the
 * FIFO) and changes nothing when it refuses; on success it drives the
 * interrupt line to the loaded state, whatever was driven before, and
 * tells a waiting host there is room as a register access would. */
#define VUART_STATE_VERSION 1
long vuart_save(const struct vuart *u, void *buf, size_t size);
int vuart_load(struct vuart *u, const void *buf, size_t size);

#endif
