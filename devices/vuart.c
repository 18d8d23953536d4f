/* SPDX-License-Identifier: Apache-2.0 */
/* Emulated 16550A UART (see vuart.h for what is modelled and why).
 * Register behaviour follows the PC16550D data sheet. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/mmio.h"
#include "devices/vuart.h"

#include "lib/err.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "lib/wire.h"

/* Register offsets (reg-shift 0). */
enum {
    VUART_RBR_THR = 0, /* DLL while LCR.DLAB */
    VUART_IER = 1,     /* DLM while LCR.DLAB */
    VUART_IIR_FCR = 2, /* IIR when read, FCR when written */
    VUART_LCR = 3,
    VUART_MCR = 4,
    VUART_LSR = 5,
    VUART_MSR = 6,
    VUART_SCR = 7,
};

#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* transmitter holding register empty */
#define IER_ELSI  0x04 /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK  0x0f /* bits 7:4 read 0 on a 16550A; Linux checks (XScale UUE probe) */

#define IIR_NO_INT  0x01
#define IIR_MSR     0x00
#define IIR_THRE    0x02
#define IIR_RDA     0x04
#define IIR_RLS     0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO_ON 0xc0

#define FCR_ENABLE       0x01
#define FCR_CLEAR_RX     0x02
#define FCR_TRIGGER_SHFT 6

#define LCR_DLAB 0x80

#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f /* bits 7:5 read 0 */

#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80
#define MSR_IDLE (MSR_CTS | MSR_DSR | MSR_DCD) /* a ready peer on a null-modem cable */

/* FCR bits 7:6 select the receive trigger level. */
static const uint8_t vuart_trigger_levels[4] = {1, 4, 8, 14};

static unsigned vuart_rx_capacity(const struct vuart *u)
{
    return u->fifo_enabled ? VUART_FIFO_SIZE : 1;
}

/* Unread bytes from a flow-controlled host are held, not lost (vuart.h);
 * they are older than anything held already.  In loopback the FIFO holds
 * the guest's own bytes: those go. */
static void vuart_rx_clear(struct vuart *u)
{
    if (u->room_notify && !(u->mcr & MCR_LOOP) && u->rx_count) {
        uint8_t keep[2 * VUART_FIFO_SIZE];
        unsigned n = 0;
        for (unsigned i = 0; i < u->rx_count; i++)
            keep[n++] = u->rx[(u->rx_head + i) % VUART_FIFO_SIZE];
        for (unsigned i = 0; i < u->held_count; i++)
            keep[n++] = u->held[i];
        /* Host bytes enter the FIFO only while nothing is held, and held
         * bytes only refill the FIFO: together never more than a FIFO. */
        if (n > VUART_FIFO_SIZE)
            n = VUART_FIFO_SIZE;
        memcpy(u->held, keep, n);
        u->held_count = (uint8_t)n;
    }
    u->rx_head = 0;
    u->rx_count = 0;
}

/* The receiver got byte c (from the host or, in loopback, the transmitter). */
static bool vuart_rx_push(struct vuart *u, uint8_t c)
{
    if (u->rx_count < vuart_rx_capacity(u)) {
        u->rx[(u->rx_head + u->rx_count) % VUART_FIFO_SIZE] = c;
        u->rx_count++;
        return true;
    }
    u->lsr_errors |= LSR_OE;
    /* In FIFO mode the byte in the shift register is the one overwritten;
     * without FIFOs the data sheet has the new byte replace the unread one. */
    if (!u->fifo_enabled)
        u->rx[u->rx_head] = c;
    return false;
}

static uint8_t vuart_rx_pop(struct vuart *u)
{
    if (u->rx_count == 0)
        return 0;
    uint8_t c = u->rx[u->rx_head];
    u->rx_head = (uint8_t)((u->rx_head + 1) % VUART_FIFO_SIZE);
    u->rx_count--;
    return c;
}

/* MSR bits 7:4, the modem status inputs. */
static uint8_t vuart_msr_lines(const struct vuart *u)
{
    if (!(u->mcr & MCR_LOOP))
        return MSR_IDLE;
    /* Loopback wires the modem outputs back to the inputs. */
    uint8_t lines = 0;
    if (u->mcr & MCR_RTS)
        lines |= MSR_CTS;
    if (u->mcr & MCR_DTR)
        lines |= MSR_DSR;
    if (u->mcr & MCR_OUT1)
        lines |= MSR_RI;
    if (u->mcr & MCR_OUT2)
        lines |= MSR_DCD;
    return lines;
}

