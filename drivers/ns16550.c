/* SPDX-License-Identifier: Apache-2.0 */
#include "drivers/ns16550.h"

#include "arch/arch.h"
#include "lib/err.h"

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_IER 1 /* interrupt enable */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define IER_ERBFI  0x01 /* received data available */
#define FCR_ENABLE 0x01 /* FIFOs on; trigger level bits 7:6 = 0: one byte */
#define IIR_FIFOS  0xc0 /* both set: FIFOs enabled (16550A) */
#define TX_FIFO    16
#define MCR_OUT2   0x08 /* gates the interrupt output on PC-style UARTs */

#define LSR_DR   0x01 /* data ready */
#define LSR_THRE 0x20 /* transmit holding register empty */

static uint8_t reg_read(struct ns16550 *u, unsigned reg)
{
    uintptr_t a = u->base + ((uintptr_t)reg << u->reg_shift);

    return u->io_width == 4 ? (uint8_t)mmio_read32(a) : mmio_read8(a);
}

static void reg_write(struct ns16550 *u, unsigned reg, uint8_t v)
{
    uintptr_t a = u->base + ((uintptr_t)reg << u->reg_shift);

    if (u->io_width == 4)
        mmio_write32(a, v);
    else
        mmio_write8(a, v);
}

void ns16550_init(struct ns16550 *u, uintptr_t base, unsigned reg_shift, unsigned io_width)
{
    u->base = base;
    u->reg_shift = reg_shift;
    u->io_width = io_width;
    u->tx_fifo = 1;
    u->tx_room = 0;
}

unsigned ns16550_enable_fifos(struct ns16550 *u)
{
    /* Writing the enable bit again while the FIFOs are on keeps their
     * contents; turning them on from off empties them (nothing typed yet). */
    reg_write(u, UART_FCR, FCR_ENABLE);
    u->tx_fifo = (reg_read(u, UART_IIR) & IIR_FIFOS) == IIR_FIFOS ? TX_FIFO : 1;
    u->tx_room = 0;
    return u->tx_fifo;
}

/* LSR.THRE with FIFOs on means the whole transmit FIFO is empty. */
void ns16550_putc(struct ns16550 *u, char c)
{
    if (!u->tx_room) {
        while (!(reg_read(u, UART_LSR) & LSR_THRE))
            arch_cpu_relax();
        u->tx_room = u->tx_fifo;
    }
    reg_write(u, UART_THR, (uint8_t)c);
    u->tx_room--;
}

void ns16550_write(struct ns16550 *u, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            ns16550_putc(u, '\r');
        ns16550_putc(u, s[i]);
    }
}

void ns16550_enable_rx_irq(struct ns16550 *u)
{
    reg_write(u, UART_MCR, (uint8_t)(reg_read(u, UART_MCR) | MCR_OUT2));
    reg_write(u, UART_IER, IER_ERBFI);
}

int ns16550_getc(struct ns16550 *u)
{
    if (!(reg_read(u, UART_LSR) & LSR_DR))
        return ERR_AGAIN;
    return reg_read(u, UART_RBR);
}

void ns16550_set_rx_irq(struct ns16550 *u, bool on)
{
    reg_write(u, UART_IER, on ? IER_ERBFI : 0);
}
