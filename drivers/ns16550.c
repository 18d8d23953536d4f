/* SPDX-License-Identifier: Apache-2.0 */
#include "drivers/ns16550.h"

#include "arch/arch.h"

#define UART_RBR 0 /* receive buffer (read) */
#define UART_THR 0 /* transmit holding (write) */
#define UART_IER 1 /* interrupt enable */
#define UART_MCR 4 /* modem control */
#define UART_LSR 5 /* line status */

#define IER_ERBFI 0x01 /* received data available */
#define MCR_OUT2  0x08 /* gates the interrupt output on PC-style UARTs */

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
}

void ns16550_putc(struct ns16550 *u, char c)
{
    while (!(reg_read(u, UART_LSR) & LSR_THRE))
        arch_cpu_relax();
    reg_write(u, UART_THR, (uint8_t)c);
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
        return -1;
    return reg_read(u, UART_RBR);
}

void ns16550_set_rx_irq(struct ns16550 *u, bool on)
{
    reg_write(u, UART_IER, on ? IER_ERBFI : 0);
}
