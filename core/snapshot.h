/* SPDX-License-Identifier: Apache-2.0 */
/* A VM's state as data (docs/snapshot.md): saved from a paused VM into a
 * sink, restored from a source into a paused VM of the same configuration
 * (the same one, rolled back, or one built by a freshly booted Vireo). */
#ifndef VIREO_CORE_SNAPSHOT_H
#define VIREO_CORE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "core/snap_format.h"
#include "core/vm.h"

struct snapshot_stats {
    uint64_t bytes;      /* the snapshot's size */
    uint64_t ram_pages;  /* guest RAM pages stored */
    uint64_t zero_pages; /* and elided as zero */
};

/* Where progress lines go for a large VM (NULL: nowhere). */
typedef void (*snapshot_progress_fn)(const struct vm *vm, uint64_t done, uint64_t total);

/* Writes vm's state to s.  The VM must be paused with every vCPU off the
 * harts (sched_vm_off_harts).  0, or a negative ERR_* code with err saying
 * why (ERR_NOSPC: the sink is full; ERR_NOTSUP: a device that cannot be
 * saved). */
int snapshot_save(struct vm *vm, struct snap_sink *s, struct snapshot_stats *st,
                  snapshot_progress_fn progress, char *err, size_t errlen);

/* A source the restore reads twice: once to check everything, once to
 * apply it; rewind starts it again from the beginning. */
struct snap_input {
    struct snap_source src;
    int (*rewind)(void *ctx);
};

/* Replaces vm's state with the snapshot's.  vm must be paused with every
 * vCPU off the harts, and be of the configuration the snapshot was taken
 * from (same RAM, vCPUs, devices, guest ISA, host timebase and vector
 * length).  The whole snapshot is checked before anything changes; a
 * refused restore leaves vm as it was.  The VM stays paused. */
int snapshot_restore(struct vm *vm, struct snap_input *in, snapshot_progress_fn progress, char *err,
                     size_t errlen);

/* A migration's final state (docs/migration.md): a snapshot of everything
 * but RAM (preamble flag SNAP_FLAG_NO_RAM; RAM went ahead in the stream),
 * saved and restored as snapshot_save and snapshot_restore do, with the
 * same checks; neither kind is taken for the other.  clock: the guest's
 * clock to record (what it read when it was paused, so that the time it
 * spent paused does not show as a jump), 0: now.  keep_shared: the
 * contents of disks on a host-disk region are left out (both hosts share
 * the region; SNAP_FLAG_KEEP_SHARED tells the restore, which then leaves
 * them as they are); the restore takes exactly the kind it is told to. */
int snapshot_save_state(struct vm *vm, struct snap_sink *s, uint64_t clock, bool keep_shared,
                        struct snapshot_stats *st, char *err, size_t errlen);
int snapshot_restore_state(struct vm *vm, struct snap_input *in, bool keep_shared, char *err,
                           size_t errlen);
/* The largest state snapshot_save_state can write for vm (what a
 * destination accepts at most). */
uint64_t snapshot_state_bound(const struct vm *vm, bool keep_shared);

/* The HEADER section vm would write (bytes into buf, or ERR_NOSPC), and
 * the check a restore makes of one against vm: 0, or ERR_MISMATCH,
 * ERR_VERSION, ERR_TRUNCATED with err saying what differs. */
long snapshot_header(const struct vm *vm, void *buf, size_t size);
int snapshot_header_check(const struct vm *vm, const void *p, size_t n, char *err, size_t errlen);

/* The in-memory target: one snapshot per VM slot, in 2 MiB blocks of
 * Vireo's memory.  save replaces the slot's previous snapshot only once
 * the new one is complete. */
int snapshot_mem_save(struct vm *vm, struct snapshot_stats *st, snapshot_progress_fn progress,
                      char *err, size_t errlen);
int snapshot_mem_restore(struct vm *vm, snapshot_progress_fn progress, char *err, size_t errlen);
/* The size of vm's stored snapshot (0: none) and when it was taken (host time). */
uint64_t snapshot_mem_size(const struct vm *vm, uint64_t *taken);
void snapshot_mem_drop(const struct vm *vm);
/* Up to n bytes of vm's in-memory snapshot from offset off (streaming it
 * out): how many, ERR_NOENT (none), ERR_RANGE (off past its end). */
long snapshot_mem_read(const struct vm *vm, uint64_t off, void *buf, size_t n);

/* Restores vm from a snapshot held whole in buf (one streamed in): as
 * snapshot_restore. */
int snapshot_buf_restore(struct vm *vm, const void *buf, uint64_t size,
                         snapshot_progress_fn progress, char *err, size_t errlen);

#endif
