/* SPDX-License-Identifier: MIT */
#ifndef DMAKIT_FAULT_INTERNAL_H
#define DMAKIT_FAULT_INTERNAL_H

#include <dmakit/fault.h>

/* 0 to go on, or the -errno the event must fail with. */
int dmakit__fault_check(enum dmakit_fault_point point);

#endif /* DMAKIT_FAULT_INTERNAL_H */
