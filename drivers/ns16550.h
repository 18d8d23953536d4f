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
};

/* The firmware has already programmed line settings; Vireo keeps them. */
void ns16550_init(struct ns16550 *u, uintptr_t base, unsigned reg_shift, unsigned io_width);
void ns16550_putc(struct ns16550 *u, char c);
/* Writes s, turning "\n" into "\r\n" for terminals. */
void ns16550_write(struct ns16550 *u, const char *s, size_t n);
/* Interrupt when a byte arrives (IER.ERBFI). */
void ns16550_enable_rx_irq(struct ns16550 *u);
/* Masks (false) or unmasks the receive interrupt, from any hart: bytes
 * wait in the UART while it is masked. */
void ns16550_set_rx_irq(struct ns16550 *u, bool on);
/* Next received byte, or -1 when none is waiting. */
int ns16550_getc(struct ns16550 *u);

#endif
