/* SPDX-License-Identifier: Apache-2.0 */
#ifndef VIREO_CORE_VERSION_H
#define VIREO_CORE_VERSION_H

#define VIREO_VERSION "0.1.0"

#endif
