/* SPDX-License-Identifier: Apache-2.0 */
/* The table of VM slots.  A file of its own so that the scheduler (which
 * scans it for blocked vCPUs) and the VM code build on it without
 * depending on each other. */
#include "core/vm.h"

struct vm vms[VM_MAX];
unsigned vm_count;
