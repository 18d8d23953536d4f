/* SPDX-License-Identifier: Apache-2.0 */
/* VMIDs and VM uids.
 *
 * VMIDs are a small pool; when it runs out, VMs share one.  Sharing stays
 * correct because each hart flushes a VMID's entries whenever it sees a
 * different VM (by uid, never reused) behind it (vcpu_arch_load). */
#include "core/vmid.h"

#include "lib/spinlock.h"

#define VMID_MAX 64

static unsigned vmid_count = 1; /* usable VMIDs: 1 when the hart has none */
static uint64_t vmid_used;      /* bitmap */
static uint64_t uid_next = 1;
static struct spinlock vmid_lock = SPINLOCK_INIT;

void vmid_init(unsigned vmid_bits)
{
    vmid_count = vmid_bits >= 6 ? VMID_MAX : 1u << vmid_bits;
}

unsigned vmid_alloc(unsigned hint)
{
    unsigned id = hint % vmid_count;

    spin_lock(&vmid_lock);
    for (unsigned i = 0; i < vmid_count; i++) {
        if (!(vmid_used & (1ULL << i))) {
            vmid_used |= 1ULL << i;
            id = i;
            break;
        }
    }
    spin_unlock(&vmid_lock);
    return id;
}

void vmid_free(unsigned vmid)
{
    spin_lock(&vmid_lock);
    vmid_used &= ~(1ULL << vmid);
    spin_unlock(&vmid_lock);
}

uint64_t vmid_next_uid(void)
{
    return __atomic_fetch_add(&uid_next, 1, __ATOMIC_RELAXED);
}
