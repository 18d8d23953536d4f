/* SPDX-License-Identifier: Apache-2.0 */
/* Compiler hints shared by the portable code. */
#ifndef VIREO_LIB_COMPILER_H
#define VIREO_LIB_COMPILER_H

/* For the few functions on the exit path that must become part of their
 * callers, in other files too (the hypervisor is built with LTO): an exit
 * costs a few dozen instructions in all, and each level of call adds a
 * frame.  Without LTO (host builds) it is an ordinary external definition. */
#define INLINE_ALWAYS __attribute__((always_inline)) inline

#endif