/* The highest-priority pending interrupt, as IIR bits 3:0 (data sheet
 * table: line status, then received data or timeout, then THRE, then modem
 * status). */
static uint8_t vuart_iir_id(const struct vuart *u)
{
    if ((u->ier & IER_ELSI) && u->lsr_errors)
        return IIR_RLS;
    if ((u->ier & IER_ERBFI) && u->rx_count) {
        if (!u->fifo_enabled || u->rx_count >= u->rx_trigger)
            return IIR_RDA;
        return IIR_TIMEOUT; /* zero-length timeout: see vuart.h */
    }
    if ((u->ier & IER_ETBEI) && u->thre_pending)
        return IIR_THRE;
    if ((u->ier & IER_EDSSI) && u->msr_delta)
        return IIR_MSR;
    return IIR_NO_INT;
}

static unsigned vuart_room(const struct vuart *u)
{
    if (u->mcr & MCR_LOOP)
        return 0;
    return vuart_rx_capacity(u) - u->rx_count;
}

static bool vuart_listening(const struct vuart *u)
{
    return (u->ier & IER_ERBFI) && !(u->mcr & MCR_LOOP);
}

/* Held bytes go back into the FIFO, first, whenever the guest listens. */
static void vuart_rx_refill(struct vuart *u)
{
    unsigned k = 0;

    if (!u->held_count || !vuart_listening(u))
        return;
    while (k < u->held_count && vuart_room(u) && vuart_rx_push(u, u->held[k]))
        k++;
    memmove(u->held, u->held + k, u->held_count - k);
    u->held_count = (uint8_t)(u->held_count - k);
}

/* End of every locked section: held input back into the FIFO, and the line
 * driven if the pending state changed.  Called with the lock held (why:
 * vuart.h). */
static void vuart_settle(struct vuart *u)
{
    vuart_rx_refill(u);
    bool level = vuart_iir_id(u) != IIR_NO_INT;

    if (level != u->irq_level) {
        u->irq_level = level;
        irq_line_set(&u->irq, level);
    }
}

