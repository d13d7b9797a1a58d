/* SPDX-License-Identifier: MIT */
/*
 * dmakit trace generator: seeded random traces that reach every operation
 * and every error path of the trace format, for differential runs of the
 * emulator against the real kernel.
 *
 * The same seed and options always give the same trace, byte for byte. The
 * generator keeps an emulated container beside it to know what is mapped, so
 * that it can aim at existing mappings (exact unmaps, bisecting unmaps,
 * overlaps, remaps of invalidated ranges) rather than only at random
 * addresses. Everything it writes stays inside limits a small real-kernel
 * guest can honour: the buffer is at most 4 MiB, and a raw vaddr past the
 * buffer is either below 4 MiB (unmapped in a static binary) or in the
 * kernel's half of the address space.
 */
#ifndef DMAKIT_TRACE_GEN_H
#define DMAKIT_TRACE_GEN_H

#include <stdio.h>

#include <dmakit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dmakit_trace_gen_options {
	uint64_t seed;
	size_t nr_ops;       /* operations after the setup line */
	/* 0: chosen by the seed; else DMAKIT_VFIO_TYPE1_IOMMU or ..._TYPE1v2_IOMMU */
	uint32_t iommu_type;
	/* 0: chosen by the seed (small, so ENOSPC is reached); else the limit */
	uint32_t limit;
};

/**
 * dmakit_trace_generate() - write one trace to @out.
 * @returns 0, -EINVAL for bad options, -ENOMEM, or -EIO when writing failed.
 */
DMAKIT_EXPORT int dmakit_trace_generate(const struct dmakit_trace_gen_options *opts, FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* DMAKIT_TRACE_GEN_H */
