/* SPDX-License-Identifier: Apache-2.0 */
/* Driver for the host's own 16550-compatible UART (Vireo's console).
 * Register layout from the PC16550D data sheet: THR/RBR at 0, LSR at 5. */
#ifndef VIREO_DRIVERS_NS16550_H
#define VIREO_DRIVERS_NS16550_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ns16550 {
    uintptr_t base;
    unsigned reg_shift; /* register stride is 1 << reg_shift bytes */
    unsigned io_width;  /* 1 or 4 byte accesses */
    unsigned tx_fifo;   /* bytes THR takes once LSR.THRE is seen (1 until FIFOs are on) */
    unsigned tx_room;   /* of those, not yet written (callers serialise writes) */
};

/* The firmware has already programmed line settings; Vireo keeps them. */
void ns16550_init(struct ns16550 *u, uintptr_t base, unsigned reg_shift, unsigned io_width);
/* Turns the 16550A's FIFOs on (receive trigger at 1 byte, so typed input
 * interrupts at once) and returns the transmit FIFO depth it found (16, or
 * 1 when IIR does not report FIFOs: a 16450 or an 8250).  Output then polls
 * LSR once per FIFO-full instead of once per byte: every poll is a trip to
 * the device (on QEMU, out of the translated code), and guest output
 * crosses this UART byte by byte. */
unsigned ns16550_enable_fifos(struct ns16550 *u);
void ns16550_putc(struct ns16550 *u, char c);
/* Writes s, turning "\n" into "\r\n" for terminals. */
void ns16550_write(struct ns16550 *u, const char *s, size_t n);
/* Interrupt when a byte arrives (IER.ERBFI). */
void ns16550_enable_rx_irq(struct ns16550 *u);
/* Masks (false) or unmasks the receive interrupt, from any hart: bytes
 * wait in the UART while it is masked. */
void ns16550_set_rx_irq(struct ns16550 *u, bool on);
/* Next received byte, or ERR_AGAIN when none is waiting. */
int ns16550_getc(struct ns16550 *u);

#endif
