/* SPDX-License-Identifier: Apache-2.0 */
/* The virtual console: everything between Vireo's console UART and the
 * guests' consoles.
 *
 * Input is flow-controlled end to end.  Each VM has a port with an input
 * queue; a byte read from the host UART goes to the port the console is
 * bound to, and from the queue into the guest (virtio console, else the
 * UART once the guest takes receive interrupts there, else SBI console
 * reads) only as fast as the guest has room.  When the bound port's queue
 * is full the host reader is told to stop (Vireo masks the host UART's
 * receive interrupt and leaves bytes in it, so QEMU's UART and the pty
 * behind it hold them and the writer blocks); when the guest has taken a
 * quarter of the queue the reader is told to resume.  Nothing is dropped:
 * not when the guest is slow, not when it clears its UART FIFO, not
 * across a VM reset (the port keeps its queue, and takes back what its
 * UART still held, for the next boot to read).
 *
 * Binding: with the management shell, the console is bound to one port or
 * to none (bytes go to the shell; the escape byte Ctrl-] unbinds).  Without
 * it, input goes to the first attached port (the first running VM), or,
 * while none is attached, keeps going to the last one (a VM rebooting).
 *
 * Output: every byte a guest prints goes to its port's log (`vm log`);
 * under the shell only the bound port reaches the console; without it a
 * VM alone prints byte for byte, several VMs print whole lines tagged
 * "[name]".  Guests can never print CONSOLE_STATUS (0x1e).
 *
 * Layering: this module calls down (console, device models) and never up
 * into VM lifecycle, the scheduler or the shell: those register callbacks
 * (vconsole_set_reader, vconsole_set_shell) or call in (attach, detach,
 * bind).  Locks: vconsole's own lock, then a port's input lock, then a
 * device's lock; device models call vconsole_port_pump only with no lock
 * held. */
#ifndef VIREO_CORE_VCONSOLE_H
#define VIREO_CORE_VCONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/spinlock.h"

#define VCONSOLE_IN_SIZE   1024 /* a port's input queue */
#define VCONSOLE_IN_SPARE  32   /* room to take back what a UART held (vconsole.c) */
#define VCONSOLE_RESUME    (VCONSOLE_IN_SIZE / 4) /* free bytes before the reader resumes */
#define VCONSOLE_LOG_SIZE  4096
#define VCONSOLE_LINE_SIZE 160
#define VCONSOLE_ESC       0x1d /* Ctrl-]: back to the shell */
#define VCONSOLE_MAX_PORTS 16

struct vuart;
struct virtio_console;

/* One VM's console.  Defined here so a VM can embed it; only vconsole.c
 * touches the fields. */
struct vconsole_port {
    const char *name;
    unsigned index;
    /* Input: in_count bytes from in_head, and the devices they go to
     * (NULL while the VM is not running). */
    struct spinlock in_lock;
    char in[VCONSOLE_IN_SIZE + VCONSOLE_IN_SPARE];
    unsigned in_head, in_count;
    struct vuart *uart;
    struct virtio_console *vcon;
    bool attached;
    bool held; /* input stays queued (vconsole_port_hold) */
    /* Output: the line being gathered (VMs sharing the console without
     * the shell) and the log, kept across reboots. */
    struct spinlock out_lock;
    char line[VCONSOLE_LINE_SIZE];
    size_t linelen;
    char log[VCONSOLE_LOG_SIZE];
    uint64_t log_total; /* bytes ever written; log[i % size] */
    bool watched;       /* the watcher hears of its output */
};

/* What the shell registers: bytes typed while no port is bound, and the
 * escape that just unbound the console. */
struct vconsole_shell {
    void (*input)(void *ctx, char c);
    void (*escaped)(void *ctx);
    void *ctx;
};

/* Registers a port (once per VM, at start-up; name must outlive it). */
void vconsole_port_init(struct vconsole_port *p, const char *name);

/* Unregisters a port whose VM is deleted (no devices attached): its
 * queued input and its log go with it, and a console bound to it comes
 * back to the shell (whose escaped callback says so).  The memory may
 * then be initialised as a new port. */
void vconsole_port_remove(struct vconsole_port *p);

/* The VM's console devices exist (vm created) or are about to go (vm
 * destroyed).  Detach takes back the input the UART held unread, so the
 * next boot reads it.  vcon may be NULL. */
void vconsole_port_attach(struct vconsole_port *p, struct vuart *uart, struct virtio_console *vcon);
void vconsole_port_detach(struct vconsole_port *p);

/* While held, input stays in the port's queue (flow control as usual) and
 * no device gets any; releasing hands the guest what waited.  For
 * snapshots: the VM's devices stay still while one is taken. */
void vconsole_port_hold(struct vconsole_port *p, bool on);

/* Moves queued input into the guest as far as it has room; the device
 * models' "room for input" callback (ctx = the port). */
void vconsole_port_pump(struct vconsole_port *p);
void vconsole_port_room(void *ctx);

/* SBI console reads: up to n queued bytes, only while no device of the
 * guest takes input.  Returns how many. */
size_t vconsole_port_read(struct vconsole_port *p, char *buf, size_t n);

/* Queues bytes for the port as if typed (the shell's nudge for a fresh
 * prompt).  Returns how many fitted. */
size_t vconsole_port_push(struct vconsole_port *p, const char *s, size_t n);

/* Guest console output (UART, virtio console, SBI). */
void vconsole_output(struct vconsole_port *p, const char *s, size_t n);
/* Prints a partial line still gathered (before the VM's end is reported). */
void vconsole_port_flush(struct vconsole_port *p);
/* Copies the last bytes of the log (at most n) into buf; returns how many
 * and sets *total to the bytes ever written. */
size_t vconsole_port_log(struct vconsole_port *p, char *buf, size_t n, uint64_t *total);

/* Replaces the log with the last n bytes (n <= VCONSOLE_LOG_SIZE) of a log
 * that had total bytes written (a snapshot's). */
/* Output after *pos (a count of bytes ever written, as total above): up
 * to n bytes into buf, *pos advanced past them.  If the log no longer
 * holds what follows *pos, *lost says how many bytes were skipped. */
size_t vconsole_port_log_since(struct vconsole_port *p, uint64_t *pos, char *buf, size_t n,
                               uint64_t *lost);
/* Whoever follows a port's output (the control plane's console attach):
 * watch(p) is called after each piece of output while p->watched is set.
 * It runs in the guest's output path: it must be quick and take no lock
 * the output path holds. */
void vconsole_set_watcher(void (*watch)(struct vconsole_port *p));
void vconsole_port_watch(struct vconsole_port *p, bool on);
void vconsole_port_log_restore(struct vconsole_port *p, const char *buf, size_t n, uint64_t total);

/* The host side: a byte read from the console UART.  The reader reads
 * only while vconsole_input_open(); set_reader's callback says when that
 * changes (false: stop reading, leave bytes in the UART; true: resume). */
void vconsole_set_reader(void (*reader)(void *ctx, bool on), void *ctx);
bool vconsole_input_open(void);
void vconsole_input(char c);

/* The shell: from now on unbound input goes to it (NULL: no shell). */
void vconsole_set_shell(const struct vconsole_shell *shell);
bool vconsole_shell_active(void);
/* Binds the console to p (NULL: to the shell). */
void vconsole_bind(struct vconsole_port *p);
struct vconsole_port *vconsole_bound(void);

#ifdef VIREO_HOST
/* Host tests only: forget every port and registration. */
void vconsole_test_reset(void);
#endif

#endif