static uint8_t vuart_reg_read(struct vuart *u, uint64_t offset)
{
    uint8_t v;

    switch (offset) {
    case VUART_RBR_THR:
        return (u->lcr & LCR_DLAB) ? u->dll : vuart_rx_pop(u);
    case VUART_IER:
        return (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
    case VUART_IIR_FCR:
        v = vuart_iir_id(u);
        /* Reading IIR is how the guest acknowledges THRE; it comes back
         * with the next THR write or the next enable of ETBEI. */
        if (v == IIR_THRE)
            u->thre_pending = false;
        return (uint8_t)(v | (u->fifo_enabled ? IIR_FIFO_ON : 0));
    case VUART_LCR:
        return u->lcr;
    case VUART_MCR:
        return u->mcr;
    case VUART_LSR:
        v = (uint8_t)(LSR_THRE | LSR_TEMT | u->lsr_errors | (u->rx_count ? LSR_DR : 0));
        u->lsr_errors = 0;
        return v;
    case VUART_MSR:
        v = (uint8_t)(vuart_msr_lines(u) | u->msr_delta);
        u->msr_delta = 0;
        return v;
    case VUART_SCR:
        return u->scr;
    default:
        return 0; /* the rest of the window: nothing there */
    }
}

static void vuart_fcr_write(struct vuart *u, uint8_t v)
{
    bool enable = v & FCR_ENABLE;

    /* Switching between FIFO and 16450 mode empties the FIFOs. */
    if (enable != u->fifo_enabled) {
        vuart_rx_clear(u);
        u->fifo_enabled = enable;
    }
    /* The other bits are only written together with FCR bit 0.  Clearing
     * the transmit FIFO (bit 2) has nothing to do: it is always empty. */
    if (!enable)
        return;
    if (v & FCR_CLEAR_RX)
        vuart_rx_clear(u);
    u->rx_trigger = vuart_trigger_levels[v >> FCR_TRIGGER_SHFT];
}

static void vuart_mcr_write(struct vuart *u, uint8_t v)
{
    uint8_t before = vuart_msr_lines(u);
    u->mcr = v & MCR_MASK;
    uint8_t after = vuart_msr_lines(u);
    uint8_t changed = before ^ after;

    if (changed & MSR_CTS)
        u->msr_delta |= MSR_DCTS;
    if (changed & MSR_DSR)
        u->msr_delta |= MSR_DDSR;
    if (changed & MSR_DCD)
        u->msr_delta |= MSR_DDCD;
    if ((before & MSR_RI) && !(after & MSR_RI)) /* trailing edge only */
        u->msr_delta |= MSR_TERI;
}

#define NO_OUTPUT (-1) /* a register write that sends nothing */

/* Returns the byte to hand to the output callback, or NO_OUTPUT. */
static int vuart_reg_write(struct vuart *u, uint64_t offset, uint8_t v)
{
    switch (offset) {
    case VUART_RBR_THR:
        if (u->lcr & LCR_DLAB) {
            u->dll = v;
            return NO_OUTPUT;
        }
        /* Sent at once: the THR is empty again and says so. */
        u->thre_pending = true;
        if (u->mcr & MCR_LOOP) {
            vuart_rx_push(u, v);
            return NO_OUTPUT;
        }
        return v;
    case VUART_IER:
        if (u->lcr & LCR_DLAB) {
            u->dlm = v;
        } else {
            /* Enabling ETBEI while the THR is empty (always, here) raises
             * THRE: drivers start transmitting this way, and Linux checks
             * for it at startup. */
            if (!(u->ier & IER_ETBEI) && (v & IER_ETBEI))
                u->thre_pending = true;
            u->ier = v & IER_MASK;
        }
        return NO_OUTPUT;
    case VUART_IIR_FCR:
        vuart_fcr_write(u, v);
        return NO_OUTPUT;
    case VUART_LCR:
        u->lcr = v; /* framing and break have no meaning without a wire */
        return NO_OUTPUT;
    case VUART_MCR:
        vuart_mcr_write(u, v);
        return NO_OUTPUT;
    case VUART_SCR:
        u->scr = v;
        return NO_OUTPUT;
    default:
        return NO_OUTPUT; /* LSR and MSR are read-only; the rest is empty */
    }
}

/* Lock held, after settle: whether to tell a waiting host there is room
 * (once per refusal, so a guest polling LSR costs the host nothing). */
static bool vuart_room_due(struct vuart *u)
{
    if (!u->room_wanted || !vuart_listening(u) || u->held_count || !vuart_room(u))
        return false;
    u->room_wanted = false;
    return true;
}

static int vuart_mmio_read(struct mmio_dev *dev, uint64_t offset, unsigned width, uint64_t *value)
{
    struct vuart *u = dev->priv;

    if (width != 1)
        return ERR_NOTSUP;
    /* The registers drivers poll, read without the lock when reading them
     * changes nothing: LSR with no error to clear (the FIFO's fill level
     * is one byte, read whole: the value before or after a concurrent
     * push from the host, as if the read came first or last), and SCR.
     * Every locked access settles the interrupt line and the room notice
     * before it unlocks, so an access that changes nothing has nothing to
     * settle. */
    if (offset == VUART_LSR && !__atomic_load_n(&u->lsr_errors, __ATOMIC_RELAXED)) {
        *value =
            LSR_THRE | LSR_TEMT | (__atomic_load_n(&u->rx_count, __ATOMIC_RELAXED) ? LSR_DR : 0);
        return 0;
    }
    if (offset == VUART_SCR) {
        *value = __atomic_load_n(&u->scr, __ATOMIC_RELAXED);
        return 0;
    }
    spin_lock(&u->lock);
    *value = vuart_reg_read(u, offset);
    vuart_settle(u);
    bool room = vuart_room_due(u);
    spin_unlock(&u->lock);
    if (room)
        u->room_notify(u->room_ctx);
    return 0;
}

static int vuart_mmio_write(struct mmio_dev *dev, uint64_t offset, unsigned width, uint64_t value)
{
    struct vuart *u = dev->priv;

    if (width != 1)
        return ERR_NOTSUP;
    /* The scratch register has no effect on anything: no lock (see
     * vuart_mmio_read). */
    if (offset == VUART_SCR) {
        __atomic_store_n(&u->scr, (uint8_t)value, __ATOMIC_RELAXED);
        return 0;
    }
    spin_lock(&u->lock);
    int out = vuart_reg_write(u, offset, (uint8_t)value);
    uint32_t turn = out >= 0 ? u->tx_next++ : 0;
    vuart_settle(u);
    bool room = vuart_room_due(u);
    spin_unlock(&u->lock);
    if (room)
        u->room_notify(u->room_ctx);
    if (out < 0)
        return 0;
    /* The byte goes out after the lock is released (see vuart.h), but in
     * the order the THR writes took the lock: the THRE interrupt is already
     * raised, and a vCPU answering it must not overtake this byte. */
    while (__atomic_load_n(&u->tx_done, __ATOMIC_ACQUIRE) != turn)
        ;
    if (u->output)
        u->output(u->ctx, (char)out);
    __atomic_store_n(&u->tx_done, turn + 1, __ATOMIC_RELEASE);
    return 0;
}

const struct mmio_ops vuart_ops = {
    .read = vuart_mmio_read,
    .write = vuart_mmio_write,
};

void vuart_init(struct vuart *u, const struct irq_line *irq, void (*output)(void *ctx, char c),
                void *ctx)
{
    memset(u, 0, sizeof(*u));
    spin_init(&u->lock);
    if (irq)
        u->irq = *irq;
    u->output = output;
    u->ctx = ctx;
    u->rx_trigger = 1;
}

bool vuart_input(struct vuart *u, char c)
{
    bool kept;

    spin_lock(&u->lock);
    kept = !(u->mcr & MCR_LOOP) && vuart_rx_push(u, (uint8_t)c);
    vuart_settle(u);
    spin_unlock(&u->lock);
    return kept;
}

unsigned vuart_input_room(struct vuart *u)
{
    /* Computed here, under the lock, rather than kept up to date on every
     * register access: no guest MMIO pays for it. */
    spin_lock(&u->lock);
    unsigned room = vuart_room(u);
    spin_unlock(&u->lock);
    return room;
}

void vuart_set_room_notify(struct vuart *u, void (*room_notify)(void *ctx), void *ctx)
{
    spin_lock(&u->lock);
    u->room_notify = room_notify;
    u->room_ctx = ctx;
    spin_unlock(&u->lock);
}

size_t vuart_input_offer(struct vuart *u, const char *buf, size_t n)
{
    size_t k = 0;

    spin_lock(&u->lock);
    vuart_rx_refill(u);
    if (vuart_listening(u) && !u->held_count) {
        while (k < n && vuart_room(u) && vuart_rx_push(u, (uint8_t)buf[k]))
            k++;
    }
    if (k < n)
        u->room_wanted = true;
    vuart_settle(u);
    spin_unlock(&u->lock);
    return k;
}

size_t vuart_input_reclaim(struct vuart *u, char *buf, size_t cap)
{
    size_t k = 0;

    spin_lock(&u->lock);
    if (!(u->mcr & MCR_LOOP)) {
        while (k < cap && u->rx_count)
            buf[k++] = (char)vuart_rx_pop(u);
    }
    for (unsigned i = 0; i < u->held_count && k < cap; i++)
        buf[k++] = (char)u->held[i];
    u->held_count = 0;
    vuart_rx_clear(u);
    u->room_wanted = false;
    vuart_settle(u);
    spin_unlock(&u->lock);
    return k;
}

bool vuart_input_listening(const struct vuart *u)
{
    return (__atomic_load_n(&u->ier, __ATOMIC_RELAXED) & IER_ERBFI) &&
           !(__atomic_load_n(&u->mcr, __ATOMIC_RELAXED) & MCR_LOOP);
}

long vuart_save(const struct vuart *cu, void *buf, size_t size)
{
    /* Host input may arrive from another hart while the VM is paused; the
     * lock keeps the picture consistent.  u is not really const. */
    struct vuart *u = (struct vuart *)cu;
    struct wire w = wire_out(buf, size);

    spin_lock(&u->lock);
    wire_put_u32(&w, VUART_STATE_VERSION);
    wire_put_u8(&w, u->ier);
    wire_put_u8(&w, u->lcr);
    wire_put_u8(&w, u->mcr);
    wire_put_u8(&w, u->scr);
    wire_put_u8(&w, u->dll);
    wire_put_u8(&w, u->dlm);
    wire_put_u8(&w, u->fifo_enabled);
    wire_put_u8(&w, u->rx_trigger);
    wire_put_u8(&w, u->lsr_errors);
    wire_put_u8(&w, u->msr_delta);
    wire_put_u8(&w, u->thre_pending);
    wire_put_u8(&w, u->room_wanted);
    wire_put_u8(&w, u->rx_count);
    for (unsigned i = 0; i < u->rx_count; i++) /* oldest first */
        wire_put_u8(&w, u->rx[(u->rx_head + i) % VUART_FIFO_SIZE]);
    wire_put_u8(&w, u->held_count);
    wire_put_bytes(&w, u->held, u->held_count);
    spin_unlock(&u->lock);
    return wire_result(&w);
}

static bool vuart_trigger_valid(uint8_t t)
{
    for (unsigned i = 0; i < sizeof(vuart_trigger_levels); i++)
        if (vuart_trigger_levels[i] == t)
            return true;
    return false;
}

/* Decodes and checks a payload into the fields of *n it holds; the caller
 * copies them into the vuart only on success. */
static int vuart_state_get(struct vuart *n, const void *buf, size_t size)
{
    struct wire_in r = wire_in(buf, size);
    uint8_t b[12];

    if (wire_get_u32(&r) != VUART_STATE_VERSION)
        return wire_refuse(&r, ERR_VERSION);
    memset(n, 0, sizeof(*n));
    wire_get_bytes(&r, b, sizeof(b));
    n->ier = b[0];
    n->lcr = b[1];
    n->mcr = b[2];
    n->scr = b[3];
    n->dll = b[4];
    n->dlm = b[5];
    n->fifo_enabled = b[6];
    n->rx_trigger = b[7];
    n->lsr_errors = b[8];
    n->msr_delta = b[9];
    n->thre_pending = b[10];
    n->room_wanted = b[11];
    if ((b[0] & ~IER_MASK) || (b[2] & ~MCR_MASK) || b[6] > 1 || !vuart_trigger_valid(b[7]) ||
        (b[8] & ~LSR_OE) || (b[9] & ~(MSR_DCTS | MSR_DDSR | MSR_TERI | MSR_DDCD)) || b[10] > 1 ||
        b[11] > 1)
        return wire_refuse(&r, ERR_RANGE);
    n->rx_head = 0;
    n->rx_count = wire_get_u8(&r);
    if (n->rx_count > vuart_rx_capacity(n))
        return wire_refuse(&r, ERR_RANGE);
    memset(n->rx, 0, sizeof(n->rx));
    wire_get_bytes(&r, n->rx, n->rx_count);
    n->held_count = wire_get_u8(&r);
    if (n->held_count > VUART_FIFO_SIZE)
        return wire_refuse(&r, ERR_RANGE);
    memset(n->held, 0, sizeof(n->held));
    wire_get_bytes(&r, n->held, n->held_count);
    return wire_end(&r);
}

int vuart_load(struct vuart *u, const void *buf, size_t size)
{
    struct vuart n;

    spin_lock(&u->lock);
    int e = vuart_state_get(&n, buf, size);
    if (e == 0) {
        /* Everything but the lock, which is held, and the output turns,
         * which belong to this host's writers. */
        memcpy(u->rx, n.rx, sizeof(u->rx));
        u->rx_head = n.rx_head;
        u->rx_count = n.rx_count;
        u->rx_trigger = n.rx_trigger;
        u->fifo_enabled = n.fifo_enabled;
        u->ier = n.ier;
        u->lcr = n.lcr;
        u->mcr = n.mcr;
        u->scr = n.scr;
        u->dll = n.dll;
        u->dlm = n.dlm;
        u->lsr_errors = n.lsr_errors;
        u->msr_delta = n.msr_delta;
        u->thre_pending = n.thre_pending;
        u->room_wanted = n.room_wanted;
        memcpy(u->held, n.held, sizeof(u->held));
        u->held_count = n.held_count;
        /* Driven even if unchanged: the controller may be fresh, or
         * restored from the same snapshot. */
        u->irq_level = vuart_iir_id(u) != IIR_NO_INT;
        irq_line_set(&u->irq, u->irq_level);
    }
    bool room = e == 0 && u->room_notify && vuart_room_due(u);
    spin_unlock(&u->lock);
    if (room)
        u->room_notify(u->room_ctx);
    return e;
}
