/* SPDX-License-Identifier: Apache-2.0 */
/* The migration port: vsock port MIGRATE_VSOCK_PORT, where a control VM's
 * vireoctl pumps a migration stream between this Vireo's engines and the
 * other host (core/control/migport.c, docs/migration.md). */
#ifndef VIREO_CORE_CONTROL_MIGPORT_H
#define VIREO_CORE_CONTROL_MIGPORT_H

#include "core/migrate.h"

#define MIGRATE_VSOCK_PORT 7001

/* Listens (boot, from control_ports_start). */
void migport_start(void);
/* The migration out of this host, running or the last one (NULL: none
 * yet), and the one into it. */
const struct migrate_src *migport_out(void);
const struct migrate_dst *migport_in(void);

#endif
