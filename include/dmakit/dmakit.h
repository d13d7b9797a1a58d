/* SPDX-License-Identifier: MIT */
/*
 * dmakit: VFIO/IOMMU DMA mappings, emulated exactly or driven on the real
 * kernel. This umbrella header includes every public module; each module's
 * header says what it is for.
 */
#ifndef DMAKIT_DMAKIT_H
#define DMAKIT_DMAKIT_H

#include <dmakit/common.h>
#include <dmakit/uapi.h>
#include <dmakit/range_table.h>
#include <dmakit/iopt_model.h>
#include <dmakit/container.h>
#include <dmakit/device.h>
#include <dmakit/fault.h>
#include <dmakit/probe.h>
#include <dmakit/trace.h>
#include <dmakit/trace_gen.h>
#include <dmakit/guest_memory.h>
#include <dmakit/discard.h>
#include <dmakit/listener.h>
#include <dmakit/iommufd.h>

#endif /* DMAKIT_DMAKIT_H */
